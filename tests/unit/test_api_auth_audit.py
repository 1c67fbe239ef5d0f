"""Authentication, the audit log, health probes and the other endpoints."""

from __future__ import annotations

import hashlib

import falcon.testing
import pytest

from api.app import create_app
from shared import accounts, audit
from shared.config import Settings
from shared.models import ApiKey, AuditEvent
from tests.conftest import Service
from workers import actors, runtime


def _events(service: Service) -> list[dict]:
    with service.workers.runtime.db.connection_context():
        return audit.query(limit=1000)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "invalid_api_key"),
        ("Basic abc", "invalid_api_key"),
        ("Bearer sb_short", "invalid_api_key"),
        ("Bearer sb_" + "A" * 32, "invalid_api_key"),
    ],
)
def test_rejected_keys_are_401_and_audited_without_the_key(
    service: Service, header: str | None, code: str
) -> None:
    headers = {"Authorization": header} if header else {}
    answer = service.client.simulate_get("/api/v1/plugins", headers=headers)
    assert answer.status_code == 401
    assert answer.json["error"] == code
    events = _events(service)
    assert len(events) == 1
    assert events[0]["account"] is None and events[0]["key_prefix"] is None and events[0]["status"] == 401
    assert "AAAA" not in str(events[0])


def test_revoked_key_is_401_revoked_on_the_next_request(service: Service) -> None:
    assert service.get("/api/v1/plugins").status_code == 200
    with service.workers.runtime.db.connection_context():
        assert accounts.revoke("tester") == 1
    answer = service.get("/api/v1/plugins")
    assert answer.status_code == 401
    assert answer.json["error"] == "revoked_api_key"


def test_revoke_one_key_by_prefix_keeps_the_others(service: Service) -> None:
    with service.workers.runtime.db.connection_context():
        second = accounts.create_key("tester")
        accounts.revoke("tester", accounts.display_prefix(service.key))
    assert service.get("/api/v1/plugins").json["error"] == "revoked_api_key"
    assert (
        service.client.simulate_get(
            "/api/v1/plugins", headers={"Authorization": f"Bearer {second}"}
        ).status_code
        == 200
    )


def test_keys_are_stored_only_as_hashes(service: Service) -> None:
    assert service.key.startswith("sb_") and len(service.key) == 35
    with service.workers.runtime.db.connection_context():
        stored = ApiKey.get()
    assert stored.key_hash == hashlib.sha256(service.key.encode()).hexdigest()
    assert stored.prefix == service.key[3:11]
    dump = "\n".join(service.workers.runtime.db.connection().iterdump())
    assert service.key not in dump
    assert service.key[3:] not in dump


def test_every_call_is_audited_with_route_template_and_params(service: Service) -> None:
    body = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"}).json
    service.get(f"/api/v1/analysis/{body['id']}/pending/virustotal")
    service.post("/api/actions/defang", {"text": "secret-text http://a.example"})
    events = _events(service)
    assert [e["route"] for e in events] == [
        "/api/actions/defang",
        "/api/v1/analysis/{id}/pending/{plugin}",
        "/api/v1/analysis",
    ]
    defang, poll, analysis = events
    assert analysis["account"] == "tester" and analysis["key_prefix"] == service.key[3:11]
    assert analysis["ioc"] == "1.0.0.1" and analysis["type"] == "ip" and analysis["analysis_id"] == body["id"]
    assert analysis["status"] == 200 and analysis["method"] == "POST" and analysis["duration_ms"] >= 0
    assert poll["params"] == {"id": body["id"], "plugin": "virustotal"} and poll["status"] == 404
    assert "secret-text" not in str(defang)


def test_audit_params_are_truncated(service: Service) -> None:
    service.get("/api/v1/analysis/" + "x" * 500)
    (event,) = _events(service)
    assert len(event["params"]["id"]) == 128


def test_health_endpoints_need_no_key(service: Service) -> None:
    assert service.client.simulate_get("/healthz").json == {"status": "ok"}
    ready = service.client.simulate_get("/readyz")
    assert ready.status_code == 200 and ready.json["database"] == "ok"
    with service.workers.runtime.db.connection_context():
        assert AuditEvent.select().count() == 0


def test_plugins_lists_enabled_plugins_with_mode(service: Service) -> None:
    plugins = {p["name"]: p for p in service.get("/api/v1/plugins").json}
    assert set(plugins) == {"virustotal", "abuseipdb", "joe_sandbox"}
    assert plugins["virustotal"] == {
        "name": "virustotal",
        "display_name": "VirusTotal",
        "supported_ioc_types": ["ip", "domain", "url", "hash"],
        "enabled": True,
        "categories": ["reputation"],
        "mode": "fast",
    }
    assert plugins["joe_sandbox"]["mode"] == "slow"


def test_disabled_plugins_switch(make_service) -> None:
    service = make_service(SOCBUDDY_DISABLED_PLUGINS="abuseipdb, joe_sandbox")
    assert [p["name"] for p in service.get("/api/v1/plugins").json] == ["virustotal"]


def test_unknown_route_and_wrong_method_use_the_error_shape(service: Service) -> None:
    missing = service.client.simulate_get("/api/v2/nothing")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"
    wrong = service.client.simulate_delete("/api/v1/analysis", headers=service.auth)
    assert wrong.status_code == 405 and wrong.json["error"] == "method_not_allowed"
    assert set(wrong.json) == {"error", "detail"}
    assert "POST" in wrong.headers["allow"]


def test_actions(service: Service) -> None:
    assert service.post("/api/actions/defang", {"text": "http://evil.com/path"}).json == {
        "result": "hxxp[://]evil[.]com/path"
    }
    assert service.post("/api/actions/refang", {"text": "hxxp[://]evil[.]com"}).json == {
        "result": "http://evil.com"
    }
    extracted = service.post("/api/actions/extract", {"text": "contacted 1.2.3.4 and evil.com"}).json
    assert extracted == {"indicators": {"ip": ["1.2.3.4"], "domain": ["evil.com"]}}
    bad = service.post("/api/actions/extract", {"text": 5})
    assert bad.status_code == 400 and bad.json["error"] == "invalid_request"


def test_without_database_authenticated_endpoints_are_503() -> None:
    settings = Settings.from_env({"REDIS_URL": "redis://127.0.0.1:1/0"})
    rt = runtime.build(settings, broker=__import__("dramatiq").brokers.stub.StubBroker())
    client = falcon.testing.TestClient(create_app(rt, actors.declare(rt.broker, rt)))
    answer = client.simulate_get("/api/v1/plugins", headers={"Authorization": "Bearer sb_" + "a" * 32})
    assert answer.status_code == 503 and answer.json["error"] == "unavailable"
    assert client.simulate_get("/healthz").status_code == 200
    ready = client.simulate_get("/readyz")
    assert ready.status_code == 503 and ready.json["error"] == "unavailable"
    assert "database: not configured (DATABASE_URL is not set)" in ready.json["detail"]
