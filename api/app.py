"""The Falcon application factory, with every route in one visible list."""

from __future__ import annotations

from collections.abc import Callable

import falcon

from api import errors, openapi
from api.actions import Defang, Extract, Refang
from api.analysis import AnalysisCollection, AnalysisItem, PendingItem
from api.auth import AuthAuditMiddleware
from api.health import Healthz, Readyz
from api.plugins import PluginHealth, PluginList
from shared import db as dbmod
from workers import broker as brokermod
from workers.actors import Actors
from workers.runtime import Runtime


def create_app(runtime: Runtime, actors: Actors) -> falcon.App:
    """Return the API wired to a runtime (settings, database, broker, barrier) and its actors."""
    settings = runtime.settings
    database = runtime.db
    app = falcon.App(middleware=[AuthAuditMiddleware(database, runtime.runner.limiter, settings.rate_limit)])
    app.req_options.strip_url_path_trailing_slash = True
    errors.install(app)

    def database_state() -> str:
        if database is None:
            return "not configured (DATABASE_URL is not set)"
        return "ok" if dbmod.ping(database) else "unreachable"

    def broker_state() -> str:
        return "ok" if brokermod.ping(runtime.broker) else "unreachable"

    routes = [
        ("/healthz", Healthz()),
        ("/readyz", Readyz({"database": database_state, "broker": broker_state})),
        ("/api/v1/openapi.json", openapi.OpenApiDocument()),
        ("/api/v1/plugins", PluginList(settings)),
        ("/api/v1/plugins/health", PluginHealth(settings, runtime.runner)),
        ("/api/v1/analysis", AnalysisCollection(runtime, actors)),
        ("/api/v1/analysis/{id}", AnalysisItem()),
        ("/api/v1/analysis/{id}/pending/{plugin}", PendingItem()),
        ("/api/actions/defang", Defang(settings.max_body_bytes)),
        ("/api/actions/refang", Refang(settings.max_body_bytes)),
        ("/api/actions/extract", Extract(settings.max_body_bytes)),
    ]
    for template, resource in routes:
        if hasattr(resource, "on_get") and not hasattr(resource, "on_head"):
            # RFC 9110: HEAD wherever GET (load balancers probe with it). Falcon sends the GET's
            # status and headers, Content-Length included, without the body.
            resource.on_head = resource.on_get  # type: ignore[attr-defined]
        if not hasattr(resource, "on_options"):
            resource.on_options = _options_responder(resource)  # type: ignore[attr-defined]
        app.add_route(template, resource)
    return app


def _options_responder(resource: object) -> Callable[..., None]:
    """Return an OPTIONS responder: 204, no body, and the same Allow list a 405 gives.

    Falcon's own answers 200 with an empty body labelled JSON, and leaves OPTIONS out of Allow.
    """
    methods = falcon.COMBINED_METHODS  # in the order Falcon lists them in a 405's Allow
    allowed = ", ".join(m for m in methods if m == "OPTIONS" or hasattr(resource, f"on_{m.lower()}"))

    def on_options(req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        resp.status = falcon.HTTP_204
        resp.set_header("Allow", allowed)

    return on_options
