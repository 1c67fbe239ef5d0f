"""The plugin interface: a spec, a context with a configured HTTP client, findings and errors.

A fast plugin module defines ``SPEC`` and ``lookup(ctx, ioc) -> Finding``. A sandbox (``mode="slow"``)
defines ``submit(ctx, ioc) -> Submitted | Finding`` (a Finding for a lookup of existing reports) and
``poll(ctx, ioc, job_id) -> Finding | None`` (None: not finished yet). Plugins raise PluginError
with one of the ToolResult error codes; everything else they raise is a bug (``internal_error``).
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeGuard

import httpx

from shared.iocs.normalize import Ioc

__all__ = [
    "ERROR_CODES",
    "TOOL_ERROR_CODES",
    "Context",
    "Finding",
    "PluginError",
    "PluginSpec",
    "Reply",
    "Submitted",
    "Verdict",
    "verdict_from_counts",
]

Verdict = Literal["malicious", "suspicious", "harmless", "unknown"]
# A ToolResult error's codes, in the order API.md lists them (the OpenAPI document's enum).
TOOL_ERROR_CODES = (
    "auth_failed",
    "rate_limited",
    "timeout",
    "unavailable",
    "provider_error",
    "not_supported",
    "internal_error",
)
ERROR_CODES = frozenset(TOOL_ERROR_CODES)
MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_MESSAGE_CHARS = 300
USER_AGENT = "SOCBuddy/0.1 (+IOC investigation service)"


@dataclass(frozen=True)
class PluginSpec:
    """What the service needs to know about a plugin: identity, types, configuration, speed."""

    name: str
    display_name: str
    ioc_types: frozenset[str]
    categories: tuple[str, ...]
    url_var: str
    default_url: str | None
    key_var: str | None = None
    key: Literal["required", "optional", "none"] = "none"
    auth: Literal["header", "query", "plugin", "none"] = "none"
    auth_name: str = ""
    auth_prefix: str = ""  # e.g. "Bearer " for Authorization headers
    mode: Literal["fast", "slow"] = "fast"
    # For sandboxes: IOC types answered by a lookup during the call instead of a submission.
    lookup_types: frozenset[str] = frozenset()
    hash_kinds: frozenset[str] = frozenset({"md5", "sha1", "sha256"})
    # Extra variables the plugin reads through ctx.options (never from the environment itself).
    options: tuple[str, ...] = ()
    needs_url: bool = False
    # A variable that, set to a false value (0/false/no/off), turns TLS verification off (self-hosted).
    tls_verify_var: str | None = None
    remote: bool = True
    poll_interval_s: float = 30.0
    poll_max_interval_s: float = 300.0
    poll_timeout_s: float = 1800.0

    def is_submission(self, ioc_type: str) -> bool:
        """Return True when this IOC type goes through submit-and-poll (the slow path)."""
        return self.mode == "slow" and ioc_type not in self.lookup_types

    def supports(self, ioc: Ioc) -> bool:
        """Return True when the plugin takes this IOC (type and, for hashes, hash kind)."""
        if ioc.type not in self.ioc_types:
            return False
        return ioc.type != "hash" or ioc.hash_kind in self.hash_kinds


@dataclass(frozen=True)
class Finding:
    """A provider's answer, normalised: what becomes a ToolResult with status ``ok``."""

    verdict: Verdict = "unknown"
    summary: Mapping[str, Any] = field(default_factory=dict)
    link: str | None = None
    raw: Any = None


@dataclass(frozen=True)
class Submitted:
    """A sandbox accepted a submission; the job id is what polls ask about."""

    job_id: str


class PluginError(Exception):
    """An expected plugin failure with a ToolResult error code and a safe message."""

    def __init__(self, code: str, message: str, *, retry_after_s: float | None = None):
        if code not in ERROR_CODES:
            raise ValueError(f"unknown plugin error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Reply:
    """A provider's HTTP answer: status, parsed JSON body (None when empty) and headers."""

    status: int
    data: Any
    headers: httpx.Headers


@dataclass
class Context:
    """What a plugin gets: a configured client, its key and options, and its wall-clock deadline."""

    client: httpx.Client
    base_url: str
    key: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    deadline: float = math.inf  # time.monotonic() value
    connect_timeout_s: float = 2.0
    # Called before every request with the deadline: waits for a quota slot or raises rate_limited.
    throttle: Callable[[float], None] | None = None
    # Local services a local analyser may call (e.g. "watchlist"), wired by the worker, not imported.
    services: Mapping[str, Callable[..., Any]] = field(default_factory=dict)

    def remaining_s(self) -> float:
        """Return the seconds left in the plugin's budget; raise PluginError(timeout) when none."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise PluginError("timeout", "the plugin's time budget ran out")
        return remaining

    def fetch_json(self, method: str, path: str, *, accept: Iterable[int] = (), **kwargs: Any) -> Reply:
        """Send one request and return its JSON reply, mapping failures to PluginError codes.

        2xx answers and the statuses in ``accept`` (such as a provider's 404 for "not found") are
        returned; every other status raises. The body is read in chunks against the deadline.
        """
        if self.throttle is not None:
            self.throttle(self.deadline)
        remaining = self.remaining_s()
        timeout = httpx.Timeout(remaining, connect=min(self.connect_timeout_s, remaining))
        try:
            with self.client.stream(method, path, timeout=timeout, **kwargs) as response:
                body = self._read_body(response)
        except httpx.TimeoutException:
            raise PluginError(
                "timeout", "the provider did not answer within the plugin's time budget"
            ) from None
        except httpx.TransportError as ex:
            # Never the exception text: it can hold the request URL and with it a key.
            raise PluginError(
                "unavailable", f"connection to the provider failed ({type(ex).__name__})"
            ) from None
        except httpx.DecodingError:
            raise PluginError("provider_error", "the provider's answer could not be decoded") from None
        data = _parse_json(body) if body.strip() else None
        status = response.status_code
        if 200 <= status < 300:
            if data is _INVALID:
                raise PluginError(
                    "provider_error", f"the provider answered HTTP {status} with a body that is not JSON"
                )
            return Reply(status=status, data=data, headers=response.headers)
        if status in set(accept):
            # The status decides (an HTML error page from a proxy says nothing more): no JSON, no data.
            return Reply(status=status, data=None if data is _INVALID else data, headers=response.headers)
        raise self.error_for(status, None if data is _INVALID else data, response.headers)

    def error_for(self, status: int, data: Any, headers: httpx.Headers) -> PluginError:
        """Return the PluginError for an unaccepted HTTP status."""
        message = self.safe_message(f"HTTP {status}", provider_message(data))
        if status in (401, 403):
            return PluginError("auth_failed", message)
        if status == 429:
            return PluginError(
                "rate_limited", message, retry_after_s=parse_retry_after(headers.get("retry-after"))
            )
        if status >= 500:
            return PluginError("unavailable", message)
        return PluginError("provider_error", message)

    def safe_message(self, prefix: str, provider_text: str | None) -> str:
        """Build an error message from a prefix and the provider's own words, with secrets removed."""
        text = f"{prefix}: {provider_text}" if provider_text else prefix
        if self.key:
            text = text.replace(self.key, "[redacted]")
        return text[:MAX_MESSAGE_CHARS]

    def _read_body(self, response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise PluginError("provider_error", "the provider's answer exceeds 20 MiB")
            chunks.append(chunk)
            self.remaining_s()
        return b"".join(chunks)


_INVALID: Any = object()


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_not_json)
    except ValueError:
        return _INVALID


def _not_json(name: str) -> Any:
    """``json.loads`` takes NaN and Infinity, which JSON does not have (and no count can be)."""
    raise ValueError(f"{name} is not JSON")


def is_number(value: Any) -> TypeGuard[int | float]:
    """Return True for a JSON number (``True`` and ``False`` are ints in Python, not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def provider_message(data: Any) -> str | None:
    """Return the provider's own error text from common JSON error shapes, if any."""
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            text = first.get("detail") or first.get("message")
            return text if isinstance(text, str) else None
        for name in ("message", "detail", "error", "query_status"):
            if isinstance(data.get(name), str):
                return str(data[name])
    return None


def parse_retry_after(value: str | None) -> float | None:
    """Return a Retry-After header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def parse_iso_time(value: Any) -> datetime | None:
    """Return an ISO 8601 timestamp (``Z`` or an offset; none means UTC) as an aware datetime, else None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def verdict_from_counts(malicious: int, suspicious: int, harmless: int) -> Verdict:
    """Apply the catalog's engine-count rule (malicious ≥ 3, suspicious ≥ 1 or 1–2 malicious)."""
    if malicious >= 3:
        return "malicious"
    if malicious >= 1 or suspicious >= 1:
        return "suspicious"
    if harmless > 0:
        return "harmless"
    return "unknown"
