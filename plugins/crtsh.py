"""crt.sh: certificate-transparency log search for a domain. API reference: crt.sh (``output=json``).

crt.sh publishes no API document beyond its search form; ``/?q={domain}&output=json`` answers a JSON
array of certificate entries (exact name and SAN matches), ``[]`` when there are none.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from plugins.spec import Context, Finding, PluginError, PluginSpec, Verdict, parse_iso_time
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="crtsh",
    display_name="crt.sh",
    ioc_types=frozenset({"domain"}),
    categories=("osint",),
    url_var="CRTSH_URL",
    default_url="https://crt.sh",
)

# Optional heuristic of providers.md: a name whose first certificate is this recent is "newly observed".
NEWLY_OBSERVED_DAYS = 30
MAX_LIST = 10
SITE = "https://crt.sh"
_ENTRY_FIELDS = (
    "id",
    "issuer_ca_id",
    "issuer_name",
    "common_name",
    "name_value",
    "entry_timestamp",
    "not_before",
    "not_after",
    "serial_number",
    "result_count",
)


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Fetch the certificates logged for the domain and summarise names, issuers and dates."""
    reply = ctx.fetch_json(
        "GET", "/", params={"q": ioc.value, "output": "json"}, headers={"Accept": "application/json"}
    )
    entries = reply.data
    if not isinstance(entries, list):
        # crt.sh under load answers an empty body or an HTML page with status 200.
        raise PluginError("provider_error", "crt.sh did not answer a JSON list of certificates")
    link = f"{SITE}/?q={quote(ioc.value, safe='')}"
    certs = [e for e in entries if isinstance(e, dict)]
    if not certs:
        return Finding(summary={"found": False, "count": 0}, link=link, raw=entries)
    summary = summarise(certs)
    return Finding(verdict=verdict(summary), summary=summary, link=link, raw=entries)


def summarise(certs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return counts, distinct names and issuers, the validity span and the newest entries."""
    names = _distinct(name for c in certs for name in _names(c))
    issuers = _distinct(str(c["issuer_name"]) for c in certs if c.get("issuer_name"))
    newest = sorted(certs, key=lambda c: str(c.get("entry_timestamp") or ""), reverse=True)
    return {
        "found": True,
        "count": len(certs),
        "names": names[:MAX_LIST],
        "name_count": len(names),
        "issuer_name": issuers[:MAX_LIST],
        "not_before": _extreme(certs, "not_before", min),
        "not_after": _extreme(certs, "not_after", max),
        "first_entry_timestamp": _extreme(certs, "entry_timestamp", min),
        "entry_timestamp": _extreme(certs, "entry_timestamp", max),
        "certificates": [
            {**{f: c.get(f) for f in _ENTRY_FIELDS}, "link": f"{SITE}/?id={c.get('id')}"}
            for c in newest[:MAX_LIST]
        ],
    }


def verdict(summary: dict[str, Any], now: datetime | None = None) -> Verdict:
    """Suspicious when the first logged certificate is newer than NEWLY_OBSERVED_DAYS, else unknown."""
    first = parse_iso_time(summary.get("first_entry_timestamp"))
    now = now or datetime.now(UTC)
    if first is not None and now - first < timedelta(days=NEWLY_OBSERVED_DAYS):
        return "suspicious"
    return "unknown"


def _names(cert: dict[str, Any]) -> list[str]:
    values = [*str(cert.get("name_value") or "").split("\n"), str(cert.get("common_name") or "")]
    return [v.strip().lower() for v in values if v.strip()]


def _distinct(values: Any) -> list[str]:
    return list(dict.fromkeys(values))


def _extreme(certs: list[dict[str, Any]], name: str, pick: Any) -> str | None:
    values = [str(c[name]) for c in certs if c.get(name)]
    return pick(values) if values else None
