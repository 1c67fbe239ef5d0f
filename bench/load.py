"""Load and soak benchmark: N concurrent clients against the Procfile processes on PostgreSQL and Redis.

It starts ``socbuddy migrate``, ``socbuddy keys create``, ``socbuddy web`` and two
``socbuddy worker`` processes on a throwaway PostgreSQL database (BENCH_DATABASE_URL or
TEST_DATABASE_URL; dropped afterwards) and Redis database index 15 (BENCH_REDIS_URL or
TEST_REDIS_URL; flushed before and after). The real virustotal, abuseipdb and joe_sandbox plugins
talk to the fake providers of tests/fakes/providers.py on loopback, with their quotas off; the
local watchlist plugin reads a small list imported at start. Nothing leaves 127.0.0.1.

For ``--duration`` seconds, ``--clients`` closed-loop clients (no think time) mix:
  defang / refang / extract   realistic texts from tests/corpus/corpus.json
  analysis_ip/domain/url/hash a ``--repeat`` share of indicators from a small pool (cache hits),
                              the rest fresh; some sent defanged; URLs submit to the sandbox
  get_analysis                GET /api/v1/analysis/{id} of an analysis created so far
  poll_pending                GET of a poll_url the POST reported pending (202 until final)
Afterwards it polls every pending plugin until final (bounded by ``--settle``) and checks that
every analysis it created is retrievable (GET 200) and complete (nothing pending, every plugin
of the POST in results). It prints requests/s and p50/p99 latency per kind, answers by status,
and exits 1 if any analysis is lost or incomplete, any answer is 5xx (or another unexpected
status, or a transport error), or any service process died.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test TEST_REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/load.py --duration 60 --clients 16
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import random
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_stack import PLUGINS, REDIS_DB_INDEX, ROOT, Stack

ACTIONS = ("defang", "refang", "extract")
ANALYSES = ("analysis_ip", "analysis_domain", "analysis_url", "analysis_hash")
KINDS = (*ACTIONS, *ANALYSES, "get_analysis", "poll_pending")
# Relative weights of the kinds in the mix (a poll with nothing pending becomes a GET, a GET with
# nothing created yet becomes an IP analysis).
WEIGHTS = {
    "defang": 10,
    "refang": 10,
    "extract": 10,
    "analysis_ip": 12,
    "analysis_domain": 8,
    "analysis_url": 6,
    "analysis_hash": 6,
    "get_analysis": 20,
    "poll_pending": 18,
}
MAX_REQUESTS_PER_CLIENT = 1_000_000  # a hard bound besides the clock
CLIENT_TIMEOUT_S = 40.0  # above SOCBUDDY_FAST_TIMEOUT (15 s): a POST never legitimately takes longer
EXPECTED = {200, 202}

# -- indicators -------------------------------------------------------------------------------------

WORDS = ("login", "secure", "update", "invoice", "cdn", "mail", "portal", "account", "verify", "billing")
TLDS = ("com", "net", "org", "info", "xyz", "ru", "top", "online")
KNOWN_SHA256 = "d9801979104b8f74be66d341f378234877f59c31babb576329bdedc2a486b8be"


def fresh_ip(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return f"2a0{rng.randint(1, 9)}:{rng.randint(0, 0xFFFF):x}:{rng.randint(0, 0xFFFF):x}::{rng.randint(1, 0xFFFF):x}"
    # 11.0.0.0-99.255.255.255 holds no private, shared, loopback or documentation range.
    return f"{rng.randint(11, 99)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def fresh_domain(rng: random.Random) -> str:
    return f"{rng.choice(WORDS)}-{rng.getrandbits(32):08x}.{rng.choice(TLDS)}"


def fresh_url(rng: random.Random) -> str:
    scheme = rng.choice(("http", "https"))
    return f"{scheme}://{fresh_domain(rng)}/{rng.choice(WORDS)}.php?id={rng.getrandbits(24)}"


def fresh_hash(rng: random.Random) -> str:
    digits = rng.choice((32, 40, 64))  # md5, sha1, sha256
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


FRESH = {
    "ip": fresh_ip,
    "domain": fresh_domain,
    "url": fresh_url,
    "hash": fresh_hash,
}


def pools(size: int) -> dict[str, list[str]]:
    """The repeated indicators, shared by every client (the first use fills the cache)."""
    rng = random.Random(20261203)
    out = {t: [make(rng) for _ in range(size)] for t, make in FRESH.items()}
    out["url"][0] = "http://malicious.example/login.php"
    out["hash"][0] = KNOWN_SHA256
    return out


def defang(value: str, kind: str) -> str:
    if kind == "ip" and ":" not in value:
        return value.replace(".", "[.]", 1)
    if kind == "domain":
        return value.replace(".", "[.]")
    if kind == "url":
        return value.replace("http", "hxxp", 1).replace("://", "[://]", 1)
    return value


def load_texts() -> list[str]:
    corpus = json.loads((ROOT / "tests" / "corpus" / "corpus.json").read_text())
    return [entry["text"] for entry in corpus]


# -- bookkeeping ------------------------------------------------------------------------------------


@dataclass
class Created:
    ioc: str
    type: str
    plugins: frozenset[str]
    fresh: bool


@dataclass
class Ledger:
    """Everything the clients record; one lock, held only for appends and picks."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    created: dict[str, Created] = field(default_factory=dict)
    created_order: list[str] = field(default_factory=list)
    pending: dict[tuple[str, str], str] = field(default_factory=dict)
    pending_order: list[tuple[str, str]] = field(default_factory=list)
    cached_results: int = 0
    fresh_results: int = 0
    late_fast: int = 0
    sandbox_submitted: int = 0
    failures: list[str] = field(default_factory=list)

    def record(self, kind: str, status: int | str, elapsed: float) -> None:
        with self.lock:
            self.latencies[kind].append(elapsed)
            self.statuses[kind][status] += 1

    def fail(self, text: str) -> None:
        with self.lock:
            if len(self.failures) < 1000:
                self.failures.append(text)

    def add_analysis(self, body: dict[str, Any], fresh: bool) -> None:
        plugins = frozenset(body.get("results", {})) | frozenset(body.get("pending", {}))
        with self.lock:
            self.created[body["id"]] = Created(body["ioc"], body["type"], plugins, fresh)
            self.created_order.append(body["id"])
            for result in body.get("results", {}).values():
                if result.get("cached"):
                    self.cached_results += 1
                else:
                    self.fresh_results += 1
            for name, entry in body.get("pending", {}).items():
                key = (body["id"], name)
                self.pending[key] = entry["poll_url"]
                self.pending_order.append(key)
                if name == "joe_sandbox" and body["type"] == "url":
                    self.sandbox_submitted += 1
                else:
                    self.late_fast += 1

    def pick_created(self, rng: random.Random) -> str | None:
        with self.lock:
            return rng.choice(self.created_order) if self.created_order else None

    def pick_pending(self, rng: random.Random) -> tuple[tuple[str, str], str] | None:
        with self.lock:
            # Prune settled entries lazily, keeping the pick O(1) on average.
            while self.pending_order:
                index = rng.randrange(len(self.pending_order))
                key = self.pending_order[index]
                if key in self.pending:
                    return key, self.pending[key]
                self.pending_order[index] = self.pending_order[-1]
                self.pending_order.pop()
            return None

    def settle(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.pending.pop(key, None)


# -- the clients ------------------------------------------------------------------------------------


class Client:
    def __init__(
        self, index: int, base: str, key: str, ledger: Ledger, texts: list[str], args: argparse.Namespace
    ):
        self.rng = random.Random(args.seed * 1000 + index)
        self.http = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=CLIENT_TIMEOUT_S
        )
        self.ledger = ledger
        self.texts = texts
        self.repeat = args.repeat
        self.pool = pools(args.pool)
        self.kinds = list(WEIGHTS)
        self.weights = [WEIGHTS[k] for k in self.kinds]

    def request(self, kind: str, method: str, url: str, body: Any = None) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            answer = self.http.request(method, url, json=body)
        except httpx.TimeoutException:
            self.ledger.record(kind, "timeout", time.perf_counter() - started)
            self.ledger.fail(f"{kind} {method} {url}: no answer within {CLIENT_TIMEOUT_S:g} s")
            return None
        except httpx.HTTPError as ex:
            self.ledger.record(kind, type(ex).__name__, time.perf_counter() - started)
            self.ledger.fail(f"{kind} {method} {url}: {type(ex).__name__}: {ex}")
            return None
        self.ledger.record(kind, answer.status_code, time.perf_counter() - started)
        if answer.status_code not in EXPECTED:
            self.ledger.fail(f"{kind} {method} {url}: {answer.status_code} {answer.text[:200]}")
        return answer

    def run(self, deadline: float) -> int:
        done = 0
        try:
            while done < MAX_REQUESTS_PER_CLIENT and time.monotonic() < deadline:
                self.one(self.rng.choices(self.kinds, self.weights)[0])
                done += 1
        finally:
            self.http.close()
        return done

    def one(self, kind: str) -> None:
        if kind == "poll_pending":
            picked = self.ledger.pick_pending(self.rng)
            if picked is None:
                kind = "get_analysis"
            else:
                key, poll_url = picked
                answer = self.request(kind, "GET", poll_url)
                if answer is not None and answer.status_code == 200:
                    self.ledger.settle(key)
                return
        if kind == "get_analysis":
            analysis_id = self.ledger.pick_created(self.rng)
            if analysis_id is None:
                kind = "analysis_ip"
            else:
                self.request(kind, "GET", f"/api/v1/analysis/{analysis_id}")
                return
        if kind in ACTIONS:
            text = self.rng.choice(self.texts)
            answer = self.request(kind, "POST", f"/api/actions/{kind}", {"text": text})
            if answer is not None and answer.status_code == 200:
                expected_key = "indicators" if kind == "extract" else "result"
                if expected_key not in answer.json():
                    self.ledger.fail(f"{kind}: answer without {expected_key!r}")
            return
        ioc_type = kind.removeprefix("analysis_")
        fresh = self.rng.random() >= self.repeat
        value = FRESH[ioc_type](self.rng) if fresh else self.rng.choice(self.pool[ioc_type])
        if self.rng.random() < 0.2:
            value = defang(value, ioc_type)
        answer = self.request(kind, "POST", "/api/v1/analysis", {"ioc": value, "type": ioc_type})
        if answer is not None and answer.status_code == 200:
            self.ledger.add_analysis(answer.json(), fresh)


# -- afterwards: every analysis retrievable and complete -------------------------------------------


@dataclass
class Check:
    created: int = 0
    retrievable: int = 0
    complete: int = 0
    lost: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    plugin_status: Counter = field(default_factory=Counter)
    settle_s: float = 0.0
    check_s: float = 0.0
    settle_requests: Counter = field(default_factory=Counter)


def settle_and_check(base: str, key: str, ledger: Ledger, settle_s: float) -> Check:
    """Poll every pending plugin until final (bounded), then GET every analysis and check it."""
    check = Check(created=len(ledger.created))
    started = time.monotonic()
    deadline = started + settle_s
    headers = {"Authorization": f"Bearer {key}"}
    lock = threading.Lock()
    local = threading.local()
    opened: list[httpx.Client] = []

    def http() -> httpx.Client:
        """One keep-alive client per checking thread (creating one costs an SSL context)."""
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, headers=headers, timeout=CLIENT_TIMEOUT_S)
            with lock:
                opened.append(local.client)
        return local.client

    def count(status: int | str) -> None:
        with lock:
            check.settle_requests[status] += 1

    def poll(item: tuple[tuple[str, str], str]) -> None:
        (_, _), poll_url = item
        for _ in range(int(settle_s * 4) + 1):  # bounded in count as well as in time
            try:
                answer = http().get(poll_url)
            except httpx.HTTPError as ex:
                count(type(ex).__name__)
                return
            count(answer.status_code)
            if answer.status_code != 202 or time.monotonic() > deadline:
                return
            time.sleep(0.25)

    outstanding = list(ledger.pending.items())
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(poll, outstanding))
    check.settle_s = time.monotonic() - started

    def verify(analysis_id: str) -> tuple[str, str | None, dict[str, Any] | None]:
        try:
            answer = http().get(f"/api/v1/analysis/{analysis_id}")
        except httpx.HTTPError as ex:
            count(type(ex).__name__)
            return analysis_id, type(ex).__name__, None
        count(answer.status_code)
        if answer.status_code != 200:
            return analysis_id, f"{answer.status_code} {answer.text[:120]}", None
        return analysis_id, None, answer.json()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for analysis_id, problem, body in pool.map(verify, list(ledger.created)):
            if body is None:
                check.lost.append(f"{analysis_id}: {problem}")
                continue
            check.retrievable += 1
            expected = ledger.created[analysis_id].plugins
            results = body.get("results", {})
            for result in results.values():
                error = result.get("error") or {}
                check.plugin_status[error.get("code") or result.get("status")] += 1
            if body.get("pending") or set(results) != expected or not body.get("verdict", {}).get("complete"):
                check.incomplete.append(
                    f"{analysis_id}: pending={sorted(body.get('pending', {}))} "
                    f"results={sorted(results)} expected={sorted(expected)}"
                )
            else:
                check.complete += 1
    for client in opened:
        client.close()
    check.check_s = time.monotonic() - started - check.settle_s
    return check


# -- report -----------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def report(
    args: argparse.Namespace, ledger: Ledger, elapsed: float, check: Check, stack: Stack
) -> dict[str, Any]:
    total = sum(len(v) for v in ledger.latencies.values())
    print(
        f"\nload: {args.clients} clients for {elapsed:.1f} s against socbuddy web (--threads {args.web_threads}) "
        f"+ {args.workers} x socbuddy worker (--threads {args.worker_threads}), PostgreSQL + Redis index "
        f"{REDIS_DB_INDEX}, plugins {PLUGINS}, {os.cpu_count()} cores shared by service, fake and clients"
    )
    print(f"{'kind':<16} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses")
    summary: dict[str, Any] = {"kinds": {}}
    all_latencies: list[float] = []
    for kind in KINDS:
        values = sorted(ledger.latencies.get(kind, []))
        all_latencies.extend(values)
        statuses = dict(sorted(ledger.statuses[kind].items(), key=lambda kv: str(kv[0])))
        row = {
            "requests": len(values),
            "per_s": len(values) / elapsed,
            "p50_ms": percentile(values, 0.50) * 1000,
            "p99_ms": percentile(values, 0.99) * 1000,
            "max_ms": (values[-1] if values else float("nan")) * 1000,
            "statuses": {str(k): v for k, v in statuses.items()},
        }
        summary["kinds"][kind] = row
        print(
            f"{kind:<16} {row['requests']:>9} {row['per_s']:>8.1f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
            f"{row['max_ms']:>8.1f}  {' '.join(f'{k}:{v}' for k, v in statuses.items())}"
        )
    all_latencies.sort()
    overall: Counter = Counter()
    for counter in ledger.statuses.values():
        overall.update(counter)
    print(
        f"{'all':<16} {total:>9} {total / elapsed:>8.1f} {percentile(all_latencies, 0.5) * 1000:>8.1f} "
        f"{percentile(all_latencies, 0.99) * 1000:>8.1f} {all_latencies[-1] * 1000 if all_latencies else 0:>8.1f}"
    )
    server_errors = sum(v for k, v in overall.items() if isinstance(k, int) and k >= 500)
    unexpected = sum(v for k, v in overall.items() if k not in EXPECTED)
    print(f"answers by status: {dict(sorted(overall.items(), key=lambda kv: str(kv[0])))}")
    print(f"5xx: {server_errors}; unexpected (not 200/202, incl. transport errors): {unexpected}")
    fresh = sum(1 for c in ledger.created.values() if c.fresh)
    print(
        f"analyses: created {check.created} ({fresh} fresh indicators, {check.created - fresh} repeated), "
        f"retrievable {check.retrievable}, complete {check.complete}, lost {len(check.lost)}, "
        f"incomplete {len(check.incomplete)}"
    )
    print(
        f"plugin results in POST answers: {ledger.fresh_results} fresh, {ledger.cached_results} from cache; "
        f"sandbox submissions pending {ledger.sandbox_submitted}; fast plugins late (pending in the POST) "
        f"{ledger.late_fast}"
    )
    print(f"final plugin results by status/error code: {dict(check.plugin_status)}")
    print(
        f"settle: {len(ledger.pending)} pending plugin(s) left at the end of the load polled to final in "
        f"{check.settle_s:.1f} s, every analysis read back in {check.check_s:.1f} s; "
        f"requests after the load {dict(check.settle_requests)}"
    )
    problems = stack.log_problems()
    print(f"service log ERROR/CRITICAL/Traceback lines: {len(problems)}")
    for line in problems[:10]:
        print(f"  {line}")
    for line in check.lost[:10]:
        print(f"LOST {line}")
    for line in check.incomplete[:10]:
        print(f"INCOMPLETE {line}")
    for line in ledger.failures[:10]:
        print(f"UNEXPECTED {line}")
    summary.update(
        clients=args.clients,
        duration_s=elapsed,
        requests=total,
        per_s=total / elapsed,
        p50_ms=percentile(all_latencies, 0.5) * 1000,
        p99_ms=percentile(all_latencies, 0.99) * 1000,
        statuses={str(k): v for k, v in overall.items()},
        server_errors=server_errors,
        unexpected=unexpected,
        created=check.created,
        retrievable=check.retrievable,
        complete=check.complete,
        lost=len(check.lost),
        incomplete=len(check.incomplete),
        cached_results=ledger.cached_results,
        late_fast=ledger.late_fast,
        sandbox_submitted=ledger.sandbox_submitted,
        log_problems=len(problems),
    )
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent closed-loop clients")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument(
        "--settle", type=float, default=120.0, help="max seconds to wait for pending work after"
    )
    parser.add_argument(
        "--repeat", type=float, default=0.5, help="share of analyses of a pooled (repeated) IOC"
    )
    parser.add_argument("--pool", type=int, default=12, help="repeated indicators per type")
    parser.add_argument("--workers", type=int, default=2, help="socbuddy worker processes")
    parser.add_argument(
        "--worker-threads", type=int, default=16, help="socbuddy worker --threads (default 16)"
    )
    parser.add_argument("--web-threads", type=int, default=32, help="socbuddy web --threads (default 32)")
    parser.add_argument("--pool-size", type=int, default=16, help="SOCBUDDY_DB_POOL_SIZE per process")
    parser.add_argument("--log-level", default="WARNING", help="SOCBUDDY_LOG_LEVEL of the service")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-logs", type=Path, default=None, help="write the service logs here")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()
    if not 1 <= args.clients <= 256 or not 0 < args.duration <= 24 * 3600 or not 0 <= args.repeat <= 1:
        parser.error("--clients 1..256, --duration up to a day, --repeat 0..1")
    db_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    if not db_url or not redis_url:
        print(
            "set BENCH_DATABASE_URL and BENCH_REDIS_URL (or TEST_DATABASE_URL and TEST_REDIS_URL)",
            file=sys.stderr,
        )
        return 2

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # run the finally blocks: stop processes, drop the database

    signal.signal(signal.SIGTERM, terminate)
    stack = Stack(
        db_url,
        redis_url,
        workers=args.workers,
        worker_threads=args.worker_threads,
        web_threads=args.web_threads,
        pool_size=args.pool_size,
        log_level=args.log_level,
        watch=[pools(args.pool)[t][i] for t in ("ip", "domain", "url", "hash") for i in (1, 2)],
        logs=args.keep_logs,
    )
    ledger = Ledger()
    try:
        stack.start(max_seconds=args.duration + args.settle + 600)
        texts = load_texts()
        print(
            f"service ready at {stack.base}; {args.clients} clients for {args.duration:g} s ...", flush=True
        )
        clients = [Client(i, stack.base, stack.key, ledger, texts, args) for i in range(args.clients)]
        cpu_before = stack.cpu_snapshot()
        started = time.monotonic()
        deadline = started + args.duration
        with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(lambda c: c.run(deadline), clients))
        elapsed = time.monotonic() - started
        cpu = stack.cpu_used(cpu_before, stack.cpu_snapshot())
        dead = stack.dead()
        check = settle_and_check(stack.base, stack.key, ledger, args.settle)
        summary = report(args, ledger, elapsed, check, stack)
        print(
            "CPU during the load (share of one core): "
            + ", ".join(f"{role} {used / elapsed:.2f}" for role, used in cpu.items())
            + f" (postgres: this database's backends; machine: every process, others' too; {os.cpu_count()} cores)"
        )
        summary["cpu_cores"] = {role: used / elapsed for role, used in cpu.items()}
        dead += [d for d in stack.dead() if d not in dead]
        if dead:
            print(f"service processes that died: {dead}\n{stack.log_tail()}")
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2) + "\n")
        print(json.dumps({k: v for k, v in summary.items() if k != "kinds"}))
        ok = not (summary["unexpected"] or check.lost or check.incomplete or dead)
        print("RESULT: " + ("PASS" if ok else "FAIL"))
        return 0 if ok else 1
    finally:
        stack.close()


if __name__ == "__main__":
    sys.exit(main())
