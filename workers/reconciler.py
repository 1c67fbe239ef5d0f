"""Re-send work whose messages were lost: the database row, not the broker, is the truth.

Delayed Dramatiq messages live in a worker's memory until due and die with a Redis restart or a
killed worker. Every worker process (and ``socbuddy dev``) runs one Reconciler thread; many may run
at once, because each re-send first wins a compare-and-set on the row's chain token.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dramatiq
import peewee
import redis
from dramatiq.middleware import Middleware

from shared import analyses
from shared.models import PluginResult, utcnow
from shared.results import error_result
from workers import broker as brokermod
from workers.actors import Actors, message_id, send
from workers.broker import FAST_QUEUE, SANDBOX_QUEUE
from workers.runtime import Runtime

logger = logging.getLogger(__name__)

MAX_REDISPATCH = 3
# Rows looked at per pass, of each kind: a backlog of held rows costs each pass a bounded lookup,
# and the next pass goes on after the last row this one looked at (see Window).
PAGE = 500
# A message the broker still holds this long after its row was due is presumed lost all the same:
# a worker keeps the delayed messages it fetched in memory, and drops them when its connection to
# Redis breaks, while their copies stay in Redis, claimed by that (living) worker, until it exits.
HELD_CEILING_S = 600.0


@dataclass
class Counts:
    """What one reconcile pass did."""

    polls_resent: int = 0
    runs_resent: int = 0
    given_up: int = 0
    still_held: int = 0  # overdue or old rows whose message the broker still holds: left alone


@dataclass
class Window:
    """Where a reconciler's next pass starts in each list of candidate rows (after this row id)."""

    polls_after: int = 0
    runs_after: int = 0


def reconcile_once(
    runtime: Runtime, actors: Actors, now: dt.datetime | None = None, window: Window | None = None
) -> Counts:
    """Re-send overdue sandbox polls and stalled plugin runs; give up on runs dispatched too often.

    A row is re-sent only when the broker no longer holds the message of its current chain (see
    ``workers.actors.message_id``), or has held it for ``HELD_CEILING_S`` past the row's due time.
    A message that is queued behind a backlog, waiting for a retry, or running (a lookup with a
    long budget) is not lost: re-sending it would only move the row to a new chain and throw away
    the answer the message is about to bring. A pass looks at up to ``PAGE`` rows of each kind,
    from where the previous pass of ``window`` stopped.
    """
    assert runtime.db is not None
    now = now or utcnow()
    window = window or Window()
    counts = Counts()
    settings = runtime.settings
    with runtime.db.connection_context():
        polls = analyses.overdue_polls(now, settings.reconcile_grace_s, window.polls_after, PAGE)
        window.polls_after = polls[-1].id if len(polls) == PAGE else 0
        ceiling = now - dt.timedelta(seconds=settings.reconcile_grace_s + HELD_CEILING_S)
        overdue = _not_held(
            runtime,
            SANDBOX_QUEUE,
            polls,
            lambda row: row.next_check_at is not None and row.next_check_at < ceiling,
        )
        for row in overdue.lost:
            if _resend(row, actors.poll_sandbox, restart=False):
                counts.polls_resent += 1
        candidates = analyses.stalled_runs(now, settings.fast_redispatch_after_s, window.runs_after, PAGE)
        window.runs_after = candidates[-1].id if len(candidates) == PAGE else 0

        def waited_s(row: PluginResult) -> float:
            return (now - (row.started_at or row.created_at)).total_seconds()

        def budget_s(row: PluginResult) -> float:
            # A run may take its plugin's whole budget: a message the broker cannot account for
            # (sent before message ids named chains) is not stalled before that has passed.
            return settings.plugin_timeout_for(row.plugin) + 30

        stalled = [row for row in candidates if waited_s(row) > budget_s(row)]
        runs = _not_held(
            runtime, FAST_QUEUE, stalled, lambda row: waited_s(row) > budget_s(row) + HELD_CEILING_S
        )
        for row in runs.lost:
            if row.attempts >= MAX_REDISPATCH:
                message = f"no worker answered after {row.attempts + 1} dispatches"
                if analyses.finish(
                    row.analysis_key, row.plugin, error_result(row.plugin, "unavailable", message, 0)
                ):
                    counts.given_up += 1
                continue
            if _resend(row, actors.run_plugin, restart=True):
                counts.runs_resent += 1
        counts.still_held = overdue.held + runs.held
    if counts.polls_resent or counts.runs_resent or counts.given_up:
        logger.info("reconciler: %s", counts)
    return counts


@dataclass
class _Sorted:
    lost: list[PluginResult]
    held: int


def _not_held(
    runtime: Runtime, queue_name: str, rows: list[PluginResult], too_long: Callable[[PluginResult], bool]
) -> _Sorted:
    """Split ``rows`` into those whose current message is lost, and a count of the others.

    Lost: the broker no longer holds the message, or ``too_long`` says it has held it too long.
    """
    ids = {row.id: message_id(row.analysis_key, row.plugin, row.chain or "") for row in rows}
    held = brokermod.held(runtime.broker, queue_name, list(ids.values()))
    lost = [row for row in rows if ids[row.id] not in held or too_long(row)]
    for row in lost:
        if ids[row.id] in held:
            logger.warning(
                "reconciler: %s/%s is still held %g s after it was due; presumed lost",
                row.analysis_key,
                row.plugin,
                HELD_CEILING_S,
            )
    return _Sorted(lost, len(rows) - len(lost))


def _resend(row: PluginResult, actor: dramatiq.Actor[Any, Any], *, restart: bool) -> bool:
    """Take the row over (compare-and-set) and send its message; undo the take-over if sending fails."""
    token = analyses.take_over(row, restart=restart)
    if not token:
        return False
    try:
        send(actor, row.analysis_key, row.plugin, token)
    except (redis.RedisError, OSError) as ex:
        # The broker is down: give the row back as it was, so an outage does not count as a dispatch.
        analyses.give_back(row, token)
        logger.warning("reconciler could not send %s/%s: %s", row.analysis_key, row.plugin, type(ex).__name__)
        return False
    return True


class Reconciler(threading.Thread):
    """A daemon thread that reconciles every ``reconcile_interval_s`` (with jitter) until stopped."""

    def __init__(self, runtime: Runtime, actors: Actors) -> None:
        super().__init__(name="socbuddy-reconciler", daemon=True)
        self.runtime = runtime
        self.actors = actors
        self._stop_event = threading.Event()

    def run(self) -> None:
        interval_s = self.runtime.settings.reconcile_interval_s
        window = Window()
        while not self._stop_event.wait(interval_s * random.uniform(0.5, 1.0)):
            try:
                reconcile_once(self.runtime, self.actors, window=window)
            except (peewee.PeeweeException, redis.RedisError, OSError) as ex:
                logger.warning("reconcile pass failed: %s", type(ex).__name__)
            except Exception:
                logger.exception("reconcile pass failed")

    def stop(self) -> None:
        """Ask the thread to end after its current pass."""
        self._stop_event.set()


class ReconcilerMiddleware(Middleware):
    """Run one Reconciler thread per worker process, for the life of its first worker.

    A process may boot a second worker (workers.lanes: the sandbox queue's threads); it gets no
    second reconciler.
    """

    def __init__(self, runtime: Runtime, actors: Actors) -> None:
        self.runtime = runtime
        self.actors = actors
        self.thread: Reconciler | None = None
        self.worker: dramatiq.Worker | None = None

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self.worker is None:
            self.worker = worker

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if worker is self.worker and self.thread is None:
            self.thread = Reconciler(self.runtime, self.actors)
            self.thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self.thread is not None and worker is self.worker:
            self.thread.stop()
