"""Provider quotas shared by every worker: reserve the next free request slot, honour 429s for all.

A quota belongs to a credential (the provider's key variable; keyless providers: their URL variable),
so plugins sharing a key share its quota (``virustotal`` and ``virustotal_url_scan``). Each request
reserves the next slot atomically - in Redis for a pool of workers on any number of hosts, in
memory in ``socbuddy dev`` - and waits for it, or fails at once with ``rate_limited`` when the slot
lies beyond the plugin's deadline. A provider's 429 blocks the bucket for every worker until its
Retry-After. Rates are the free tiers of providers.md; ``<PROVIDER>_RATE_LIMIT`` overrides them,
e.g. ``VIRUSTOTAL_RATE_LIMIT=4/minute,500/day`` (``none`` removes the limit).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis

from plugins.spec import PluginError, PluginSpec
from shared.config import Settings
from shared.errors import ConfigError

# Free-tier quotas from providers.md, by the credential (or URL) variable that owns them.
DEFAULT_RATES: dict[str, str] = {
    "VIRUSTOTAL_API_KEY": "4/minute,500/day",
    "ABUSEIPDB_API_KEY": "1000/day",
    "SHODAN_API_KEY": "1/second",
    "GREYNOISE_API_KEY": "50/week",
    "OTX_API_KEY": "10000/hour",
    "IPINFO_API_KEY": "50000/month",
    "PULSEDIVE_API_KEY": "30/minute",
    "HIBP_API_KEY": "10/minute",
    "IPQUALITYSCORE_API_KEY": "1000/month",
    "HYBRID_ANALYSIS_API_KEY": "5/minute",
}
DEFAULT_BLOCK_S = 60.0  # a 429 without Retry-After blocks the bucket this long
WINDOW_MARGIN = 1.05  # count each window 5 % longer: clocks and latency never let a burst through
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400}
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day|week|month)s?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Rate:
    """At most ``count`` requests in any ``period_s`` seconds."""

    count: int
    period_s: float

    def __str__(self) -> str:
        for unit, seconds in sorted(_UNITS.items(), key=lambda item: -item[1]):
            if self.period_s % seconds == 0:
                n = int(self.period_s // seconds)
                return f"{self.count}/{'' if n == 1 else n}{unit}"
        return f"{self.count}/{self.period_s:g}s"


def parse_rates(text: str) -> tuple[Rate, ...]:
    """Parse ``"4/minute,500/day"`` (also ``10/5minutes``); ``none`` or empty means unlimited."""
    if text.strip().lower() in ("", "none", "unlimited"):
        return ()
    rates = []
    for part in text.split(","):
        match = _RATE.fullmatch(part)
        if not match or int(match.group(1)) < 1:
            raise ConfigError(f"invalid rate {part.strip()!r} (expected e.g. 4/minute or 500/day)")
        multiplier = int(match.group(2) or 1)
        rates.append(Rate(int(match.group(1)), multiplier * _UNITS[match.group(3).lower()]))
    return tuple(rates)


def bucket_of(spec: PluginSpec) -> str:
    """Return the variable that owns the plugin's quota (its key, or its URL for keyless ones)."""
    return spec.key_var or spec.url_var


def override_var(spec: PluginSpec) -> str:
    """Return the variable that overrides the quota, e.g. VIRUSTOTAL_RATE_LIMIT."""
    bucket = bucket_of(spec)
    for suffix in ("_API_KEY", "_KEY", "_URL"):
        if bucket.endswith(suffix):
            return bucket[: -len(suffix)] + "_RATE_LIMIT"
    return bucket + "_RATE_LIMIT"


def rates_for(spec: PluginSpec, settings: Settings) -> tuple[Rate, ...]:
    """Return the plugin's quota: the override variable, else the provider's free tier, else none."""
    if not spec.remote:
        return ()
    configured = settings.var(override_var(spec))
    return parse_rates(configured if configured is not None else DEFAULT_RATES.get(bucket_of(spec), ""))


class Limiter(Protocol):
    def reserve(self, bucket: str, rates: tuple[Rate, ...], max_wait_s: float) -> tuple[bool, float]:
        """Reserve the next slot if it is within ``max_wait_s``; return (reserved, wait in seconds)."""

    def block(self, bucket: str, seconds: float) -> None:
        """Let nobody use the bucket for ``seconds`` (a provider said 429)."""

    def used(self, bucket: str, rate: Rate) -> int:
        """Return how many requests are counted in the current window of ``rate``."""


_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local max_wait = tonumber(ARGV[1])
local member = ARGV[2]
local t = now
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
if blocked > t then t = blocked end
for i = 2, #KEYS do
  local limit = tonumber(ARGV[i * 2 - 1])
  local window = tonumber(ARGV[i * 2])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local n = redis.call('ZCARD', KEYS[i])
  if n > 0 then
    local last = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
    if tonumber(last[2]) > t then t = tonumber(last[2]) end
  end
  if n >= limit then
    local entry = redis.call('ZRANGE', KEYS[i], n - limit, n - limit, 'WITHSCORES')
    local free = tonumber(entry[2]) + window
    if free > t then t = free end
  end
end
local wait = t - now
if wait > max_wait then return {0, tostring(wait)} end
for i = 2, #KEYS do
  local window = tonumber(ARGV[i * 2])
  redis.call('ZADD', KEYS[i], t, member)
  redis.call('PEXPIRE', KEYS[i], math.ceil((t - now + window) * 1000))
end
return {1, tostring(wait)}
"""


class RedisLimiter:
    """Quota buckets in Redis, shared by every worker process on every host (Redis's clock)."""

    PREFIX = "socbuddy:quota:"

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._reserve = client.register_script(_RESERVE)

    def _keys(self, bucket: str, rates: tuple[Rate, ...]) -> list[str]:
        return [f"{self.PREFIX}{bucket}:blocked"] + [
            f"{self.PREFIX}{bucket}:{r.count}/{r.period_s:g}" for r in rates
        ]

    def reserve(self, bucket: str, rates: tuple[Rate, ...], max_wait_s: float) -> tuple[bool, float]:
        args: list[str | float] = [max_wait_s, uuid.uuid4().hex]
        for rate in rates:
            args += [rate.count, rate.period_s * WINDOW_MARGIN]
        reserved, wait = self._reserve(keys=self._keys(bucket, rates), args=args)
        return bool(reserved), max(0.0, float(wait))

    def block(self, bucket: str, seconds: float) -> None:
        now_s, now_us = self._redis.time()
        until = now_s + now_us / 1e6 + seconds
        key = f"{self.PREFIX}{bucket}:blocked"
        current = float(self._redis.get(key) or 0)
        if until > current:
            self._redis.set(key, repr(until), px=max(1, int(seconds * 1000) + 1000))

    def used(self, bucket: str, rate: Rate) -> int:
        now_s, now_us = self._redis.time()
        now = now_s + now_us / 1e6
        key = self._keys(bucket, (rate,))[1]
        return int(self._redis.zcount(key, now - rate.period_s * WINDOW_MARGIN, "+inf"))


class LocalLimiter:
    """The same algorithm in process memory, for ``socbuddy dev``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, list[float]] = {}
        self._blocked: dict[str, float] = {}

    def reserve(self, bucket: str, rates: tuple[Rate, ...], max_wait_s: float) -> tuple[bool, float]:
        with self._lock:
            now = time.time()
            t = max(now, self._blocked.get(bucket, 0.0))
            for rate in rates:
                slots = self._window(bucket, rate, now)
                if slots:
                    t = max(t, slots[-1])
                if len(slots) >= rate.count:
                    t = max(t, slots[len(slots) - rate.count] + rate.period_s * WINDOW_MARGIN)
            if t - now > max_wait_s:
                return False, t - now
            for rate in rates:
                self._slots[f"{bucket}:{rate}"].append(t)
            return True, t - now

    def _window(self, bucket: str, rate: Rate, now: float) -> list[float]:
        slots = self._slots.setdefault(f"{bucket}:{rate}", [])
        horizon = now - rate.period_s * WINDOW_MARGIN
        while slots and slots[0] <= horizon:
            slots.pop(0)
        return slots

    def block(self, bucket: str, seconds: float) -> None:
        with self._lock:
            self._blocked[bucket] = max(self._blocked.get(bucket, 0.0), time.time() + seconds)

    def used(self, bucket: str, rate: Rate) -> int:
        with self._lock:
            return len(self._window(bucket, rate, time.time()))


class QuotaExhausted(PluginError):
    """No quota slot before the deadline: the request was not sent (the key was not burned)."""

    def __init__(self, bucket: str, rates: tuple[Rate, ...], wait_s: float) -> None:
        quota = ", ".join(map(str, rates)) or "blocked after a 429"
        super().__init__(
            "rate_limited",
            f"quota of {bucket} ({quota}) has no free slot within the time budget; next in {wait_s:.0f} s",
            retry_after_s=wait_s,
        )


MIN_CALL_S = 0.2  # do not take a slot that leaves no time for the request itself


def throttle_for(limiter: Limiter, spec: PluginSpec, settings: Settings) -> Callable[[float], None]:
    """Return the Context.throttle of a plugin: reserve a slot before each request, or fail at once."""
    bucket = bucket_of(spec)
    rates = rates_for(spec, settings)

    def throttle(deadline: float) -> None:
        max_wait_s = max(0.0, deadline - time.monotonic() - MIN_CALL_S)
        reserved, wait_s = limiter.reserve(bucket, rates, max_wait_s)
        if not reserved:
            raise QuotaExhausted(bucket, rates, wait_s)
        if wait_s > 0:
            time.sleep(wait_s)

    return throttle
