"""Provider probes: socbuddy plugins --check and GET /api/v1/plugins/health."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from shared import cli
from tests.conftest import Service
from tests.fakes import catalog

FAKES = catalog.modules()


@pytest.fixture
def catalog_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    server, base = catalog.serve(FAKES)
    env = catalog.environment(base, FAKES)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield env
    server.shutdown()
    server.server_close()


def _rows(capsys: pytest.CaptureFixture[str]) -> dict[str, dict]:
    return {row["plugin"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}


def test_every_faked_provider_is_healthy(catalog_env, capsys) -> None:
    assert cli.main(["plugins", "--check", "--json"]) == 0
    rows = _rows(capsys)
    assert set(rows) == {fake.PLUGIN for fake in FAKES}
    assert all(row["healthy"] for row in rows.values()), [r for r in rows.values() if not r["healthy"]]


def test_rejected_key_and_unreachable_provider_are_reported(catalog_env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("VIRUSTOTAL_API_KEY", "wrong-key")
    monkeypatch.setenv("ABUSEIPDB_URL", "http://127.0.0.1:9/closed")
    monkeypatch.setenv("SOCBUDDY_PLUGINS", "virustotal,abuseipdb,circl_hashlookup")
    assert cli.main(["plugins", "--check", "--json"]) == 1
    rows = _rows(capsys)
    assert rows["virustotal"]["state"] == "credentials rejected" and not rows["virustotal"]["healthy"]
    assert rows["abuseipdb"]["state"] == "unreachable" and not rows["abuseipdb"]["healthy"]
    assert rows["circl_hashlookup"]["healthy"]


def test_health_endpoint_probes_without_a_restart(service: Service, fake) -> None:
    answer = service.get("/api/v1/plugins/health")
    assert answer.status_code == 200
    assert answer.json["healthy"] is True
    states = {row["plugin"]: row["state"] for row in answer.json["plugins"]}
    assert states["virustotal"] == "ok" and states["abuseipdb"] == "ok"
    assert fake.count("joe", "analysis/search") == 1  # a lookup of existing reports
    assert fake.count("joe", "submission/new") == 0  # never a submission
    fake.mode["vt"] = "auth"
    again = service.get("/api/v1/plugins/health").json
    assert again["healthy"] is False
    assert {r["plugin"]: r["state"] for r in again["plugins"]}["virustotal"] == "credentials rejected"
