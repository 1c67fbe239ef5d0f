"""Have I Been Pwned v3 against providers.md's example bodies."""

from __future__ import annotations

import pytest

from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import hibp as fake

ENV = fake.ENV
P = "hibp"


def test_ok_sends_key_user_agent_and_explicit_flags() -> None:
    seen, handler = h.recorded(fake.handle)
    result = h.lookup(P, handler, "email", fake.PWNED, ENV)
    request = seen[0]
    assert request.method == "GET" and request.url.raw_path.startswith(
        b"/breachedaccount/j.doe%40example.com?"
    )
    assert dict(request.url.params) == {"truncateResponse": "false", "includeUnverified": "true"}
    assert request.headers["hibp-api-key"] == fake.KEY and request.headers["user-agent"].startswith(
        "SOCBuddy"
    )
    assert result["status"] == "ok" and result["verdict"] == "unknown" and result["link"] is None
    summary = result["summary"]
    assert summary["breached"] is True and summary["breach_count"] == 1
    assert summary["latest_breach_date"] == "2021-05-02"
    assert summary["data_classes"] == ["Email addresses", "Passwords", "Usernames"]
    assert summary["breaches"] == [
        {
            "name": "ExampleForum",
            "title": "Example Forum",
            "domain": "forum.example",
            "breach_date": "2021-05-02",
            "added_date": "2021-07-10T12:00:00Z",
            "pwn_count": 1203344,
            "is_verified": True,
            "is_sensitive": False,
            "is_spam_list": False,
            "is_malware": False,
            "is_fabricated": False,
            "data_classes": ["Email addresses", "Passwords", "Usernames"],
            "link": "https://haveibeenpwned.com/PwnedWebsites#ExampleForum",
        }
    ]
    assert result["raw"] == {"data": [fake.BREACH]}  # API.md: raw is an object


def test_ok_many_breaches_newest_first_union_of_classes_capped() -> None:
    breaches = [
        {
            **fake.BREACH,
            "Name": f"B{i}",
            "BreachDate": f"20{10 + i}-01-01",
            "DataClasses": [f"c{i}", "Passwords"],
        }
        for i in range(12)
    ]
    summary = h.lookup(P, h.answer(200, breaches), "email", fake.PWNED, ENV)["summary"]
    assert summary["breach_count"] == 12 and summary["latest_breach_date"] == "2021-01-01"
    assert [b["name"] for b in summary["breaches"]] == [f"B{i}" for i in range(11, 1, -1)]
    assert summary["data_classes"][:3] == ["c11", "Passwords", "c10"] and len(summary["data_classes"]) == 10


def test_ok_truncated_answer_keeps_the_names() -> None:
    result = h.lookup(P, h.answer(200, [{"Name": "ExampleForum"}]), "email", fake.PWNED, ENV)
    assert (
        result["summary"]["breach_count"] == 1 and result["summary"]["breaches"][0]["name"] == "ExampleForum"
    )
    assert result["summary"]["latest_breach_date"] is None and result["verdict"] == "unknown"


def test_not_found_404_is_ok_not_breached() -> None:
    result = h.lookup(P, fake.handle, "email", "nobody@example.com", ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["summary"]["found"] is False and result["summary"]["breached"] is False
    assert result["summary"]["breach_count"] == 0


def test_auth_failed_invalid_key_401_and_missing_user_agent_403() -> None:
    result = h.lookup(P, fake.handle, "email", fake.PWNED, {"HIBP_API_KEY": "wrong"})
    assert result["error"] == {
        "code": "auth_failed",
        "message": "HTTP 401: Access denied due to invalid hibp-api-key.",
    }
    assert h.lookup(P, h.answer(403), "email", fake.PWNED, ENV)["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call(P, h.answer(429, fake.RATE_LIMITED, {"Retry-After": "5"}), "email", fake.PWNED, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 5
    assert caught.value.message == "HTTP 429: Rate limit is exceeded. Try again in 2 seconds."


def test_rate_limited_without_retry_after_reads_the_message() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call(P, h.answer(429, fake.RATE_LIMITED), "email", fake.PWNED, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 2
    with pytest.raises(PluginError) as bare:
        h.raw_call(P, h.answer(429), "email", fake.PWNED, ENV)
    assert bare.value.code == "rate_limited" and bare.value.retry_after_s is None


def test_server_error() -> None:
    assert h.lookup(P, h.answer(503), "email", fake.PWNED, ENV)["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    result = h.lookup(P, h.refuse, "email", fake.PWNED, ENV)
    assert result["error"]["code"] == "unavailable" and fake.KEY not in result["error"]["message"]


def test_bad_account_400_and_unexpected_body_are_provider_errors() -> None:
    assert h.lookup(P, h.answer(400), "email", fake.PWNED, ENV)["error"]["code"] == "provider_error"
    assert (
        h.lookup(P, h.answer(200, {"odd": 1}), "email", fake.PWNED, ENV)["error"]["code"] == "provider_error"
    )
