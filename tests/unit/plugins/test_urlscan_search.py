"""urlscan.io search against providers.md's example bodies."""

from __future__ import annotations

import httpx
import pytest

from plugins import urlscan_search
from plugins.spec import PluginError
from shared.iocs.normalize import make_ioc
from tests import plugin_harness as h
from tests.fakes.catalog import urlscan_search as fake

ENV = fake.ENV
P = "urlscan_search"


@pytest.mark.parametrize(
    ("ioc_type", "value", "q"),
    [
        ("domain", "evil.example", "domain:evil.example"),
        ("ip", "198.51.100.23", 'ip:"198.51.100.23"'),
        ("ip", "2606:4700::1111", 'ip:"2606:4700::1111"'),
        ("url", "http://malicious.example/login.php", 'page.url:"http://malicious.example/login.php"'),
        ("url", 'http://x.example/a"b\\c', 'page.url:"http://x.example/a\\"b\\\\c"'),
    ],
)
def test_ok_query_per_type(ioc_type: str, value: str, q: str) -> None:
    assert urlscan_search.query(make_ioc(value, ioc_type)) == q


def test_ok_sends_key_header_query_and_summarises_the_example() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup(P, h.recording(h.answer(200, fake.SEARCH_HIT), seen), "domain", "evil.example", ENV)
    request = seen[0]
    assert request.method == "GET" and request.url.path == "/search/"
    assert dict(request.url.params) == {"q": "domain:evil.example", "size": "100"}
    assert request.headers["api-key"] == fake.KEY and "socbuddy" in request.headers["user-agent"].lower()
    assert result["status"] == "ok" and result["verdict"] == "malicious"
    assert result["link"] == "https://urlscan.io/search/#domain%3Aevil.example"
    summary = result["summary"]
    assert summary["total"] == 1 and summary["has_more"] is False and summary["malicious_results"] == 1
    assert summary["results"][0] == {
        "id": fake.SCAN_ID,
        "task_url": "https://evil.example/login",
        "time": "2025-01-01T09:30:12.345Z",
        "visibility": "public",
        "method": "api",
        "page_url": "https://evil.example/login",
        "domain": "evil.example",
        "ip": "198.51.100.23",
        "country": "NL",
        "asn": "AS64500",
        "asnname": "EXAMPLE-HOSTING, NL",
        "status": "200",
        "title": "Sign in to your account",
        "server": "nginx",
        "malicious": True,
        "result": f"https://urlscan.io/api/v1/result/{fake.SCAN_ID}/",
        "screenshot": f"https://urlscan.io/screenshots/{fake.SCAN_ID}.png",
        "link": f"https://urlscan.io/result/{fake.SCAN_ID}/",
    }
    assert result["raw"] == fake.SEARCH_HIT


@pytest.mark.parametrize(
    ("verdicts", "verdict"),
    [
        ({"malicious": True}, "malicious"),
        ({"overall": {"malicious": True}}, "malicious"),
        ({"malicious": False, "score": 0}, "unknown"),
        (None, "unknown"),  # search hits without verdicts (older scans): being scanned says nothing
    ],
)
def test_ok_verdict_rule(verdicts, verdict: str) -> None:
    hit = {k: v for k, v in fake.HIT.items() if k != "verdicts"}
    if verdicts is not None:
        hit["verdicts"] = verdicts
    body = {"results": [hit], "total": 1, "has_more": False}
    result = h.lookup(P, h.answer(200, body), "ip", "1.0.0.1", ENV)
    assert result["verdict"] == verdict and result["summary"]["found"] is True


def test_ok_lists_at_most_ten_results_but_judges_all() -> None:
    clean = {**fake.HIT, "verdicts": {"malicious": False}}
    body = {"results": [clean] * 11 + [fake.HIT], "total": 12, "has_more": True}
    result = h.lookup(P, h.answer(200, body), "domain", "evil.example", ENV)
    assert len(result["summary"]["results"]) == 10 and result["summary"]["has_more"] is True
    assert result["verdict"] == "malicious" and result["summary"]["malicious_results"] == 1


def test_not_found_is_ok_unknown() -> None:
    result = h.lookup(P, fake.handle, "ip", "1.0.0.1", ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["summary"]["found"] is False and result["summary"]["total"] == 0
    assert result["summary"]["results"] == []


def test_auth_failed_401_403_and_malformed_key_400() -> None:
    for status in (401, 403):
        reply = h.answer(status, {"message": "Unauthorized", "status": status})
        assert h.lookup(P, reply, "domain", "evil.example", ENV)["error"]["code"] == "auth_failed"
    result = h.lookup(P, fake.handle, "domain", "evil.example", {"URLSCAN_API_KEY": "malformed"})
    assert result["error"]["code"] == "auth_failed" and "Invalid API key format" in result["error"]["message"]


def test_bad_query_400_is_provider_error() -> None:
    result = h.lookup(P, h.answer(400, fake.BAD_QUERY), "domain", "evil.example", ENV)
    assert result["error"]["code"] == "provider_error"
    assert result["error"]["message"] == "HTTP 400: Search query is invalid"


def test_rate_limited_with_retry_after() -> None:
    reply = h.answer(429, {"message": "Rate limit exceeded", "status": 429}, {"Retry-After": "17"})
    with pytest.raises(PluginError) as caught:
        h.raw_call(P, reply, "domain", "evil.example", ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 17


def test_rate_limited_without_retry_after_uses_reset_after_header() -> None:
    headers = {"X-Rate-Limit-Action": "search", "X-Rate-Limit-Reset-After": "42.5"}
    with pytest.raises(PluginError) as caught:
        h.raw_call(P, h.answer(429, {"status": 429}, headers), "domain", "evil.example", ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 42.5
    with pytest.raises(PluginError) as bare:
        h.raw_call(P, h.answer(429, {"status": 429}), "domain", "evil.example", ENV)
    assert bare.value.code == "rate_limited" and bare.value.retry_after_s is None


def test_server_error() -> None:
    assert h.lookup(P, h.answer(502), "domain", "evil.example", ENV)["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    result = h.lookup(P, h.refuse, "domain", "evil.example", ENV)
    assert result["error"]["code"] == "unavailable" and "http" not in result["error"]["message"]


def test_unexpected_body_is_provider_error() -> None:
    assert h.lookup(P, h.answer(200, {"odd": 1}), "ip", "1.0.0.1", ENV)["error"]["code"] == "provider_error"


def test_fake_leaves_other_urlscan_paths_to_the_scan_fake() -> None:
    assert fake.handle(httpx.Request("POST", "http://f/scan/")) is None
    assert fake.handle(httpx.Request("GET", f"http://f/result/{fake.SCAN_ID}/")) is None
