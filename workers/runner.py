"""Run one plugin call under its wall-clock budget and turn every outcome into a ToolResult."""

from __future__ import annotations

import concurrent.futures
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, TypeVar

import httpx

from plugins import registry
from plugins.spec import USER_AGENT, Context, Finding, PluginError, PluginSpec, Submitted
from shared.config import Settings
from shared.iocs.normalize import Ioc, is_global_ip, is_ip
from shared.results import error_result, ok_result
from workers import quota

logger = logging.getLogger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs full URLs, and some hold keys
logging.getLogger("httpcore").setLevel(logging.WARNING)

T = TypeVar("T")
_GRACE_S = 0.25


class PluginRunner:
    """Build each plugin's configured client and run its calls against a deadline."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        max_threads: int = 64,
        limiter: quota.Limiter | None = None,
        services: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self.limiter: quota.Limiter = limiter or quota.LocalLimiter()
        self.services = dict(services or {})
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_threads, thread_name_prefix="plugin"
        )
        self._clients: dict[str, httpx.Client] = {}
        self._throttles: dict[str, Callable[[float], None]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Stop the call threads (calls in flight finish on their own timeouts); close the clients."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def lookup(self, spec: PluginSpec, ioc: Ioc) -> dict[str, Any]:
        """Run a fast lookup (or a sandbox's lookup of existing reports) and return its ToolResult."""
        return self.lookup_then(spec, ioc, _same)

    def lookup_then(self, spec: PluginSpec, ioc: Ioc, then: Callable[[dict[str, Any]], T]) -> T:
        """Run a fast lookup and hand its ToolResult to ``then`` exactly once; return what it returns.

        An answer within the budget goes to ``then`` on the call thread as soon as it is known, so
        storing and telling it does not wait for the calling thread to be woken. When the budget
        runs out first, ``then`` gets the timeout result on the calling thread and a late answer
        is dropped. What ``then`` raises is raised here.
        """
        module = registry.BY_NAME[spec.name]
        call = module.submit if spec.mode == "slow" else module.lookup
        return self._result(spec, ioc, lambda ctx: call(ctx, ioc), then)

    def submit(self, spec: PluginSpec, ioc: Ioc) -> Submitted | dict[str, Any]:
        """Submit to a sandbox; return the job, or a ToolResult for a failure or an immediate answer."""
        module = registry.BY_NAME[spec.name]
        outcome: list[Submitted] = []

        def call(ctx: Context) -> Finding:
            answer = module.submit(ctx, ioc)
            if isinstance(answer, Submitted):
                outcome.append(answer)
                return Finding()
            return answer

        result = self._result(spec, ioc, call, _same)
        return outcome[0] if outcome and result["status"] == "ok" else result

    def poll(self, spec: PluginSpec, ioc: Ioc, job_id: str) -> Finding | None:
        """Poll a sandbox job once; raise PluginError for any failure (the caller decides to retry)."""
        module: ModuleType = registry.BY_NAME[spec.name]
        budget_s = self.settings.plugin_timeout_for(spec.name)
        future = self._pool.submit(self._run, spec, budget_s, lambda ctx: module.poll(ctx, ioc, job_id))
        try:
            return future.result(timeout=budget_s + _GRACE_S)
        except concurrent.futures.TimeoutError:
            raise PluginError("timeout", _over_budget(budget_s)) from None

    def _result(
        self,
        spec: PluginSpec,
        ioc: Ioc,
        call: Callable[[Context], Finding],
        then: Callable[[dict[str, Any]], T],
    ) -> T:
        """Run ``call`` on a call thread within the plugin's budget; give its ToolResult to ``then``."""
        started = time.monotonic()
        skipped = self._skip_reason(spec, ioc)
        if skipped:
            summary = {"queried": False, "reason": skipped}
            return then(ok_result(spec.name, Finding(summary=summary), _ms_since(started)))
        budget_s = self.settings.plugin_timeout_for(spec.name)
        turn = _Turn()

        def run() -> T | None:
            try:
                finding = self._run(spec, budget_s, call)
            except PluginError as ex:
                result = error_result(spec.name, ex.code, ex.message, _ms_since(started))
            else:
                result = ok_result(spec.name, finding, _ms_since(started))
            return then(result) if turn.take() else None

        future = self._pool.submit(run)
        try:
            return future.result(timeout=budget_s + _GRACE_S)  # type: ignore[return-value]
        except concurrent.futures.TimeoutError:
            if not turn.take():
                # The answer came just in time and ``then`` is running on the call thread.
                return future.result()  # type: ignore[return-value]
            return then(error_result(spec.name, "timeout", _over_budget(budget_s), _ms_since(started)))

    def _skip_reason(self, spec: PluginSpec, ioc: Ioc) -> str | None:
        host = ioc.host if ioc.type in ("ip", "url", "email") else None
        if not spec.remote or not host:
            return None
        if is_ip(host):
            if not is_global_ip(host):
                return f"{host} is not a globally routable address; remote providers are never asked about it"
        elif "." not in host:
            return f"{host} is a single-label (internal) host name; remote providers are never asked about it"
        return None

    def _run(self, spec: PluginSpec, budget_s: float, call: Callable[[Context], T]) -> T:
        """Call the plugin on this (call) thread; raise PluginError for every failure."""
        deadline = time.monotonic() + budget_s
        try:
            return call(self.context(spec, self.shared_client(spec), deadline))
        except quota.QuotaExhausted:
            raise
        except PluginError as ex:
            if ex.code == "rate_limited":
                # The provider said 429 (or its quota answer): every worker holds off, not just this one.
                self.limiter.block(quota.bucket_of(spec), ex.retry_after_s or quota.DEFAULT_BLOCK_S)
            raise
        except Exception as ex:
            logger.exception("plugin %s failed with %s", spec.name, type(ex).__name__)
            raise PluginError("internal_error", f"the plugin failed with {type(ex).__name__}") from None

    def shared_client(self, spec: PluginSpec) -> httpx.Client:
        """Return the plugin's long-lived client (thread-safe, keep-alive; built once per process).

        Building an httpx client loads the CA bundle (tens of ms of CPU): one per call would cost
        more than the fan-out itself. Timeouts are set per request from the plugin's deadline.
        """
        with self._lock:
            client = self._clients.get(spec.name)
            if client is None:
                budget_s = self.settings.plugin_timeout_for(spec.name)
                client = self._clients[spec.name] = self.client(spec, budget_s)
            return client

    def client(self, spec: PluginSpec, budget_s: float = math.inf) -> httpx.Client:
        """Return a new httpx client for the plugin: base URL, auth, User-Agent, timeouts."""
        key = self.settings.var(spec.key_var) if spec.key_var else None
        headers = {"User-Agent": USER_AGENT}
        params: dict[str, str] = {}
        if key and spec.auth == "header":
            headers[spec.auth_name] = spec.auth_prefix + key
        elif key and spec.auth == "query":
            params[spec.auth_name] = key
        timeout = httpx.Timeout(budget_s if budget_s != math.inf else None, connect=2.0)
        return httpx.Client(
            base_url=registry.base_url(spec, self.settings),
            headers=headers,
            params=params,
            timeout=timeout,
            transport=self._transport,
            verify=self._verify_tls(spec),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=30),
        )

    def _verify_tls(self, spec: PluginSpec) -> bool:
        if spec.tls_verify_var is None:
            return True
        value = (self.settings.var(spec.tls_verify_var) or "true").lower()
        return value not in ("0", "false", "no", "off")

    def _throttle(self, spec: PluginSpec) -> Callable[[float], None]:
        # Settings never change in a process: parse each plugin's quota once, not on every call.
        throttle = self._throttles.get(spec.name)
        if throttle is None:
            throttle = self._throttles.setdefault(
                spec.name, quota.throttle_for(self.limiter, spec, self.settings)
            )
        return throttle

    def context(self, spec: PluginSpec, client: httpx.Client, deadline: float) -> Context:
        """Return the context handed to a plugin call."""
        options = {name: self.settings.var(name) or "" for name in spec.options}
        key = self.settings.var(spec.key_var) if spec.key_var else None
        return Context(
            client=client,
            base_url=registry.base_url(spec, self.settings),
            key=key,
            options=options,
            deadline=deadline,
            throttle=self._throttle(spec) if spec.remote else None,
            services=self.services,
        )


class _Turn:
    """Who hands a lookup's result over: the call thread or, at the deadline, the waiting one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken = False

    def take(self) -> bool:
        """Return True to the first caller only."""
        with self._lock:
            taken, self._taken = self._taken, True
            return not taken


def _same(result: dict[str, Any]) -> dict[str, Any]:
    return result


def _over_budget(budget_s: float) -> str:
    return f"no answer within the plugin's {budget_s:g} s budget"


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
