"""Fan-out benchmark: K fast plugins answered by a loopback fake with latency L.

Prints the POST /api/v1/analysis latency (p50, p95, and as a ratio to L) at concurrency 1, and
analyses per second at concurrency C, for both run modes:
  embedded  - ``socbuddy dev``: one process, in-process broker, SQLite
  redis     - ``socbuddy web`` + ``socbuddy worker`` processes on PostgreSQL and Redis
The redis mode needs BENCH_DATABASE_URL (or TEST_DATABASE_URL) and BENCH_REDIS_URL (or
TEST_REDIS_URL); it creates a throwaway database and uses Redis database index 14.
It also prints the floor: K concurrent calls to the fake with no service in between.

    .venv/bin/python bench/fanout.py --plugins 10 --latency-ms 100 --requests 60 --concurrency 8
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from workers.broker import THREAD_WAIT_MS

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PY = sys.executable


def fake_server(latency_s: float) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            time.sleep(latency_s)
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 512
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(base: str, procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a benchmark process exited early")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("service did not become ready")


def spawn(args: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> subprocess.Popen:
    return subprocess.Popen(
        args, env=env, cwd=cwd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def start_embedded(env: dict[str, str], tmp: Path) -> tuple[str, str, list[subprocess.Popen]]:
    port = free_port()
    env = {**env, "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}"}
    env.pop("REDIS_URL", None)
    log = tmp / "dev.log"
    proc = spawn(
        [
            PY,
            str(BENCH / "fanout_proc.py"),
            "dev",
            "--port",
            str(port),
            "--threads",
            "32",
            "--worker-threads",
            "96",
        ],
        env,
        log,
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, [proc])
    key = re.search(r"sb_[A-Za-z0-9]{32}", log.read_text()).group(0)
    return base, key, [proc]


def start_redis(
    env: dict[str, str],
    tmp: Path,
    db_url: str,
    redis_url: str,
    workers: int,
    root: Path = ROOT,
    redis_db: int = 14,
) -> tuple[str, str, list]:
    """Start ``socbuddy web`` and ``workers`` workers of the checkout at ``root``; return url, key, procs.

    The stack gets a throwaway database on ``db_url``'s server and Redis database ``redis_db``.
    """
    import psycopg2
    import redis

    bench = root / "bench"
    name = f"socbuddy_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(db_url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    admin.close()
    r_url = urlsplit(redis_url)._replace(path=f"/{redis_db}").geturl()
    redis.Redis.from_url(r_url).flushdb()
    env = {
        **env,
        "DATABASE_URL": urlsplit(db_url)._replace(path=f"/{name}").geturl(),
        "REDIS_URL": r_url,
        "SOCBUDDY_DB_POOL_SIZE": "10",
        "dramatiq_worker_timeout": str(THREAD_WAIT_MS),  # as socbuddy worker sets it
        "SOCBUDDY_WORKER_THREADS": "48",
    }
    subprocess.run(
        [PY, str(bench / "fanout_proc.py"), "migrate"], env=env, cwd=root, check=True, capture_output=True
    )
    out = subprocess.run(
        [PY, str(bench / "fanout_proc.py"), "keys", "create", "bench"],
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    key = out.strip().splitlines()[-1]
    port = free_port()
    procs = [
        spawn(
            [
                PY,
                str(bench / "fanout_proc.py"),
                "web",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--threads",
                "32",
            ],
            env,
            tmp / "web.log",
            root,
        )
    ]
    for i in range(workers):
        procs.append(
            spawn(
                [
                    PY,
                    "-m",
                    "dramatiq",
                    "fanout_entry:BROKER",
                    "--path",
                    str(bench),
                    ".",
                    "--processes",
                    "1",
                    "--threads",
                    "48",
                ],
                env,
                tmp / f"worker-{i}.log",
                root,
            )
        )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, procs)
    time.sleep(2)  # let the workers finish booting their consumers
    procs.append(("drop", db_url, name))  # type: ignore[arg-type]
    return base, key, procs


def stop(procs: list) -> None:
    for proc in procs:
        if isinstance(proc, tuple):
            continue
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for proc in procs:
        if isinstance(proc, tuple):
            continue
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    for proc in procs:
        if isinstance(proc, tuple):
            import psycopg2

            admin = psycopg2.connect(proc[1])
            admin.autocommit = True
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{proc[2]}" WITH (FORCE)')
            admin.close()


def one(client: httpx.Client, plugins: int) -> tuple[float, bool]:
    ip = f"1.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    started = time.perf_counter()
    answer = client.post("/api/v1/analysis", json={"ioc": ip, "type": "ip"})
    elapsed = time.perf_counter() - started
    body = answer.json()
    complete = (
        answer.status_code == 200
        and len(body.get("results", {})) == plugins
        and all(r["status"] == "ok" for r in body["results"].values())
    )
    if not complete:
        INCOMPLETE.append(_why(answer.status_code, body))
    return elapsed, complete


INCOMPLETE: list[str] = []


def _why(status: int, body: dict) -> str:
    """Say in one line why an answer was not a complete set of ok results."""
    errors = {
        name: (r.get("error") or {}).get("code")
        for name, r in body.get("results", {}).items()
        if r.get("status") != "ok"
    }
    return (
        f"HTTP {status}: pending {sorted(body.get('pending', {}))}, errors {errors}, {body.get('error', '')}"
    )


def measure(base: str, key: str, args: argparse.Namespace) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for _ in range(10):
            one(client, args.plugins)
        samples = [one(client, args.plugins) for _ in range(args.requests)]
    latencies = sorted(s[0] for s in samples)
    incomplete = sum(1 for s in samples if not s[1])
    total = args.requests * 2

    def worker(count: int) -> int:
        done = 0
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            for _ in range(count):
                done += one(client, args.plugins)[1]
        return done

    per_client = max(1, total // args.concurrency)
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
        completed = sum(pool.map(worker, [per_client] * args.concurrency))
    elapsed = time.perf_counter() - started
    latency_s = args.latency_ms / 1000
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        "p50_ratio": statistics.median(latencies) / latency_s,
        "p95_ratio": latencies[int(len(latencies) * 0.95) - 1] / latency_s,
        "overhead_p50_ms": (statistics.median(latencies) - latency_s) * 1000,
        "incomplete_sequential": incomplete,
        "throughput_per_s": completed / elapsed,
        "complete_concurrent": completed,
        "sent_concurrent": per_client * args.concurrency,
    }


def floor_ms(url: str, plugins: int, batches: int = 30) -> float:
    """Return the median time of K concurrent calls to the fake with no service in between.

    K keep-alive clients on K threads, as the workers hold them: the floor that L plus the fake's
    and the client's own overhead on this machine sets for any p50.
    """
    clients = [httpx.Client(base_url=url) for _ in range(plugins)]
    with concurrent.futures.ThreadPoolExecutor(plugins) as pool:

        def batch() -> float:
            started = time.perf_counter()
            list(pool.map(lambda i: clients[i].get(f"/lookup/{i}", params={"ip": "1.1.1.1"}), range(plugins)))
            return time.perf_counter() - started

        batch()  # connect
        times = [batch() for _ in range(batches)]
    for client in clients:
        client.close()
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--plugins", type=int, default=10, help="K fast plugins")
    parser.add_argument("--latency-ms", type=float, default=100, help="L: the fake provider's latency")
    parser.add_argument("--requests", type=int, default=60, help="sequential POSTs for the latency figures")
    parser.add_argument("--concurrency", type=int, default=8, help="C concurrent clients for the throughput")
    parser.add_argument("--workers", type=int, default=2, help="worker processes in redis mode")
    parser.add_argument("--modes", default="embedded,redis")
    args = parser.parse_args()
    server, fake_url = fake_server(args.latency_ms / 1000)
    names = ",".join(f"bench_{i}" for i in range(args.plugins))
    env = {
        **os.environ,
        "BENCH_PLUGINS": str(args.plugins),
        "BENCH_FAKE_URL": fake_url,
        "SOCBUDDY_PLUGINS": names,
        "SOCBUDDY_LOG_LEVEL": "WARNING",
        "SOCBUDDY_FAST_TIMEOUT": "15",
        # Keep the caller's PYTHONPATH after the checkout (a tracer's sitecustomize, say).
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    floor = floor_ms(fake_url, args.plugins)
    results = {}
    for mode in args.modes.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            if mode == "embedded":
                base, key, procs = start_embedded(env, Path(tmp))
            else:
                db_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
                redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL")
                if not db_url or not redis_url:
                    print("redis mode skipped: set BENCH_DATABASE_URL and BENCH_REDIS_URL", file=sys.stderr)
                    continue
                base, key, procs = start_redis(env, Path(tmp), db_url, redis_url, args.workers)
            try:
                results[mode] = measure(base, key, args)
            finally:
                stop(procs)
    server.shutdown()
    print(
        f"K={args.plugins} plugins, L={args.latency_ms:g} ms, {args.requests} sequential POSTs, "
        f"C={args.concurrency} concurrent clients, {os.cpu_count()} cores"
    )
    print(
        f"{'mode':<10} {'p50 ms':>8} {'p95 ms':>8} {'p50/L':>6} {'p95/L':>6} {'p50-L ms':>9} {'analyses/s':>11} "
        f"{'complete':>9}"
    )
    for mode, r in results.items():
        print(
            f"{mode:<10} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['p50_ratio']:>6.2f} {r['p95_ratio']:>6.2f} "
            f"{r['overhead_p50_ms']:>9.1f} {r['throughput_per_s']:>11.1f} "
            f"{r['complete_concurrent']:>4}/{r['sent_concurrent']:<4}"
        )
    print(f"floor: {args.plugins} concurrent calls to the fake alone take {floor:.1f} ms (median)")
    print(json.dumps(results))
    for reason in INCOMPLETE:
        print("incomplete:", reason)
    return 0


if __name__ == "__main__":
    sys.exit(main())
