"""DNS over HTTPS (JSON) against providers.md's example bodies."""

from __future__ import annotations

import httpx
import pytest

from plugins.spec import PluginError
from tests import plugin_harness as h

A_ANSWER = {
    "Status": 0,
    "TC": False,
    "RD": True,
    "RA": True,
    "AD": False,
    "CD": False,
    "Question": [{"name": "evil.example", "type": 1}],
    "Answer": [{"name": "evil.example", "type": 1, "TTL": 300, "data": "198.51.100.23"}],
}
NXDOMAIN = {
    "Status": 3,
    "TC": False,
    "RD": True,
    "RA": True,
    "AD": True,
    "CD": False,
    "Question": [{"name": "does-not-exist.example", "type": 1}],
    "Authority": [
        {
            "name": "example",
            "type": 6,
            "TTL": 1800,
            "data": "ns.registry.example. hostmaster.registry.example. 2025010101 1800 900 604800 86400",
        }
    ],
}
OTHER = {
    "MX": [{"name": "evil.example", "type": 15, "TTL": 300, "data": "10 mx.hoster.example."}],
    "NS": [
        {"name": "evil.example", "type": 2, "TTL": 300, "data": "ns1.hoster.example."},
        {"name": "evil.example", "type": 2, "TTL": 300, "data": "ns2.hoster.example."},
    ],
    "TXT": [{"name": "evil.example", "type": 16, "TTL": 300, "data": '"v=spf1 -all"'}],
}


def resolver(seen: list[httpx.Request]) -> h.Handler:
    """Answer each record type like the resolver does for evil.example."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        rtype = request.url.params["type"]
        if rtype == "A":
            return h.json_response(200, A_ANSWER)
        return h.json_response(200, {**A_ANSWER, "Answer": OTHER.get(rtype, [])})

    return handler


def test_ok_queries_each_type_with_dns_json_accept() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("doh_resolve", resolver(seen), "domain", "evil.example")
    assert [r.url.params["type"] for r in seen] == ["A", "AAAA", "MX", "NS", "TXT"]
    for request in seen:
        assert request.method == "GET" and str(request.url).startswith(h.BASE + "?")
        assert request.url.params["name"] == "evil.example"
        assert request.headers["accept"] == "application/dns-json"
    assert result["status"] == "ok" and result["verdict"] == "unknown" and result["link"] is None
    summary = result["summary"]
    assert summary["found"] is True and summary["status"] == 0 and summary["status_name"] == "NOERROR"
    assert summary["ad"] is False
    assert summary["a"] == [{"name": "evil.example", "type": 1, "ttl": 300, "data": "198.51.100.23"}]
    assert [r["data"] for r in summary["ns"]] == ["ns1.hoster.example.", "ns2.hoster.example."]
    assert (
        summary["mx"][0]["data"] == "10 mx.hoster.example." and summary["txt"][0]["data"] == '"v=spf1 -all"'
    )
    assert "aaaa" not in summary
    assert set(result["raw"]) == {"A", "AAAA", "MX", "NS", "TXT"}


def test_ok_url_uses_host_and_cname_chain_is_deduplicated() -> None:
    chain = [
        {"name": "www.evil.example", "type": 5, "TTL": 60, "data": "evil.example."},
        {"name": "evil.example", "type": 1, "TTL": 60, "data": "198.51.100.23"},
    ]
    seen, handler = h.recorded(h.answer(200, {**A_ANSWER, "AD": True, "Answer": chain}))
    result = h.lookup("doh_resolve", handler, "url", "https://WWW.evil.example/login?x=1")
    assert {r.url.params["name"] for r in seen} == {"www.evil.example"}
    assert len(result["summary"]["cname"]) == 1 and len(result["summary"]["a"]) == 1
    assert result["summary"]["ad"] is True


def test_ok_url_with_ip_host_is_not_supported() -> None:
    result = h.lookup("doh_resolve", resolver([]), "url", "http://8.8.8.8/x")
    assert result["status"] == "error" and result["error"]["code"] == "not_supported"


def test_not_found_nxdomain_is_ok_unknown_after_one_query() -> None:
    seen, handler = h.recorded(h.answer(200, NXDOMAIN))
    result = h.lookup("doh_resolve", handler, "domain", "does-not-exist.example")
    assert len(seen) == 1
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["summary"] == {"found": False, "status": 3, "status_name": "NXDOMAIN", "ad": True}


def test_not_found_servfail_is_reported_not_raised() -> None:
    body = {**A_ANSWER, "Status": 2, "Answer": []}
    result = h.lookup("doh_resolve", h.answer(200, body), "domain", "broken.example")
    assert result["status"] == "ok" and result["summary"]["status_name"] == "SERVFAIL"
    assert result["summary"]["found"] is False


@pytest.mark.parametrize(
    ("status", "body"), [(400, {"error": "Invalid query name"}), (415, None), (200, {"odd": 1})]
)
def test_not_found_malformed_or_refused_query_is_provider_error(status: int, body: object) -> None:
    result = h.lookup("doh_resolve", h.answer(status, body), "domain", "evil.example")
    assert result["error"]["code"] == "provider_error"
    if status == 400:
        assert "Invalid query name" in result["error"]["message"]


def test_auth_failed() -> None:
    assert h.lookup("doh_resolve", h.answer(403), "domain", "evil.example")["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("doh_resolve", h.answer(429, None, {"Retry-After": "7"}), "domain", "evil.example")
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 7


def test_rate_limited_without_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("doh_resolve", h.answer(429), "domain", "evil.example")
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_server_error() -> None:
    assert h.lookup("doh_resolve", h.answer(503), "domain", "evil.example")["error"]["code"] == "unavailable"


def test_server_error_on_a_later_type_fails_the_lookup() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["type"] == "MX":
            return httpx.Response(502)
        return h.json_response(200, A_ANSWER)

    assert h.lookup("doh_resolve", handler, "domain", "evil.example")["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    assert h.lookup("doh_resolve", h.refuse, "domain", "evil.example")["error"]["code"] == "unavailable"
