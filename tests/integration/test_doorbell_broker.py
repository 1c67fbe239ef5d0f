"""The Redis broker's doorbell and batched sends, on the real Redis.

An idle consumer waits on its queue's doorbell instead of sleeping: a message sent to it is
fetched long before its idle wait ends, a batch of messages goes out in one round trip, and a
delay queue's consumer waits only until its earliest due message, a drained queue drops leftover
rings, and a batch loads its script itself.
"""

from __future__ import annotations

import threading
import time
import uuid

import dramatiq
import pytest

from tests.e2e.servers import RedisServer
from workers import broker as brokermod

pytestmark = pytest.mark.integration

WAKE_MS = 6000  # an idle queue consumer's wait without a ring: far longer than any pickup here


@pytest.fixture
def doorbell_broker(redis_url):
    broker = brokermod.DoorbellRedisBroker(
        idle_ms=50,
        wake_ms=WAKE_MS,
        url=redis_url,
        namespace=f"test-{uuid.uuid4().hex[:8]}",
        socket_timeout=30,  # as workers.broker.build sets it: longer than any doorbell wait
    )
    broker.declare_queue("q")
    yield broker
    broker.close()


def _message(n: int) -> dramatiq.Message:
    return dramatiq.Message(queue_name="q", actor_name="noop", args=(n,), kwargs={}, options={})


def _next_message(consumer, within_s: float):
    """Call the consumer as a worker does until it yields a message; return it and the time taken."""
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        proxy = next(consumer)
        if proxy is not None:
            return proxy, time.monotonic() - started
    return None, time.monotonic() - started


def test_an_idle_consumer_waits_its_whole_idle_time_when_nothing_rings(doorbell_broker) -> None:
    consumer = doorbell_broker.consume("q", prefetch=4, timeout=WAKE_MS)
    consumer.long_s = 0.5  # shortened here only, so the test stays quick
    started = time.monotonic()
    assert next(consumer) is None
    assert time.monotonic() - started >= 0.45  # it blocked on the doorbell, not a busy loop
    consumer.close()


def test_a_message_wakes_an_idle_consumer_at_once(doorbell_broker) -> None:
    consumer = doorbell_broker.consume("q", prefetch=4, timeout=WAKE_MS)
    sender = threading.Timer(0.3, lambda: doorbell_broker.enqueue(_message(1)))
    started = time.monotonic()
    sender.start()
    proxy, _ = _next_message(consumer, within_s=WAKE_MS / 1000)
    waited_s = time.monotonic() - started
    assert proxy is not None and proxy.args == (1,)
    # Without the doorbell the consumer would sleep its whole wait (6 s) before fetching again.
    assert waited_s < 3.0, f"picked up after {waited_s:.2f} s"
    consumer.close()


def test_enqueue_many_sends_every_message_in_one_round_trip(doorbell_broker, monkeypatch) -> None:
    calls = []
    real_execute = type(doorbell_broker.client.pipeline()).execute

    def counting_execute(pipe, *args, **kwargs):
        calls.append(len(pipe.command_stack))
        return real_execute(pipe, *args, **kwargs)

    monkeypatch.setattr(type(doorbell_broker.client.pipeline()), "execute", counting_execute)
    doorbell_broker.enqueue_many([_message(n) for n in range(5)])
    assert len(calls) == 1 and calls[0] >= 5  # five dispatches plus the ring, one pipeline
    consumer = doorbell_broker.consume("q", prefetch=10, timeout=WAKE_MS)
    got: list[int] = []
    deadline = time.monotonic() + 5
    while len(got) < 5 and time.monotonic() < deadline:
        proxy = next(consumer)
        if proxy is not None:
            got.append(proxy.args[0])
            consumer.ack(proxy)
    assert sorted(got) == [0, 1, 2, 3, 4]
    consumer.close()


def test_a_delay_queue_consumer_waits_until_its_earliest_due_message(doorbell_broker) -> None:
    consumer = doorbell_broker.consume("q.DQ", prefetch=4, timeout=WAKE_MS)
    consumer.long_s = 2.0  # shortened here only, so the test stays quick
    # Idle with nothing delayed: one long wait, not a poll every idle_ms (50 ms here).
    started = time.monotonic()
    assert next(consumer) is None
    assert time.monotonic() - started >= 1.8
    # A message due in 0.4 s: the consumer hands it out, then returns to its worker thread (which
    # releases due messages between calls) when it is due, long before its idle wait ends.
    doorbell_broker.enqueue(_message(7), delay=400)
    proxy, _ = _next_message(consumer, within_s=5)
    assert proxy is not None and proxy.args == (7,)
    eta_s = proxy.options["eta"] / 1000
    while next(consumer) is not None:
        pass
    returned_s = time.time()
    assert eta_s - 0.05 <= returned_s < eta_s + 0.5, f"returned {returned_s - eta_s:+.3f} s from the due time"
    # The call after that returns at once (nothing to wait for: its worker thread releases the
    # message now), and the due time is then forgotten: the wait is the idle one again.
    started = time.monotonic()
    assert next(consumer) is None
    assert time.monotonic() - started < 0.2
    assert consumer._wait_s() == consumer.long_s
    consumer.close()


def test_a_drained_queue_drops_leftover_rings_and_a_refilled_one_wakes_at_once(doorbell_broker) -> None:
    doorbell = brokermod.DOORBELL_PREFIX + "q"
    client = doorbell_broker.client
    consumer = doorbell_broker.consume("q", prefetch=10, timeout=WAKE_MS)
    consumer.long_s = 1.0
    doorbell_broker.enqueue_many([_message(n) for n in range(2)])
    assert client.llen(doorbell) == brokermod._DOORBELL_RINGS
    got = [next(consumer), next(consumer)]
    assert sorted(p.args[0] for p in got) == [0, 1]
    # The short fetch emptied the queue: the consumer waits on its doorbell without another fetch,
    # and the rings left over from the send are gone, so they cost no empty fetches.
    fetches = []
    real_fetch = doorbell_broker.do_fetch
    doorbell_broker.do_fetch = lambda *a: fetches.append(a) or real_fetch(*a)  # type: ignore[method-assign]
    started = time.monotonic()
    assert next(consumer) is None
    assert time.monotonic() - started >= 0.9 and fetches == []
    assert client.llen(doorbell) == 0
    # A message already queued with no ring (a dead worker's requeue): the nap rings for it, so
    # the consumer fetches it at once instead of after its idle wait.
    doorbell_broker.do_enqueue(
        "q", "manual-id", _message(9).copy(options={"redis_message_id": "manual-id"}).encode()
    )
    consumer.drained = True
    started = time.monotonic()
    assert next(consumer) is None
    assert time.monotonic() - started < 0.5
    proxy, _ = _next_message(consumer, within_s=2)
    assert proxy is not None and proxy.args == (9,)
    consumer.close()


def test_a_batch_sends_no_script_check_and_works_on_a_fresh_redis(tmp_path) -> None:
    # A redis-server of the test's own: fresh, as after a restart, so no script is loaded in it.
    server = RedisServer(tmp_path)
    server.start()
    broker = brokermod.DoorbellRedisBroker(idle_ms=50, wake_ms=WAKE_MS, url=server.url, namespace="t")
    broker.declare_queue("q")
    pipeline_class = type(broker.client.pipeline())
    real_execute = pipeline_class.execute
    seen: list[int] = []

    def recording_execute(pipe, *args, **kwargs):
        seen.append(len(pipe.scripts))
        return real_execute(pipe, *args, **kwargs)

    try:
        assert broker.client.script_exists(broker._dispatch_script.sha)[0] is False
        pipeline_class.execute = recording_execute
        try:
            broker.enqueue_many([_message(n) for n in range(3)])
        finally:
            pipeline_class.execute = real_execute
        # No Script registered on the pipeline, which would make redis-py first ask SCRIPT EXISTS
        # (a round trip); the batch loads the script itself, so there is no NOSCRIPT either.
        assert seen == [0]
        consumer = broker.consume("q", prefetch=10, timeout=WAKE_MS)
        got = []
        while len(got) < 3:
            proxy, _ = _next_message(consumer, within_s=5)
            assert proxy is not None
            got.append(proxy.args[0])
        assert sorted(got) == [0, 1, 2]
        consumer.close()
    finally:
        broker.close()
        server.stop()


def test_the_local_broker_caps_its_consumers_wait_and_sends_batches() -> None:
    broker = brokermod.LocalBroker(idle_ms=50)
    broker.declare_queue("q")
    consumer = broker.consume("q", timeout=1000)
    started = time.monotonic()
    assert next(consumer) is None
    assert time.monotonic() - started < 0.5  # 50 ms, not the worker's 1000
    broker.enqueue_many([_message(n) for n in range(3)])
    assert broker.queues["q"].qsize() == 3


def test_consumers_share_a_fan_out_instead_of_the_first_taking_it_all(doorbell_broker) -> None:
    first = doorbell_broker.consume("q", prefetch=96, timeout=WAKE_MS)
    second = doorbell_broker.consume("q", prefetch=96, timeout=WAKE_MS)
    doorbell_broker.enqueue_many([_message(n) for n in range(10)])
    taken = [next(first)]
    # One fetch took at most FETCH_BATCH messages, so the second worker finds the rest.
    assert len(first.message_cache) == brokermod.FETCH_BATCH - 1
    proxy, _ = _next_message(second, within_s=5)
    assert proxy is not None
    taken.append(proxy)
    for consumer in (first, second):  # what each fetched and holds
        while consumer.message_cache:
            taken.append(next(consumer))
    while len(taken) < 10:
        proxy, _ = _next_message(first, within_s=5)
        assert proxy is not None
        taken.append(proxy)
    assert sorted(p.args[0] for p in taken) == list(range(10))
    first.close()
    second.close()


def test_held_names_the_messages_queued_delayed_or_running_and_forgets_acked_or_flushed_ones(
    doorbell_broker, redis_url
) -> None:
    import redis

    queued, delayed, running, done = (_message(n) for n in range(4))
    doorbell_broker.declare_queue("q")
    doorbell_broker.enqueue(queued)
    doorbell_broker.enqueue(delayed, delay=60_000)
    consumer = doorbell_broker.consume("q", prefetch=4, timeout=WAKE_MS)
    doorbell_broker.enqueue(running)
    doorbell_broker.enqueue(done)
    taken = []
    while len(taken) < 3:
        proxy, _ = _next_message(consumer, 5)
        taken.append(proxy)
    by_id = {proxy.message_id: proxy for proxy in taken}
    consumer.ack(by_id[done.message_id])
    ids = [m.message_id for m in (queued, delayed, running, done)] + ["never-sent"]
    assert doorbell_broker.held("q", ids) == {queued.message_id, delayed.message_id, running.message_id}
    consumer.close()
    redis.Redis.from_url(redis_url).flushdb()  # a Redis restart without persistence
    assert doorbell_broker.held("q", ids) == set()
    assert doorbell_broker.held("q", []) == set()
