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


@dataclass
class Counts:
    """What one reconcile pass did."""

    polls_resent: int = 0
    runs_resent: int = 0
    given_up: int = 0
    still_held: int = 0  # overdue or old rows whose message the broker still holds: left alone


def reconcile_once(runtime: Runtime, actors: Actors, now: dt.datetime | None = None) -> Counts:
    """Re-send overdue sandbox polls and stalled plugin runs; give up on runs dispatched too often.

    A row is re-sent only when the broker no longer holds the message of its current chain (see
    ``workers.actors.message_id``). A message that is queued behind a backlog, waiting for a
    retry, or running (a lookup with a long budget) is not lost: re-sending it would only move the
    row to a new chain and throw away the answer the message is about to bring.
    """
    assert runtime.db is not None
    now = now or utcnow()
    counts = Counts()
    settings = runtime.settings
    with runtime.db.connection_context():
        overdue = _not_held(runtime, SANDBOX_QUEUE, analyses.overdue_polls(now, settings.reconcile_grace_s))
        for row in overdue.lost:
            if _resend(row, actors.poll_sandbox, restart=False):
                counts.polls_resent += 1
        stalled = [
            row
            for row in analyses.stalled_runs(now, settings.fast_redispatch_after_s)
            # A run may take its plugin's whole budget: a message the broker cannot account for
            # (sent before message ids named chains) is not stalled before that has passed.
            if (row.started_at or row.created_at)
            < now - dt.timedelta(seconds=settings.plugin_timeout_for(row.plugin) + 30)
        ]
        runs = _not_held(runtime, FAST_QUEUE, stalled)
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


def _not_held(runtime: Runtime, queue_name: str, rows: list[PluginResult]) -> _Sorted:
    """Split ``rows`` into those whose current message the broker no longer holds, and a count."""
    ids = {row.id: message_id(row.analysis_key, row.plugin, row.chain or "") for row in rows}
    held = brokermod.held(runtime.broker, queue_name, list(ids.values()))
    lost = [row for row in rows if ids[row.id] not in held]
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
        while not self._stop_event.wait(interval_s * random.uniform(0.5, 1.0)):
            try:
                reconcile_once(self.runtime, self.actors)
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
