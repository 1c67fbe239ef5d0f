"""Fan-out A/B: two checkouts' redis-mode stacks up at once, sequential POSTs alternating between them.

This machine's speed drifts by tens of percent over minutes, more than most changes to the
pipeline are worth, so two runs of ``bench/fanout.py`` made minutes apart cannot tell a 2 ms
change from the drift. Here both stacks (web + workers of checkout A and of checkout B, each on a
throwaway PostgreSQL database and a Redis database of its own) serve the same fake, and the POSTs
alternate A, B, B, A, ... one at a time, so both see the same moments of the machine. It prints
each side's latency quartiles and the median of the paired differences (B - A).

Figures are higher than ``bench/fanout.py``'s: the idle stack's processes share the cores, and
each stack sits idle while the other answers. Use it to compare, not for the absolute figure.

    git worktree add /tmp/before <commit>
    .venv/bin/python bench/fanout_ab.py /tmp/before . --requests 200
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import fanout
import httpx

REDIS_DBS = (14, 15)  # the benchmark's Redis databases: never the tests' 13


def stack_env(root: Path, fake_url: str, plugins: int) -> dict[str, str]:
    names = ",".join(f"bench_{i}" for i in range(plugins))
    return {
        **os.environ,
        "BENCH_PLUGINS": str(plugins),
        "BENCH_FAKE_URL": fake_url,
        "SOCBUDDY_PLUGINS": names,
        "SOCBUDDY_LOG_LEVEL": "WARNING",
        "SOCBUDDY_FAST_TIMEOUT": "15",
        "PYTHONPATH": str(root),  # this checkout's packages before the installed ones
    }


def post(client: httpx.Client, plugins: int) -> float:
    """Return one analysis's POST latency in ms; infinite if it was not a complete set of results."""
    ip = f"1.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    started = time.perf_counter()
    answer = client.post("/api/v1/analysis", json={"ioc": ip, "type": "ip"})
    elapsed_ms = (time.perf_counter() - started) * 1000
    complete = answer.status_code == 200 and len(answer.json().get("results", {})) == plugins
    return elapsed_ms if complete else float("inf")


def quartiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    return ordered[len(ordered) // 4], statistics.median(ordered), ordered[len(ordered) * 3 // 4]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("a", type=Path, help="checkout A (e.g. a git worktree of the version before)")
    parser.add_argument("b", type=Path, help="checkout B")
    parser.add_argument("--plugins", type=int, default=10, help="K fast plugins")
    parser.add_argument("--latency-ms", type=float, default=100, help="L: the fake provider's latency")
    parser.add_argument("--requests", type=int, default=200, help="POSTs to each stack")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per stack")
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    if not db_url or not redis_url:
        print("set BENCH_DATABASE_URL and BENCH_REDIS_URL", file=sys.stderr)
        return 2
    roots = [args.a.resolve(), args.b.resolve()]
    for root in roots:
        if not (root / "bench" / "fanout_proc.py").exists():
            print(f"{root} has no bench/fanout_proc.py", file=sys.stderr)
            return 2
    server, fake_url = fanout.fake_server(args.latency_ms / 1000)
    latencies: list[list[float]] = [[], []]
    stacks = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for side, root in enumerate(roots):
                log_dir = Path(tmp) / "ab"[side]
                log_dir.mkdir()
                env = stack_env(root, fake_url, args.plugins)
                stacks.append(
                    fanout.start_redis(env, log_dir, db_url, redis_url, args.workers, root, REDIS_DBS[side])
                )
            time.sleep(2)  # let the workers finish booting their consumers
            clients = [
                httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
                for base, key, _ in stacks
            ]
            for turn in range(args.requests + 10):
                for side in (0, 1) if turn % 2 == 0 else (1, 0):
                    elapsed_ms = post(clients[side], args.plugins)
                    if turn >= 10:  # the first ten of each side warm it up
                        latencies[side].append(elapsed_ms)
            for client in clients:
                client.close()
        finally:
            for _, _, procs in stacks:
                fanout.stop(procs)
            server.shutdown()
    latency_ms = args.latency_ms
    print(f"K={args.plugins} plugins, L={latency_ms:g} ms, {args.requests} POSTs to each stack, alternating")
    print(f"{'checkout':<40} {'p25-L':>7} {'p50-L':>7} {'p75-L':>7} {'incomplete':>10}")
    for side, root in enumerate(roots):
        low, mid, high = quartiles(latencies[side])
        missing = sum(1 for v in latencies[side] if v == float("inf"))
        print(f"{'AB'[side]} {str(root)[-38:]:<38} {low - latency_ms:>7.1f} {mid - latency_ms:>7.1f} "
              f"{high - latency_ms:>7.1f} {missing:>10}")  # fmt: skip
    paired = [b - a for a, b in zip(*latencies, strict=True) if max(a, b) < float("inf")]
    print(f"median paired difference B - A: {statistics.median(paired):+.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
