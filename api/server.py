"""Serve the API under waitress, with the requests waitress itself refuses answered in the error shape.

Waitress answers some requests before the app sees them: a malformed request line or header, a
header section over its limit, a body over ``max_request_body_size``, a transfer coding it does not
support, or a failure of its own. Its answers are plain text; API.md wants every error response as
``{"error": code, "detail": text}`` with a JSON content type, so those answers are rewritten here.
"""

from __future__ import annotations

import json
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.server import create_server as create_waitress_server
from waitress.task import ErrorTask

# Waitress's refusals by status: the request's fault (4xx, and 501 for a transfer coding it does not
# implement) or the server's (500, whose text may hold a traceback and is never passed on).
_CODES = {400: "invalid_request", 413: "payload_too_large", 431: "invalid_request", 501: "invalid_request"}
_DETAIL_MAX_CHARS = 200


def error_body(status_code: int, reason: str, text: str) -> bytes:
    """Return the JSON body, in the API's error shape, for one of waitress's refusals."""
    code = _CODES.get(status_code, "internal_error")
    if code == "internal_error":
        detail = "the server failed while reading the request"
    else:
        detail = f"{reason}: {text}"[:_DETAIL_MAX_CHARS] if text else reason
    return json.dumps({"error": code, "detail": detail}).encode()


class JsonErrorTask(ErrorTask):
    """Waitress's error task, answering in the API's error shape."""

    def execute(self) -> None:
        error: Any = getattr(self.request, "error")  # noqa: B009 - untyped in waitress's stubs
        body = error_body(error.code, error.reason, str(error.body or "").strip())
        self.status = f"{error.code} {error.reason}"
        self.response_headers = [*self.response_headers, ("Content-Type", "application/json")]
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    """Waitress's channel with ``JsonErrorTask`` for the requests it refuses."""

    error_task_class = JsonErrorTask


def create_server(app: Any, **options: Any) -> Any:
    """Return a waitress server for ``app`` (``waitress.create_server`` options) with JSON errors."""
    server = create_waitress_server(app, **options)
    # One listening server, or several (``listen`` with many addresses) in the asyncore map.
    listeners = [server] if isinstance(server, BaseWSGIServer) else list((server.map or {}).values())
    for listener in listeners:
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = JsonErrorChannel
    return server


def serve(app: Any, **options: Any) -> None:
    """Serve ``app`` until stopped, as ``waitress.serve`` does."""
    server = create_server(app, **options)
    server.print_listen("Serving on http://{}:{}")
    server.run()
