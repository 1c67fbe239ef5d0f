"""Turn every failure into ``{"error": code, "detail": text}`` with a JSON content type."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import falcon
import peewee
import redis
from playhouse.pool import MaxConnectionsExceeded

from shared.errors import RateLimited, SocbuddyError

logger = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "invalid_request",
    401: "invalid_api_key",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


def send_error(resp: falcon.Response, status: int, code: str, detail: str) -> None:
    """Write the one error shape to a response."""
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.media = {"error": code, "detail": detail}


def handle_socbuddy(req: falcon.Request, resp: falcon.Response, ex: SocbuddyError, params: Any) -> None:
    send_error(resp, ex.http_status, ex.code, ex.detail)
    if isinstance(ex, RateLimited):
        resp.set_header("Retry-After", str(ex.retry_after_s))


def handle_http_error(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError, params: Any) -> None:
    status = int(ex.status_code)
    code = _STATUS_CODES.get(status) or re.sub(r"[^a-z0-9]+", "_", (ex.title or "error").lower()).strip("_")
    if status == 404:
        detail = f"no route for {req.method} {req.path}"
    elif status == 405:
        detail = f"method {req.method} is not allowed on {req.path}"
    else:
        detail = ex.description or ex.title or "request failed"
    send_error(resp, status, code, detail)
    headers = ex.headers if isinstance(ex.headers, dict) else dict(ex.headers or ())
    for name, value in headers.items():
        if name.lower() in ("allow", "retry-after"):
            resp.set_header(name, value)


def handle_database(
    req: falcon.Request, resp: falcon.Response, ex: peewee.PeeweeException, params: Any
) -> None:
    logger.warning("database failure on %s %s: %s", req.method, req.path, type(ex).__name__)
    send_error(resp, 503, "unavailable", "the database is unreachable; try again shortly")


def handle_redis(req: falcon.Request, resp: falcon.Response, ex: redis.RedisError, params: Any) -> None:
    logger.warning("broker failure on %s %s: %s", req.method, req.path, type(ex).__name__)
    send_error(resp, 503, "unavailable", "the broker is unreachable; try again shortly")


def handle_unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    incident = uuid.uuid4().hex[:12]
    logger.exception("internal error %s on %s %s", incident, req.method, req.path)
    send_error(resp, 500, "internal_error", f"internal error (incident {incident}); see the server log")


def install(app: falcon.App) -> None:
    """Register the handlers, most general first (Falcon picks the most specific match)."""
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http_error)
    app.add_error_handler(SocbuddyError, handle_socbuddy)
    app.add_error_handler(peewee.OperationalError, handle_database)
    app.add_error_handler(peewee.InterfaceError, handle_database)
    app.add_error_handler(MaxConnectionsExceeded, handle_database)
    app.add_error_handler(redis.ConnectionError, handle_redis)
    app.add_error_handler(redis.TimeoutError, handle_redis)
