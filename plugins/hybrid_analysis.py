"""Hybrid Analysis (Falcon Sandbox) v2: URL/domain detonation (submit, then poll), hash report lookup.

API reference: www.hybrid-analysis.com/docs/api/v2 (``api-key`` header; ``POST /submit/url``,
``GET /report/{id}/state`` and ``/summary``, ``GET /search/hash``, ``GET /overview/{sha256}``;
errors as ``{"message": ...}`` or the older ``{"validation_errors": [...]}``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins.spec import Context, Finding, PluginError, PluginSpec, Reply, Submitted, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="hybrid_analysis",
    display_name="Hybrid Analysis (Falcon Sandbox)",
    ioc_types=frozenset({"url", "domain", "hash"}),
    categories=("sandbox",),
    key_var="HYBRID_ANALYSIS_API_KEY",
    key="required",
    auth="header",
    auth_name="api-key",
    url_var="HYBRID_ANALYSIS_URL",
    default_url="https://www.hybrid-analysis.com/api/v2",
    mode="slow",
    lookup_types=frozenset({"hash"}),
    options=("HYBRID_ANALYSIS_ENVIRONMENT_ID",),
    poll_interval_s=30.0,
    poll_max_interval_s=120.0,
    poll_timeout_s=1800.0,
)

# Integrations send this agent and HA historically required it; whether it still does is unconfirmed,
# and sending it satisfies both readings.
HEADERS = {"User-Agent": "Falcon Sandbox", "Accept": "application/json"}
DEFAULT_ENVIRONMENT_ID = "160"  # Windows 10 64-bit
SITE = "https://www.hybrid-analysis.com"
RATE_BACKOFF_S = 60.0  # HA's limits are per minute and per hour; 429 may come without Retry-After.
RUNNING = frozenset({"IN_QUEUE", "IN_PROGRESS"})
NO_SPECIFIC_THREAT: Verdict = "harmless"  # "nothing found"; could be read as unknown, kept pinnable.
VERDICTS: dict[str, Verdict] = {
    "malicious": "malicious",
    "suspicious": "suspicious",
    "whitelisted": "harmless",
    "no specific threat": NO_SPECIFIC_THREAT,
}
MAX_LISTED = 10
_RATE_WORDS = ("exceeded maximum api requests", "rate limit", "too many requests")
_FIELDS = (
    "verdict",
    "threat_score",
    "threat_level",
    "av_detect",
    "vx_family",
    "environment_description",
    "analysis_start_time",
    "submit_name",
    "sha256",
    "state",
)
_LISTS = ("classification_tags", "tags", "type_short", "domains", "hosts")


def submit(ctx: Context, ioc: Ioc) -> Submitted | Finding:
    """Submit a URL (a domain as its HTTPS root) to the sandbox, or look up reports of a hash."""
    if ioc.type == "hash":
        return lookup_hash(ctx, ioc)
    environment = (ctx.options.get("HYBRID_ANALYSIS_ENVIRONMENT_ID") or DEFAULT_ENVIRONMENT_ID).strip()
    if not environment.isdigit():
        raise PluginError("not_supported", "HYBRID_ANALYSIS_ENVIRONMENT_ID must be a numeric environment id")
    url = f"https://{ioc.value}/" if ioc.type == "domain" else ioc.value
    reply = call(ctx, "POST", "/submit/url", data={"url": url, "environment_id": environment})
    job_id = reply.data.get("job_id") if isinstance(reply.data, dict) else None
    if not job_id:
        raise PluginError("provider_error", "Hybrid Analysis accepted the URL but returned no job_id")
    return Submitted(job_id=str(job_id))


def poll(ctx: Context, ioc: Ioc, job_id: str) -> Finding | None:
    """Return the finished report's summary, or None while the job is queued or running."""
    reply = call(ctx, "GET", f"/report/{quote(job_id, safe='')}/state")
    data = reply.data if isinstance(reply.data, dict) else {}
    state = data.get("state")
    if state == "ERROR":
        text = " - ".join(str(data[k]) for k in ("error_type", "error") if data.get(k))
        raise PluginError("provider_error", ctx.safe_message("Hybrid Analysis analysis failed", text))
    if state != "SUCCESS":
        return None  # IN_QUEUE, IN_PROGRESS, or a state not documented yet: the deadline bounds it.
    report = call(ctx, "GET", f"/report/{quote(job_id, safe='')}/summary").data
    if not isinstance(report, dict):
        raise PluginError("provider_error", "Hybrid Analysis's report summary is not an object")
    summary = summarise(report)
    return Finding(verdict=verdict(report), summary=summary, link=link(report, job_id), raw=report)


def lookup_hash(ctx: Context, ioc: Ioc) -> Finding:
    """Find existing reports of a hash: the newest successful one's summary, else the overview."""
    reply = call(ctx, "GET", "/search/hash", params={"hash": ioc.value}, accept=(404,))
    if reply.status == 404:
        return not_found(reply.data)
    reports, sha256s = report_entries(reply.data)
    if reports:
        return _from_report(ctx, reports[0], reply.data)
    if sha256s:
        return _from_overview(ctx, sha256s[0], reply.data)
    return not_found(reply.data)


def report_entries(data: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Return the report entries (successful first) and sha256s of either search-answer shape.

    The current GET answer is ``{"sha256s": [...], "reports": [{"id", ...}]}``; the deprecated
    POST answered a list of full report summaries (``job_id``). Both are read.
    """
    if isinstance(data, list):
        entries, sha256s = data, [e.get("sha256") for e in data if isinstance(e, dict)]
    elif isinstance(data, dict):
        entries, sha256s = data.get("reports") or [], data.get("sha256s") or []
    else:
        raise PluginError("provider_error", "Hybrid Analysis's hash search answer has an unknown shape")
    reports = [e for e in entries if isinstance(e, dict) and (e.get("id") or e.get("job_id"))]
    reports.sort(key=lambda e: e.get("state") != "SUCCESS")
    return reports, [s for s in sha256s if isinstance(s, str) and s]


def _from_report(ctx: Context, entry: dict[str, Any], search: Any) -> Finding:
    report_id = str(entry.get("id") or entry.get("job_id"))
    reply = call(ctx, "GET", f"/report/{quote(report_id, safe='')}/summary", accept=(404,))
    report = reply.data if reply.status == 200 and isinstance(reply.data, dict) else entry
    summary = {"found": True, "report_id": report_id, **summarise(report)}
    raw = {"search": search, "report": reply.data}
    return Finding(verdict=verdict(report), summary=summary, link=link(report, report_id), raw=raw)


def _from_overview(ctx: Context, sha256: str, search: Any) -> Finding:
    reply = call(ctx, "GET", f"/overview/{quote(sha256, safe='')}", accept=(404,))
    if reply.status == 404 or not isinstance(reply.data, dict):
        return not_found({"search": search, "overview": reply.data})
    overview = {"sha256": sha256, **reply.data}
    summary = {"found": True, "report_id": None, **summarise(overview)}
    raw = {"search": search, "overview": reply.data}
    return Finding(verdict=verdict(overview), summary=summary, link=link(overview, ""), raw=raw)


def not_found(raw: Any) -> Finding:
    """Return the ok/unknown answer for a hash Hybrid Analysis has no report of."""
    return Finding(summary={"found": False, "message": "Hybrid Analysis has no report of this hash"}, raw=raw)


def call(ctx: Context, method: str, path: str, *, accept: tuple[int, ...] = (), **kwargs: Any) -> Reply:
    """Send a request with HA's headers; map its 4xx answers (rate limits in 400 bodies too)."""
    reply = ctx.fetch_json(method, path, headers=HEADERS, accept=range(400, 500), **kwargs)
    if reply.status < 400 or reply.status in accept:
        return reply
    raise error_for(ctx, reply)


def error_for(ctx: Context, reply: Reply) -> PluginError:
    """Map a 4xx answer: 429 or a per-minute-limit message, bad key, else a provider error."""
    text = provider_text(reply.data)
    message = ctx.safe_message(f"HTTP {reply.status}", text)
    if reply.status == 429 or any(word in text.lower() for word in _RATE_WORDS):
        retry_after_s = ctx.error_for(429, None, reply.headers).retry_after_s
        return PluginError("rate_limited", message, retry_after_s=retry_after_s or RATE_BACKOFF_S)
    if reply.status in (401, 403):
        return PluginError("auth_failed", message)
    return PluginError("provider_error", message)


def provider_text(data: Any) -> str:
    """Return HA's error text: ``message``, or the older ``validation_errors`` list."""
    if not isinstance(data, dict):
        return ""
    if isinstance(data.get("message"), str):
        return str(data["message"])
    errors = data.get("validation_errors")
    if isinstance(errors, list):
        parts = [
            f"{e.get('field')}: {'; '.join(map(str, e.get('errors') or []))}"
            for e in errors
            if isinstance(e, dict)
        ]
        return " | ".join(parts)
    return ""


def verdict(report: dict[str, Any]) -> Verdict:
    """Map HA's verdict string (null or unknown values are unknown)."""
    return VERDICTS.get(str(report.get("verdict") or "").lower(), "unknown")


def summarise(report: dict[str, Any]) -> dict[str, Any]:
    """Keep the catalog's summary fields, lists capped at ten."""
    summary: dict[str, Any] = {name: report.get(name) for name in _FIELDS}
    for name in _LISTS:
        value = report.get(name)
        summary[name] = list(value)[:MAX_LISTED] if isinstance(value, list) else []
    attacks = report.get("mitre_attcks")
    attacks = attacks if isinstance(attacks, list) else []
    summary["mitre_attcks"] = [
        {"tactic": a.get("tactic"), "technique": a.get("technique"), "attck_id": a.get("attck_id")}
        for a in attacks[:MAX_LISTED]
        if isinstance(a, dict)
    ]
    summary["job_id"] = report.get("job_id")
    return summary


def link(report: dict[str, Any], job_id: str) -> str | None:
    """Return the sample page: ``/sample/{sha256}/{job_id}``, or ``/sample/{sha256}`` without a job."""
    sha256 = report.get("sha256")
    if not isinstance(sha256, str) or not sha256:
        return None
    job = str(report.get("job_id") or job_id or "")
    if not job or ":" in job:
        return f"{SITE}/sample/{sha256}"
    return f"{SITE}/sample/{sha256}/{quote(job, safe='')}"
