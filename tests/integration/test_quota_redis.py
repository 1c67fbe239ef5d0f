"""The Redis quota is shared by several worker processes: never more than the quota per window."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import redis

from workers import quota

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

_WORKER = textwrap.dedent(
    """
    import json, sys, time
    import redis
    from workers import quota
    client = redis.Redis.from_url(sys.argv[1])
    limiter = quota.RedisLimiter(client)
    sent = []
    for _ in range(int(sys.argv[2])):
        reserved, wait = limiter.reserve("TEST_BUCKET", quota.parse_rates("4/2second"), 30)
        assert reserved
        time.sleep(wait)
        seconds, micros = client.time()
        sent.append(seconds + micros / 1e6)
    print(json.dumps(sent))
    """
)


def test_three_processes_share_one_quota(redis_url: str) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, redis_url, "4"], stdout=subprocess.PIPE, cwd=ROOT, text=True
        )
        for _ in range(3)
    ]
    times = sorted(t for p in processes for t in json.loads(p.communicate(timeout=60)[0]))
    assert len(times) == 12
    # Any 5 consecutive requests span at least the 2 s window: at most 4 in any window.
    spans = [times[i + 4] - times[i] for i in range(len(times) - 4)]
    assert min(spans) >= 2.0 - 0.05, spans
    assert times[-1] - times[0] < 2.0 * 3 * 1.05 + 1  # and the burst was served without needless delay


def test_block_after_429_is_seen_by_another_limiter(redis_url: str) -> None:
    one = quota.RedisLimiter(redis.Redis.from_url(redis_url))
    other = quota.RedisLimiter(redis.Redis.from_url(redis_url))
    one.block("TEST_BLOCK", 30)
    reserved, wait = other.reserve("TEST_BLOCK", (), 5)
    assert not reserved and 29 < wait <= 30.5
    assert other.used("TEST_BLOCK", quota.Rate(4, 60)) == 0
