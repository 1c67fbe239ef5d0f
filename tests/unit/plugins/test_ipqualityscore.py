"""IPQualityScore against providers.md's example bodies."""

from __future__ import annotations

import httpx
import pytest

from plugins import ipqualityscore
from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import ipqualityscore as fake

ENV = dict(fake.ENV)


def test_ok_email_key_in_path() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("ipqualityscore", h.recording(fake.handle, seen), "email", fake.EMAIL, ENV)
    request = seen[0]
    assert request.method == "GET"
    assert request.url.raw_path.decode().split("?")[0] == f"/email/{fake.KEY}/j.doe%40evil.example"
    assert dict(request.url.params) == {"timeout": "7", "fast": "true", "abuse_strictness": "0"}
    assert result["status"] == "ok" and result["verdict"] == "malicious" and result["link"] is None
    summary = result["summary"]
    assert (
        summary["fraud_score"] == 92
        and summary["recent_abuse"] is True
        and summary["deliverability"] == "medium"
    )
    assert summary["domain_age"] == "5 days ago" and summary["first_seen"] == "4 days ago"
    assert summary["success"] is True and summary["request_id"] == "8a1Bc2De3F"


def test_ok_url_is_encoded_as_one_segment() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("ipqualityscore", h.recording(fake.handle, seen), "url", fake.URL, ENV)
    assert seen[0].url.raw_path.decode().split("?")[0] == (
        f"/url/{fake.KEY}/http%3A%2F%2Fmalicious.example%2Flogin.php"
    )
    assert dict(seen[0].url.params) == {"strictness": "0", "fast": "false"}
    assert result["verdict"] == "malicious"
    summary = result["summary"]
    assert summary["risk_score"] == 100 and summary["phishing"] is True and summary["category"] == "Phishing"
    assert summary["domain_age"] == "5 days ago" and "fraud_score" not in summary


def test_ok_domain_scanned_as_url_and_ip() -> None:
    seen: list[httpx.Request] = []
    domain = h.lookup("ipqualityscore", h.recording(fake.handle, seen), "domain", "shop.example", ENV)
    assert seen[0].url.path == f"/url/{fake.KEY}/shop.example" and domain["verdict"] == "harmless"
    ip = h.lookup("ipqualityscore", h.recording(fake.handle, seen), "ip", "1.0.0.1", ENV)
    assert seen[1].url.path == f"/ip/{fake.KEY}/1.0.0.1"
    assert dict(seen[1].url.params) == {"strictness": "0", "allow_public_access_points": "true"}
    assert (
        ip["verdict"] == "suspicious"
        and ip["summary"]["isp"] == "Example Hosting"
        and ip["summary"]["vpn"] is True
    )


def test_ok_header_auth_option() -> None:
    seen, handler = h.recorded(h.answer(200, fake.EMAIL_OK))
    env = {**ENV, "IPQUALITYSCORE_AUTH": "header"}
    result = h.lookup("ipqualityscore", handler, "email", fake.EMAIL, env)
    assert seen[0].url.path == "/email" and seen[0].url.params["email"] == fake.EMAIL
    assert seen[0].headers["ipqs-key"] == fake.KEY and fake.KEY not in str(seen[0].url)
    assert result["verdict"] == "malicious"


@pytest.mark.parametrize(
    ("endpoint", "data", "verdict"),
    [
        ("url", {"risk_score": 90}, "malicious"),
        ("url", {"malware": True}, "malicious"),
        ("url", {"risk_score": 75}, "suspicious"),
        ("url", {"suspicious": True, "risk_score": 10}, "suspicious"),
        ("url", {"risk_score": 74}, "harmless"),
        ("email", {"fraud_score": 90, "valid": True}, "malicious"),
        ("email", {"honeypot": True, "valid": True}, "malicious"),
        ("email", {"fraud_score": 75, "valid": True}, "suspicious"),
        ("email", {"disposable": True, "valid": True}, "suspicious"),
        ("email", {"fraud_score": 10, "valid": False}, "unknown"),
        ("email", {"fraud_score": 10, "valid": True}, "harmless"),
        ("ip", {"fraud_score": 89, "recent_abuse": True}, "malicious"),
        ("ip", {"fraud_score": 74}, "harmless"),
    ],
)
def test_ok_verdict_rule(endpoint: str, data: dict, verdict: str) -> None:
    assert (ipqualityscore.MALICIOUS_SCORE, ipqualityscore.SUSPICIOUS_SCORE) == (90, 75)
    assert ipqualityscore.verdict(endpoint, data) == verdict


def test_not_found_invalid_email_is_ok_unknown() -> None:
    body = {**fake.EMAIL_OK, "valid": False, "recent_abuse": False, "fraud_score": 0}
    result = h.lookup("ipqualityscore", h.answer(200, body), "email", "nobody@evil.example", ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown" and result["summary"]["valid"] is False


def test_auth_failed_in_200_body_and_http_401() -> None:
    result = h.lookup("ipqualityscore", fake.handle, "ip", "1.0.0.1", {"IPQUALITYSCORE_API_KEY": "wrong"})
    assert result["error"]["code"] == "auth_failed"
    assert h.lookup("ipqualityscore", h.answer(401), "ip", "1.0.0.1", ENV)["error"]["code"] == "auth_failed"


def test_auth_failed_message_never_holds_the_key() -> None:
    body = {"success": False, "message": f"Invalid key: {fake.KEY}"}
    result = h.lookup("ipqualityscore", h.answer(200, body), "ip", "1.0.0.1", ENV)
    assert result["error"]["code"] == "auth_failed" and fake.KEY not in result["error"]["message"]
    assert "[redacted]" in result["error"]["message"]


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("ipqualityscore", h.answer(429, None, {"Retry-After": "60"}), "ip", "1.0.0.1", ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 60


def test_rate_limited_without_retry_after() -> None:
    for reply in (h.answer(429), h.answer(200, fake.NO_CREDITS)):
        with pytest.raises(PluginError) as caught:
            h.raw_call("ipqualityscore", reply, "ip", "1.0.0.1", ENV)
        assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None
    result = h.lookup("ipqualityscore", h.answer(200, fake.NO_CREDITS), "ip", "1.0.0.1", ENV)
    assert result["error"]["message"].startswith("HTTP 200: You have insufficient credits")


def test_server_error() -> None:
    assert h.lookup("ipqualityscore", h.answer(500), "ip", "1.0.0.1", ENV)["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    result = h.lookup("ipqualityscore", h.refuse, "ip", "1.0.0.1", ENV)
    assert result["error"]["code"] == "unavailable" and fake.KEY not in result["error"]["message"]


def test_other_failure_is_provider_error() -> None:
    body = {"success": False, "message": "Invalid IPv4 address, IPv6 address or hostname."}
    assert (
        h.lookup("ipqualityscore", h.answer(200, body), "ip", "1.0.0.1", ENV)["error"]["code"]
        == "provider_error"
    )
