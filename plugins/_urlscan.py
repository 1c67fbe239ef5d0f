"""What urlscan_search and urlscan_scan share: urlscan.io's error answers and body helpers.

urlscan sends its quota reset as ``X-Rate-Limit-Reset-After`` (seconds) on a 429 without Retry-After,
and answers a malformed key with a 400 whose message names the API key.
"""

from __future__ import annotations

from typing import Any

from plugins.spec import Context, PluginError, Reply


def error_for(ctx: Context, reply: Reply) -> PluginError:
    """Map an unaccepted answer: the malformed key's 400 to auth_failed, the quota reset header on 429."""
    text = provider_text(reply.data)
    if reply.status == 400 and "api key" in text.lower():
        # Reported by a third-party connector: a malformed key gets 400 even where keys are optional.
        return PluginError("auth_failed", ctx.safe_message("HTTP 400", text))
    error = ctx.error_for(reply.status, reply.data, reply.headers)
    if reply.status == 429 and error.retry_after_s is None:
        error.retry_after_s = _seconds(reply.headers.get("x-rate-limit-reset-after"))
    return error


def provider_text(data: Any) -> str:
    """Return urlscan's own words from an error body (``message`` and ``description``)."""
    if not isinstance(data, dict):
        return ""
    parts = [data.get("message"), data.get("description")]
    return " - ".join(str(p) for p in parts if isinstance(p, str) and p)


def mapping(value: Any) -> dict[str, Any]:
    """Return the value when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
