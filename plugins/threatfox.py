"""ThreatFox (abuse.ch): IOCs tied to malware families, with a confidence level.

API reference: threatfox.abuse.ch/api (JSON POSTs to ``/api/v1/``, ``Auth-Key`` header, the outcome
in a ``query_status`` field of an HTTP 200 body).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins import _abusech
from plugins.spec import Context, Finding, PluginError, PluginSpec, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="threatfox",
    display_name="ThreatFox",
    ioc_types=frozenset({"ip", "domain", "url", "hash"}),
    categories=("reputation",),
    key_var="ABUSECH_API_KEY",
    key="required",
    auth="header",
    auth_name="Auth-Key",
    url_var="THREATFOX_URL",
    default_url="https://threatfox-api.abuse.ch/api/v1",
    hash_kinds=frozenset({"md5", "sha256"}),
)

WEB = "https://threatfox.abuse.ch"
MALICIOUS_CONFIDENCE = 75
MAX_ITEMS = 10
NOT_FOUND = frozenset({"no_result", "no_results"})
_FIELDS = (
    "id",
    "ioc",
    "ioc_type",
    "threat_type",
    "threat_type_desc",
    "malware",
    "malware_printable",
    "malware_alias",
    "confidence_level",
    "first_seen",
    "last_seen",
    "tags",
    "reporter",
    "reference",
)


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Search ThreatFox for the IOC and rate it by the best confidence level among its entries."""
    if ioc.type == "hash" and ioc.hash_kind not in SPEC.hash_kinds:
        raise PluginError("not_supported", "ThreatFox stores only MD5 and SHA-256 hashes")
    data = _abusech.post(ctx, "/", json=search_body(ioc))
    status = data.get("query_status")
    if status in NOT_FOUND:
        return Finding(summary={"found": False, "query_status": status}, raw=data)
    if status != "ok":
        raise PluginError("provider_error", ctx.safe_message("ThreatFox query_status", str(status)))
    entries = [e for e in data.get("data") or [] if isinstance(e, dict) and matches(ioc, e.get("ioc"))]
    if not entries:
        return Finding(summary={"found": False, "query_status": "no_exact_match"}, raw=data)
    entries.sort(key=_confidence, reverse=True)
    best = entries[0]
    return Finding(
        verdict=verdict(entries),
        summary=summarise(entries),
        link=f"{WEB}/ioc/{quote(str(best.get('id')))}/",
        raw=data,
    )


def search_body(ioc: Ioc) -> dict[str, Any]:
    """Return the search_ioc body; an IP searches loosely so that its ip:port entries match."""
    # The default of exact_match is unconfirmed: say what each type needs and filter the answer.
    return {"query": "search_ioc", "search_term": ioc.value, "exact_match": ioc.type != "ip"}


def matches(ioc: Ioc, value: Any) -> bool:
    """Return True when an entry's ioc is this IOC (an IP also as ip:port)."""
    text = str(value or "").strip().lower()
    wanted = ioc.value.lower()
    if ioc.type == "ip":
        host = text.rsplit(":", 1)[0] if text.count(":") == 1 or text.startswith("[") else text
        return host.strip("[]") == wanted
    if ioc.type == "url":
        return text.rstrip("/") == wanted.rstrip("/")
    return text == wanted


def verdict(entries: list[dict[str, Any]]) -> Verdict:
    """Return malicious when any entry's confidence reaches the threshold, else suspicious."""
    return "malicious" if max(_confidence(e) for e in entries) >= MALICIOUS_CONFIDENCE else "suspicious"


def summarise(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Lead with the most confident entry and list up to ten entries with the catalog's fields."""
    best = entries[0]
    return {
        "found": True,
        "count": len(entries),
        "confidence_level": _confidence(best),
        "malware_printable": best.get("malware_printable"),
        "threat_type": best.get("threat_type"),
        "data": [_entry(e) for e in entries[:MAX_ITEMS]],
    }


def _entry(entry: dict[str, Any]) -> dict[str, Any]:
    summary = {name: entry.get(name) for name in _FIELDS}
    if isinstance(summary["tags"], list):
        summary["tags"] = summary["tags"][:MAX_ITEMS]
    return summary


def _confidence(entry: dict[str, Any]) -> int:
    try:
        return int(entry.get("confidence_level") or 0)
    except (TypeError, ValueError):
        return 0
