"""Liveness and readiness probes (no authentication)."""

from __future__ import annotations

from collections.abc import Callable

import falcon

from shared.errors import Unavailable


class Healthz:
    auth = False

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class Readyz:
    """200 when the database and the broker answer, 503 otherwise."""

    auth = False

    def __init__(self, checks: dict[str, Callable[[], str]]) -> None:
        self.checks = checks  # each answers "ok" or what is wrong

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        states = {name: check() for name, check in self.checks.items()}
        failing = [f"{name}: {state}" for name, state in states.items() if state != "ok"]
        if failing:
            raise Unavailable("not ready - " + "; ".join(failing))
        resp.media = {"status": "ready", **states}
