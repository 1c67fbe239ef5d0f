"""urlscan.io search: earlier public scans that saw a domain, IP or URL.

API reference: urlscan.io/docs/api (``GET /search/``, ``API-Key`` header, ElasticSearch query string).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins import _urlscan
from plugins.spec import Context, Finding, PluginError, PluginSpec, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="urlscan_search",
    display_name="urlscan.io search",
    ioc_types=frozenset({"domain", "url", "ip"}),
    categories=("osint",),
    key_var="URLSCAN_API_KEY",
    key="optional",
    auth="header",
    auth_name="API-Key",
    url_var="URLSCAN_URL",
    default_url="https://urlscan.io/api/v1",
)

SEARCH_SIZE = 100
MAX_LISTED = 10
WEB = "https://urlscan.io"
_PAGE_FIELDS = ("domain", "ip", "country", "asn", "asnname", "status", "title", "server")


def query(ioc: Ioc) -> str:
    """Return the search query for an IOC (values quoted where the syntax needs it)."""
    if ioc.type == "ip":
        return f'ip:"{ioc.value}"'
    if ioc.type == "url":
        escaped = ioc.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'page.url:"{escaped}"'
    return f"domain:{ioc.value}"


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Search urlscan.io for scans of the IOC and flag it when any scan was judged malicious."""
    q = query(ioc)
    reply = ctx.fetch_json("GET", "/search/", params={"q": q, "size": SEARCH_SIZE}, accept=(400, 429))
    if reply.status in (400, 429):
        raise _urlscan.error_for(ctx, reply)
    data = reply.data
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise PluginError("provider_error", "urlscan.io's answer has no results list")
    scans = [r for r in results if isinstance(r, dict)]
    malicious = sum(1 for r in scans if is_malicious(r))
    summary: dict[str, Any] = {
        "found": bool(scans),
        "total": data.get("total", len(scans)),
        "has_more": data.get("has_more"),
        "malicious_results": malicious,
        "query": q,
        "results": [summarise(r) for r in scans[:MAX_LISTED]],
    }
    verdict: Verdict = "malicious" if malicious else "unknown"
    return Finding(verdict=verdict, summary=summary, link=search_link(q), raw=data)


def is_malicious(result: dict[str, Any]) -> bool:
    """Return True when a scan carries urlscan's malicious verdict (flat or under ``overall``)."""
    verdicts = result.get("verdicts")
    if not isinstance(verdicts, dict):
        return False
    overall = verdicts.get("overall")
    nested = isinstance(overall, dict) and overall.get("malicious") is True
    return verdicts.get("malicious") is True or nested


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """Keep the listed fields of one scan, flattened to snake_case leaf names."""
    task, page = _urlscan.mapping(result.get("task")), _urlscan.mapping(result.get("page"))
    scan_id = result.get("_id") or task.get("uuid")
    entry: dict[str, Any] = {
        "id": scan_id,
        "task_url": task.get("url"),
        "time": task.get("time"),
        "visibility": task.get("visibility"),
        "method": task.get("method"),
        "page_url": page.get("url"),
    }
    entry.update({name: page.get(name) for name in _PAGE_FIELDS})
    entry.update(
        malicious=is_malicious(result),
        result=result.get("result"),
        screenshot=result.get("screenshot"),
        link=f"{WEB}/result/{quote(str(scan_id), safe='')}/" if scan_id else None,
    )
    return entry


def search_link(q: str) -> str:
    """Return urlscan.io's search page for a query."""
    return f"{WEB}/search/#{quote(q, safe='')}"
