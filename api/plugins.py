"""GET /api/v1/plugins: the enabled plugins."""

from __future__ import annotations

from typing import Any

import falcon

from plugins import registry
from plugins.spec import PluginSpec
from shared.config import Settings
from workers import health
from workers.runner import PluginRunner

_TYPE_ORDER = ("ip", "domain", "url", "hash", "email")


def describe(spec: PluginSpec) -> dict[str, Any]:
    """Return a plugin as the API lists it."""
    return {
        "name": spec.name,
        "display_name": spec.display_name,
        "supported_ioc_types": [t for t in _TYPE_ORDER if t in spec.ioc_types],
        "enabled": True,
        "categories": list(spec.categories),
        "mode": spec.mode,
    }


class PluginList:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = [describe(spec) for spec in registry.enabled(self.settings)]


class PluginHealth:
    """GET /api/v1/plugins/health: probe every enabled provider now (what ``socbuddy plugins --check`` does)."""

    def __init__(self, settings: Settings, runner: PluginRunner) -> None:
        self.settings = settings
        self.runner = runner

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        rows = health.check_all(self.runner, registry.enabled(self.settings))
        resp.media = {"healthy": all(r["healthy"] for r in rows), "plugins": rows}
