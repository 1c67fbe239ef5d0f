"""Pulsedive against providers.md's example bodies."""

from __future__ import annotations

import pytest

from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import pulsedive as fake

PLUGIN = "pulsedive"
ENV = fake.ENV


def test_ok_domain_high_risk_is_malicious() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    result = h.lookup(PLUGIN, handler, "domain", fake.DOMAIN, ENV)
    assert seen[0].method == "GET" and seen[0].url.path == "/info.php"
    assert dict(seen[0].url.params) == {"key": fake.KEY, "indicator": "evil.example"}
    assert result["status"] == "ok" and result["verdict"] == "malicious"
    assert result["link"] == "https://pulsedive.com/indicator/?iid=98765432"
    summary = result["summary"]
    assert summary["found"] is True and summary["iid"] == 98765432 and summary["risk"] == "high"
    assert summary["riskfactors"] == [
        {"description": "found in threat feeds", "risk": "high"},
        {"description": "newly registered domain", "risk": "low"},
    ]
    assert summary["threats"] == [{"name": "AsyncRAT", "category": "malware", "risk": "high"}]
    assert summary["feeds"] == [{"name": "Example Phishing Feed", "category": "phishing"}]
    assert summary["stamp_seen"] == "2025-01-01 09:00:00" and summary["retired"] is None


def test_ok_url_is_sent_whole_as_the_indicator() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    result = h.lookup(PLUGIN, handler, "url", fake.URL, ENV)
    assert seen[0].url.params["indicator"] == fake.URL
    assert result["verdict"] == "harmless" and result["link"] == "https://pulsedive.com/indicator/?iid=5678"


@pytest.mark.parametrize(
    ("risk", "verdict"),
    [
        ("critical", "malicious"),
        ("high", "malicious"),
        ("medium", "suspicious"),
        ("none", "harmless"),
        ("low", "unknown"),
        ("unknown", "unknown"),
        ("retired-ish", "unknown"),
    ],
)
def test_ok_verdict_rule(risk, verdict) -> None:
    body = {**fake.IP_INFO, "risk": risk}
    assert h.lookup(PLUGIN, h.answer(200, body), "ip", fake.IP, ENV)["verdict"] == verdict


def test_ok_lists_capped_at_ten() -> None:
    body = {**fake.DOMAIN_INFO, "riskfactors": [{"description": str(n), "risk": "low"} for n in range(25)]}
    assert (
        len(h.lookup(PLUGIN, h.answer(200, body), "domain", fake.DOMAIN, ENV)["summary"]["riskfactors"]) == 10
    )


def test_not_found_is_ok_unknown() -> None:
    result = h.lookup(PLUGIN, fake.handle, "domain", "quiet.example", ENV)  # type: ignore[arg-type]
    assert result["status"] == "ok" and result["verdict"] == "unknown" and result["link"] is None
    assert result["summary"] == {"found": False, "message": "Indicator not found."}


def test_not_found_in_a_200_body_is_ok_unknown() -> None:
    result = h.lookup(PLUGIN, h.answer(200, fake.NOT_FOUND), "domain", "quiet.example", ENV)
    assert result["status"] == "ok" and result["summary"]["found"] is False


def test_auth_failed() -> None:
    result = h.lookup(PLUGIN, fake.handle, "ip", fake.IP, {"PULSEDIVE_API_KEY": "wrong"})  # type: ignore[arg-type]
    assert result["error"] == {"code": "auth_failed", "message": "HTTP 403: Invalid API key."}
    assert h.lookup(PLUGIN, h.answer(200, fake.BAD_KEY), "ip", fake.IP, ENV)["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    reply = h.answer(429, {"error": "API rate limit exceeded."}, {"Retry-After": "60"})
    with pytest.raises(PluginError) as caught:
        h.raw_call(PLUGIN, reply, "ip", fake.IP, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 60
    assert caught.value.message == "HTTP 429: API rate limit exceeded."


def test_rate_limited_without_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call(PLUGIN, h.answer(429, {"error": "API rate limit exceeded."}), "ip", fake.IP, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None
    limit_in_body = h.answer(200, {"error": "You have exceeded your daily limit."})
    assert h.lookup(PLUGIN, limit_in_body, "ip", fake.IP, ENV)["error"]["code"] == "rate_limited"


def test_server_error() -> None:
    assert h.lookup(PLUGIN, h.answer(500), "ip", fake.IP, ENV)["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    result = h.lookup(PLUGIN, h.refuse, "ip", fake.IP, ENV)
    assert result["error"]["code"] == "unavailable" and fake.KEY not in result["error"]["message"]


def test_unexpected_body_is_provider_error() -> None:
    assert (
        h.lookup(PLUGIN, h.answer(200, {"iid": 1}), "ip", fake.IP, ENV)["error"]["code"] == "provider_error"
    )
    other = h.answer(200, {"error": "Something odd."})
    assert h.lookup(PLUGIN, other, "ip", fake.IP, ENV)["error"]["code"] == "provider_error"
