"""EmailRep.io against providers.md's example bodies."""

from __future__ import annotations

import pytest

from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import emailrep as fake

ENV = fake.ENV
P = "emailrep"
EMAIL = "j.doe@evil.example"


def test_ok_sends_key_and_user_agent_and_summarises_the_example() -> None:
    seen, handler = h.recorded(fake.handle)
    result = h.lookup(P, handler, "email", EMAIL, ENV)
    request = seen[0]
    assert request.method == "GET" and request.url.raw_path == b"/j.doe%40evil.example"
    assert request.headers["key"] == fake.KEY and request.headers["user-agent"].startswith("SOCBuddy")
    assert result["status"] == "ok" and result["verdict"] == "malicious"
    assert result["link"] == "https://emailrep.io/j.doe@evil.example"
    summary = result["summary"]
    assert summary["found"] is True and summary["reputation"] == "low" and summary["references"] == 2
    assert summary["suspicious"] is True and summary["malicious_activity"] is True
    assert summary["days_since_domain_creation"] == 5 and summary["first_seen"] == "12/28/2024"
    assert summary["profiles"] == [] and "primary_mx" not in summary
    assert result["raw"] == fake.REPORT


@pytest.mark.parametrize(
    ("top", "details", "verdict"),
    [
        ({"reputation": "high"}, {"blacklisted": True}, "malicious"),
        ({"reputation": "low"}, {"malicious_activity": True}, "malicious"),
        ({"reputation": "low", "suspicious": True}, {}, "suspicious"),
        ({"reputation": "high", "suspicious": True}, {}, "suspicious"),
        ({"reputation": "high", "suspicious": False}, {}, "harmless"),
        ({"reputation": "medium", "suspicious": False}, {}, "unknown"),
    ],
)
def test_ok_verdict_rule(top: dict, details: dict, verdict: str) -> None:
    body = {"email": EMAIL, "references": 3, **top, "details": details}
    assert h.lookup(P, h.answer(200, body), "email", EMAIL, ENV)["verdict"] == verdict


def test_ok_profiles_capped_at_ten() -> None:
    body = {"reputation": "high", "references": 40, "details": {"profiles": [f"p{i}" for i in range(12)]}}
    summary = h.lookup(P, h.answer(200, body), "email", EMAIL, ENV)["summary"]
    assert summary["profiles"] == [f"p{i}" for i in range(10)]


def test_not_found_low_information_report_is_ok_unknown() -> None:
    result = h.lookup(P, fake.handle, "email", "nobody@clean.example", ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["summary"]["found"] is False and result["summary"]["reputation"] == "none"


def test_auth_failed_invalid_key_401() -> None:
    result = h.lookup(P, fake.handle, "email", EMAIL, {"EMAILREP_API_KEY": "wrong"})
    assert result["error"] == {"code": "auth_failed", "message": "HTTP 401: invalid api key"}


def test_auth_failed_keyless_disabled_429_is_not_a_rate_limit() -> None:
    result = h.lookup(P, h.answer(429, fake.KEYLESS_DISABLED), "email", EMAIL, ENV)
    assert result["error"]["code"] == "auth_failed" and "unauthenticated" in result["error"]["message"]


def test_auth_failed_in_a_400_or_200_body() -> None:
    for status in (400, 200):
        result = h.lookup(P, h.answer(status, fake.INVALID_KEY), "email", EMAIL, ENV)
        assert result["error"]["code"] == "auth_failed", status


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call(P, h.answer(429, fake.DAILY_LIMIT, {"Retry-After": "3600"}), "email", EMAIL, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 3600
    assert caught.value.message.startswith("HTTP 429: exceeded daily limit")


def test_rate_limited_without_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call(P, h.answer(429, fake.DAILY_LIMIT), "email", EMAIL, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_rate_limited_body_in_another_status() -> None:
    for status in (400, 200):
        result = h.lookup(P, h.answer(status, fake.DAILY_LIMIT), "email", EMAIL, ENV)
        assert result["error"]["code"] == "rate_limited", status


def test_invalid_email_400_is_provider_error() -> None:
    result = h.lookup(P, h.answer(400, fake.INVALID_EMAIL), "email", EMAIL, ENV)
    assert result["error"] == {"code": "provider_error", "message": "HTTP 400: invalid email"}
    assert h.lookup(P, h.answer(200, {"odd": 1}), "email", EMAIL, ENV)["error"]["code"] == "provider_error"


def test_server_error() -> None:
    assert h.lookup(P, h.answer(500), "email", EMAIL, ENV)["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    result = h.lookup(P, h.refuse, "email", EMAIL, ENV)
    assert result["error"]["code"] == "unavailable" and EMAIL not in result["error"]["message"]
