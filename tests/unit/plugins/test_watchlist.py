"""The watchlist plugin through the API: hits with their list, verdict, date and match."""

from __future__ import annotations

from pathlib import Path

from shared import watchlist
from tests.conftest import Service

DATA = Path(__file__).parents[2] / "data" / "watchlists"


def _service(make_service) -> Service:
    service = make_service(SOCBUDDY_PLUGINS="watchlist,virustotal")
    with service.workers.runtime.db.connection_context():
        watchlist.import_file(DATA / "threatfox.csv", "threatfox-recent")
        watchlist.import_file(DATA / "plain.txt", "vip-allow", verdict="harmless")
    return service


def test_ok_hit_through_the_api(make_service) -> None:
    service = _service(make_service)
    body = service.post("/api/v1/analysis", {"ioc": "hxxp://c2.evil[.]example/gate.php", "type": "url"}).json
    result = body["results"]["watchlist"]
    assert result["status"] == "ok" and result["verdict"] == "malicious"
    assert result["summary"]["matched"] is True and result["summary"]["lists"] == ["threatfox-recent"]
    hit = result["summary"]["hits"][0]
    assert (
        hit["match"] == "host"
        and hit["value"] == "c2.evil.example"
        and hit["added_at"] == "2026-12-01T08:05:00Z"
    )
    assert body["verdict"]["value"] == "malicious"


def test_ok_declared_verdict_of_an_allow_list(make_service) -> None:
    service = _service(make_service)
    result = service.post("/api/v1/analysis", {"ioc": "10.0.0.1", "type": "ip"}).json["results"]["watchlist"]
    assert result["verdict"] == "harmless" and result["summary"]["hits"][0]["list"] == "vip-allow"


def test_not_found_is_ok_unknown(make_service) -> None:
    service = _service(make_service)
    result = service.post("/api/v1/analysis", {"ioc": "1.0.0.99", "type": "ip"}).json["results"]["watchlist"]
    assert (
        result["status"] == "ok" and result["verdict"] == "unknown" and result["summary"]["matched"] is False
    )


def test_not_found_results_are_never_cached(make_service) -> None:
    service = _service(make_service)
    service.post("/api/v1/analysis", {"ioc": "1.0.0.99", "type": "ip"})
    with service.workers.runtime.db.connection_context():
        watchlist.import_text("1.0.0.99\n", "late-addition")
    result = service.post("/api/v1/analysis", {"ioc": "1.0.0.99", "type": "ip"}).json["results"]["watchlist"]
    assert result["verdict"] == "malicious" and result["cached"] is False


def test_ok_needs_no_network(make_service, fake) -> None:
    service = _service(make_service)
    service.post(
        "/api/v1/analysis", {"ioc": "bad-domain.example", "type": "domain", "plugins": ["watchlist"]}
    )
    assert fake.requests == []
