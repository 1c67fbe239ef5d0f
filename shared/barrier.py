"""The result barrier: workers push each plugin's outcome, the API waits for all of them.

Redis backs it in production (one list per analysis: RPUSH + BLPOP with the remaining time); an
in-process queue backs it in ``socbuddy dev``. Both have the same two methods.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any, Protocol

import redis

logger = logging.getLogger(__name__)

KEY_PREFIX = "socbuddy:barrier:"
KEY_TTL_S = 600
_MIN_WAIT_S = 0.005


class Barrier(Protocol):
    def push(self, analysis_id: str, outcome: dict[str, Any]) -> None: ...

    def wait(self, analysis_id: str, expected: set[str], timeout_s: float) -> dict[str, dict[str, Any]]: ...


class RedisBarrier:
    """A barrier on a Redis list per analysis."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def push(self, analysis_id: str, outcome: dict[str, Any]) -> None:
        """Append one plugin's outcome (``{"plugin": name, ...}``) for the waiting API call."""
        key = KEY_PREFIX + analysis_id
        pipe = self._redis.pipeline(transaction=False)
        pipe.rpush(key, json.dumps(outcome))
        pipe.expire(key, KEY_TTL_S)
        pipe.execute()

    def wait(self, analysis_id: str, expected: set[str], timeout_s: float) -> dict[str, dict[str, Any]]:
        """Collect outcomes until every expected plugin answered or the time is up."""
        key = KEY_PREFIX + analysis_id
        deadline = time.monotonic() + timeout_s
        outcomes: dict[str, dict[str, Any]] = {}
        try:
            while not expected <= outcomes.keys():
                remaining = deadline - time.monotonic()
                if remaining < _MIN_WAIT_S:
                    break
                # BLPOP with 0 blocks forever: the remaining time is always positive here.
                item = self._redis.blpop([key], timeout=remaining)
                if item is None:
                    break
                outcome = json.loads(item[1])
                outcomes[outcome["plugin"]] = outcome
            if not expected <= outcomes.keys():
                # A wait that got everything popped the list empty, and Redis drops empty lists.
                self._redis.delete(key)
        except redis.RedisError as ex:
            # The work is stored and sent: answer from the rows (what is missing is pending).
            logger.warning("barrier wait for %s failed: %s", analysis_id, type(ex).__name__)
        return outcomes


class LocalBarrier:
    """A barrier on in-process queues, for the embedded mode."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, tuple[float, queue.Queue[dict[str, Any]]]] = {}

    def _queue(self, analysis_id: str) -> queue.Queue[dict[str, Any]]:
        with self._lock:
            now = time.monotonic()
            stale = [k for k, (created, _) in self._queues.items() if now - created > KEY_TTL_S]
            for key in stale:
                del self._queues[key]
            entry = self._queues.setdefault(analysis_id, (now, queue.Queue()))
            return entry[1]

    def push(self, analysis_id: str, outcome: dict[str, Any]) -> None:
        """Append one plugin's outcome for the waiting API call."""
        self._queue(analysis_id).put(outcome)

    def wait(self, analysis_id: str, expected: set[str], timeout_s: float) -> dict[str, dict[str, Any]]:
        """Collect outcomes until every expected plugin answered or the time is up."""
        waiting = self._queue(analysis_id)
        deadline = time.monotonic() + timeout_s
        outcomes: dict[str, dict[str, Any]] = {}
        while not expected <= outcomes.keys():
            remaining = deadline - time.monotonic()
            if remaining < _MIN_WAIT_S:
                break
            try:
                outcome = waiting.get(timeout=remaining)
            except queue.Empty:
                break
            outcomes[outcome["plugin"]] = outcome
        with self._lock:
            self._queues.pop(analysis_id, None)
        return outcomes
