"""ThreatFox against providers.md's example bodies."""

from __future__ import annotations

import json

import httpx
import pytest

from plugins import threatfox
from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import threatfox as fake

ENV = dict(fake.ENV)


def test_ok_ip_matches_ip_port_entries() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("threatfox", h.recording(fake.handle, seen), "ip", "1.0.0.1", ENV)
    request = seen[0]
    assert request.method == "POST" and request.url.path == "/" and request.headers["auth-key"] == fake.KEY
    assert json.loads(request.content) == {
        "query": "search_ioc",
        "search_term": "1.0.0.1",
        "exact_match": False,
    }
    assert result["status"] == "ok" and result["verdict"] == "malicious"
    assert result["link"] == "https://threatfox.abuse.ch/ioc/1401234/"
    summary = result["summary"]
    assert summary["count"] == 1 and summary["confidence_level"] == 100
    assert summary["malware_printable"] == "Cobalt Strike" and summary["threat_type"] == "botnet_cc"
    assert summary["data"][0]["ioc"] == "1.0.0.1:443" and summary["data"][0]["tags"] == ["c2", "CobaltStrike"]
    assert "malware_samples" not in summary["data"][0]


@pytest.mark.parametrize(
    ("ioc_type", "value", "verdict", "entry_id"),
    [
        ("domain", "evil.example", "suspicious", "1401235"),
        ("url", fake.URL, "malicious", "1401236"),
        ("hash", fake.SHA256, "malicious", "1401237"),
    ],
)
def test_ok_other_types_search_exactly(ioc_type: str, value: str, verdict: str, entry_id: str) -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("threatfox", h.recording(fake.handle, seen), ioc_type, value, ENV)
    assert json.loads(seen[0].content)["exact_match"] is True
    assert result["verdict"] == verdict and result["link"] == f"https://threatfox.abuse.ch/ioc/{entry_id}/"


@pytest.mark.parametrize(
    ("confidence", "verdict"), [(75, "malicious"), (74, "suspicious"), (0, "suspicious")]
)
def test_ok_verdict_threshold(confidence: int, verdict: str) -> None:
    assert threatfox.MALICIOUS_CONFIDENCE == 75
    body = {"query_status": "ok", "data": [fake.entry("1.0.0.1:80", "ip:port", confidence)]}
    assert h.lookup("threatfox", h.answer(200, body), "ip", "1.0.0.1", ENV)["verdict"] == verdict


def test_ok_loose_ip_search_keeps_only_this_ip_and_the_most_confident_leads() -> None:
    body = {
        "query_status": "ok",
        "data": [
            fake.entry("1.0.0.10:443", "ip:port", 100, "1"),
            fake.entry("1.0.0.1:8080", "ip:port", 40, "2"),
            fake.entry("1.0.0.1:443", "ip:port", 60, "3"),
        ],
    }
    result = h.lookup("threatfox", h.answer(200, body), "ip", "1.0.0.1", ENV)
    assert result["verdict"] == "suspicious" and result["summary"]["count"] == 2
    assert result["link"] == "https://threatfox.abuse.ch/ioc/3/"
    only_other = {"query_status": "ok", "data": [fake.entry("1.0.0.10:443", "ip:port", 100)]}
    result = h.lookup("threatfox", h.answer(200, only_other), "ip", "1.0.0.1", ENV)
    assert result["verdict"] == "unknown" and result["summary"]["found"] is False


def test_ok_md5_is_sent_and_sha1_not_supported() -> None:
    seen: list[httpx.Request] = []
    h.lookup("threatfox", h.recording(fake.handle, seen), "hash", "a" * 32, ENV)
    assert json.loads(seen[0].content)["search_term"] == "a" * 32
    with pytest.raises(PluginError) as caught:
        h.raw_call("threatfox", fake.handle, "hash", "b" * 40, ENV)
    assert caught.value.code == "not_supported"


def test_not_found_is_ok_unknown() -> None:
    result = h.lookup("threatfox", fake.handle, "domain", "clean.example", ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["summary"] == {"found": False, "query_status": "no_result"} and result["link"] is None


def test_auth_failed_http_401_and_body_status() -> None:
    wrong = {"ABUSECH_API_KEY": "wrong"}
    assert h.lookup("threatfox", fake.handle, "ip", "1.0.0.1", wrong)["error"]["code"] == "auth_failed"
    in_body = h.answer(200, {"query_status": "unknown_auth_key"})
    assert h.lookup("threatfox", in_body, "ip", "1.0.0.1", ENV)["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    for status in (429, 503):
        with pytest.raises(PluginError) as caught:
            h.raw_call("threatfox", h.answer(status, None, {"Retry-After": "45"}), "ip", "1.0.0.1", ENV)
        assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 45


def test_rate_limited_without_retry_after() -> None:
    for reply in (h.answer(429), h.answer(402, {"query_status": "ratelimited"})):
        with pytest.raises(PluginError) as caught:
            h.raw_call("threatfox", reply, "ip", "1.0.0.1", ENV)
        assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_server_error() -> None:
    assert h.lookup("threatfox", h.answer(502), "ip", "1.0.0.1", ENV)["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    assert h.lookup("threatfox", h.refuse, "ip", "1.0.0.1", ENV)["error"]["code"] == "unavailable"


def test_illegal_search_term_is_provider_error() -> None:
    reply = h.answer(200, {"query_status": "illegal_search_term", "data": "bad"})
    result = h.lookup("threatfox", reply, "domain", "evil.example", ENV)
    assert result["error"]["code"] == "provider_error" and "illegal_search_term" in result["error"]["message"]
