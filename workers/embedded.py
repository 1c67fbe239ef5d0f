"""API-side workers in the same process: what ``socbuddy dev`` (and the tests) run."""

from __future__ import annotations

from types import TracebackType

import httpx
from dramatiq import Worker

from shared import accounts
from shared import db as dbmod
from shared.config import Settings
from workers import actors as actorsmod
from workers import runtime as runtimemod
from workers.lanes import SandboxLane
from workers.reconciler import ReconcilerMiddleware

DEV_ACCOUNT = "dev"


class EmbeddedWorkers:
    """Build the runtime, migrate, start an in-process Worker and reconciler; stop them on exit."""

    def __init__(
        self,
        settings: Settings,
        *,
        worker_threads: int = 16,
        thread_wait_ms: int | None = None,
        transport: httpx.BaseTransport | None = None,
        create_dev_key: bool = True,
    ) -> None:
        self.runtime = runtimemod.build(settings, threads=32, transport=transport)
        assert self.runtime.db is not None, "socbuddy dev always has a database"
        dbmod.migrate(self.runtime.db)
        self.actors = actorsmod.declare(self.runtime.broker, self.runtime)
        self.runtime.broker.add_middleware(ReconcilerMiddleware(self.runtime, self.actors))
        self.lanes = SandboxLane(settings.sandbox_threads, actorsmod.time_limit_ms(settings))
        self.runtime.broker.add_middleware(self.lanes)
        # The consumers idle at SOCBUDDY_WORKER_TIMEOUT_MS whatever this is (see workers.broker);
        # the worker threads' wait only delays stopping, so tests keep it short and dev does not.
        self.worker = Worker(
            self.runtime.broker,
            worker_threads=worker_threads,
            worker_timeout=thread_wait_ms or settings.worker_timeout_ms,
        )
        self.first_key: str | None = None
        if create_dev_key:
            with self.runtime.db.connection_context():
                if not accounts.has_active_key():
                    self.first_key = accounts.create_key(DEV_ACCOUNT)

    def __enter__(self) -> EmbeddedWorkers:
        self.worker.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker threads and the plugin call threads."""
        self.worker.stop(timeout=5000)
        self.runtime.runner.close()
