"""Probe providers cheaply: are they reachable, and do they accept our credentials?

A fast plugin is probed with one lookup of a well-known benign indicator (one request of its
quota); a sandbox with a poll of a job id that does not exist (no analysis is started). The probe's
outcome is read, not its verdict: an auth failure means the credentials are rejected, a connection
failure or timeout means the provider is unreachable, anything the provider answered means it is up.
"""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

from plugins.spec import PluginError, PluginSpec
from shared.iocs.normalize import make_ioc
from workers.runner import PluginRunner

PROBES = {
    "ip": "8.8.8.8",
    "domain": "example.com",
    "url": "https://example.com/",
    "hash": "44d88612fea8a8f36de82e1278abb02f",  # the EICAR test file
    "email": "test@example.com",
}
PROBE_JOB_ID = "socbuddy-health-probe"
_STATES = {
    "auth_failed": ("credentials rejected", False),
    "rate_limited": ("reachable, rate limited", True),
    "unavailable": ("unreachable", False),
    "timeout": ("unreachable (timeout)", False),
    "provider_error": ("reachable, unexpected answer", True),
    "not_supported": ("reachable", True),
    "internal_error": ("plugin error", False),
}


def probe(runner: PluginRunner, spec: PluginSpec) -> dict[str, Any]:
    """Probe one plugin; return ``{"plugin", "healthy", "state", "detail", "duration_ms"}``."""
    started = time.monotonic()
    if not spec.remote:
        return _row(spec, True, "local, no provider", "", started)
    ioc_type = next(t for t in PROBES if t in spec.ioc_types)
    ioc = make_ioc(PROBES[ioc_type], ioc_type)
    try:
        if spec.mode == "slow" and not spec.lookup_types:
            runner.poll(spec, ioc, PROBE_JOB_ID)
        elif spec.mode == "slow":
            lookup_type = next(t for t in PROBES if t in spec.lookup_types)
            _raise_error(runner.lookup(spec, make_ioc(PROBES[lookup_type], lookup_type)))
        else:
            _raise_error(runner.lookup(spec, ioc))
    except PluginError as ex:
        state, healthy = _STATES.get(ex.code, ("failed", False))
        return _row(spec, healthy, state, ex.message, started)
    return _row(spec, True, "ok", "", started)


def check_all(runner: PluginRunner, specs: list[PluginSpec], max_workers: int = 16) -> list[dict[str, Any]]:
    """Probe every plugin in parallel; rows in the order given."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max_workers) as pool:
        return list(pool.map(lambda spec: probe(runner, spec), specs))


def _raise_error(result: dict[str, Any]) -> None:
    if result["status"] == "error":
        raise PluginError(result["error"]["code"], result["error"]["message"])


def _row(spec: PluginSpec, healthy: bool, state: str, detail: str, started: float) -> dict[str, Any]:
    return {
        "plugin": spec.name,
        "healthy": healthy,
        "state": state,
        "detail": detail,
        "duration_ms": int((time.monotonic() - started) * 1000),
    }
