"""The result cache (max_age, TTL, never errors) and the explainable analysis verdict."""

from __future__ import annotations

import time
import uuid

import pytest

from plugins import registry
from shared import analyses, cache, verdict
from tests.conftest import Service
from tests.fakes.providers import FakeProviders


def test_repeated_analysis_is_served_from_the_cache(service: Service, fake: FakeProviders) -> None:
    first = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"}).json
    assert first["results"]["virustotal"]["cached"] is False
    second = service.post("/api/v1/analysis", {"ioc": "1.0.0[.]1", "type": "ip"}).json
    assert second["id"] != first["id"]
    for name in ("virustotal", "abuseipdb"):
        assert second["results"][name]["cached"] is True
        assert second["results"][name]["fetched_at"] == first["results"][name]["fetched_at"]
        assert second["results"][name]["summary"] == first["results"][name]["summary"]
    assert fake.count("vt") == 1 and fake.count("abuseipdb") == 1
    stored = service.get(f"/api/v1/analysis/{second['id']}").json
    assert stored["results"]["virustotal"]["cached"] is True


def test_max_age_zero_forces_fresh_lookups(service: Service, fake: FakeProviders) -> None:
    service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"})
    fresh = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip", "max_age": 0}).json
    assert fresh["results"]["virustotal"]["cached"] is False
    assert fake.count("vt") == 2


def test_max_age_younger_than_the_entry_asks_again(service: Service, fake: FakeProviders) -> None:
    service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"})
    time.sleep(1.1)
    again = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip", "max_age": 1}).json
    assert again["results"]["virustotal"]["cached"] is False
    reused = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip", "max_age": 60}).json
    assert reused["results"]["virustotal"]["cached"] is True


def test_errors_are_never_cached(service: Service, fake: FakeProviders) -> None:
    fake.mode["vt"] = "down"
    assert (
        service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"}).json["results"]["virustotal"][
            "status"
        ]
        == "error"
    )
    fake.mode["vt"] = "ok"
    again = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"}).json
    assert (
        again["results"]["virustotal"]["status"] == "ok" and again["results"]["virustotal"]["cached"] is False
    )


def test_cache_ttl_zero_disables_reuse(make_service, fake: FakeProviders) -> None:
    service = make_service(VIRUSTOTAL_CACHE_TTL="0")
    service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"})
    again = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"}).json
    assert again["results"]["virustotal"]["cached"] is False
    assert again["results"]["abuseipdb"]["cached"] is True


@pytest.mark.parametrize("bad", [-1, "60", True, [1]])
def test_invalid_max_age_is_400(service: Service, bad) -> None:
    answer = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip", "max_age": bad})
    assert answer.status_code == 400 and answer.json["error"] == "invalid_request"


def test_analysis_verdict_with_reasons_and_update_after_a_sandbox(
    service: Service, fake: FakeProviders
) -> None:
    fake.joe_polls_before_finish = 1
    body = service.post("/api/v1/analysis", {"ioc": "http://malicious.example/login.php", "type": "url"}).json
    assert body["verdict"]["value"] == "malicious"
    assert body["verdict"]["complete"] is False
    assert body["verdict"]["not_counted"]["pending"] == ["joe_sandbox"]
    assert body["verdict"]["reasons"] == [{"plugin": "virustotal", "verdict": "malicious", "cached": False}]
    deadline = time.monotonic() + 10
    while service.get(body["pending"]["joe_sandbox"]["poll_url"]).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stored = service.get(f"/api/v1/analysis/{body['id']}").json
    assert stored["verdict"]["complete"] is True
    assert stored["verdict"]["counts"]["malicious"] == 2
    assert [r["plugin"] for r in stored["verdict"]["reasons"]] == ["joe_sandbox", "virustotal"]


def test_verdict_rule() -> None:
    def result(v: str, status: str = "ok") -> dict:
        return {"status": status, "verdict": v}

    assert verdict.overall({})["value"] == "unknown"
    assert verdict.overall({"a": result("harmless"), "b": result("unknown")})["value"] == "harmless"
    mixed = verdict.overall(
        {"a": result("harmless"), "b": result("suspicious"), "c": result("malicious", "error")}
    )
    assert mixed["value"] == "suspicious"
    assert mixed["not_counted"]["failed"] == ["c"]
    assert mixed["counts"] == {"malicious": 0, "suspicious": 1, "harmless": 1, "unknown": 0}
    assert verdict.overall({"a": result("harmless"), "b": result("malicious")})["value"] == "malicious"


def check_finish_caches_only_a_stored_answer(workers) -> None:
    """A finish that stores its answer caches it; one that loses the compare-and-set caches nothing."""
    analysis_id = uuid.uuid4()
    planned = [analyses.PlannedPlugin("virustotal", "fast", "m1", "c1")]
    answer = {"status": "ok", "plugin": "virustotal", "summary": {"score": 1}}
    late = {"status": "ok", "plugin": "virustotal", "summary": {"score": 2}}
    with workers.runtime.db.connection_context():
        analyses.create(analysis_id, "1.0.0.9", "ip", planned, None)
        stored = analyses.finish(
            str(analysis_id), "virustotal", answer, "c1", cache.entry("virustotal", "ip", "1.0.0.9", answer)
        )
        lost = analyses.finish(
            str(analysis_id), "virustotal", late, "c1", cache.entry("virustotal", "ip", "1.0.0.9", late)
        )
        other_chain = uuid.uuid4()
        analyses.create(
            other_chain, "1.0.0.9", "ip", [analyses.PlannedPlugin("virustotal", "fast", "m2", "c2")], None
        )
        superseded = analyses.finish(
            str(other_chain), "virustotal", late, "gone", cache.entry("virustotal", "ip", "1.0.0.9", late)
        )
        hits = cache.lookup_many(
            [registry.BY_NAME["virustotal"].SPEC], workers.runtime.settings, "ip", "1.0.0.9", None
        )
        row = analyses.get_row(str(analysis_id), "virustotal")
    assert (stored, lost, superseded) == (True, False, False)
    assert row is not None and row.result == answer
    assert hits["virustotal"]["summary"] == {"score": 1}


def test_finish_caches_only_a_stored_answer(service: Service) -> None:
    check_finish_caches_only_a_stored_answer(service.workers)
