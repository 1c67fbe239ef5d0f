"""The analysis endpoints end to end on the embedded service (fake providers behind MockTransport)."""

from __future__ import annotations

import time
import uuid

import pytest

from shared.models import Analysis, AuditEvent, PluginResult
from tests.conftest import Service
from tests.fakes.providers import KNOWN_SHA256, FakeProviders


def _wait_ready(service: Service, poll_url: str, timeout_s: float = 15) -> dict:
    deadline = time.monotonic() + timeout_s
    statuses = []
    while time.monotonic() < deadline:
        answer = service.get(poll_url)
        statuses.append(answer.status_code)
        if answer.status_code == 200:
            return {"statuses": statuses, **answer.json}
        assert answer.status_code == 202, answer.json
        assert answer.json == {"status": "pending"}
        time.sleep(0.05)
    raise AssertionError(f"not ready in time: {statuses[-5:]}")


def test_post_ip_returns_every_fast_result(service: Service) -> None:
    answer = service.post("/api/v1/analysis", {"ioc": "8.8.4[.]4", "type": "ip"})
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["ioc"] == "8.8.4.4"
    assert body["type"] == "ip"
    uuid.UUID(body["id"])
    assert body["queried_at"].endswith("Z")
    assert set(body["results"]) == {"virustotal", "abuseipdb"}
    assert body["pending"] == {}
    vt = body["results"]["virustotal"]
    assert vt["status"] == "ok" and vt["verdict"] == "malicious"
    assert vt["summary"]["malicious"] == 6 and vt["summary"]["votes_malicious"] == 4
    assert vt["link"] == "https://www.virustotal.com/gui/ip-address/8.8.4.4"
    assert set(vt) == {
        "plugin",
        "status",
        "verdict",
        "summary",
        "link",
        "raw",
        "error",
        "duration_ms",
        "fetched_at",
        "cached",
    }
    assert body["results"]["abuseipdb"]["summary"]["abuse_confidence_score"] == 87


# Private, and blocks older Python versions call global: IETF protocol assignments, the deprecated
# 6to4 relay anycast and site-local, and IPv6 addresses that embed a private IPv4 address.
@pytest.mark.parametrize(
    "address", ["10.1.2.3", "192.0.0.8", "192.88.99.1", "fec0::1", "64:ff9b::a00:1", "2002:a00:1::1"]
)
def test_non_global_ip_is_never_sent_to_remote_providers(
    service: Service, fake: FakeProviders, address: str
) -> None:
    answer = service.post("/api/v1/analysis", {"ioc": address, "type": "ip"})
    assert answer.status_code == 200
    for result in answer.json["results"].values():
        assert result["status"] == "ok" and result["verdict"] == "unknown"
        assert result["summary"]["queried"] is False
    assert fake.requests == []


def test_sandbox_url_goes_pending_then_ready(service: Service, fake: FakeProviders) -> None:
    fake.joe_polls_before_finish = 2
    answer = service.post("/api/v1/analysis", {"ioc": "hxxp://malicious[.]example/login.php", "type": "url"})
    assert answer.status_code == 200
    body = answer.json
    assert body["ioc"] == "http://malicious.example/login.php"
    assert "virustotal" in body["results"]
    assert body["pending"]["joe_sandbox"] == {
        "job_id": "140",
        "poll_url": f"/api/v1/analysis/{body['id']}/pending/joe_sandbox",
    }
    ready = _wait_ready(service, body["pending"]["joe_sandbox"]["poll_url"])
    assert 202 in ready["statuses"]
    assert ready["status"] == "ready"
    assert ready["result"]["verdict"] == "malicious"
    assert ready["result"]["summary"]["score"] == 88
    assert ready["result"]["link"] == "http://fake.test/joe/analysis/179/0/html"
    stored = service.get(f"/api/v1/analysis/{body['id']}").json
    assert stored["pending"] == {}
    assert stored["results"]["joe_sandbox"] == ready["result"]
    assert fake.count("joe", "submission/info") == 3


def test_sandbox_failure_is_a_ready_error(service: Service, fake: FakeProviders) -> None:
    fake.joe_fail = True
    body = service.post(
        "/api/v1/analysis", {"ioc": "http://x.example/", "type": "url", "plugins": ["joe_sandbox"]}
    ).json
    ready = _wait_ready(service, body["pending"]["joe_sandbox"]["poll_url"])
    assert ready["result"]["status"] == "error"
    assert ready["result"]["error"]["code"] == "provider_error"


def test_sandbox_gives_up_at_its_deadline(make_service, fake: FakeProviders) -> None:
    fake.joe_polls_before_finish = 10_000
    service = make_service(SOCBUDDY_SANDBOX_TIMEOUT="1")
    body = service.post(
        "/api/v1/analysis", {"ioc": "http://x.example/", "type": "url", "plugins": ["joe_sandbox"]}
    ).json
    ready = _wait_ready(service, body["pending"]["joe_sandbox"]["poll_url"])
    assert ready["result"]["error"]["code"] == "timeout"


def test_sandbox_first_poll_does_not_wait_past_a_deadline_shorter_than_the_interval(
    make_service, fake: FakeProviders
) -> None:
    fake.joe_polls_before_finish = 10_000
    service = make_service(SOCBUDDY_SANDBOX_TIMEOUT="1", SOCBUDDY_SANDBOX_POLL_INTERVAL="60")
    started = time.monotonic()
    body = service.post(
        "/api/v1/analysis", {"ioc": "http://x.example/", "type": "url", "plugins": ["joe_sandbox"]}
    ).json
    ready = _wait_ready(service, body["pending"]["joe_sandbox"]["poll_url"], timeout_s=10)
    assert ready["result"]["error"]["code"] == "timeout"
    assert time.monotonic() - started < 10  # not the 60 s first interval


def test_sandbox_hash_lookup_answers_during_the_call(service: Service) -> None:
    body = service.post("/api/v1/analysis", {"ioc": KNOWN_SHA256.upper(), "type": "hash"}).json
    assert body["pending"] == {}
    joe = body["results"]["joe_sandbox"]
    assert joe["status"] == "ok" and joe["verdict"] == "malicious"
    assert joe["summary"]["found"] is True and joe["summary"]["threatname"] == "AgentTesla"
    assert body["results"]["virustotal"]["summary"]["meaningful_name"] == "invoice_0423.exe"
    poll = service.get(f"/api/v1/analysis/{body['id']}/pending/joe_sandbox")
    assert poll.status_code == 404 and poll.json["error"] == "not_found"


def test_slow_provider_is_a_timeout_error_within_budget(make_service, fake: FakeProviders) -> None:
    service = make_service(SOCBUDDY_PLUGIN_TIMEOUT="0.5")
    fake.delay_s["abuseipdb"] = 3
    started = time.monotonic()
    body = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"}).json
    elapsed = time.monotonic() - started
    assert body["results"]["abuseipdb"]["error"]["code"] == "timeout"
    assert body["results"]["virustotal"]["status"] == "ok"
    assert elapsed < 2.5


def test_per_plugin_timeout_variable_overrides_the_global_one(make_service, fake: FakeProviders) -> None:
    service = make_service(SOCBUDDY_PLUGIN_TIMEOUT="5", ABUSEIPDB_TIMEOUT="0.3")
    fake.delay_s["abuseipdb"] = 2
    body = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip", "plugins": ["abuseipdb"]}).json
    assert body["results"]["abuseipdb"]["error"]["code"] == "timeout"


def test_late_fast_plugin_is_pending_and_lands_later(make_service, fake: FakeProviders) -> None:
    service = make_service(SOCBUDDY_FAST_TIMEOUT="0.3", SOCBUDDY_PLUGIN_TIMEOUT="5")
    gate = fake.hold("abuseipdb")
    body = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"}).json
    assert "virustotal" in body["results"]
    late = body["pending"]["abuseipdb"]
    assert late["job_id"] and late["poll_url"].endswith("/pending/abuseipdb")
    assert service.get(late["poll_url"]).status_code == 202
    gate.set()
    ready = _wait_ready(service, late["poll_url"])
    assert ready["result"]["status"] == "ok"
    assert (
        service.get(f"/api/v1/analysis/{body['id']}").json["results"]["abuseipdb"]["verdict"] == "malicious"
    )


def test_provider_failures_map_to_error_codes(service: Service, fake: FakeProviders) -> None:
    fake.mode.update(vt="auth", abuseipdb="quota")
    body = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"}).json
    assert body["results"]["virustotal"]["error"]["code"] == "auth_failed"
    assert body["results"]["abuseipdb"]["error"]["code"] == "rate_limited"
    assert body["results"]["abuseipdb"]["verdict"] == "unknown"
    assert body["results"]["abuseipdb"]["summary"] == {}


def test_requested_plugins_filter_and_unknown_names_are_skipped(service: Service) -> None:
    body = service.post(
        "/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip", "plugins": ["abuseipdb", "nope"]}
    ).json
    assert list(body["results"]) == ["abuseipdb"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "ip"}, "invalid_request"),
        ({"ioc": "1.1.1.1"}, "invalid_request"),
        ({"ioc": 5, "type": "ip"}, "invalid_request"),
        ({"ioc": "1.1.1.1", "type": "ip", "plugins": "virustotal"}, "invalid_request"),
        ({"ioc": "1.1.1.1", "type": "ip", "plugins": [1]}, "invalid_request"),
        ({"ioc": "1.1.1.1", "type": "ip", "plugins": None}, "invalid_request"),
        ({"ioc": "1.1.1.1", "type": "ipv4"}, "invalid_ioc_type"),
        ({"ioc": "nope", "type": "bogus", "plugins": 3}, "invalid_request"),
        ({"ioc": "not-an-ip", "type": "ip"}, "invalid_request"),
        ({"ioc": "abc", "type": "hash"}, "invalid_request"),
        ({"ioc": "localhost", "type": "domain"}, "invalid_request"),
        ({"ioc": "example.com/x", "type": "url"}, "invalid_request"),
        ({"ioc": "bob@", "type": "email"}, "invalid_request"),
        ({"ioc": "1.1.1.1", "type": "ip", "plugins": []}, "no_plugins_available"),
        ({"ioc": "bob@evil.example", "type": "email"}, "no_plugins_available"),
        ({"ioc": "a" * 128, "type": "hash"}, "no_plugins_available"),
    ],
)
def test_validation_order_and_codes(service: Service, body: dict, code: str) -> None:
    answer = service.post("/api/v1/analysis", body)
    assert answer.status_code == 400
    assert answer.json["error"] == code
    assert set(answer.json) == {"error", "detail"}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"type": "ip"}, "missing field 'ioc'"),
        ({"ioc": None, "type": "ip"}, "field 'ioc' must be a string (got null)"),
        ({"ioc": 5, "type": "ip"}, "field 'ioc' must be a string (got number)"),
        ({"ioc": ["1.1.1.1"], "type": "ip"}, "field 'ioc' must be a string (got array)"),
        ({"ioc": "1.1.1.1", "type": False}, "field 'type' must be a string (got boolean)"),
    ],
)
def test_a_field_that_is_there_but_not_a_string_is_not_called_missing(
    service: Service, body: dict, detail: str
) -> None:
    answer = service.post("/api/v1/analysis", body)
    assert answer.status_code == 400 and answer.json == {"error": "invalid_request", "detail": detail}


def test_invalid_value_detail_says_why(service: Service) -> None:
    answer = service.post("/api/v1/analysis", {"ioc": "999.1.1.1", "type": "ip"})
    assert "not an IPv4 or IPv6 address" in answer.json["detail"]


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"{bad", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"ioc": "1.1.1.1"}', "text/plain"),
        (b"\xff\xfe", "application/json"),
        (b"", "application/json"),
        (b"[" * 100_000, "application/json"),
    ],
)
def test_body_that_is_not_a_json_object_is_invalid_request(
    service: Service, raw: bytes, content_type: str
) -> None:
    answer = service.client.simulate_post(
        "/api/v1/analysis", body=raw, headers={**service.auth, "Content-Type": content_type}
    )
    assert answer.status_code == 400
    assert answer.json["error"] == "invalid_request"


def test_body_over_the_limit_is_413(make_service) -> None:
    service = make_service(SOCBUDDY_MAX_BODY_BYTES="1000")
    answer = service.post("/api/actions/defang", {"text": "x" * 2000})
    assert answer.status_code == 413
    assert answer.json["error"] == "payload_too_large"
    assert service.post("/api/actions/defang", {"text": "x" * 900}).status_code == 200


def test_get_analysis_and_not_found(service: Service) -> None:
    body = service.post("/api/v1/analysis", {"ioc": "evil.example", "type": "domain"}).json
    stored = service.get(f"/api/v1/analysis/{body['id']}").json
    assert stored == body
    for path in (
        f"/api/v1/analysis/{uuid.uuid4()}",
        "/api/v1/analysis/not-a-uuid",
        f"/api/v1/analysis/{body['id']}/pending/virustotal",
        f"/api/v1/analysis/{body['id']}/pending/nope",
        "/api/v1/analysis/x/pending/virustotal",
    ):
        answer = service.get(path)
        assert answer.status_code == 404, path
        assert answer.json["error"] == "not_found"


def test_analysis_rows_are_stored(service: Service) -> None:
    body = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"}).json
    with service.workers.runtime.db.connection_context():
        analysis = Analysis.get_by_id(uuid.UUID(body["id"]))
        rows = {r.plugin: r.status for r in PluginResult.select().where(PluginResult.analysis == analysis.id)}
        events = list(AuditEvent.select().where(AuditEvent.route == "/api/v1/analysis"))
    assert analysis.ioc == "1.0.0.1" and analysis.account == "tester"
    assert rows == {"virustotal": "ok", "abuseipdb": "ok"}
    assert len(events) == 1
    assert events[0].ioc == "1.0.0.1" and str(events[0].analysis_id) == body["id"]


def test_broker_unreachable_is_503_and_leaves_no_analysis(make_service, monkeypatch) -> None:
    import redis

    service = make_service()

    def refuse(message, *, delay=None):
        raise redis.ConnectionError("refused")

    monkeypatch.setattr(service.workers.runtime.broker, "enqueue", refuse)
    answer = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"})
    assert answer.status_code == 503
    assert answer.json == {
        "error": "unavailable",
        "detail": "broker unreachable; the analysis was not started",
    }
    with service.workers.runtime.db.connection_context():
        assert Analysis.select().count() == 0
        assert PluginResult.select().count() == 0


def test_no_plugins_available_says_which_plugins_are_disabled_and_why(make_service) -> None:
    service = make_service(
        SOCBUDDY_PLUGINS="virustotal,abuseipdb", VIRUSTOTAL_API_KEY="", ABUSEIPDB_API_KEY=""
    )
    answer = service.post("/api/v1/analysis", {"ioc": "1.1.1.1", "type": "ip"})
    assert answer.status_code == 400 and answer.json["error"] == "no_plugins_available"
    assert answer.json["detail"].startswith(
        "no enabled plugin supports this ip; disabled: virustotal (VIRUSTOTAL_API_KEY is not set), "
        "abuseipdb (ABUSEIPDB_API_KEY is not set), "
    )
    empty = service.post("/api/v1/analysis", {"ioc": "1.1.1.1", "type": "ip", "plugins": []})
    assert empty.json["detail"] == "the plugins list is empty"
    unknown = service.post("/api/v1/analysis", {"ioc": "1.1.1.1", "type": "ip", "plugins": ["nope"]})
    assert "no plugin among the requested plugins supports this ip" in unknown.json["detail"]
