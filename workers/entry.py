"""The module ``dramatiq`` imports in every worker process (``socbuddy worker`` starts it).

Building the broker here, at import time, is deliberate: Dramatiq needs it before any actor is
declared, and it is the one configuration read allowed at import time.
"""

from __future__ import annotations

import os

from shared.config import Settings
from shared.logsetup import configure_logging
from workers import actors, runtime
from workers.lanes import SandboxLane
from workers.reconciler import ReconcilerMiddleware

configure_logging()
SETTINGS = Settings.from_env()
RUNTIME = runtime.build(SETTINGS, threads=int(os.environ.get("SOCBUDDY_WORKER_THREADS", "16")))
BROKER = RUNTIME.broker
ACTORS = actors.declare(BROKER, RUNTIME)
BROKER.add_middleware(ReconcilerMiddleware(RUNTIME, ACTORS))
BROKER.add_middleware(SandboxLane(SETTINGS.sandbox_threads, actors.time_limit_ms(SETTINGS)))
