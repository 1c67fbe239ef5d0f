"""Read the service configuration from the environment, once, into an immutable Settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import urlsplit

from shared.errors import ConfigError

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    database_url: str | None = None
    redis_url: str | None = None
    port: int = 5000
    fast_timeout_s: float = 15.0
    plugin_timeout_s: float = 10.0
    sandbox_poll_interval_s: float | None = None
    sandbox_poll_max_interval_s: float | None = None
    sandbox_timeout_s: float | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    plugins_allow: frozenset[str] | None = None
    plugins_deny: frozenset[str] = frozenset()
    db_pool_size: int = 20
    reconcile_interval_s: float = 30.0
    reconcile_grace_s: float = 30.0
    fast_redispatch_after_s: float = 60.0
    heartbeat_timeout_ms: int = 20_000
    worker_timeout_ms: int = 50
    sandbox_threads: int = 4
    rate_limit: str = "none"  # every service account's request budget, e.g. "600/minute"
    # The whole environment, read once: provider variables (<X>_API_KEY, <X>_URL, <NAME>_TIMEOUT).
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build Settings from ``environ`` (default: the process environment)."""
        env = dict(os.environ if environ is None else environ)
        reader = _Reader(env)
        return cls(
            database_url=reader.text("DATABASE_URL"),
            redis_url=reader.text("REDIS_URL"),
            port=reader.integer("PORT", 5000, minimum=1),
            fast_timeout_s=reader.seconds("SOCBUDDY_FAST_TIMEOUT", 15.0),
            plugin_timeout_s=reader.seconds("SOCBUDDY_PLUGIN_TIMEOUT", 10.0),
            sandbox_poll_interval_s=reader.optional_seconds("SOCBUDDY_SANDBOX_POLL_INTERVAL"),
            sandbox_poll_max_interval_s=reader.optional_seconds("SOCBUDDY_SANDBOX_POLL_MAX_INTERVAL"),
            sandbox_timeout_s=reader.optional_seconds("SOCBUDDY_SANDBOX_TIMEOUT"),
            max_body_bytes=reader.integer("SOCBUDDY_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, minimum=1),
            plugins_allow=reader.name_set("SOCBUDDY_PLUGINS"),
            plugins_deny=reader.name_set("SOCBUDDY_DISABLED_PLUGINS") or frozenset(),
            db_pool_size=reader.integer("SOCBUDDY_DB_POOL_SIZE", 20, minimum=1),
            reconcile_interval_s=reader.seconds("SOCBUDDY_RECONCILE_INTERVAL", 30.0),
            reconcile_grace_s=reader.seconds("SOCBUDDY_RECONCILE_GRACE", 30.0),
            fast_redispatch_after_s=reader.seconds("SOCBUDDY_FAST_REDISPATCH_AFTER", 60.0),
            heartbeat_timeout_ms=reader.integer("SOCBUDDY_HEARTBEAT_TIMEOUT_MS", 20_000, minimum=1000),
            worker_timeout_ms=reader.integer("SOCBUDDY_WORKER_TIMEOUT_MS", 50, minimum=1),
            sandbox_threads=reader.integer("SOCBUDDY_SANDBOX_THREADS", 4, minimum=1),
            rate_limit=reader.text("SOCBUDDY_RATE_LIMIT") or "none",
            env=MappingProxyType(env),
        )

    def plugin_timeout_for(self, plugin_name: str) -> float:
        """Return the wall-clock budget of one plugin run: ``<NAME>_TIMEOUT`` or the global one."""
        return _Reader(self.env).seconds(f"{plugin_name.upper()}_TIMEOUT", self.plugin_timeout_s)

    def var(self, name: str) -> str | None:
        """Return a non-empty environment variable, or None."""
        return _Reader(self.env).text(name)


class _Reader:
    """Parse typed values out of an environment mapping, with errors that name the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def integer(self, name: str, default: int, *, minimum: int) -> int:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
        if number < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {number}")
        return number

    def optional_seconds(self, name: str) -> float | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{name} must be a number of seconds, got {value!r}") from None
        if not number > 0:
            raise ConfigError(f"{name} must be greater than 0, got {value!r}")
        return number

    def seconds(self, name: str, default: float) -> float:
        value = self.optional_seconds(name)
        return default if value is None else value

    def name_set(self, name: str) -> frozenset[str] | None:
        value = self._env.get(name)
        if value is None:
            return None
        return frozenset(part.strip().lower() for part in value.split(",") if part.strip())


def without_password(url: str) -> str:
    """Return ``url`` with the password of its user part, if any, replaced by ``***`` (for display)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()
