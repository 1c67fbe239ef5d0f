"""AbuseIPDB v2 against providers.md's example bodies."""

from __future__ import annotations

import pytest

from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes import providers as fp

ENV = {"ABUSEIPDB_API_KEY": fp.ABUSEIPDB_KEY}


def test_ok_sends_key_header_accept_and_query() -> None:
    seen, handler = h.recorded(h.answer(200, fp.ABUSEIPDB_OK))
    result = h.lookup("abuseipdb", handler, "ip", "1.0.0.1", ENV)
    assert seen[0].url.path == "/check"
    assert dict(seen[0].url.params) == {"ipAddress": "1.0.0.1", "maxAgeInDays": "90"}
    assert seen[0].headers["key"] == fp.ABUSEIPDB_KEY and seen[0].headers["accept"] == "application/json"
    assert result["verdict"] == "malicious" and result["link"] == "https://www.abuseipdb.com/check/1.0.0.1"
    assert result["summary"]["abuse_confidence_score"] == 87 and result["summary"]["total_reports"] == 152
    assert result["summary"]["is_tor"] is False and result["summary"]["usage_type"].startswith("Data Center")


@pytest.mark.parametrize(
    ("data", "verdict"),
    [
        ({"abuseConfidenceScore": 100, "isWhitelisted": True}, "harmless"),
        ({"abuseConfidenceScore": 75}, "malicious"),
        ({"abuseConfidenceScore": 25}, "suspicious"),
        ({"abuseConfidenceScore": 24, "totalReports": 3}, "unknown"),
    ],
)
def test_ok_verdict_rule(data, verdict) -> None:
    assert h.lookup("abuseipdb", h.answer(200, {"data": data}), "ip", "1.0.0.1")["verdict"] == verdict


def test_not_found_no_reports_is_ok_unknown() -> None:
    body = {"data": {"abuseConfidenceScore": 0, "totalReports": 0, "isWhitelisted": False}}
    result = h.lookup("abuseipdb", h.answer(200, body), "ip", "1.0.0.1")
    assert (
        result["status"] == "ok"
        and result["verdict"] == "unknown"
        and result["summary"]["total_reports"] == 0
    )


def test_auth_failed() -> None:
    body = {"errors": [{"detail": "Authentication failed.", "status": 401}]}
    assert h.lookup("abuseipdb", h.answer(401, body), "ip", "1.0.0.1")["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    reply = h.answer(429, fp.ABUSEIPDB_QUOTA, {"Retry-After": "3600"})
    with pytest.raises(PluginError) as caught:
        h.raw_call("abuseipdb", reply, "ip", "1.0.0.1")
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 3600
    assert caught.value.message.startswith("HTTP 429: Daily rate limit of 1000 requests")


def test_rate_limited_without_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("abuseipdb", h.answer(429, fp.ABUSEIPDB_QUOTA), "ip", "1.0.0.1")
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_server_error() -> None:
    assert h.lookup("abuseipdb", h.answer(500), "ip", "1.0.0.1")["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    assert h.lookup("abuseipdb", h.refuse, "ip", "1.0.0.1")["error"]["code"] == "unavailable"


def test_invalid_input_422_and_unexpected_body_are_provider_errors() -> None:
    bad = h.answer(422, {"errors": [{"detail": "The ip address must be valid.", "status": 422}]})
    assert h.lookup("abuseipdb", bad, "ip", "1.0.0.1")["error"]["code"] == "provider_error"
    assert (
        h.lookup("abuseipdb", h.answer(200, {"odd": 1}), "ip", "1.0.0.1")["error"]["code"] == "provider_error"
    )


@pytest.mark.parametrize("score", ["high", [87], True])
def test_a_score_that_is_not_a_number_is_a_provider_error(score) -> None:
    body = {"data": {"ipAddress": "1.0.0.1", "abuseConfidenceScore": score}}
    result = h.lookup("abuseipdb", h.answer(200, body), "ip", "1.0.0.1")
    assert (
        result["error"]["code"] == "provider_error" and "abuseConfidenceScore" in result["error"]["message"]
    )
