"""Joe Sandbox: URL detonation (submit, then poll) and hash lookup of existing analyses.

API reference: the official jbxapi client and jbxcloud.joesecurity.org/userguide (form-encoded POSTs,
``apikey`` in every body, ``{"data": ...}`` or ``{"errors": [{"code", "message"}]}``).
"""

from __future__ import annotations

from typing import Any

from plugins.spec import (
    Context,
    Finding,
    PluginError,
    PluginSpec,
    Reply,
    Submitted,
    Verdict,
    parse_retry_after,
)
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="joe_sandbox",
    display_name="Joe Sandbox",
    ioc_types=frozenset({"url", "hash"}),
    categories=("sandbox",),
    key_var="JOE_SANDBOX_API_KEY",
    key="required",
    auth="plugin",
    url_var="JOE_SANDBOX_URL",
    default_url="https://jbxcloud.joesecurity.org/api",
    mode="slow",
    lookup_types=frozenset({"hash"}),
    options=("JOE_SANDBOX_ACCEPT_TAC",),
    # providers.md: poll every 30-60 s (Cortex: 60 s), deadline 30 min.
    poll_interval_s=30.0,
    poll_max_interval_s=60.0,
    poll_timeout_s=1800.0,
)

_VERDICTS: dict[str, Verdict] = {"malicious": "malicious", "suspicious": "suspicious", "clean": "harmless"}
_AUTH_CODES = {4, 7}
_UNAVAILABLE_CODES = {5, 6}
_REQUEST_CODES = {2, 3, 8}  # missing parameter, invalid parameter, unknown endpoint

_TRUE = {"1", "true", "yes", "on"}


def submit(ctx: Context, ioc: Ioc) -> Submitted | Finding:
    """Submit a URL for analysis, or look up existing analyses of a hash."""
    if ioc.type == "hash":
        return lookup_hash(ctx, ioc)
    if ctx.options.get("JOE_SANDBOX_ACCEPT_TAC", "").strip().lower() not in _TRUE:
        raise PluginError(
            "not_supported",
            "URL submission needs JOE_SANDBOX_ACCEPT_TAC=1 (acceptance of Joe Sandbox's terms and conditions)",
        )
    data = call(ctx, "/v2/submission/new", {"accept-tac": "1", "url": ioc.value})
    submission_id = data.get("submission_id") if isinstance(data, dict) else None
    if not submission_id:
        raise PluginError(
            "provider_error", "Joe Sandbox accepted the submission but returned no submission_id"
        )
    return Submitted(job_id=str(submission_id))


def poll(ctx: Context, ioc: Ioc, job_id: str) -> Finding | None:
    """Return the finished analysis of a submission, or None while it is still running."""
    data = call(ctx, "/v2/submission/info", {"submission_id": job_id})
    if not isinstance(data, dict):
        raise PluginError("provider_error", "Joe Sandbox's submission/info has no data object")
    if data.get("status") != "finished":
        return None
    analyses = [a for a in data.get("analyses") or [] if isinstance(a, dict)]
    runs = [run for analysis in analyses for run in analysis.get("runs") or [] if isinstance(run, dict)]
    if runs and all(run.get("error") for run in runs):
        raise PluginError("provider_error", "Joe Sandbox reports that every run of the analysis failed")
    best = data.get("most_relevant_analysis") or {}
    webid = str(best.get("webid") or (analyses[0].get("webid") if analyses else ""))
    detail = next((a for a in analyses if str(a.get("webid")) == webid), analyses[0] if analyses else {})
    summary = _summary({**detail, **{k: v for k, v in best.items() if v is not None}})
    if summary["detection"] == "unknown" and any(run.get("error") for run in runs):
        # providers.md: detection unknown with errors is a failed analysis, not an "unknown" verdict.
        raise PluginError(
            "provider_error", "Joe Sandbox's analysis failed: detection unknown, with run errors"
        )
    return Finding(verdict=_verdict(summary["detection"]), summary=summary, link=link(ctx, webid), raw=data)


def lookup_hash(ctx: Context, ioc: Ioc) -> Finding:
    """Find the newest existing analysis of a file hash (no file is uploaded)."""
    matches = call(ctx, "/v2/analysis/search", {"q": ioc.value})
    webids = [str(m["webid"]) for m in matches or [] if isinstance(m, dict) and m.get("webid")]
    if not webids:
        return Finding(
            summary={"found": False, "message": "Joe Sandbox has no analysis of this hash"}, raw=matches
        )
    webid = max(webids, key=lambda w: (w.isdigit(), int(w) if w.isdigit() else 0, w))
    info = call(ctx, "/v2/analysis/info", {"webid": webid})
    if not isinstance(info, dict):
        raise PluginError("provider_error", "Joe Sandbox's analysis/info has no data object")
    summary = {"found": True, **_summary(info)}
    return Finding(verdict=_verdict(summary["detection"]), summary=summary, link=link(ctx, webid), raw=info)


def call(ctx: Context, path: str, form: dict[str, str]) -> Any:
    """POST a form with the API key and return ``data``, mapping Joe's error codes."""
    reply = ctx.fetch_json("POST", path, data={"apikey": ctx.key or "", **form}, accept=range(400, 500))
    body = reply.data if isinstance(reply.data, dict) else {}
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        raise _error(ctx, reply, errors[0] if isinstance(errors[0], dict) else {})
    if reply.status >= 400:
        raise ctx.error_for(reply.status, reply.data, reply.headers)
    if "data" not in body:
        raise PluginError("provider_error", f"Joe Sandbox's answer to {path} has no data")
    return body["data"]


def _error(ctx: Context, reply: Reply, error: dict[str, Any]) -> PluginError:
    """Map one of Joe's ``errors[]`` to a code: its documented error codes first, then a 429 or a
    message about a quota or limit (providers.md: Joe documents no code for quota exhaustion); a
    "limit" under a code that says the request itself was wrong ("... exceeds the length limit")
    is not one."""
    status, code = reply.status, error.get("code")
    text = error.get("message") if isinstance(error.get("message"), str) else None
    message = ctx.safe_message(f"HTTP {status}, Joe Sandbox error {code}", text)
    if code in _AUTH_CODES or status in (401, 403):
        return PluginError("auth_failed", message)
    if code in _UNAVAILABLE_CODES:
        return PluginError("unavailable", message)
    lowered = (text or "").lower()
    if status == 429 or "quota" in lowered or ("limit" in lowered and code not in _REQUEST_CODES):
        retry_after_s = parse_retry_after(reply.headers.get("retry-after"))
        return PluginError("rate_limited", message, retry_after_s=retry_after_s)
    return PluginError("provider_error", message)


def _summary(analysis: dict[str, Any]) -> dict[str, Any]:
    runs = analysis.get("runs") or []
    return {
        "detection": analysis.get("detection") or _run_detection(runs),
        "score": analysis.get("score"),
        "classification": analysis.get("classification"),
        "threatname": analysis.get("threatname"),
        "tags": list(analysis.get("tags") or [])[:10],
        "runs": [
            {"system": r.get("system"), "detection": r.get("detection"), "error": r.get("error")}
            for r in runs[:10]
        ],
        "md5": analysis.get("md5"),
        "sha1": analysis.get("sha1"),
        "sha256": analysis.get("sha256"),
        "filename": analysis.get("filename"),
        "duration": analysis.get("duration"),
        "time": analysis.get("time"),
    }


def _run_detection(runs: list[dict[str, Any]]) -> str:
    order = ("malicious", "suspicious", "clean")
    found = {r.get("detection") for r in runs}
    return next((d for d in order if d in found), "unknown")


def _verdict(detection: Any) -> Verdict:
    return _VERDICTS.get(str(detection), "unknown")


def link(ctx: Context, webid: str) -> str | None:
    """Return the analysis page: the API root without its trailing ``/api``."""
    if not webid:
        return None
    base = ctx.base_url.rstrip("/")
    base = base[: -len("/api")] if base.endswith("/api") else base
    return f"{base}/analysis/{webid}/0/html"
