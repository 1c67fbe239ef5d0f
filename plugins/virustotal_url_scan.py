"""VirusTotal URL analysis: submit a URL for a fresh scan by VirusTotal's engines, then poll it.

API reference: docs.virustotal.com/reference (``POST /urls``, ``GET /analyses/{id}``; ``x-apikey``
header; JSON:API bodies; analysis ``status`` is ``queued``, ``in-progress`` or ``completed``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from plugins import _virustotal
from plugins.spec import Context, Finding, PluginError, PluginSpec, Submitted, verdict_from_counts
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="virustotal_url_scan",
    display_name="VirusTotal URL analysis",
    ioc_types=frozenset({"url"}),
    categories=("sandbox",),
    key_var="VIRUSTOTAL_API_KEY",
    key="required",
    auth="header",
    auth_name="x-apikey",
    url_var="VIRUSTOTAL_URL",
    default_url="https://www.virustotal.com/api/v3",
    mode="slow",
    poll_interval_s=15.0,
    poll_max_interval_s=60.0,
    poll_timeout_s=600.0,
)

RUNNING = frozenset({"queued", "in-progress"})
FLAGGED = frozenset({"malicious", "suspicious"})
MAX_FLAGGED = 10
_ANALYSIS_ID = re.compile(r"^u-([0-9a-f]{64})-\d+$")


def submit(ctx: Context, ioc: Ioc) -> Submitted | Finding:
    """Submit the URL for analysis and return the analysis id as the job."""
    reply = _virustotal.fetch(ctx, "POST", "/urls", data={"url": ioc.value})
    data = reply.data.get("data") if isinstance(reply.data, dict) else None
    analysis_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(analysis_id, str) or not analysis_id:
        raise PluginError("provider_error", "VirusTotal accepted the URL but returned no analysis id")
    return Submitted(job_id=analysis_id)


def poll(ctx: Context, ioc: Ioc, job_id: str) -> Finding | None:
    """Return the completed analysis, or None while it is queued or in progress."""
    reply = _virustotal.fetch(ctx, "GET", f"/analyses/{quote(job_id, safe='')}", accept=(404,))
    if reply.status == 404:
        return Finding(
            summary={"found": False, "message": "VirusTotal has no record of this analysis"},
            link=link(ioc, job_id, {}),
            raw=reply.data,
        )
    body = reply.data if isinstance(reply.data, dict) else {}
    data = body.get("data")
    attributes = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attributes, dict):
        raise PluginError("provider_error", "VirusTotal's analysis has no data.attributes")
    status = attributes.get("status")
    if status in RUNNING:
        return None
    if status != "completed":
        # VT documents no failed state; an unknown status is reported, not waited on forever.
        raise PluginError("provider_error", f"VirusTotal reports analysis status {status!r}")
    return _finding(ioc, job_id, attributes, body)


def _finding(ioc: Ioc, job_id: str, attributes: dict[str, Any], body: dict[str, Any]) -> Finding:
    summary = summarise(attributes, body.get("meta") or {})
    counts = {name: int(summary[name] or 0) for name in _virustotal.STATS}
    verdict = verdict_from_counts(
        counts["malicious"], counts["suspicious"], counts["harmless"] + counts["undetected"]
    )
    summary["found"] = any(counts.values())
    return Finding(verdict=verdict, summary=summary, link=link(ioc, job_id, body.get("meta") or {}), raw=body)


def summarise(attributes: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """Keep the stats, the date, the analysed URL and the engines that flagged it."""
    stats = attributes.get("stats") or {}
    results = attributes.get("results") or {}
    flagged = {
        str(r.get("engine_name") or name): r.get("result")
        for name, r in results.items()
        if isinstance(r, dict) and r.get("category") in FLAGGED
    }
    url_info = meta.get("url_info") or {}
    summary: dict[str, Any] = {name: stats.get(name, 0) for name in _virustotal.STATS}
    summary.update(
        status=attributes.get("status"),
        date=attributes.get("date"),
        url=url_info.get("url"),
        flagged_engines=dict(list(flagged.items())[:MAX_FLAGGED]),
    )
    return summary


def link(ioc: Ioc, job_id: str, meta: dict[str, Any]) -> str:
    """Return VirusTotal's page for the URL: its id from the analysis, else the URL's own id."""
    url_info = meta.get("url_info") if isinstance(meta, dict) else None
    url_id = url_info.get("id") if isinstance(url_info, dict) else None
    if not url_id:
        match = _ANALYSIS_ID.match(job_id)
        url_id = match.group(1) if match else _virustotal.url_id(ioc.value)
    return f"{_virustotal.GUI}/url/{url_id}"
