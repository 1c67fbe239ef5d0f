"""Sandbox polls run on threads of their own, so a backlog of them never delays a fast lookup."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid

import dramatiq
import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from shared import analyses
from shared.models import PluginResult, utcnow
from tests.conftest import Service
from tests.fakes.providers import FakeProviders
from workers.broker import FAST_QUEUE, SANDBOX_QUEUE
from workers.lanes import SandboxLane
from workers.reconciler import ReconcilerMiddleware


def _pending_poll(service: Service) -> tuple[str, str, str]:
    """A submitted joe_sandbox row whose next poll is a minute away (the reconciler leaves it)."""
    analysis_id, chain = uuid.uuid4(), analyses.new_chain()
    with service.workers.runtime.db.connection_context():
        analyses.create(
            analysis_id,
            f"http://{analysis_id.hex[:8]}.example.com/",
            "url",
            [analyses.PlannedPlugin("joe_sandbox", "slow", "m1", chain)],
            "t",
        )
        PluginResult.update(job_id="140", next_check_at=utcnow() + dt.timedelta(minutes=1)).where(
            PluginResult.analysis == analysis_id
        ).execute()
    return str(analysis_id), "joe_sandbox", chain


def test_a_backlog_of_sandbox_polls_does_not_delay_a_fast_lookup(make_service, fake: FakeProviders) -> None:
    service = make_service(SOCBUDDY_FAST_TIMEOUT="1.5", SOCBUDDY_SANDBOX_THREADS="2")
    fake.joe_polls_before_finish = 1000
    fake.delay_s["joe"] = 2.0  # each poll holds its thread for 2 s, inside its budget
    for _ in range(32):  # twice the main worker's 16 threads
        service.workers.actors.poll_sandbox.send(*_pending_poll(service))
    time.sleep(0.3)  # the polls are running
    started = time.monotonic()
    body = service.post("/api/v1/analysis", {"ioc": "8.8.8.8", "type": "ip", "plugins": ["virustotal"]}).json
    assert "virustotal" in body["results"], body
    assert time.monotonic() - started < 1.5
    assert fake.count("joe", "submission/info") == 2  # only the lane's two threads poll


def test_each_queue_has_its_own_threads_and_the_process_one_reconciler(make_service) -> None:
    service = make_service(SOCBUDDY_SANDBOX_THREADS="3")
    main, lane = service.workers.worker, service.workers.lanes.lane
    assert lane is not None
    assert set(main.consumers) == {FAST_QUEUE, f"{FAST_QUEUE}.DQ"}
    assert set(lane.consumers) == {SANDBOX_QUEUE, f"{SANDBOX_QUEUE}.DQ"}
    assert lane.worker_threads == 3 and all(t.is_alive() for t in lane.workers)
    reconcilers = [
        m for m in service.workers.runtime.broker.middleware if isinstance(m, ReconcilerMiddleware)
    ]
    assert [r.worker for r in reconcilers] == [main]


def _broker_with_both_queues() -> StubBroker:
    broker = StubBroker()
    dramatiq.actor(actor_name="fast_one", queue_name=FAST_QUEUE, broker=broker)(lambda: None)
    dramatiq.actor(actor_name="sandbox_one", queue_name=SANDBOX_QUEUE, broker=broker)(lambda: None)
    broker.add_middleware(SandboxLane(2, stop_timeout_ms=2000))
    return broker


@pytest.mark.parametrize("queues", [{FAST_QUEUE}, {SANDBOX_QUEUE}])
def test_a_worker_started_for_one_queue_gets_no_second_worker(queues: set[str]) -> None:
    broker = _broker_with_both_queues()
    worker = Worker(broker, queues=queues, worker_threads=1, worker_timeout=10)
    worker.start()
    try:
        lane = next(m for m in broker.middleware if isinstance(m, SandboxLane))
        assert lane.lane is None
        assert {name.removesuffix(".DQ") for name in worker.consumers} == queues
    finally:
        worker.stop(timeout=2000)


def test_stopping_the_main_worker_stops_the_sandbox_threads() -> None:
    broker = _broker_with_both_queues()
    worker = Worker(broker, worker_threads=1, worker_timeout=10)
    worker.start()
    lane = next(m for m in broker.middleware if isinstance(m, SandboxLane)).lane
    assert lane is not None and set(lane.consumers) == {SANDBOX_QUEUE, f"{SANDBOX_QUEUE}.DQ"}
    worker.stop(timeout=2000)
    assert not any(t.is_alive() for t in lane.workers)
    assert not any(t.is_alive() for t in lane.consumers.values())


def test_the_sandbox_threads_get_their_stop_timeout_and_boot_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = _broker_with_both_queues()
    lanes = next(m for m in broker.middleware if isinstance(m, SandboxLane))
    lanes.stop_timeout_ms = 1000
    started, release = threading.Event(), threading.Event()

    def slow_poll() -> None:
        started.set()
        release.wait(10)

    dramatiq.actor(actor_name="slow_poll", queue_name=SANDBOX_QUEUE, broker=broker)(slow_poll).send()
    with caplog.at_level(logging.WARNING):
        worker = Worker(broker, worker_threads=1, worker_timeout=10)
        worker.start()
    assert not [r for r in caplog.records if "same type twice" in r.getMessage()]
    lane = lanes.lane
    assert lane is not None and started.wait(5)
    stopping = time.monotonic()
    try:
        worker.stop(timeout=5000)
        # The lane waits its own 1 s for the running poll, not the main worker's 5 s.
        assert 0.8 < time.monotonic() - stopping < 2.5
    finally:
        release.set()
