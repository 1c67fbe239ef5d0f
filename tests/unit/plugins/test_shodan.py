"""Shodan host API against providers.md's example bodies."""

from __future__ import annotations

import pytest

from plugins import shodan
from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import shodan as fake

ENV = fake.ENV


def test_ok_sends_key_and_minify_as_query() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    result = h.lookup("shodan", handler, "ip", fake.KNOWN_IP, ENV)
    assert seen[0].method == "GET" and seen[0].url.path == "/shodan/host/8.8.8.8"
    assert dict(seen[0].url.params) == {"key": fake.KEY, "minify": "true"}
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["link"] == "https://www.shodan.io/host/8.8.8.8"
    summary = result["summary"]
    assert summary["found"] is True and summary["ports"] == [22, 80, 443]
    assert summary["vulns"] == ["CVE-2023-38408"] and summary["asn"] == "AS64500"
    assert summary["country_name"] == "Netherlands" and summary["os"] is None
    assert set(summary) == {"found", *shodan._SCALARS, *shodan._LISTS}
    assert result["raw"]["region_code"] == "NH"


@pytest.mark.parametrize(
    ("tags", "verdict"),
    [
        (["cloud"], "unknown"),
        (["c2"], "suspicious"),
        (["Malware"], "suspicious"),
        (["compromised"], "suspicious"),
    ],
)
def test_ok_tag_heuristic(tags, verdict) -> None:
    body = {**fake.HOST, "tags": tags}
    assert h.lookup("shodan", h.answer(200, body), "ip", "8.8.8.8", ENV)["verdict"] == verdict


def test_ok_lists_capped_at_ten() -> None:
    body = {**fake.HOST, "ports": list(range(50))}
    assert h.lookup("shodan", h.answer(200, body), "ip", "8.8.8.8", ENV)["summary"]["ports"] == list(
        range(10)
    )


def test_ok_ipv6_path_is_percent_encoded() -> None:
    seen, handler = h.recorded(h.answer(200, {**fake.HOST, "ip_str": "2001:4860:4860::8888"}))
    h.lookup("shodan", handler, "ip", "2001:4860:4860::8888", ENV)
    assert seen[0].url.raw_path.startswith(b"/shodan/host/2001%3A4860%3A4860%3A%3A8888?")


def test_not_found_is_ok_unknown() -> None:
    result = h.lookup("shodan", fake.handle, "ip", "1.0.0.1", ENV)  # type: ignore[arg-type]
    assert result["status"] == "ok" and result["verdict"] == "unknown" and result["link"] is None
    assert result["summary"] == {"found": False, "message": "No information available for that IP."}


def test_auth_failed() -> None:
    result = h.lookup("shodan", fake.handle, "ip", "8.8.8.8", {"SHODAN_API_KEY": "wrong"})  # type: ignore[arg-type]
    assert result["error"]["code"] == "auth_failed" and "Invalid API key" in result["error"]["message"]
    assert (
        h.lookup("shodan", h.answer(403, {"error": "denied"}), "ip", "8.8.8.8", ENV)["error"]["code"]
        == "auth_failed"
    )


def test_auth_failed_reported_in_a_200_body() -> None:
    result = h.lookup("shodan", h.answer(200, fake.BAD_KEY), "ip", "8.8.8.8", ENV)
    assert result["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    reply = h.answer(429, {"error": "Rate limit reached"}, {"Retry-After": "2"})
    with pytest.raises(PluginError) as caught:
        h.raw_call("shodan", reply, "ip", "8.8.8.8", ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 2
    assert caught.value.message == "HTTP 429: Rate limit reached"


def test_rate_limited_without_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("shodan", h.answer(429, {"error": "Rate limit reached"}), "ip", "8.8.8.8", ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_server_error() -> None:
    assert h.lookup("shodan", h.answer(503), "ip", "8.8.8.8", ENV)["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    result = h.lookup("shodan", h.refuse, "ip", "8.8.8.8", ENV)
    assert result["error"]["code"] == "unavailable" and fake.KEY not in result["error"]["message"]


def test_unexpected_body_is_provider_error() -> None:
    assert (
        h.lookup("shodan", h.answer(200, {"odd": 1}), "ip", "8.8.8.8", ENV)["error"]["code"]
        == "provider_error"
    )
    assert (
        h.lookup("shodan", h.answer(400, {"error": "bad"}), "ip", "8.8.8.8", ENV)["error"]["code"]
        == "provider_error"
    )
