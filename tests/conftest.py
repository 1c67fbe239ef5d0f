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
