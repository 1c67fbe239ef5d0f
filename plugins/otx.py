"""AlienVault (LevelBlue) OTX: community pulses that mention an IP, domain, URL or file hash.

API reference: otx.alienvault.com/api (``GET /indicators/{type}/{indicator}/general``,
``X-OTX-API-KEY`` header).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins.spec import Context, Finding, PluginError, PluginSpec, Reply, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="otx",
    display_name="AlienVault OTX",
    ioc_types=frozenset({"ip", "domain", "url", "hash"}),
    categories=("reputation",),
    key_var="OTX_API_KEY",
    key="optional",
    auth="header",
    auth_name="X-OTX-API-KEY",
    url_var="OTX_URL",
    default_url="https://otx.alienvault.com/api/v1",
)

MALICIOUS_PULSES = 3
SUSPICIOUS_PULSES = 1
MAX_LIST = 10
WEB = "https://otx.alienvault.com/indicator"
_PULSE_FIELDS = ("id", "name", "tags", "malware_families", "adversary", "created")
_TOP_FIELDS = ("reputation", "country_name", "asn", "whois", "type", "indicator")
# Words in a 400 body that say OTX does not know the indicator (rather than a request problem).
_INVALID_WORDS = ("invalid", "not found", "not a valid", "unable to")


def otx_type(ioc: Ioc) -> tuple[str, str]:
    """Return (API indicator type, web page type) for an IOC."""
    if ioc.type == "ip":
        return ("IPv6", "ip") if ":" in ioc.value else ("IPv4", "ip")
    if ioc.type == "domain":
        # Two labels is a registered domain; anything longer is looked up as a hostname (FQDN).
        kind = "domain" if ioc.value.count(".") == 1 else "hostname"
        return kind, kind
    return ("url", "url") if ioc.type == "url" else ("file", "file")


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Fetch the indicator's general section and judge it by validation and pulse count."""
    api_type, web_type = otx_type(ioc)
    # quote(safe="") and Cortex's quote_plus agree for every normalised URL (they differ only on spaces).
    value = quote(ioc.value, safe="")
    reply = ctx.fetch_json("GET", f"/indicators/{api_type}/{value}/general", accept=(400, 404))
    if reply.status in (400, 404):
        return _not_found(ctx, reply)
    if not isinstance(reply.data, dict) or not isinstance(reply.data.get("pulse_info"), dict):
        raise PluginError("provider_error", "OTX's answer has no pulse_info")
    summary = summarise(reply.data)
    link = f"{WEB}/{web_type}/{value if ioc.type == 'url' else ioc.value}"
    return Finding(verdict=verdict(reply.data), summary=summary, link=link, raw=reply.data)


def _not_found(ctx: Context, reply: Reply) -> Finding:
    """Turn 404, or a 400 whose body calls the indicator invalid, into not-found; other 400s fail."""
    detail = reply.data.get("detail") if isinstance(reply.data, dict) else None
    text = str(detail or "")
    if reply.status == 400 and not any(word in text.lower() for word in _INVALID_WORDS):
        raise PluginError("provider_error", ctx.safe_message("HTTP 400", text or None))
    return Finding(summary={"found": False, "count": 0, "message": text or "unknown to OTX"}, raw=reply.data)


def summarise(data: dict[str, Any]) -> dict[str, Any]:
    """Keep pulse count, the first pulses, malware families, validation and the indicator facts."""
    info = data.get("pulse_info") or {}
    pulses = [p for p in info.get("pulses") or [] if isinstance(p, dict)][:MAX_LIST]
    related = ((info.get("related") or {}).get("alienvault")) or {}
    validation = [v for v in data.get("validation") or [] if isinstance(v, dict)][:MAX_LIST]
    count = int(info.get("count") or 0)
    summary: dict[str, Any] = {
        "found": count > 0 or bool(validation),
        "count": count,
        "pulses": [{name: p.get(name) for name in _PULSE_FIELDS} for p in pulses],
        "malware_families": list(related.get("malware_families") or [])[:MAX_LIST],
        "validation": [v.get("name") or v.get("message") for v in validation],
    }
    summary.update({name: data.get(name) for name in _TOP_FIELDS})
    return summary


def verdict(data: dict[str, Any]) -> Verdict:
    """Whitelisted (validation) is harmless; three pulses or more malicious; one or two suspicious."""
    if data.get("validation"):
        return "harmless"
    count = int((data.get("pulse_info") or {}).get("count") or 0)
    if count >= MALICIOUS_PULSES:
        return "malicious"
    if count >= SUSPICIOUS_PULSES:
        return "suspicious"
    return "unknown"
