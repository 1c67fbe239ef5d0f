"""Keys and audit across two ``socbuddy web`` processes on PostgreSQL and Redis.

Revocation takes effect on the next request on every web process; a per-key budget is shared by
all of them; under concurrent load the audit log holds exactly one row per call, rejected keys
included; the plain key is nowhere in a database dump or the process logs.
"""

from __future__ import annotations

import concurrent.futures
import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import Stack, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_webs(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[tuple[Stack, list[str]]]:
    env = {
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "SOCBUDDY_PLUGINS": "watchlist",
        "SOCBUDDY_DB_POOL_SIZE": "8",
    }
    stack = Stack(env, tmp_path)
    stack.run("migrate")
    stack.start_web()
    second = Stack(env, tmp_path)
    second.port = free_port()
    second.base = f"http://127.0.0.1:{second.port}"
    second._count = 10
    second.start_web()
    try:
        yield stack, [stack.base, second.base]
    finally:
        second.close()
        stack.close()


def _key(stack: Stack, *args: str) -> str:
    return stack.run("keys", "create", *args).strip().splitlines()[-1]


def _get(base: str, key: str) -> int:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.get(f"{base}/api/v1/plugins", headers=headers, timeout=30).status_code


def test_revocation_reaches_every_web_process_at_once(two_webs) -> None:
    stack, bases = two_webs
    key = _key(stack, "rotating")
    assert [_get(base, key) for base in bases] == [200, 200]
    stack.run("keys", "revoke", "rotating")
    answers = [httpx.get(f"{b}/api/v1/plugins", headers={"Authorization": f"Bearer {key}"}) for b in bases]
    assert [a.status_code for a in answers] == [401, 401]
    assert all(a.json()["error"] == "revoked_api_key" for a in answers)


def test_budget_is_shared_by_every_web_process(two_webs) -> None:
    stack, bases = two_webs
    key = _key(stack, "metered", "--rate", "5/minute")
    statuses = [_get(bases[i % 2], key) for i in range(10)]
    assert Counter(statuses) == {200: 5, 429: 5}


def test_one_audit_row_per_call_under_concurrent_load(two_webs) -> None:
    stack, bases = two_webs
    valid = _key(stack, "load")
    revoked = _key(stack, "gone")
    stack.run("keys", "revoke", "gone")
    unknown = "sb_" + "Z" * 32
    calls = [(bases[i % 2], key) for i in range(40) for key in (valid, revoked, unknown, "")]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda call: _get(*call), calls))
    assert Counter(statuses) == {200: 40, 401: 120}
    rows = [json.loads(line) for line in stack.run("audit", "--json", "--limit", "10000").splitlines()]
    assert len(rows) == len(calls)  # every HTTP call exactly once (the CLI itself is not audited)
    assert Counter((r["account"], r["status"]) for r in rows) == {
        ("load", 200): 40,
        ("gone", 401): 40,
        (None, 401): 80,
    }
    assert all(r["route"] == "/api/v1/plugins" for r in rows)


def test_plain_keys_are_in_no_dump_and_no_log(two_webs, pg_url: str) -> None:
    stack, bases = two_webs
    key = _key(stack, "secretive")
    unknown = "sb_" + "Y" * 32
    for base in bases:
        _get(base, key)
        _get(base, unknown)
        httpx.post(
            f"{base}/api/v1/analysis",
            json={"ioc": "1.0.0.1", "type": "ip"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed to prove the key is not in the database"
    dump = subprocess.run([pg_dump, pg_url], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "audit_event" in dump and "api_key" in dump
    logs = stack.log_tail("web")
    for secret in (key, unknown):
        assert secret[3:] not in dump
        assert secret[3:] not in logs
