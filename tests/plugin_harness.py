"""Run plugins the way the service does, against a fake provider handler, for plugin tests.

A handler is ``Callable[[httpx.Request], httpx.Response]`` (what ``httpx.MockTransport`` takes).
``lookup``/``submit``/``poll`` go through the real PluginRunner: the plugin gets the same configured
client (base URL, header or query auth, User-Agent) and error mapping as in production.
``lifecycle`` runs a whole analysis on an embedded service (StubBroker, in-process Worker, SQLite)
and follows a sandbox from pending to its final result.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import falcon.testing
import httpx

from api.app import create_app
from plugins import registry
from plugins.spec import Finding, PluginError, Submitted
from shared import accounts
from shared.config import Settings
from shared.iocs.normalize import make_ioc
from workers import quota
from workers.embedded import EmbeddedWorkers
from workers.runner import PluginRunner

Handler = Callable[[httpx.Request], httpx.Response]
# A catalog fake's ``handle``: None for a request that is not its own.
FakeHandler = Callable[[httpx.Request], httpx.Response | None]
BASE = "http://provider.test"


def settings_for(plugin: str, env: Mapping[str, str] | None = None) -> Settings:
    """Settings enabling ``plugin`` with its URL variable pointed at the fake base URL."""
    spec = registry.spec(plugin)
    values = {spec.url_var: BASE, "SOCBUDDY_PLUGINS": plugin, quota.override_var(spec): "none", **(env or {})}
    if spec.key_var and spec.key_var not in values:
        values[spec.key_var] = "test-key-0123456789"
    return Settings.from_env(values)


def runner(plugin: str, handler: Handler, env: Mapping[str, str] | None = None) -> PluginRunner:
    return PluginRunner(settings_for(plugin, env), transport=httpx.MockTransport(handler))


def lookup(
    plugin: str, handler: Handler, ioc_type: str, value: str, env: Mapping[str, str] | None = None
) -> dict:
    """Run a fast lookup (or a sandbox's hash lookup) and return the ToolResult."""
    return runner(plugin, handler, env).lookup(registry.spec(plugin), make_ioc(value, ioc_type))


def submit(
    plugin: str, handler: Handler, ioc_type: str, value: str, env: Mapping[str, str] | None = None
) -> Submitted | dict:
    """Submit to a sandbox: a Submitted job, or a ToolResult (error or immediate answer)."""
    return runner(plugin, handler, env).submit(registry.spec(plugin), make_ioc(value, ioc_type))


def poll(
    plugin: str,
    handler: Handler,
    ioc_type: str,
    value: str,
    job_id: str,
    env: Mapping[str, str] | None = None,
) -> Finding | None:
    """Poll a sandbox job once (raises PluginError on failure)."""
    return runner(plugin, handler, env).poll(registry.spec(plugin), make_ioc(value, ioc_type), job_id)


def raw_call(
    plugin: str, handler: Handler, ioc_type: str, value: str, env: Mapping[str, str] | None = None
) -> Any:
    """Call the plugin's lookup/submit directly with a configured context (PluginError propagates)."""
    run = runner(plugin, handler, env)
    spec = registry.spec(plugin)
    module = registry.BY_NAME[plugin]
    call = module.submit if spec.mode == "slow" else module.lookup
    ctx = run.context(spec, run.shared_client(spec), time.monotonic() + 10)
    return call(ctx, make_ioc(value, ioc_type))


def error_code(call: Callable[[], Any]) -> str:
    """Return the PluginError code a call raises."""
    try:
        call()
    except PluginError as ex:
        return ex.code
    raise AssertionError("no PluginError raised")


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def answer(status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> Handler:
    """Return a handler that answers every request the same way."""

    def handler(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(status, headers=headers)
        return json_response(status, body, headers)

    return handler


def recording(handle: FakeHandler, seen: list[httpx.Request], *, unanswered: int | None = None) -> Handler:
    """Return a handler that appends every request to ``seen`` and answers it with ``handle``.

    A request ``handle`` does not answer (None) fails the test, or gets a bare ``unanswered`` status.
    """

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        response = handle(request)
        if response is None and unanswered is not None:
            return httpx.Response(unanswered)
        assert response is not None, request.url.path
        return response

    return handler


def recorded(handle: FakeHandler, *, unanswered: int | None = None) -> tuple[list[httpx.Request], Handler]:
    """Return a fresh request list and a ``recording`` handler that fills it."""
    seen: list[httpx.Request] = []
    return seen, recording(handle, seen, unanswered=unanswered)


def refuse(request: httpx.Request) -> httpx.Response:
    """A handler whose provider cannot be reached."""
    raise httpx.ConnectError("connection refused")


@dataclass
class Lifecycle:
    post: dict
    statuses: list[int]
    final: dict | None


def lifecycle(
    plugin: str,
    handler: Handler,
    ioc_type: str,
    value: str,
    env: Mapping[str, str] | None = None,
    *,
    timeout_s: float = 20,
) -> Lifecycle:
    """POST one analysis with only ``plugin`` on an embedded service and poll it to its end."""
    with tempfile.TemporaryDirectory() as tmp:
        values = {
            "DATABASE_URL": f"sqlite:///{Path(tmp) / 'lifecycle.sqlite3'}",
            "SOCBUDDY_FAST_TIMEOUT": "5",
            "SOCBUDDY_PLUGIN_TIMEOUT": "3",
            "SOCBUDDY_SANDBOX_POLL_INTERVAL": "0.1",
            "SOCBUDDY_SANDBOX_POLL_MAX_INTERVAL": "0.3",
            "SOCBUDDY_SANDBOX_TIMEOUT": "15",
            **(env or {}),
        }
        settings = settings_for(plugin, values)
        with EmbeddedWorkers(
            settings, transport=httpx.MockTransport(handler), create_dev_key=False
        ) as workers:
            assert workers.runtime.db is not None
            with workers.runtime.db.connection_context():
                key = accounts.create_key("harness")
            client = falcon.testing.TestClient(create_app(workers.runtime, workers.actors))
            auth = {"Authorization": f"Bearer {key}"}
            body = {"ioc": value, "type": ioc_type, "plugins": [plugin]}
            post = client.simulate_post("/api/v1/analysis", json=body, headers=auth).json
            if plugin in post.get("results", {}):
                return Lifecycle(post=post, statuses=[], final=post["results"][plugin])
            statuses: list[int] = []
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                polled = client.simulate_get(post["pending"][plugin]["poll_url"], headers=auth)
                statuses.append(polled.status_code)
                if polled.status_code == 200:
                    return Lifecycle(post=post, statuses=statuses, final=polled.json["result"])
                time.sleep(0.05)
            return Lifecycle(post=post, statuses=statuses, final=None)
