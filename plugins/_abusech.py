"""What URLhaus, ThreatFox and MalwareBazaar share: abuse.ch's ``query_status`` signals.

abuse.ch answers with HTTP 200 and puts the outcome in a ``query_status`` field; a missing or wrong
``Auth-Key`` comes back as HTTP 401/403 or (one client library) in that field, and throttling as HTTP
503 or a rate-limit status.
"""

from __future__ import annotations

from typing import Any

from plugins.spec import Context, PluginError, parse_retry_after

AUTH_STATUSES = frozenset({"unknown_auth_key", "invalid_auth_key", "missing_auth_key", "no_auth_key"})
RATE_LIMIT_STATUSES = frozenset({"ratelimited", "rate_limited"})


def post(ctx: Context, path: str, **body: Any) -> dict[str, Any]:
    """POST a ``data=`` form or ``json=`` body; return the body, or raise for abuse.ch's signals."""
    reply = ctx.fetch_json("POST", path, accept=(402, 503), **body)
    data = reply.data if isinstance(reply.data, dict) else {}
    status = str(data.get("query_status") or "")
    message = ctx.safe_message(f"HTTP {reply.status}", status or None)
    if reply.status == 503 or status in RATE_LIMIT_STATUSES:
        retry_after_s = parse_retry_after(reply.headers.get("retry-after"))
        raise PluginError("rate_limited", message, retry_after_s=retry_after_s)
    if status in AUTH_STATUSES:
        raise PluginError("auth_failed", message)
    if reply.status != 200 or not data:
        raise PluginError("provider_error", message)
    return data
