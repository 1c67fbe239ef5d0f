"""Synthetic fast plugins for the fan-out benchmark: each makes one GET to a loopback fake.

They are registered into the plugin registry of the benchmark's own processes only (never the
product's), so the benchmark measures the pipeline - dispatch, workers, barrier, database - and
not any one provider's parsing.
"""

from __future__ import annotations

import os
import types

from plugins import registry
from plugins.spec import Context, Finding, PluginSpec
from shared.iocs.normalize import Ioc


def _module(index: int) -> types.ModuleType:
    name = f"bench_{index}"
    module = types.ModuleType(f"bench.{name}")
    module.SPEC = PluginSpec(  # type: ignore[attr-defined]
        name=name,
        display_name=f"Bench {index}",
        ioc_types=frozenset({"ip"}),
        categories=("benchmark",),
        url_var="BENCH_FAKE_URL",
        default_url=None,
    )

    def lookup(ctx: Context, ioc: Ioc) -> Finding:
        reply = ctx.fetch_json("GET", f"/lookup/{index}", params={"ip": ioc.value})
        return Finding(verdict="harmless", summary={"echo": reply.data}, raw=None)

    module.lookup = lookup  # type: ignore[attr-defined]
    return module


def register() -> list[str]:
    """Add BENCH_PLUGINS synthetic plugins to the registry; return their names."""
    count = int(os.environ.get("BENCH_PLUGINS", "10"))
    modules = [_module(i) for i in range(count)]
    registry.PLUGINS = registry.PLUGINS + tuple(modules)
    registry.BY_NAME.update({m.SPEC.name: m for m in modules})
    return [m.SPEC.name for m in modules]
