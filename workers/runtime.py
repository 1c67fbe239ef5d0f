"""Wire the collaborators every process shares: settings, database, broker, barrier, runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dramatiq
import httpx
import peewee
import redis

from shared import db as dbmod
from shared import watchlist
from shared.barrier import Barrier, LocalBarrier, RedisBarrier
from shared.config import Settings
from workers import broker as brokermod
from workers import quota
from workers.runner import PluginRunner

# Redis sockets must outlive the longest BLPOP (the fast timeout) by a margin.
_SOCKET_MARGIN_S = 15


@dataclass
class Runtime:
    """The wired collaborators of one process."""

    settings: Settings
    broker: dramatiq.Broker
    barrier: Barrier
    runner: PluginRunner
    db: peewee.Database | None
    redis: redis.Redis | None


def local_services(database: peewee.Database | None) -> dict[str, Callable[..., Any]]:
    """Return the services local analysers call: database-backed lookups, each in its own connection."""
    if database is None:
        return {}

    def match_watchlists(ioc_type: str, value: str) -> list[dict[str, Any]]:
        with database.connection_context():
            return watchlist.match(ioc_type, value)

    return {"watchlist": match_watchlists}


def build(
    settings: Settings,
    *,
    threads: int = 32,
    transport: httpx.BaseTransport | None = None,
    broker: dramatiq.Broker | None = None,
) -> Runtime:
    """Build the runtime for ``settings`` (the broker first: actors are declared on it)."""
    the_broker = broker or brokermod.build(settings)
    client: redis.Redis | None = None
    barrier: Barrier
    if settings.redis_url:
        client = redis.Redis.from_url(
            settings.redis_url,
            max_connections=threads * 2 + 16,
            socket_timeout=settings.fast_timeout_s + _SOCKET_MARGIN_S,
            socket_connect_timeout=5,
            health_check_interval=30,
        )
        barrier = RedisBarrier(client)
    else:
        barrier = LocalBarrier()
    database = None
    if settings.database_url:
        database = dbmod.bind(dbmod.open_database(settings.database_url, pool_size=settings.db_pool_size))
    return Runtime(
        settings=settings,
        broker=the_broker,
        barrier=barrier,
        runner=PluginRunner(
            settings,
            transport=transport,
            max_threads=max(64, threads * 2),
            limiter=quota.RedisLimiter(client) if client is not None else quota.LocalLimiter(),
            services=local_services(database),
        ),
        db=database,
        redis=client,
    )
