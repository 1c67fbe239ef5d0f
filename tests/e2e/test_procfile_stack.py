"""End to end: ``socbuddy web`` and two ``socbuddy worker`` processes on PostgreSQL and Redis.

A loopback fake serves VirusTotal, AbuseIPDB and Joe Sandbox. The test shows fast results in the
POST answer, pending -> 202 -> 200, a worker SIGKILLed mid-plugin with the analysis still
completing, and a pending sandbox surviving a FLUSHDB of its Redis database with every worker dead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.stack import Stack, pid_with_local_port
from tests.fakes.providers import FakeProviders, provider_env, serve

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[tuple[Stack, FakeProviders, str]]:
    fake = FakeProviders()
    server, base = serve(fake)
    env = {
        **provider_env(base),
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "SOCBUDDY_FAST_TIMEOUT": "3",
        "SOCBUDDY_PLUGIN_TIMEOUT": "20",
        "SOCBUDDY_SANDBOX_POLL_INTERVAL": "1",
        "SOCBUDDY_SANDBOX_POLL_MAX_INTERVAL": "2",
        "SOCBUDDY_SANDBOX_TIMEOUT": "300",
        "SOCBUDDY_HEARTBEAT_TIMEOUT_MS": "3000",
        "SOCBUDDY_RECONCILE_INTERVAL": "2",
        "SOCBUDDY_RECONCILE_GRACE": "1",
        "SOCBUDDY_FAST_REDISPATCH_AFTER": "8",
        "SOCBUDDY_DB_POOL_SIZE": "5",
    }
    with _running(env, tmp_path, "e2e", fake, server) as running:
        yield running


@contextlib.contextmanager
def _running(
    env: dict[str, str], tmp_path: Path, account: str, fake: FakeProviders, server: ThreadingHTTPServer
) -> Iterator[tuple[Stack, FakeProviders, str]]:
    """Migrate, create a key, start web and two workers; stop them and the fake provider after."""
    processes = Stack(env, tmp_path)
    processes.run("migrate")
    key = processes.run("keys", "create", account).strip().splitlines()[-1]
    try:
        processes.start_web()
        processes.start_worker()
        processes.start_worker()
        yield processes, fake, key
    finally:
        processes.close()
        server.shutdown()
        server.server_close()


def _wait_ready(client: httpx.Client, poll_url: str, timeout_s: float) -> tuple[list[int], dict]:
    statuses: list[int] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = client.get(poll_url)
        statuses.append(answer.status_code)
        if answer.status_code == 200:
            return statuses, answer.json()
        assert answer.status_code == 202, answer.text
        time.sleep(0.2)
    raise AssertionError(f"{poll_url} not ready after {timeout_s} s: {statuses[-3:]}")


def test_procfile_processes_serve_the_contract(stack) -> None:
    processes, fake, key = stack
    with httpx.Client(
        base_url=processes.base, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        _exercise(processes, fake, client)


def _exercise(processes: Stack, fake: FakeProviders, client: httpx.Client) -> None:
    assert client.get("/readyz").json() == {"status": "ready", "database": "ok", "broker": "ok"}

    # Fast results in the POST answer.
    body = client.post("/api/v1/analysis", json={"ioc": "1.0.0[.]1", "type": "ip"}).json()
    assert body["ioc"] == "1.0.0.1" and body["pending"] == {}
    assert body["results"]["virustotal"]["verdict"] == "malicious"
    assert body["results"]["abuseipdb"]["summary"]["abuse_confidence_score"] == 87

    # A sandbox: pending, then 202, then 200 ready, and stored in the analysis.
    fake.joe_polls_before_finish = 2
    body = client.post(
        "/api/v1/analysis", json={"ioc": "http://malicious.example/login.php", "type": "url"}
    ).json()
    assert body["pending"]["joe_sandbox"]["job_id"] == "140"
    statuses, ready = _wait_ready(client, body["pending"]["joe_sandbox"]["poll_url"], 60)
    assert statuses[0] == 202 and ready["result"]["verdict"] == "malicious"
    assert (
        client.get(f"/api/v1/analysis/{body['id']}").json()["results"]["joe_sandbox"]["summary"]["score"]
        == 88
    )

    # A worker SIGKILLed in the middle of a plugin: the analysis still completes.
    gate = fake.hold("abuseipdb")
    body = client.post("/api/v1/analysis", json={"ioc": "1.0.0.2", "type": "ip"}).json()
    assert "abuseipdb" in body["pending"], body
    assert fake.arrived["abuseipdb"].wait(10)
    holder = pid_with_local_port(fake.peer_ports["abuseipdb"], set(processes.worker_pids()))
    assert holder is not None, "could not find the worker holding the request"
    master = processes.worker_pids()[holder]
    processes.kill(master)
    assert master.poll() is not None
    gate.set()
    fake.gates.pop("abuseipdb")
    _, ready = _wait_ready(client, body["pending"]["abuseipdb"]["poll_url"], 90)
    assert ready["result"]["status"] == "ok" and ready["result"]["verdict"] == "malicious"
    assert fake.count("abuseipdb") >= 2
    processes.start_worker()

    # A pending sandbox survives FLUSHDB of its Redis database while every worker is dead.
    fake.joe_polls_before_finish = 10**6
    body = client.post("/api/v1/analysis", json={"ioc": "http://other.example/x", "type": "url"}).json()
    poll_url = body["pending"]["joe_sandbox"]["poll_url"]
    assert client.get(poll_url).status_code == 202
    for worker in list(processes.workers):
        if worker.poll() is None:
            processes.kill(worker)
    redis.Redis.from_url(processes.env["REDIS_URL"]).flushdb()
    fake.joe_polls_before_finish = 0
    processes.start_worker()
    processes.start_worker()
    _, ready = _wait_ready(client, poll_url, 90)
    assert ready["result"]["verdict"] == "malicious"

    # Everything was audited, and every analysis is complete.
    assert client.get("/api/v1/plugins").status_code == 200
    assert "Traceback" not in processes.log_tail("web")


@pytest.fixture
def quota_stack(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[tuple[Stack, FakeProviders, str]]:
    fake = FakeProviders()
    server, base = serve(fake)
    env = {
        **provider_env(base),
        "SOCBUDDY_PLUGINS": "virustotal",
        "VIRUSTOTAL_RATE_LIMIT": "4/minute",
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "SOCBUDDY_FAST_TIMEOUT": "5",
        "SOCBUDDY_PLUGIN_TIMEOUT": "3",
        "SOCBUDDY_DB_POOL_SIZE": "5",
    }
    with _running(env, tmp_path, "burst", fake, server) as running:
        yield running


def test_burst_across_worker_processes_respects_a_4_per_minute_quota(quota_stack) -> None:
    import concurrent.futures

    processes, fake, key = quota_stack
    headers = {"Authorization": f"Bearer {key}"}

    def analyse(i: int) -> tuple[float, dict]:
        started = time.monotonic()
        with httpx.Client(base_url=processes.base, headers=headers, timeout=30) as client:
            body = client.post("/api/v1/analysis", json={"ioc": f"1.0.1.{i + 1}", "type": "ip"}).json()
        return time.monotonic() - started, body["results"]["virustotal"]

    time.sleep(2)  # both workers consuming
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(analyse, range(12)))
    statuses = sorted(r["status"] for _, r in answers)
    assert fake.count("vt") == 4
    assert statuses == ["error"] * 8 + ["ok"] * 4
    assert all(r["error"]["code"] == "rate_limited" for _, r in answers if r["status"] == "error")
    assert max(elapsed for elapsed, _ in answers) < 5  # every client answered within the fast timeout
