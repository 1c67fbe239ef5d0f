"""Pulsedive: community risk scores, threats and feeds for IPs, domains and URLs.

API reference: pulsedive.com/api (``GET /info.php?indicator=...``, ``key`` query parameter).
"""

from __future__ import annotations

from typing import Any

from plugins.spec import Context, Finding, PluginError, PluginSpec, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="pulsedive",
    display_name="Pulsedive",
    ioc_types=frozenset({"ip", "domain", "url"}),
    categories=("reputation",),
    key_var="PULSEDIVE_API_KEY",
    key="optional",
    auth="query",
    auth_name="key",
    url_var="PULSEDIVE_URL",
    default_url="https://pulsedive.com/api",
)

RISK_VERDICTS: dict[str, Verdict] = {
    "critical": "malicious",
    "high": "malicious",
    "medium": "suspicious",
    "none": "harmless",
    "low": "unknown",
    "unknown": "unknown",
}
MAX_LIST = 10
_FIELDS = (
    "iid",
    "type",
    "indicator",
    "risk",
    "risk_recommended",
    "manualrisk",
    "retired",
    "stamp_seen",
    "stamp_updated",
)
_LISTS = {
    "riskfactors": ("description", "risk"),
    "threats": ("name", "category", "risk"),
    "feeds": ("name", "category"),
}


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Look the indicator up in Pulsedive's existing data (no new scan) and map its risk."""
    reply = ctx.fetch_json("GET", "/info.php", accept=(404,), params={"indicator": ioc.value})
    data = reply.data if isinstance(reply.data, dict) else {}
    error = data.get("error")
    if reply.status == 404 or (isinstance(error, str) and "not found" in error.lower()):
        return Finding(summary={"found": False, "message": error or "Indicator not found."}, raw=reply.data)
    if isinstance(error, str):
        raise _body_error(ctx, error)
    if "risk" not in data:
        raise PluginError("provider_error", "Pulsedive's answer has no risk")
    iid = data.get("iid")
    link = f"https://pulsedive.com/indicator/?iid={iid}" if isinstance(iid, int) else None
    return Finding(verdict=verdict(data), summary=summarise(data), link=link, raw=reply.data)


def summarise(data: dict[str, Any]) -> dict[str, Any]:
    """Keep the risk facts and the first risk factors, threats and feeds."""
    summary: dict[str, Any] = {"found": True, **{name: data.get(name) for name in _FIELDS}}
    for name, keys in _LISTS.items():
        items = [item for item in data.get(name) or [] if isinstance(item, dict)][:MAX_LIST]
        summary[name] = [{key: item.get(key) for key in keys} for item in items]
    return summary


def verdict(data: dict[str, Any]) -> Verdict:
    """Map Pulsedive's risk: high/critical malicious, medium suspicious, none harmless, else unknown."""
    return RISK_VERDICTS.get(str(data.get("risk") or "unknown").lower(), "unknown")


def _body_error(ctx: Context, error: str) -> PluginError:
    """Map an error Pulsedive reports in a 2xx body to a ToolResult code."""
    message = ctx.safe_message("HTTP 200", error)
    lowered = error.lower()
    if "key" in lowered:
        return PluginError("auth_failed", message)
    if "limit" in lowered or "too many" in lowered:
        return PluginError("rate_limited", message)
    return PluginError("provider_error", message)
