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

from typing import Any

import dramatiq
from dramatiq import Worker
from dramatiq.common import q_name
from dramatiq.middleware import Middleware

from workers.broker import SANDBOX_QUEUE

STOP_TIMEOUT_MS = 30_000


class SandboxLane(Middleware):
    """Split the sandbox queue off the first worker that boots into a worker of ``threads`` threads."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
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
            self.lane.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        if worker is self.main and self.lane is not None:
            lane, self.lane = self.lane, None
            lane.stop(timeout=STOP_TIMEOUT_MS)
