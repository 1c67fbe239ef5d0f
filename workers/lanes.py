"""Fast lookups and sandbox polls on separate worker threads, so a poll backlog never delays a lookup.

A Dramatiq ``Worker`` feeds every queue it consumes into one work queue served by one set of
threads. Separate queues alone therefore do not keep sandbox polls off the threads a fast lookup
needs: each poll may wait seconds on a slow sandbox API, and one reconcile pass may re-send
hundreds of them. ``SandboxLane`` gives the sandbox queue a ``Worker`` of its own, with its own
threads, in the same process; the process's main worker keeps the fast queue.

A process started for one queue only (``socbuddy worker --queues sandbox``, or ``--queues fast``)
needs no second worker and gets none.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq import Worker
from dramatiq.common import q_name
from dramatiq.middleware import Middleware

from workers.broker import SANDBOX_QUEUE


class SandboxLane(Middleware):
    """Split the sandbox queue off the first worker that boots into a worker of ``threads`` threads.

    When the process stops, the lane waits up to ``stop_timeout_ms`` for the polls it is running
    (pass the actors' time limit, so none is cut off).
    """

    def __init__(self, threads: int, stop_timeout_ms: int) -> None:
        self.threads = threads
        self.stop_timeout_ms = stop_timeout_ms
        self.main: Worker | None = None
        self.lane: Worker | None = None

    def before_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        if self.main is not None:  # the lane's own boot, or a split already made
            return
        queues = {q_name(name) for name in broker.get_declared_queues()}
        wanted = set(worker.consumer_whitelist or queues)
        if SANDBOX_QUEUE not in wanted or wanted == {SANDBOX_QUEUE}:
            return
        # Set before the worker's consumers exist: they are created from this list as it boots.
        worker.consumer_whitelist = wanted - {SANDBOX_QUEUE}
        self.main = worker
        self.lane = Worker(
            broker, queues={SANDBOX_QUEUE}, worker_threads=self.threads, worker_timeout=worker.worker_timeout
        )

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        if worker is self.main and self.lane is not None:
            # A starting Worker registers a middleware of its own on the broker: for the second one
            # Dramatiq warns of "a middleware of the same type twice", which is expected here.
            quiet = _Drop("same type twice")
            broker.logger.addFilter(quiet)
            try:
                self.lane.start()
            finally:
                broker.logger.removeFilter(quiet)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        if worker is self.main and self.lane is not None:
            lane, self.lane = self.lane, None
            lane.stop(timeout=self.stop_timeout_ms)


class _Drop(logging.Filter):
    """Drop the log records whose message contains ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()
