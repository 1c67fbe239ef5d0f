"""Build the broker: the only module that does. Run it before any actor is declared.

``REDIS_URL`` set: Dramatiq's RedisBroker tuned for fast redelivery (heartbeat and maintenance)
and fast pickup (a doorbell, batched sends). Unset (only ``socbuddy dev``): Dramatiq's StubBroker,
consumed by an in-process Worker. The broker is installed as Dramatiq's global one, so nothing can
silently build a default (RabbitMQ or localhost Redis).
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import dramatiq
import redis
from dramatiq.broker import Consumer, MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import current_millis, dq_name
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message
from dramatiq.middleware import Middleware

from shared.config import Settings

FAST_QUEUE = "fast"
SANDBOX_QUEUE = "sandbox"
QUEUES = (FAST_QUEUE, SANDBOX_QUEUE)
# Out of a million broker commands, how many also run maintenance (requeue dead workers' messages).
MAINTENANCE_CHANCE = 50_000
# How long an idle worker thread waits for work before it checks whether to stop. Only shutdown
# waits on it (message pickup is the consumers' business), so it is long: 96 threads waking every
# 50 ms kept an idle embedded process at 13 % of a core, against 1 % at 1 s.
THREAD_WAIT_MS = 1000
DOORBELL_PREFIX = "socbuddy:doorbell:"
# Rings kept per queue: enough to wake every idle consumer of a burst, few enough to bound the
# empty fetches that rings left over from a burst cost.
_DOORBELL_RINGS = 4
_DOORBELL_TTL_S = 60
# Messages one fetch takes at most (see _DoorbellConsumer): a fan-out spreads over worker processes.
FETCH_BATCH = 4
# The most times an actor retries a message (workers.actors declares its actors with it); ``held``
# looks for the copies named after each of those retries.
MAX_RETRIES = 5
# Before a consumer waits on its doorbell: an empty queue needs none of the rings left (each would
# cost an empty fetch); a queue that filled again gets one, so the wait ends at once. EVAL, not a
# loaded script: it runs in the same round trip as the wait, with no NOSCRIPT to recover from.
_NAP = """
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
else
  redis.call('RPUSH', KEYS[2], 1)
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[1]), -1)
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return 0
"""


class _DoorbellConsumer(_RedisConsumer):
    """A Redis consumer that idles on its queue's doorbell (BLPOP) and fetches in small batches.

    Dramatiq's consumer sleeps between empty fetches, backing off up to the worker timeout, so a
    message sent to an idle worker waited on average half that sleep before anyone looked (and
    polling faster cost CPU). Here the idle wait is a BLPOP on a small list that every enqueue
    rings, so an idle consumer fetches as soon as a message is sent. Without a ring it still looks
    again after ``wake_ms`` (a ring lost with a Redis restart costs that much), or after
    ``idle_ms`` while its prefetch is full.

    A fetch that comes back short has emptied the queue, so the consumer goes straight to its
    doorbell, in one round trip with a script that drops the rings left over from the sends it
    has just drained (each would cost an empty fetch), or rings once itself if the queue has
    filled again meanwhile. Both run atomically with respect to sends, and a send pushes its
    message before it rings, so no ring of an unfetched message is ever dropped.

    A delay queue's consumer hands its messages to the worker thread, which releases each one to
    its queue when due, between two calls to this consumer: so it waits no longer than until the
    earliest due time it has handed out, instead of polling every ``idle_ms``.

    Dramatiq's consumer also fetches as many messages as its prefetch allows, so the first worker
    process to wake took a whole fan-out and ran it under one GIL while the others idled. A fetch
    here takes at most ``FETCH_BATCH`` messages; the consumers woken by the same rings share them.
    """

    def __init__(self, broker: DoorbellRedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)
        self.short_s = min(timeout, broker.idle_ms) / 1000
        self.long_s = broker.wake_ms / 1000
        self.doorbell = DOORBELL_PREFIX + queue_name
        self.queue_key = f"{broker.namespace}:{queue_name}"
        # Due times (ms since the epoch) of the delayed messages handed out, earliest first.
        self.due: list[int] | None = [] if queue_name.endswith(".DQ") else None
        self.drained = False

    def __next__(self) -> Any:
        try:
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is None:  # as Dramatiq's consumer does: skip a hole in a fetch
                        continue
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    eta = message.options.get("eta")
                    if self.due is not None and isinstance(eta, int | float):
                        heapq.heappush(self.due, int(eta))
                    return MessageProxy(message)
                wait_s = self._wait_s()
                if wait_s is None:  # a delayed message is due: let the worker thread release it
                    return None
                room = self.prefetch - self.outstanding_message_count
                if room <= 0:  # no room: wait for a ring, then give the worker its turn
                    self.broker.client.blpop([self.doorbell], timeout=min(wait_s, self.short_s))
                    return None
                if not self.drained:
                    asked = min(room, FETCH_BATCH)
                    self.message_cache = self.broker.do_fetch(self.queue_name, asked)
                    self.drained = len(self.message_cache) < asked
                    if self.message_cache:
                        continue
                self.drained = False
                self.broker.nap(self.queue_key, self.doorbell, wait_s)
                return None
        except redis.ConnectionError as ex:
            raise ConnectionClosed(ex) from None

    def _wait_s(self) -> float | None:
        """Return how long an idle wait may last, or None when a delayed message is due now."""
        if not self.due:
            return self.long_s
        now = current_millis()
        if self.due[0] <= now:
            while self.due and self.due[0] <= now:
                heapq.heappop(self.due)
            return None
        return min(self.long_s, (self.due[0] - now) / 1000)


class DoorbellRedisBroker(RedisBroker):
    """Dramatiq's RedisBroker with a doorbell (see _DoorbellConsumer) and batched sends.

    ``enqueue_many`` sends a whole fan-out in one round trip: Dramatiq's enqueue runs its dispatch
    script once per message, and on a busy machine each round trip costs the sender a wakeup (ten
    sends measured 10-20 ms). While a batch is open on a thread, that thread's dispatch calls are
    queued on the batch's pipeline instead of being run one by one.
    """

    def __init__(self, *, idle_ms: int, wake_ms: int = THREAD_WAIT_MS, **options: Any) -> None:
        super().__init__(**options)
        self.idle_ms = idle_ms
        self.wake_ms = wake_ms
        self._batch = threading.local()
        dispatch = self.scripts["dispatch"]
        self._dispatch_script = dispatch

        def routed_dispatch(keys: list[str], args: list[Any]) -> Any:
            pipe = getattr(self._batch, "pipe", None)
            if pipe is None:
                return dispatch(keys=keys, args=args)
            # Queued by hash: a Script handed a pipeline makes it ask Redis first whether the
            # script is loaded (one more round trip per batch); _batched loads it in the batch.
            return pipe.evalsha(dispatch.sha, len(keys), *keys, *args)

        self.scripts = {**self.scripts, "dispatch": routed_dispatch}

    @property
    def consumer_class(self) -> type[Consumer]:
        return _DoorbellConsumer

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        with self._batched() as pipe:
            sent = self._send(message, delay)
            self._ring(pipe, sent.queue_name)
        return sent

    def enqueue_many(self, messages: Sequence[Message[Any]]) -> None:
        """Send ``messages`` (no delay) in one round trip; all are sent or the error is raised."""
        with self._batched() as pipe:
            for message in messages:
                self._send(message, None)
            for queue_name in {m.queue_name for m in messages}:
                self._ring(pipe, queue_name)

    def _send(self, message: Message[Any], delay: int | None) -> Message[Any]:
        """Send one message as RedisBroker.enqueue does, but for the name of its copy in Redis.

        Dramatiq names each copy it stores by a random id. Here the name is the message's own id
        and its retry count: still unique in each queue's hash (a retry is the next count, and a
        message waiting for its retry sits in the delay queue's hash), and ``held`` can find it.
        """
        queue_name = message.queue_name
        name = f"{message.message_id}.{message.options.get('retries', 0)}"
        message = message.copy(options={"redis_message_id": name})
        if delay is not None:
            queue_name = dq_name(queue_name)
            message = message.copy(queue_name=queue_name, options={"eta": current_millis() + delay})
        self.emit_before("enqueue", message, delay)
        self.do_enqueue(queue_name, name, message.encode())
        self.emit_after("enqueue", message, delay)
        return message

    @contextlib.contextmanager
    def _batched(self) -> Iterator[Any]:
        """Queue this thread's dispatches on one pipeline, sent when the block ends without error.

        A block opened inside another (an enqueue made while a batch is open) joins the open one.
        """
        open_pipe = getattr(self._batch, "pipe", None)
        if open_pipe is not None:
            yield open_pipe
            return
        pipe = self.client.pipeline(transaction=False)
        # Loading is idempotent and keeps the hash, so the batch never meets NOSCRIPT, even
        # just after a Redis restart.
        pipe.script_load(self._dispatch_script.script)
        self._batch.pipe = pipe
        try:
            yield pipe
        finally:
            self._batch.pipe = None
        pipe.execute()

    def held(self, queue_name: str, message_ids: Sequence[str]) -> set[str]:
        """Return those of ``message_ids`` still on ``queue_name``: queued, delayed or being run.

        Dramatiq keeps a message's body in the queue's hash from its send until its ack, also
        while a worker runs it and after a dead worker's messages are put back; a retry waits in
        the delay queue's hash. A message lost with a Redis restart, or dead-lettered, is in
        neither. Each copy is looked up by its name (see ``_send``), for up to ``MAX_RETRIES``
        retries.
        """
        if not message_ids:
            return set()
        names = [(m, f"{m}.{retries}") for m in message_ids for retries in range(MAX_RETRIES + 1)]
        pipe = self.client.pipeline(transaction=False)
        for queue in (queue_name, dq_name(queue_name)):
            for _, name in names:
                pipe.hexists(f"{self.namespace}:{queue}.msgs", name)
        found = pipe.execute()
        count = len(names)
        return {m for i, (m, _) in enumerate(names) if found[i] or found[count + i]}

    def nap(self, queue_key: str, doorbell: str, timeout_s: float) -> None:
        """Drop leftover rings if ``queue_key`` is empty (else ring once), then wait for a ring."""
        pipe = self.client.pipeline(transaction=False)
        pipe.eval(_NAP, 2, queue_key, doorbell, _DOORBELL_RINGS, _DOORBELL_TTL_S)
        pipe.blpop([doorbell], timeout=max(timeout_s, 0.001))
        pipe.execute()

    @staticmethod
    def _ring(pipe: Any, queue_name: str) -> None:
        key = DOORBELL_PREFIX + queue_name
        pipe.rpush(key, *[1] * _DOORBELL_RINGS)
        pipe.ltrim(key, -_DOORBELL_RINGS, -1)
        pipe.expire(key, _DOORBELL_TTL_S)


class LocalBroker(StubBroker):
    """Dramatiq's StubBroker whose consumers return to their worker at least every ``idle_ms``.

    A stub consumer wakes as soon as a message is put, so its timeout only paces the worker's
    turns for delayed messages; it is kept at ``idle_ms`` whatever the worker's own timeout.
    """

    def __init__(self, *, idle_ms: int) -> None:
        super().__init__()
        self.idle_ms = idle_ms
        # Copies of each message stored and not yet acked, by message id: see held().
        self._held: collections.Counter[str] = collections.Counter()
        self._held_lock = threading.Lock()
        self.add_middleware(_Release(self))

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        # Every stored copy counts once, until it is acked: a retry is a new copy, and so is a
        # delayed copy moved to its queue when due (the delayed one is acked then).
        with self._held_lock:
            self._held[message.message_id] += 1
        try:
            return super().enqueue(message, delay=delay)
        except BaseException:
            self.release(message.message_id)
            raise

    def release(self, message_id: str) -> None:
        """Count one copy of a message as acked (its last one makes it no longer held)."""
        with self._held_lock:
            self._held[message_id] -= 1
            if self._held[message_id] <= 0:
                del self._held[message_id]

    def held(self, queue_name: str, message_ids: Sequence[str]) -> set[str]:
        """Return those of ``message_ids`` with a copy sent through this broker and not yet acked."""
        with self._held_lock:
            return {m for m in message_ids if self._held.get(m, 0) > 0}

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 100) -> Consumer:
        return super().consume(queue_name, prefetch, min(timeout, self.idle_ms))

    def enqueue_many(self, messages: Sequence[Message[Any]]) -> None:
        """Send ``messages`` (no delay), as the Redis broker's batch does."""
        for message in messages:
            self.enqueue(message)


def build(settings: Settings) -> dramatiq.Broker:
    """Return the configured broker and install it as Dramatiq's global broker."""
    broker: dramatiq.Broker
    if settings.redis_url:
        broker = DoorbellRedisBroker(
            idle_ms=settings.worker_timeout_ms,
            url=settings.redis_url,
            namespace="socbuddy",
            heartbeat_timeout=settings.heartbeat_timeout_ms,
            maintenance_chance=MAINTENANCE_CHANCE,
            socket_timeout=30,
            socket_connect_timeout=5,
            health_check_interval=30,
        )
    else:
        broker = LocalBroker(idle_ms=settings.worker_timeout_ms)
    dramatiq.set_broker(broker)
    return broker


def enqueue_many(broker: dramatiq.Broker, messages: Sequence[Message[Any]]) -> None:
    """Send ``messages`` through ``broker``, in one batch where the broker can."""
    batch = getattr(broker, "enqueue_many", None)
    if batch is not None:
        batch(messages)
    else:
        for message in messages:
            broker.enqueue(message)


class _Release(Middleware):
    """Tell a LocalBroker when a copy of a message is acked or dead-lettered."""

    def __init__(self, broker: LocalBroker) -> None:
        self.broker = broker

    def after_ack(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.broker.release(message.message_id)

    def after_nack(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.broker.release(message.message_id)


def held(broker: dramatiq.Broker, queue_name: str, message_ids: Sequence[str]) -> set[str]:
    """Return those of ``message_ids`` that ``broker`` still holds on ``queue_name`` (see its ``held``).

    A broker that cannot tell holds none of them, as far as the caller knows.
    """
    ask = getattr(broker, "held", None)
    return ask(queue_name, message_ids) if ask is not None else set()


def ping(broker: dramatiq.Broker) -> bool:
    """Return True when the broker answers (always True in-process)."""
    if isinstance(broker, RedisBroker):
        try:
            return bool(broker.client.ping())
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False
    return True
