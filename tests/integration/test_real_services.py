"""The embedded pipeline on the real PostgreSQL and Redis: RedisBroker, RedisBarrier, JSONB rows."""

from __future__ import annotations

import concurrent.futures
import time

import falcon.testing
import pytest
import redis

from api.app import create_app
from shared import accounts
from shared import db as dbmod
from shared.config import Settings
from shared.models import Analysis, PluginResult
from tests.conftest import base_env
from tests.fakes.providers import FakeProviders, mock_transport
from tests.unit.test_cache_verdict import check_finish_caches_only_a_stored_answer
from workers.embedded import EmbeddedWorkers
from workers.reconciler import reconcile_once

pytestmark = pytest.mark.integration


@pytest.fixture
def real(tmp_path, pg_url, redis_url, fake: FakeProviders):
    env = {**base_env(tmp_path), "DATABASE_URL": pg_url, "REDIS_URL": redis_url, "SOCBUDDY_DB_POOL_SIZE": "8"}
    settings = Settings.from_env(env)
    workers = EmbeddedWorkers(settings, transport=mock_transport(fake), create_dev_key=False)
    with workers:
        with workers.runtime.db.connection_context():
            key = accounts.create_key("integration")
        client = falcon.testing.TestClient(create_app(workers.runtime, workers.actors))
        yield client, {"Authorization": f"Bearer {key}"}, workers


def test_schema_is_jsonb_and_migrate_is_idempotent(real) -> None:
    _, _, workers = real
    dbmod.migrate(workers.runtime.db)
    with workers.runtime.db.connection_context():
        kind = workers.runtime.db.execute_sql(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'plugin_result' AND column_name = 'result'"
        ).fetchone()
    assert kind == ("jsonb",)


def test_finish_caches_only_a_stored_answer_in_one_statement(real) -> None:
    check_finish_caches_only_a_stored_answer(real[2])


def test_fast_and_sandbox_results_on_postgres_and_redis(real, fake: FakeProviders) -> None:
    client, auth, _ = real
    assert client.simulate_get("/readyz").json == {"status": "ready", "database": "ok", "broker": "ok"}
    body = client.simulate_post(
        "/api/v1/analysis", json={"ioc": "http://malicious.example/login.php", "type": "url"}, headers=auth
    ).json
    assert body["results"]["virustotal"]["verdict"] == "malicious"
    poll = body["pending"]["joe_sandbox"]["poll_url"]
    deadline = time.monotonic() + 20
    while (
        answer := client.simulate_get(poll, headers=auth)
    ).status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert answer.status_code == 200 and answer.json["result"]["summary"]["score"] == 88


def test_concurrent_analyses_lose_no_result(real) -> None:
    client, auth, workers = real

    def submit(i: int) -> dict:
        return client.simulate_post(
            "/api/v1/analysis", json={"ioc": f"1.0.0.{i + 1}", "type": "ip"}, headers=auth
        ).json

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(submit, range(24)))
    assert all(set(b["results"]) == {"virustotal", "abuseipdb"} for b in bodies)
    with workers.runtime.db.connection_context():
        assert Analysis.select().count() == 24
        assert PluginResult.select().where(PluginResult.status == "ok").count() == 48


def test_pending_sandbox_survives_a_flushdb_through_the_reconciler(
    real, redis_url, fake: FakeProviders
) -> None:
    client, auth, workers = real
    fake.joe_polls_before_finish = 10**6
    body = client.simulate_post(
        "/api/v1/analysis",
        json={"ioc": "http://x.example/", "type": "url", "plugins": ["joe_sandbox"]},
        headers=auth,
    ).json
    workers.worker.stop(timeout=5000)  # its delayed poll dies with it, as in a crash
    redis.Redis.from_url(redis_url).flushdb()
    fake.joe_polls_before_finish = 0
    restarted = EmbeddedWorkers(
        workers.runtime.settings, create_dev_key=False, transport=mock_transport(fake)
    )
    with restarted:
        counts = reconcile_once(restarted.runtime, restarted.actors, now=_later(60))
        assert counts.polls_resent == 1
        poll = body["pending"]["joe_sandbox"]["poll_url"]
        deadline = time.monotonic() + 20
        while (
            answer := client.simulate_get(poll, headers=auth)
        ).status_code == 202 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert answer.status_code == 200 and answer.json["result"]["verdict"] == "malicious"


def test_broker_unreachable_is_503_with_nothing_left_behind(tmp_path, pg_url, fake) -> None:
    env = {**base_env(tmp_path), "DATABASE_URL": pg_url, "REDIS_URL": "redis://127.0.0.1:1/0"}
    workers = EmbeddedWorkers(Settings.from_env(env), transport=mock_transport(fake), create_dev_key=False)
    with workers.runtime.db.connection_context():
        key = accounts.create_key("x")
    client = falcon.testing.TestClient(create_app(workers.runtime, workers.actors))
    answer = client.simulate_post(
        "/api/v1/analysis", json={"ioc": "1.0.0.1", "type": "ip"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 503 and answer.json["error"] == "unavailable"
    ready = client.simulate_get("/readyz")
    assert ready.status_code == 503 and "broker: unreachable" in ready.json["detail"]
    with workers.runtime.db.connection_context():
        assert Analysis.select().count() == 0
    workers.runtime.runner.close()


def _later(seconds: int):
    import datetime as dt

    from shared.models import utcnow

    return utcnow() + dt.timedelta(seconds=seconds)


def test_audit_log_is_append_only_on_postgres(real) -> None:
    import peewee

    from shared.models import AuditEvent

    client, auth, workers = real
    assert client.simulate_get("/api/v1/plugins", headers=auth).status_code == 200
    with workers.runtime.db.connection_context():
        with pytest.raises(peewee.InternalError, match="append-only"), workers.runtime.db.atomic():
            AuditEvent.update(status=500).execute()
        with pytest.raises(peewee.InternalError, match="append-only"), workers.runtime.db.atomic():
            AuditEvent.delete().execute()
        assert [e.status for e in AuditEvent.select()] == [200]
