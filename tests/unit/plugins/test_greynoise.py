"""GreyNoise Community against providers.md's example bodies."""

from __future__ import annotations

import pytest

from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import greynoise as fake

PLUGIN = "greynoise"
ENV = fake.ENV


def test_ok_scanner_is_malicious_with_key_header() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    result = h.lookup(PLUGIN, handler, "ip", fake.MALICIOUS_IP, ENV)
    assert seen[0].method == "GET" and seen[0].url.path == "/v3/community/1.0.0.1"
    assert seen[0].headers["key"] == fake.KEY and not seen[0].url.params
    assert result["status"] == "ok" and result["verdict"] == "malicious"
    assert result["link"] == "https://viz.greynoise.io/ip/1.0.0.1"
    assert result["summary"] == {
        "found": True,
        "noise": True,
        "riot": False,
        "classification": "malicious",
        "name": "unknown",
        "last_seen": "2025-01-01",
        "link": "https://viz.greynoise.io/ip/1.0.0.1",
        "message": "Success",
    }


def test_ok_benign_service_is_harmless_and_keeps_riot_link() -> None:
    result = h.lookup(PLUGIN, fake.handle, "ip", fake.BENIGN_IP, ENV)  # type: ignore[arg-type]
    assert result["verdict"] == "harmless" and result["summary"]["riot"] is True
    assert result["link"] == "https://viz.greynoise.io/riot/8.8.8.8"


@pytest.mark.parametrize(
    ("body", "verdict"),
    [
        ({"noise": True, "riot": True, "classification": "malicious"}, "malicious"),
        ({"noise": False, "riot": True, "classification": "unknown"}, "harmless"),
        ({"noise": True, "riot": False, "classification": "benign"}, "harmless"),
        ({"noise": True, "riot": False, "classification": "suspicious"}, "suspicious"),
        ({"noise": True, "riot": False, "classification": "unknown"}, "unknown"),
    ],
)
def test_ok_verdict_rule(body, verdict) -> None:
    result = h.lookup(PLUGIN, h.answer(200, body), "ip", "1.0.0.1", ENV)
    assert result["verdict"] == verdict and result["summary"]["noise"] is body["noise"]


def test_ok_foreign_link_in_the_body_is_not_used() -> None:
    body = {**fake.SCANNER, "link": "https://elsewhere.example/x"}
    assert (
        h.lookup(PLUGIN, h.answer(200, body), "ip", "1.0.0.1", ENV)["link"]
        == "https://viz.greynoise.io/ip/1.0.0.1"
    )


def test_not_found_is_ok_unknown() -> None:
    result = h.lookup(PLUGIN, fake.handle, "ip", "9.9.9.9", ENV)  # type: ignore[arg-type]
    assert result["status"] == "ok" and result["verdict"] == "unknown" and result["link"] is None
    assert result["summary"] == {
        "found": False,
        "noise": False,
        "riot": False,
        "message": fake.NOT_FOUND_MESSAGE,
    }


def test_not_found_with_an_empty_404_body_is_still_unknown() -> None:
    result = h.lookup(PLUGIN, h.answer(404), "ip", "9.9.9.9", ENV)
    assert result["status"] == "ok" and result["summary"]["found"] is False


def test_not_supported_for_ipv6() -> None:
    result = h.lookup(PLUGIN, fake.handle, "ip", "2001:4860:4860::8888", ENV)  # type: ignore[arg-type]
    assert result["error"]["code"] == "not_supported"


def test_auth_failed() -> None:
    result = h.lookup(PLUGIN, fake.handle, "ip", "1.0.0.1", {"GREYNOISE_API_KEY": "wrong"})  # type: ignore[arg-type]
    assert (
        result["error"]["code"] == "auth_failed" and result["error"]["message"] == "HTTP 401: Invalid API key"
    )


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call(PLUGIN, h.answer(429, fake.RATE_LIMITED, {"Retry-After": "86400"}), "ip", "1.0.0.1", ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 86400
    assert "daily rate limit" in caught.value.message


def test_rate_limited_without_retry_after() -> None:
    # The 429 body shape is unconfirmed: any 429, with or without a body, is rate limited.
    for reply in (h.answer(429, fake.RATE_LIMITED), h.answer(429), h.answer(429, {"error": "x"})):
        with pytest.raises(PluginError) as caught:
            h.raw_call(PLUGIN, reply, "ip", "1.0.0.1", ENV)
        assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_server_error() -> None:
    assert (
        h.lookup(PLUGIN, h.answer(500, {"message": "oops"}), "ip", "1.0.0.1", ENV)["error"]["code"]
        == "unavailable"
    )


def test_transport_failure() -> None:
    assert h.lookup(PLUGIN, h.refuse, "ip", "1.0.0.1", ENV)["error"]["code"] == "unavailable"


def test_unexpected_body_is_provider_error() -> None:
    assert (
        h.lookup(PLUGIN, h.answer(200, {"ip": "1.0.0.1"}), "ip", "1.0.0.1", ENV)["error"]["code"]
        == "provider_error"
    )
    assert (
        h.lookup(PLUGIN, h.answer(400, {"message": "bad"}), "ip", "1.0.0.1", ENV)["error"]["code"]
        == "provider_error"
    )
