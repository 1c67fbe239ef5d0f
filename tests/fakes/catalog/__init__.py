"""Fakes of every provider, one module per plugin, served together on loopback by ``router``.

Each module ``tests/fakes/catalog/<plugin>.py`` defines:

    PLUGIN = "virustotal"        # the plugin it fakes
    ENV = {"VIRUSTOTAL_API_KEY": "fake-vt-key"}   # variables, besides the URL variable, that
                                 # enable the plugin and that the fake accepts (keys, opt-ins)
    CASES = [("ip", "8.8.8.8", "malicious"), ...]  # one IOC per supported type the fake knows,
                                 # with the verdict the plugin must give (global IPs only)
    def handle(request: httpx.Request) -> httpx.Response | None:
        # answer a request sent under the plugin's URL variable; request.url.path is relative to
        # that base (the router strips its prefix); return None for a path that is not this fake's
        # (several plugins may share one URL variable)

Sandbox fakes finish a submission after a poll or two. The bodies follow providers.md's examples.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from plugins import registry
from workers import quota


def modules() -> list[types.ModuleType]:
    """Return every catalog fake module."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def json_response(status: int, body: Any) -> httpx.Response:
    """Return a JSON answer serialised by ``json.dumps`` with its default separators."""
    return httpx.Response(
        status, headers={"Content-Type": "application/json"}, content=json.dumps(body).encode()
    )


def url_prefix(url_var: str) -> str:
    return "/" + url_var.lower()


def route(fakes: list[types.ModuleType], request: httpx.Request) -> httpx.Response:
    """Send a request to the fakes of the URL variable named by its first path segment."""
    path = request.url.path
    for fake in fakes:
        prefix = url_prefix(registry.spec(fake.PLUGIN).url_var)
        if path == prefix or path.startswith(prefix + "/"):
            inner = httpx.Request(
                request.method,
                request.url.copy_with(path=path[len(prefix) :] or "/"),
                headers=request.headers,
                content=request.content,
            )
            answer = fake.handle(inner)
            if answer is not None:
                return answer
    return httpx.Response(404, json={"error": f"no fake answers {request.method} {path}"})


def environment(base_url: str, fakes: list[types.ModuleType]) -> dict[str, str]:
    """Return the variables that enable every faked plugin and point its URL variable at the server."""
    env: dict[str, str] = {"SOCBUDDY_PLUGINS": ",".join(f.PLUGIN for f in fakes)}
    for fake in fakes:
        env.update(fake.ENV)
        spec = registry.spec(fake.PLUGIN)
        env[spec.url_var] = base_url + url_prefix(spec.url_var)
        env[quota.override_var(spec)] = "none"  # quotas have tests of their own
    return env


def serve(fakes: list[types.ModuleType]) -> tuple[ThreadingHTTPServer, str]:
    """Serve every fake on a free loopback port; return (server, base URL)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            host = f"http://127.0.0.1:{self.server.server_address[1]}"
            request = httpx.Request(
                self.command, host + self.path, headers=dict(self.headers.items()), content=body
            )
            response = route(fakes, request)
            content = response.read()
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
