"""urlscan.io scan: submit a URL (or a domain as ``https://{domain}/``) for a browser scan, then poll.

API reference: docs.urlscan.io (``POST /scan/`` with a JSON body, ``GET /result/{uuid}/`` answering
404 while the scan runs and 410 once deleted; ``API-Key`` header; ``X-Rate-Limit-*`` headers on 429).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins import _urlscan
from plugins.spec import Context, Finding, PluginError, PluginSpec, Reply, Submitted, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="urlscan_scan",
    display_name="urlscan.io scan",
    ioc_types=frozenset({"url", "domain"}),
    categories=("sandbox",),
    key_var="URLSCAN_API_KEY",
    key="required",
    auth="header",
    auth_name="API-Key",
    url_var="URLSCAN_URL",
    default_url="https://urlscan.io/api/v1",
    mode="slow",
    poll_interval_s=10.0,
    poll_max_interval_s=20.0,
    poll_timeout_s=180.0,
)

# Unlisted: the scan is not published on urlscan.io's public feed (private needs a paid plan).
VISIBILITY = "unlisted"
TAGS = ("socbuddy",)
SITE = "https://urlscan.io"
# urlscan scores run from -100 (legitimate) to +100 (malicious).
SUSPICIOUS_ABOVE_SCORE = 0
HARMLESS_BELOW_SCORE = 0
MAX_LISTED = 10
_HANDLED = (400, 404, 410, 429)


def target(ioc: Ioc) -> str:
    """Return the URL to scan: the URL itself, or the domain's HTTPS root."""
    return f"https://{ioc.value}/" if ioc.type == "domain" else ioc.value


def submit(ctx: Context, ioc: Ioc) -> Submitted | Finding:
    """Submit the scan (unlisted, tagged) and return urlscan's uuid as the job."""
    body = {"url": target(ioc), "visibility": VISIBILITY, "tags": list(TAGS)}
    reply = ctx.fetch_json("POST", "/scan/", json=body, accept=_HANDLED)
    if reply.status >= 400:
        raise error_for(ctx, reply)
    uuid = reply.data.get("uuid") if isinstance(reply.data, dict) else None
    if not isinstance(uuid, str) or not uuid:
        raise PluginError("provider_error", "urlscan.io accepted the submission but returned no uuid")
    return Submitted(job_id=uuid)


def poll(ctx: Context, ioc: Ioc, job_id: str) -> Finding | None:
    """Return the finished scan's result, or None while urlscan answers 404 (still running)."""
    reply = ctx.fetch_json("GET", f"/result/{quote(job_id, safe='')}/", accept=_HANDLED)
    if reply.status == 404:
        return None
    if reply.status == 410:
        raise PluginError("provider_error", "urlscan.io reports the scan as deleted (HTTP 410)")
    if reply.status >= 400:
        raise error_for(ctx, reply)
    if not isinstance(reply.data, dict):
        raise PluginError("provider_error", "urlscan.io's result is not a JSON object")
    summary = summarise(reply.data)
    return Finding(verdict=verdict(reply.data), summary=summary, link=link(job_id), raw=reply.data)


def error_for(ctx: Context, reply: Reply) -> PluginError:
    """Map urlscan's 400 and 429 answers (quota reset header, a malformed key's 400)."""
    text = _urlscan.provider_text(reply.data)
    if reply.status == 400 and "api key" not in text.lower():
        return PluginError(
            "provider_error", ctx.safe_message("urlscan.io rejected the scan (HTTP 400)", text)
        )
    return _urlscan.error_for(ctx, reply)


def verdict(result: dict[str, Any]) -> Verdict:
    """Apply the overall verdict: malicious flag, else the sign of the score."""
    overall = _urlscan.mapping(_urlscan.mapping(result.get("verdicts")).get("overall"))
    if overall.get("malicious") is True:
        return "malicious"
    score = overall.get("score")
    if not isinstance(score, (int, float)):
        return "unknown"
    if score > SUSPICIOUS_ABOVE_SCORE:
        return "suspicious"
    if score < HARMLESS_BELOW_SCORE:
        return "harmless"
    return "unknown"


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """Keep the verdicts, the page, the first contacted hosts and the task, flattened."""
    verdicts = _urlscan.mapping(result.get("verdicts"))
    overall = _urlscan.mapping(verdicts.get("overall"))
    own = _urlscan.mapping(verdicts.get("urlscan"))
    engines = _urlscan.mapping(verdicts.get("engines"))
    page = _urlscan.mapping(result.get("page"))
    task = _urlscan.mapping(result.get("task"))
    lists = _urlscan.mapping(result.get("lists"))
    summary: dict[str, Any] = {
        "score": overall.get("score"),
        "malicious": overall.get("malicious"),
        "categories": _first(overall.get("categories")),
        "brands": _brands(overall.get("brands")),
        "tags": _first(overall.get("tags")),
        "urlscan_score": own.get("score"),
        "urlscan_malicious": own.get("malicious"),
        "urlscan_categories": _first(own.get("categories")),
        "urlscan_brands": _brands(own.get("brands")),
        "engines_malicious": _first(engines.get("malicious")),
        "engines_score": engines.get("score"),
    }
    for name in ("url", "domain", "ip", "country", "asn", "asnname", "title", "status", "server"):
        summary[name] = page.get(name)
    for name in ("ips", "domains", "urls", "certificates"):
        summary[name] = _first(lists.get(name))
    summary.update(
        uuid=task.get("uuid"),
        time=task.get("time"),
        visibility=task.get("visibility"),
        screenshot_url=task.get("screenshotURL"),
        report_url=task.get("reportURL"),
        stats_malicious=_urlscan.mapping(result.get("stats")).get("malicious"),
    )
    return summary


def link(uuid: str) -> str:
    """Return urlscan.io's result page for a scan."""
    return f"{SITE}/result/{quote(uuid, safe='')}/"


def _brands(value: Any) -> list[Any]:
    names = [
        b.get("name") or b.get("key") if isinstance(b, dict) else b
        for b in (value if isinstance(value, list) else [])
    ]
    return names[:MAX_LISTED]


def _first(value: Any) -> Any:
    return value[:MAX_LISTED] if isinstance(value, list) else value
