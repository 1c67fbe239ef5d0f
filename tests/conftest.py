"""Shared fixtures: an embedded service (StubBroker, in-process Worker, temp SQLite, fake providers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import falcon.testing
import pytest

from api.app import create_app
from shared import accounts
from shared.config import Settings
from tests.fakes.providers import FakeProviders, mock_transport, provider_env
from workers.embedded import EmbeddedWorkers

FAKE_BASE = "http://fake.test"


@dataclass
class Service:
    """A running embedded service and a valid key for it."""

    client: falcon.testing.TestClient
    key: str
    workers: EmbeddedWorkers
    settings: Settings

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def post(self, path: str, body: Any, **headers: str) -> falcon.testing.Result:
        return self.client.simulate_post(path, json=body, headers={**self.auth, **headers})

    def get(self, path: str) -> falcon.testing.Result:
        return self.client.simulate_get(path, headers=self.auth)


def base_env(tmp_path: Path) -> dict[str, str]:
    """Return an environment for an embedded service on a temp SQLite file and the fake providers."""
    return {
        **provider_env(FAKE_BASE),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'test.sqlite3'}",
        "SOCBUDDY_FAST_TIMEOUT": "5",
        "SOCBUDDY_PLUGIN_TIMEOUT": "3",
        "SOCBUDDY_SANDBOX_POLL_INTERVAL": "0.2",
        "SOCBUDDY_SANDBOX_POLL_MAX_INTERVAL": "0.5",
        "SOCBUDDY_SANDBOX_TIMEOUT": "30",
        "SOCBUDDY_WORKER_TIMEOUT_MS": "10",
    }


@pytest.fixture
def fake() -> FakeProviders:
    return FakeProviders()


@pytest.fixture
def make_service(tmp_path: Path, fake: FakeProviders) -> Iterator[Callable[..., Service]]:
    """Return a factory of embedded services; every one is stopped after the test."""
    started: list[EmbeddedWorkers] = []

    def factory(**overrides: str) -> Service:
        env = {**base_env(tmp_path), **overrides}
        env = {k: v for k, v in env.items() if v is not None}
        settings = Settings.from_env(env)
        workers = EmbeddedWorkers(settings, transport=mock_transport(fake), create_dev_key=False)
        started.append(workers)
        workers.__enter__()
        assert workers.runtime.db is not None
        with workers.runtime.db.connection_context():
            key = accounts.create_key("tester")
        client = falcon.testing.TestClient(create_app(workers.runtime, workers.actors))
        return Service(client=client, key=key, workers=workers, settings=settings)

    yield factory
    for workers in started:
        workers.close()


@pytest.fixture
def service(make_service: Callable[..., Service]) -> Service:
    return make_service()


# --- Real services for integration and end-to-end tests -------------------------------------------
# TEST_DATABASE_URL / TEST_REDIS_URL unset: those tests skip with a reason. Set but unreachable: they
# fail. Each test run gets a throwaway PostgreSQL database on that server, and a Redis database index
# of its own (SOCBUDDY_TEST_REDIS_DB, default 13): FLUSHDB is only ever sent to that index.


def _pg_admin(url: str):
    import psycopg2

    try:
        connection = psycopg2.connect(url, connect_timeout=5)
    except psycopg2.OperationalError as ex:
        pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {ex}".strip())
    connection.autocommit = True
    return connection


@pytest.fixture
def pg_url() -> Iterator[str]:
    """Create a throwaway PostgreSQL database on TEST_DATABASE_URL's server; drop it afterwards."""
    import os
    import uuid
    from urllib.parse import urlsplit

    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set (integration tests need PostgreSQL)")
    admin = _pg_admin(base)
    name = f"socbuddy_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield urlsplit(base)._replace(path=f"/{name}").geturl()
    from shared.models import database

    if database.obj is not None and not database.obj.is_closed():
        database.obj.close()
    if hasattr(database.obj, "close_all"):
        database.obj.close_all()
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Return TEST_REDIS_URL on the test-owned database index, flushed before and after."""
    import os
    from urllib.parse import urlsplit

    import redis

    base = os.environ.get("TEST_REDIS_URL")
    if not base:
        pytest.skip("TEST_REDIS_URL is not set (integration tests need Redis)")
    index = os.environ.get("SOCBUDDY_TEST_REDIS_DB", "13")
    url = urlsplit(base)._replace(path=f"/{index}").geturl()
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as ex:
        pytest.fail(f"TEST_REDIS_URL is set but Redis is unreachable: {ex}")
    client.flushdb()
    yield url
    client.flushdb()
    client.close()
