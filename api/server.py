"""Serve the API under waitress, with the requests waitress itself refuses answered in the error shape.

Waitress answers some requests before the app sees them: a malformed request line or header, a
header section over its limit, a body over ``max_request_body_size``, a transfer coding it does not
support, or a failure of its own. Its answers are plain text; API.md wants every error response as
``{"error": code, "detail": text}`` with a JSON content type, so those answers are rewritten here.

API.md also wants every request to an authenticated endpoint audited, refused ones included. When
waitress has read a refused request's line and headers, the app is called with them, no body, and
the refusal under ``REFUSED_ENV``: it routes and authenticates the request, writes its audit row
with waitress's status, and answers nothing more (its answer is dropped; waitress's is sent).
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.server import create_server as create_waitress_server
from waitress.task import ErrorTask

# Waitress's refusals by status: the request's fault (4xx, and 501 for a transfer coding it does not
# implement) or the server's (500, whose text may hold a traceback and is never passed on).
_CODES = {400: "invalid_request", 413: "payload_too_large", 431: "invalid_request", 501: "invalid_request"}
_DETAIL_MAX_CHARS = 200
# The WSGI environ key of a request waitress refused: (status, error code, detail).
REFUSED_ENV = "socbuddy.refused"

logger = logging.getLogger(__name__)


def error_fields(status_code: int, reason: str, text: str) -> tuple[str, str]:
    """Return the error code and detail of one of waitress's refusals."""
    code = _CODES.get(status_code, "internal_error")
    if code == "internal_error":
        return code, "the server failed while reading the request"
    if status_code == 413:
        # Waitress's cap is several times SOCBUDDY_MAX_BODY_BYTES; the limit a client can act on
        # is that one, not the cap's figure.
        return code, "the request body is larger than SOCBUDDY_MAX_BODY_BYTES allows"
    return code, f"{reason}: {text}"[:_DETAIL_MAX_CHARS] if text else reason


def error_body(status_code: int, reason: str, text: str) -> bytes:
    """Return the JSON body, in the API's error shape, for one of waitress's refusals."""
    code, detail = error_fields(status_code, reason, text)
    return json.dumps({"error": code, "detail": detail}).encode()


class JsonErrorTask(ErrorTask):
    """Waitress's error task, answering in the API's error shape."""

    def execute(self) -> None:
        error: Any = getattr(self.request, "error")  # noqa: B009 - untyped in waitress's stubs
        text = str(error.body or "").strip()
        self.tell_app(error.code, *error_fields(error.code, error.reason, text))
        body = error_body(error.code, error.reason, text)
        self.status = f"{error.code} {error.reason}"
        self.response_headers = [*self.response_headers, ("Content-Type", "application/json")]
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)

    def tell_app(self, status: int, code: str, detail: str) -> None:
        """Pass a refused request's line and headers to the app, for its audit row."""
        request: Any = self.request
        if not getattr(request, "command", "") or not getattr(request, "path", ""):
            return  # the request line itself was refused: there is no endpoint to audit
        environ = {
            "REQUEST_METHOD": request.command.upper(),
            "SCRIPT_NAME": "",
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query or "",
            "REMOTE_ADDR": self.channel.addr[0],
            "SERVER_NAME": "socbuddy",
            "SERVER_PORT": "0",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_LENGTH": "0",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": request.url_scheme,
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            REFUSED_ENV: (status, code, detail),
        }
        authorization = request.headers.get("AUTHORIZATION")
        if authorization is not None:
            environ["HTTP_AUTHORIZATION"] = authorization
        try:
            answer = self.channel.server.application(environ, _drop_answer)
            for _ in answer:
                pass
            getattr(answer, "close", lambda: None)()
        except Exception:  # the refusal is answered whatever the audit does
            logger.exception("could not audit a request waitress refused (%s %s)", status, code)


def _drop_answer(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    """The app's ``start_response`` for a refused request: waitress's answer is the one sent."""
    return lambda data: None


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
