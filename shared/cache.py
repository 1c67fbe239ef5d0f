"""Reuse a provider's recent answer for the same normalised IOC instead of asking again.

Only successful answers are cached (never errors). Each plugin has a time-to-live: 24 hours for
whois-like and sandbox plugins, 1 hour for everything else, ``<NAME>_CACHE_TTL`` (seconds) to
override, 0 to disable. A request may lower it with ``max_age`` (0 forces fresh lookups).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from plugins.spec import PluginSpec
from shared.config import Settings
from shared.db import sql
from shared.models import ResultCache, utcnow

_INTO = "INSERT INTO result_cache (plugin, ioc_type, ioc_hash, ioc, result, stored_at) "
_ROW = "?, ?, ?, ?, ?j, ?"
_NEWEST_WINS = (
    " ON CONFLICT (plugin, ioc_type, ioc_hash) DO UPDATE SET result = excluded.result,"
    " stored_at = excluded.stored_at"
)
# The upsert of one answer (``entry``'s parameters), on its own or fed by a CTE named ``done``
# that holds a row only when the answer was stored (see shared.analyses.finish).
STORE = f"{_INTO}VALUES ({_ROW}){_NEWEST_WINS}"
STORE_IF_DONE = f"{_INTO}SELECT {_ROW} FROM done{_NEWEST_WINS}"  # noqa: S608 - constants only
DEFAULT_TTL_S = 3600.0
LONG_TTL_S = 86400.0
_LONG_CATEGORIES = {"whois", "sandbox"}


def ttl_s(spec: PluginSpec, settings: Settings) -> float:
    """Return how long the plugin's answers may be reused (0: never)."""
    if not spec.remote:
        return 0.0
    default = LONG_TTL_S if _LONG_CATEGORIES & set(spec.categories) else DEFAULT_TTL_S
    override = settings.var(f"{spec.name.upper()}_CACHE_TTL")
    if override is None:
        return default
    try:
        return max(0.0, float(override))
    except ValueError:
        return default


def entry(plugin: str, ioc_type: str, ioc: str, result: dict[str, Any]) -> tuple[Any, ...] | None:
    """Return the parameters of ``STORE`` for an answer worth reusing, or None (errors, hits, skips)."""
    if (
        result.get("status") != "ok"
        or result.get("cached")
        or result.get("summary", {}).get("queried") is False
    ):
        return None
    fresh = json.dumps({k: v for k, v in result.items() if k != "cached"})
    now = ResultCache.stored_at.db_value(utcnow())
    return (plugin, ioc_type, _digest(ioc), ioc, fresh, now)


def _digest(ioc: str) -> str:
    return hashlib.sha256(ioc.encode()).hexdigest()


def lookup_many(
    specs: list[PluginSpec], settings: Settings, ioc_type: str, ioc: str, max_age_s: float | None
) -> dict[str, dict]:
    """Return the reusable cached results of several plugins for one IOC (one query)."""
    limits = {spec.name: ttl_s(spec, settings) for spec in specs}
    if max_age_s is not None:
        limits = {name: min(limit, max_age_s) for name, limit in limits.items()}
    wanted = [name for name, limit in limits.items() if limit > 0]
    if not wanted:
        return {}
    places = ", ".join("?" * len(wanted))  # placeholders only: the names are parameters
    statement = f"SELECT * FROM result_cache WHERE plugin IN ({places}) AND ioc_type = ? AND ioc_hash = ?"  # noqa: S608
    query = ResultCache.raw(sql(statement), *wanted, ioc_type, _digest(ioc))
    now = utcnow()
    return {
        entry.plugin: {**entry.result, "cached": True}
        for entry in query
        if now - entry.stored_at <= dt.timedelta(seconds=limits[entry.plugin])
    }
