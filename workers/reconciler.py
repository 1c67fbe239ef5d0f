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
from workers.actors import Actors
from workers.runtime import Runtime

logger = logging.getLogger(__name__)

MAX_REDISPATCH = 3


@dataclass
class Counts:
    """What one reconcile pass did."""

    polls_resent: int = 0
    runs_resent: int = 0
    given_up: int = 0


def reconcile_once(runtime: Runtime, actors: Actors, now: dt.datetime | None = None) -> Counts:
    """Re-send overdue sandbox polls and stalled plugin runs; give up on runs dispatched too often."""
    assert runtime.db is not None
    now = now or utcnow()
    counts = Counts()
    settings = runtime.settings
    with runtime.db.connection_context():
        for row in analyses.overdue_polls(now, settings.reconcile_grace_s):
            if _resend(row, actors.poll_sandbox, restart=False):
                counts.polls_resent += 1
        for row in analyses.stalled_runs(now, settings.fast_redispatch_after_s):
            if row.attempts >= MAX_REDISPATCH:
                message = f"no worker answered after {row.attempts + 1} dispatches"
                if analyses.finish(
                    row.analysis_key, row.plugin, error_result(row.plugin, "unavailable", message, 0)
                ):
                    counts.given_up += 1
                continue
            if _resend(row, actors.run_plugin, restart=True):
                counts.runs_resent += 1
    if counts.polls_resent or counts.runs_resent or counts.given_up:
        logger.info("reconciler: %s", counts)
    return counts


def _resend(row: PluginResult, actor: dramatiq.Actor[Any, Any], *, restart: bool) -> bool:
    """Take the row over (compare-and-set) and send its message; undo the take-over if sending fails."""
    token = analyses.take_over(row, restart=restart)
    if not token:
        return False
    try:
        actor.send(row.analysis_key, row.plugin, token)
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
