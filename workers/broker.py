"""Build the broker: the only module that does. Run it before any actor is declared.

``REDIS_URL`` set: a RedisBroker tuned for fast redelivery (heartbeat and maintenance). Unset (only
``socbuddy dev``): Dramatiq's StubBroker, consumed by an in-process Worker. The broker is installed
as Dramatiq's global one, so nothing can silently build a default (RabbitMQ or localhost Redis).
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from shared.config import Settings

FAST_QUEUE = "fast"
SANDBOX_QUEUE = "sandbox"
QUEUES = (FAST_QUEUE, SANDBOX_QUEUE)
# Out of a million broker commands, how many also run maintenance (requeue dead workers' messages).
MAINTENANCE_CHANCE = 50_000


def build(settings: Settings) -> dramatiq.Broker:
    """Return the configured broker and install it as Dramatiq's global broker."""
    broker: dramatiq.Broker
    if settings.redis_url:
        broker = RedisBroker(
            url=settings.redis_url,
            namespace="socbuddy",
            heartbeat_timeout=settings.heartbeat_timeout_ms,
            maintenance_chance=MAINTENANCE_CHANCE,
            socket_timeout=30,
            socket_connect_timeout=5,
            health_check_interval=30,
        )
    else:
        broker = StubBroker()
    dramatiq.set_broker(broker)
    return broker


def ping(broker: dramatiq.Broker) -> bool:
    """Return True when the broker answers (always True in-process)."""
    if isinstance(broker, RedisBroker):
        try:
            return bool(broker.client.ping())
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False
    return True
