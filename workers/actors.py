"""The two actors: ``run_plugin`` (fast queue) and ``poll_sandbox`` (sandbox queue).

Thin, idempotent and safe to run twice: each checks the row first (still pending? still our
chain?) and writes only by compare-and-set. They take ids and plain values only.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import dramatiq
import peewee
from dramatiq import Message
from dramatiq.middleware import Middleware, TimeLimitExceeded
from playhouse.pool import MaxConnectionsExceeded

from plugins import registry
from plugins.spec import PluginError, PluginSpec, Submitted
from shared import analyses, cache
from shared.config import Settings
from shared.iocs.normalize import Ioc
from shared.models import PluginResult, utcnow
from shared.results import error_result, ok_result
from workers.broker import FAST_QUEUE, MAX_RETRIES, SANDBOX_QUEUE
from workers.runtime import Runtime

logger = logging.getLogger(__name__)

RUN_PLUGIN = "run_plugin"
POLL_SANDBOX = "poll_sandbox"
_TRANSIENT = {"unavailable", "timeout", "rate_limited"}
_DB_ERRORS = (peewee.OperationalError, peewee.InterfaceError, MaxConnectionsExceeded)
_DB_RETRIES = MAX_RETRIES
_MIN_BACKOFF_MS, _MAX_BACKOFF_MS = 500, 10_000
# Dramatiq's backoff for those retries (doubling from the minimum, capped): also the schedule on
# which a submission's record is retried in place (see _Work._keep).
_DB_BACKOFF_S = tuple(min(_MIN_BACKOFF_MS * 2**n, _MAX_BACKOFF_MS) / 1000 for n in range(_DB_RETRIES))
T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    """A sandbox's polling schedule: first interval, backoff cap and deadline, in seconds."""

    interval_s: float
    max_interval_s: float
    timeout_s: float


@dataclass
class Actors:
    """The declared actors of one broker."""

    run_plugin: dramatiq.Actor[Any, Any]
    poll_sandbox: dramatiq.Actor[Any, Any]


# Names the message ids of plugin rows (uuid5): fixed forever, or in-flight messages look lost.
_MESSAGE_IDS = uuid.UUID("5b0c5d1e-7c1a-4f0e-9b8a-2f4c3d6e8a10")


def message_id(analysis_id: str, plugin: str, chain: str) -> str:
    """Return the id of the message that carries a row's run or poll on ``chain``.

    Every message about a row is sent with the id its chain token names, and every send moves
    the row to a new token first: so the reconciler can ask the broker whether the message of a
    row's current chain is still queued or running (``workers.broker.held``) instead of guessing
    from the row's age.
    """
    return str(uuid.uuid5(_MESSAGE_IDS, f"{analysis_id}/{plugin}/{chain}"))


def chain_message(
    actor: dramatiq.Actor[Any, Any], analysis_id: str, plugin: str, chain: str, *extra: Any
) -> Message[Any]:
    """Return ``actor``'s message for a row on ``chain``, with the id ``message_id`` gives it."""
    message = actor.message(analysis_id, plugin, chain, *extra)
    return message.copy(message_id=message_id(analysis_id, plugin, chain))


def send(
    actor: dramatiq.Actor[Any, Any], analysis_id: str, plugin: str, chain: str, delay_ms: int | None = None
) -> None:
    """Send ``actor``'s message for a row on ``chain`` (see ``message_id``)."""
    actor.broker.enqueue(chain_message(actor, analysis_id, plugin, chain), delay=delay_ms)


def timing(spec: PluginSpec, runtime: Runtime) -> Timing:
    """Return the plugin's polling defaults, overridden by the SOCBUDDY_SANDBOX_* variables."""
    s = runtime.settings
    return Timing(
        interval_s=s.sandbox_poll_interval_s or spec.poll_interval_s,
        max_interval_s=s.sandbox_poll_max_interval_s or spec.poll_max_interval_s,
        timeout_s=s.sandbox_timeout_s or spec.poll_timeout_s,
    )


def backoff_s(attempts: int, schedule: Timing) -> float:
    """Return the delay before the next poll: exponential from the interval, capped, with jitter."""
    base = min(schedule.interval_s * (2 ** min(attempts, 30)), schedule.max_interval_s)
    return base * random.uniform(0.85, 1.15)


def _retry_db_errors(retries: int, exception: BaseException) -> bool:
    # Only a database outage is worth a Dramatiq retry; plugin failures are results, not retries.
    return retries < _DB_RETRIES and isinstance(exception, _DB_ERRORS)


def time_limit_ms(settings: Settings) -> int:
    """Return the longest any message may run: the longest plugin budget plus 30 s.

    A backstop only: each plugin's own budget (<NAME>_TIMEOUT may raise it) ends the run first.
    """
    longest_s = max([settings.plugin_timeout_for(m.SPEC.name) for m in registry.PLUGINS] or [0.0])
    return int((max(longest_s, settings.plugin_timeout_s) + 30) * 1000)


def declare(broker: dramatiq.Broker, runtime: Runtime) -> Actors:
    """Declare both actors on ``broker``, bound to the process's runtime."""
    work = _Work(runtime)
    options: dict[str, Any] = {
        "broker": broker,
        "max_retries": _DB_RETRIES,
        "retry_when": _retry_db_errors,
        "min_backoff": _MIN_BACKOFF_MS,
        "max_backoff": _MAX_BACKOFF_MS,
        "time_limit": time_limit_ms(runtime.settings),
    }
    run = dramatiq.actor(actor_name=RUN_PLUGIN, queue_name=FAST_QUEUE, **options)(work.run_plugin)
    poll = dramatiq.actor(actor_name=POLL_SANDBOX, queue_name=SANDBOX_QUEUE, **options)(work.poll_sandbox)
    work.poll_actor = poll
    broker.add_middleware(FinaliseOnTimeLimit(work))
    return Actors(run_plugin=run, poll_sandbox=poll)


class _Work:
    """The actor bodies, closed over the process runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.poll_actor: dramatiq.Actor[Any, Any] | None = None

    def _load(self, analysis_id: str, plugin: str, chain: str) -> tuple[PluginResult, Ioc] | None:
        assert self.rt.db is not None
        with self.rt.db.connection_context():
            found = analyses.load_run(analysis_id, plugin)
            if found is None or found[0].status != "pending" or found[0].chain != chain:
                return None
            return found

    def run_plugin(
        self, analysis_id: str, plugin: str, chain: str, sent_ioc: list[str] | None = None
    ) -> None:
        """Run one plugin for one analysis: a lookup, or a sandbox submission.

        The API sends the IOC along (``sent_ioc``, [type, value]): a fast lookup then starts at
        once and needs no read of its row, because the final write is a compare-and-set on the
        row's status and chain. A stale message (row final, or the chain moved on) still writes
        nothing; it costs only a provider call. Without the IOC (a reconciler's resend), or for a
        sandbox submission, which must never run twice, the row is checked first; a submission
        also claims the row (moves it to a new chain) before it submits, so a redelivered or
        retried message submits nothing.
        """
        spec = self._spec(plugin)
        if sent_ioc is not None and spec is not None and not spec.is_submission(sent_ioc[0]):
            self._lookup(analysis_id, spec, chain, Ioc(type=sent_ioc[0], value=sent_ioc[1]))
            return
        loaded = self._load(analysis_id, plugin, chain)
        if loaded is None:
            logger.info("run_plugin %s/%s: already final or superseded, skipped", analysis_id, plugin)
            return
        row, ioc = loaded
        if spec is None:
            self.finish(analysis_id, plugin, chain, _unregistered(plugin))
            return
        if not spec.is_submission(ioc.type):
            self._lookup(analysis_id, spec, chain, ioc)
            return
        assert self.rt.db is not None
        with self.rt.db.connection_context():
            mine = analyses.claim(analysis_id, plugin, chain)
        if mine is None:
            logger.info("run_plugin %s/%s: another run took the submission, skipped", analysis_id, plugin)
            return
        outcome = self.rt.runner.submit(spec, ioc)
        if isinstance(outcome, Submitted):
            job_id = outcome.job_id
            self._keep(job_id, lambda: self._submitted(analysis_id, spec, mine, job_id, row.created_at))
            return
        self._keep(None, lambda: self.finish(analysis_id, plugin, mine, outcome, ioc))

    def _keep(self, job_id: str | None, write: Callable[[], T]) -> T:
        """Store what a submission brought back, retrying a database error in place.

        The row was claimed for a chain no message carries, so a Dramatiq retry of the message
        would skip it and the reconciler would later submit again: the job would be orphaned.
        Only when the database stays down through every retry is the error raised.
        """
        for delay_s in (*_DB_BACKOFF_S, None):
            try:
                return write()
            except _DB_ERRORS as ex:
                if delay_s is None:
                    logger.error(
                        "could not store a submission's outcome (job %s): %s; the row stays pending "
                        "and the reconciler submits again",
                        job_id,
                        type(ex).__name__,
                    )
                    raise
                logger.warning("storing a submission's outcome failed: %s; retrying", type(ex).__name__)
                time.sleep(delay_s)
        raise AssertionError("unreachable")

    def _lookup(self, analysis_id: str, spec: PluginSpec, chain: str, ioc: Ioc) -> None:
        """Run a lookup and finish the row with its result (on the call thread when in time)."""

        def finish(result: dict[str, Any]) -> None:
            self.finish(analysis_id, spec.name, chain, result, ioc)

        self.rt.runner.lookup_then(spec, ioc, finish)

    def poll_sandbox(self, analysis_id: str, plugin: str, chain: str) -> None:
        """Poll a sandbox job once; finish the row or schedule the next poll with backoff."""
        loaded = self._load(analysis_id, plugin, chain)
        if loaded is None:
            return
        row, ioc = loaded
        spec = self._spec(plugin)
        if spec is None:
            self.finish(analysis_id, plugin, chain, _unregistered(plugin))
            return
        schedule = timing(spec, self.rt)
        elapsed_s = (utcnow() - row.created_at).total_seconds()
        if elapsed_s > schedule.timeout_s:
            message = f"the sandbox did not finish within {schedule.timeout_s:g} s"
            self.finish(
                analysis_id, plugin, chain, error_result(plugin, "timeout", message, int(elapsed_s * 1000))
            )
            return
        try:
            finding = self.rt.runner.poll(spec, ioc, row.job_id or "")
        except PluginError as ex:
            if ex.code not in _TRANSIENT:
                result = error_result(plugin, ex.code, ex.message, int(elapsed_s * 1000))
                self.finish(analysis_id, plugin, chain, result)
                return
            logger.info("poll %s/%s: %s, trying again later", analysis_id, plugin, ex.code)
            self._schedule(analysis_id, row, schedule, ex.retry_after_s)
            return
        if finding is None:
            self._schedule(analysis_id, row, schedule, None)
            return
        self.finish(analysis_id, plugin, chain, ok_result(plugin, finding, int(elapsed_s * 1000)), ioc)

    def _spec(self, plugin: str) -> PluginSpec | None:
        module = registry.BY_NAME.get(plugin)
        return module.SPEC if module else None

    def _submitted(
        self, analysis_id: str, spec: PluginSpec, chain: str, job_id: str, created_at: dt.datetime
    ) -> None:
        assert self.rt.db is not None and self.poll_actor is not None
        schedule = timing(spec, self.rt)
        # As in _schedule: the first poll does not wait past the deadline either.
        left_s = schedule.timeout_s - (utcnow() - created_at).total_seconds()
        delay_s = min(schedule.interval_s, max(left_s, 0.0) + 0.1)
        with self.rt.db.connection_context():
            due = utcnow() + dt.timedelta(seconds=delay_s)
            mine = analyses.record_submission(analysis_id, spec.name, job_id, chain, due)
        if mine:
            send(self.poll_actor, analysis_id, spec.name, chain, int(delay_s * 1000))
            self._push(analysis_id, {"plugin": spec.name, "kind": "submitted", "job_id": job_id})

    def _schedule(
        self, analysis_id: str, row: PluginResult, schedule: Timing, retry_after_s: float | None
    ) -> None:
        assert self.rt.db is not None and self.poll_actor is not None
        delay_s = backoff_s(row.attempts, schedule)
        if retry_after_s is not None:
            delay_s = max(delay_s, retry_after_s)
        # Never sleep past the deadline: the poll due then finishes the row with timeout.
        left_s = schedule.timeout_s - (utcnow() - row.created_at).total_seconds()
        delay_s = min(delay_s, max(left_s, 0.0) + 0.1)
        with self.rt.db.connection_context():
            token = analyses.reschedule(row, utcnow() + dt.timedelta(seconds=delay_s))
        if token:
            send(self.poll_actor, analysis_id, row.plugin, token, int(delay_s * 1000))

    def finish(
        self, analysis_id: str, plugin: str, chain: str | None, result: dict[str, Any], ioc: Ioc | None = None
    ) -> None:
        """Store a final result (first answer wins) with its cache entry, then tell a waiting API call.

        When the row was already final, the waiting call is told the stored answer. When another
        chain owns the still-pending row, nothing is told: that chain's run will answer. The cache
        entry is written only with a stored answer, in the same statement (see analyses.finish).
        """
        assert self.rt.db is not None
        remember = cache.entry(plugin, ioc.type, ioc.value, result) if ioc is not None else None
        with self.rt.db.connection_context():
            if analyses.finish(analysis_id, plugin, result, chain, remember):
                self._push(analysis_id, {"plugin": plugin, "kind": "result", "result": result})
                return
            stored = analyses.get_row(analysis_id, plugin)
        if stored is not None and stored.status in analyses.FINAL:
            self._push(analysis_id, {"plugin": plugin, "kind": "result", "result": stored.result})
        else:
            logger.info("run_plugin %s/%s: superseded by another chain, nothing stored", analysis_id, plugin)

    def _push(self, analysis_id: str, outcome: dict[str, Any]) -> None:
        try:
            self.rt.barrier.push(analysis_id, outcome)
        except Exception as ex:  # noqa: BLE001 - the row holds the answer; the barrier is best effort
            logger.warning("barrier push for %s failed: %s", analysis_id, type(ex).__name__)


class FinaliseOnTimeLimit(Middleware):
    """Turn a run killed by Dramatiq's time limit (a BaseException) into a stored timeout result."""

    def __init__(self, work: _Work) -> None:
        self.work = work

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if not isinstance(exception, TimeLimitExceeded) or message.actor_name != RUN_PLUGIN:
            return
        analysis_id, plugin, chain = message.args[:3]
        result_ = error_result(plugin, "timeout", "the plugin run exceeded the worker's time limit", 0)
        try:
            self.work.finish(analysis_id, plugin, chain, result_)
        except Exception:
            logger.exception("could not finalise %s/%s after a time limit", analysis_id, plugin)


def _unregistered(plugin: str) -> dict[str, Any]:
    return error_result(plugin, "internal_error", f"plugin {plugin!r} is not registered in this worker", 0)
