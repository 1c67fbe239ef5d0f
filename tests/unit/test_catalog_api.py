"""Every plugin, pointed at its loopback fake, answers each of its IOC types through the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import falcon.testing
import pytest

from api.app import create_app
from plugins import registry
from shared import accounts
from shared.config import Settings
from tests.fakes import catalog
from workers.embedded import EmbeddedWorkers

FAKES = catalog.modules()
CASES = [(fake.PLUGIN, *case) for fake in FAKES for case in fake.CASES]


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[falcon.testing.TestClient, dict[str, str]]]:
    server, base = catalog.serve(FAKES)
    tmp: Path = tmp_path_factory.mktemp("catalog")
    env = {
        **catalog.environment(base, FAKES),
        "DATABASE_URL": f"sqlite:///{tmp / 'catalog.sqlite3'}",
        "SOCBUDDY_FAST_TIMEOUT": "8",
        "SOCBUDDY_PLUGIN_TIMEOUT": "5",
        "SOCBUDDY_SANDBOX_POLL_INTERVAL": "0.1",
        "SOCBUDDY_SANDBOX_POLL_MAX_INTERVAL": "0.3",
        "SOCBUDDY_SANDBOX_TIMEOUT": "30",
    }
    with EmbeddedWorkers(Settings.from_env(env), create_dev_key=False) as workers:
        assert workers.runtime.db is not None
        with workers.runtime.db.connection_context():
            key = accounts.create_key("catalog")
        yield (
            falcon.testing.TestClient(create_app(workers.runtime, workers.actors)),
            {"Authorization": f"Bearer {key}"},
        )
    server.shutdown()
    server.server_close()


def test_every_registered_remote_plugin_has_a_fake() -> None:
    assert {fake.PLUGIN for fake in FAKES} == {m.SPEC.name for m in registry.PLUGINS if m.SPEC.remote}


def test_every_supported_type_has_a_case() -> None:
    for fake in FAKES:
        assert {case[0] for case in fake.CASES} == set(registry.spec(fake.PLUGIN).ioc_types), fake.PLUGIN


@pytest.mark.parametrize(("plugin", "ioc_type", "value", "verdict"), CASES)
def test_plugin_answers_through_the_api(api, plugin: str, ioc_type: str, value: str, verdict: str) -> None:
    client, auth = api
    body = {"ioc": value, "type": ioc_type, "plugins": [plugin]}
    answer = client.simulate_post("/api/v1/analysis", json=body, headers=auth)
    assert answer.status_code == 200, answer.json
    if plugin in answer.json["pending"]:
        assert registry.spec(plugin).is_submission(ioc_type)
        result = _poll(client, auth, answer.json["pending"][plugin]["poll_url"])
    else:
        result = answer.json["results"][plugin]
    assert result["status"] == "ok", result["error"]
    assert result["verdict"] == verdict
    assert result["summary"]


def _poll(client: falcon.testing.TestClient, auth: dict[str, str], url: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        polled = client.simulate_get(url, headers=auth)
        if polled.status_code == 200:
            return polled.json["result"]
        assert polled.status_code == 202
        time.sleep(0.05)
    raise AssertionError(f"{url} still pending")
