"""ANY.RUN Interactive Sandbox: URL detonation (submit, then poll the task monitor, then the report).

API reference: ANY.RUN's official Python SDK (anyrun-sdk: ``POST /analysis``, the server-sent-events
monitor ``GET /analysis/monitor/{taskid}``, the JSON report ``GET /analysis/{taskid}``) and the
TheHive/Cortex AnyRun analyzer (which polls the report itself until ``data.status == "done"``).
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import httpx

from plugins.spec import Context, Finding, PluginError, PluginSpec, Submitted, Verdict
from shared.iocs.normalize import Ioc

OPT_TIMEOUT_S = 120  # detonation time asked of ANY.RUN (the API takes 10-660 s)
PRIVACY_TYPE = "bylink"  # never "public": customer IOCs must not become public tasks
QUEUED_PREFIX = "queued:"  # job ids of submissions ANY.RUN queued behind the concurrency limit
APP_URL = "https://app.any.run/tasks"

SPEC = PluginSpec(
    name="anyrun",
    display_name="ANY.RUN Interactive Sandbox",
    ioc_types=frozenset({"url"}),
    categories=("sandbox",),
    key_var="ANYRUN_API_KEY",
    key="required",
    auth="header",
    auth_name="Authorization",
    auth_prefix="API-Key ",
    url_var="ANYRUN_URL",
    default_url="https://api.any.run/v1",
    mode="slow",
    poll_interval_s=30.0,
    poll_max_interval_s=120.0,
    poll_timeout_s=OPT_TIMEOUT_S + 600.0,
)

# Monitor task.status (SDK): -1 failed, 50..99 running, 100 completed, anything else preparing.
STATUS_FAILED = -1
STATUS_COMPLETED = 100
# Verdict: threatLevel first, then its text, then (Cortex's reading) the 0-100 score.
_LEVELS: dict[int, Verdict] = {2: "malicious", 1: "suspicious", 0: "harmless"}
_LEVEL_TEXTS: dict[str, Verdict] = {
    "malicious activity": "malicious",
    "suspicious activity": "suspicious",
    "no threats detected": "harmless",
}
SCORE_MALICIOUS = 100
SCORE_SUSPICIOUS = 50  # strictly above
_LIMIT_WORDS = ("limit", "quota", "too many")
_AUTH_WORDS = ("api key", "api-key", "apikey", "unauthori", "licen", "forbidden")
_MAX_MONITOR_BYTES = 1024 * 1024
_GONE: Any = object()


def submit(ctx: Context, ioc: Ioc) -> Submitted:
    """Start a Windows URL analysis and return its task id (or its queue id when queued)."""
    body = {
        "obj_type": "url",
        "obj_url": ioc.value,
        "env_os": "windows",
        "env_version": "10",
        "env_bitness": 64,
        "env_type": "complete",
        "env_locale": "en-US",
        "obj_ext_browser": "Microsoft Edge",
        "opt_network_connect": True,
        "opt_privacy_type": PRIVACY_TYPE,
        "opt_timeout": OPT_TIMEOUT_S,
        "opt_automated_interactivity": True,
    }
    data = call(ctx, "POST", "/analysis", json=body)
    if data.get("taskid"):
        return Submitted(job_id=str(data["taskid"]))
    if data.get("queueTaskId"):
        # At the concurrency limit the task is queued, not started: poll it until it runs.
        return Submitted(job_id=QUEUED_PREFIX + str(data["queueTaskId"]))
    raise PluginError("provider_error", "ANY.RUN accepted the submission but returned no taskid")


def poll(ctx: Context, ioc: Ioc, job_id: str) -> Finding | None:
    """Return the finished analysis, or None while the task is queued, preparing or running."""
    queued = job_id.startswith(QUEUED_PREFIX)
    task_id = job_id.removeprefix(QUEUED_PREFIX)
    event = monitor(ctx, task_id)
    if event is _GONE:
        # No monitor for this id: ask the report itself, as the Cortex analyzer does.
        return report(ctx, task_id, missing_ok=queued)
    status = task_status(event)
    if status == STATUS_FAILED:
        raise PluginError("provider_error", "ANY.RUN reports that the analysis task failed")
    if status != STATUS_COMPLETED:
        return None
    return report(ctx, task_id, missing_ok=False)


def report(ctx: Context, task_id: str, *, missing_ok: bool) -> Finding | None:
    """Fetch the JSON report; None while it is missing (queued task) or not done yet."""
    reply = ctx.fetch_json("GET", f"/analysis/{_segment(task_id)}", accept=(404,))
    body = reply.data if isinstance(reply.data, dict) else {}
    if reply.status == 404:
        if missing_ok:
            return None
        raise PluginError(
            "provider_error", ctx.safe_message("HTTP 404: no such ANY.RUN task", _message(body))
        )
    data = _unwrap(ctx, reply.status, body, reply.headers)
    summary = _summary(data)
    if summary["status"] not in (None, "done") and summary["threat_level"] is None:
        return None  # the report exists but the analysis has not finished writing it
    link = f"{APP_URL}/{_segment(task_id)}"
    return Finding(verdict=_verdict(summary), summary=summary, link=link, raw=body)


def monitor(ctx: Context, task_id: str) -> Any:
    """Read the first event of the task's monitor stream (None: no event yet; _GONE: 404)."""
    if ctx.throttle is not None:
        ctx.throttle(ctx.deadline)  # the key's quota and 429 block, as ``fetch_json`` honours them
    remaining = ctx.remaining_s()
    timeout = httpx.Timeout(remaining, connect=min(ctx.connect_timeout_s, remaining))
    path = f"/analysis/monitor/{_segment(task_id)}"
    try:
        with ctx.client.stream("GET", path, timeout=timeout, headers={"Accept": "text/event-stream"}) as resp:
            if resp.status_code == 404:
                return _GONE
            if not 200 <= resp.status_code < 300:
                raise _error(ctx, resp.status_code, _json(_read(ctx, resp)), resp.headers)
            if resp.headers.get("content-type", "").startswith("application/json"):
                return _json_event(ctx, resp)
            return _first_data_line(ctx, resp)
    except httpx.TimeoutException:
        raise PluginError("timeout", "ANY.RUN did not answer within the plugin's time budget") from None
    except httpx.TransportError as ex:
        # Never the exception text: it holds the request URL.
        raise PluginError("unavailable", f"connection to ANY.RUN failed ({type(ex).__name__})") from None


def _first_data_line(ctx: Context, resp: httpx.Response) -> dict[str, Any] | None:
    size = 0
    for line in resp.iter_lines():
        size += len(line)
        if size > _MAX_MONITOR_BYTES:
            raise PluginError("provider_error", "ANY.RUN's monitor stream sent no status event")
        if line.startswith("data:"):
            event = _json(line[len("data:") :].strip().encode())
            if not isinstance(event, dict):
                raise PluginError("provider_error", "ANY.RUN's monitor event is not a JSON object")
            return event
        ctx.remaining_s()
    return None


def _json_event(ctx: Context, resp: httpx.Response) -> dict[str, Any]:
    """Take a JSON answer from the monitor: a status object, or an error in a 2xx body."""
    data = _json(_read(ctx, resp))
    if isinstance(data, dict) and isinstance(data.get("task"), dict):
        return data
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and "task" in data["data"]:
        return dict(data["data"])
    raise _error(ctx, resp.status_code, data, resp.headers)


def task_status(event: dict[str, Any] | None) -> int | None:
    """Return the monitor's numeric task status (None when there is none yet)."""
    task = event.get("task") if isinstance(event, dict) else None
    status = task.get("status") if isinstance(task, dict) else None
    try:
        return int(status) if status is not None else None
    except (TypeError, ValueError):
        return None


def call(ctx: Context, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """Send one request; return the ``data`` object (or the body when it has no wrapper)."""
    reply = ctx.fetch_json(method, path, accept=range(400, 500), **kwargs)
    body = reply.data if isinstance(reply.data, dict) else {}
    if reply.status >= 400:
        raise _error(ctx, reply.status, reply.data, reply.headers)
    return _unwrap(ctx, reply.status, body, reply.headers)


def _unwrap(ctx: Context, status: int, body: dict[str, Any], headers: httpx.Headers) -> dict[str, Any]:
    """Return ``data`` from ``{"error": false, "data": ...}``, or the bare body; raise an error body."""
    if body.get("error") is True:
        raise _error(ctx, status, body, headers)
    data = body.get("data", body)
    if not isinstance(data, dict):
        raise PluginError("provider_error", f"ANY.RUN answered HTTP {status} without a data object")
    return data


def _error(ctx: Context, status: int, data: Any, headers: httpx.Headers) -> PluginError:
    """Map an ANY.RUN failure (``{"error": true, "message"|"description": ...}``) to a PluginError."""
    text = _message(data)
    lowered = (text or "").lower()
    message = ctx.safe_message(f"HTTP {status}", text)
    if status == 429 or any(word in lowered for word in _LIMIT_WORDS):
        retry = ctx.error_for(429, data, headers).retry_after_s if status == 429 else None
        return PluginError("rate_limited", message, retry_after_s=retry)
    if status < 500 and any(word in lowered for word in _AUTH_WORDS):
        return PluginError("auth_failed", message)
    if status < 300:
        return PluginError("provider_error", message)
    error = ctx.error_for(status, data, headers)
    return PluginError(error.code, message, retry_after_s=error.retry_after_s)


def _message(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    for name in ("message", "description"):
        if isinstance(data.get(name), str) and data[name]:
            return str(data[name])
    return None


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    analysis = _obj(data, "analysis")
    verdict = _obj(_obj(analysis, "scores"), "verdict")
    main = _obj(_obj(analysis, "content"), "mainObject")
    network = _obj(data, "network")
    return {
        "score": verdict.get("score"),
        "threat_level": verdict.get("threatLevel"),
        "threat_level_text": verdict.get("threatLevelText"),
        "tags": [t.get("tag") for t in _list(analysis, "tags") if t.get("tag")][:10],
        "type": main.get("type"),
        "url": main.get("url"),
        "permanent_url": analysis.get("permanentUrl"),
        "dns_requests": len(_list(network, "dnsRequests")),
        "connections": len(_list(network, "connections")),
        "mitre": [m.get("id") for m in _list(data, "mitre") if m.get("id")][:10],
        "status": data.get("status"),
    }


def _verdict(summary: dict[str, Any]) -> Verdict:
    level = summary["threat_level"]
    if isinstance(level, int) and level in _LEVELS:
        return _LEVELS[level]
    text = summary["threat_level_text"]
    if isinstance(text, str) and text.strip().lower() in _LEVEL_TEXTS:
        return _LEVEL_TEXTS[text.strip().lower()]
    score = summary["score"]
    if isinstance(score, int | float) and score >= SCORE_MALICIOUS:
        return "malicious"
    if isinstance(score, int | float) and score > SCORE_SUSPICIOUS:
        return "suspicious"
    return "unknown"


def _obj(data: Any, name: str) -> dict[str, Any]:
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _list(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = data.get(name)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _read(ctx: Context, resp: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_bytes():
        size += len(chunk)
        if size > _MAX_MONITOR_BYTES:
            raise PluginError("provider_error", "ANY.RUN's monitor answer is too large")
        chunks.append(chunk)
        ctx.remaining_s()
    return b"".join(chunks)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except ValueError:
        return None


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")
