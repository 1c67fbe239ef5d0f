"""Google Safe Browsing v4 against providers.md's example bodies."""

from __future__ import annotations

import json

import httpx
import pytest

from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import google_safe_browsing as fake

ENV = fake.ENV
P = "google_safe_browsing"
URL = "http://malicious.example/login.php"


def test_ok_url_posts_lookup_body_with_key_in_query() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup(P, h.recording(fake.handle, seen), "url", URL, ENV)
    request = seen[0]
    assert request.method == "POST" and request.url.path == "/threatMatches:find"
    assert dict(request.url.params) == {"key": fake.KEY} and "key" not in {k.lower() for k in request.headers}
    body = json.loads(request.content)
    assert body["client"]["clientId"] == "socbuddy"
    assert body["threatInfo"] == {
        "threatTypes": [
            "MALWARE",
            "SOCIAL_ENGINEERING",
            "UNWANTED_SOFTWARE",
            "POTENTIALLY_HARMFUL_APPLICATION",
        ],
        "platformTypes": ["ANY_PLATFORM"],
        "threatEntryTypes": ["URL"],
        "threatEntries": [{"url": URL}],
    }
    assert result["status"] == "ok" and result["verdict"] == "malicious"
    assert result["summary"] == {
        "found": True,
        "checked_url": URL,
        "match_count": 1,
        "threat_types": ["SOCIAL_ENGINEERING"],
        "matches": [
            {
                "threat_type": "SOCIAL_ENGINEERING",
                "platform_type": "ANY_PLATFORM",
                "url": URL,
                "cache_duration": "300s",
            }
        ],
    }
    assert result["link"] == (
        "https://transparencyreport.google.com/safe-browsing/search?url=http%3A%2F%2Fmalicious.example%2Flogin.php"
    )
    assert result["raw"]["matches"][0]["threatEntryType"] == "URL"


def test_ok_domain_is_sent_as_its_root_url() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup(P, h.recording(fake.handle, seen), "domain", "evil.example", ENV)
    entries = json.loads(seen[0].content)["threatInfo"]["threatEntries"]
    assert entries == [{"url": "http://evil.example/"}]
    assert result["verdict"] == "malicious" and result["summary"]["checked_url"] == "http://evil.example/"
    assert result["link"].endswith("?url=evil.example")


@pytest.mark.parametrize("threat_type", ["MALWARE", "UNWANTED_SOFTWARE", "POTENTIALLY_HARMFUL_APPLICATION"])
def test_ok_any_threat_type_is_malicious(threat_type: str) -> None:
    body = {"matches": [{**fake.match(URL), "threatType": threat_type}]}
    result = h.lookup(P, h.answer(200, body), "url", URL, ENV)
    assert result["verdict"] == "malicious" and result["summary"]["threat_types"] == [threat_type]


def test_not_found_empty_object_is_ok_unknown() -> None:
    result = h.lookup(P, fake.handle, "url", "http://clean.example/", ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["summary"]["found"] is False and result["summary"]["matches"] == []
    assert result["raw"] == {}


def test_auth_failed_bad_key_400_and_permission_denied_403() -> None:
    result = h.lookup(P, fake.handle, "url", URL, {"GOOGLE_SAFE_BROWSING_API_KEY": "wrong-key"})
    assert result["error"]["code"] == "auth_failed"
    assert (
        result["error"]["message"]
        == "HTTP 400: INVALID_ARGUMENT: API key not valid. Please pass a valid API key."
    )
    denied = {
        "error": {
            "code": 403,
            "message": "Safe Browsing API has not been used",
            "status": "PERMISSION_DENIED",
        }
    }
    assert h.lookup(P, h.answer(403, denied), "url", URL, ENV)["error"]["code"] == "auth_failed"


def test_other_bad_request_is_provider_error() -> None:
    bad = {"error": {"code": 400, "message": "Invalid JSON payload received.", "status": "INVALID_ARGUMENT"}}
    assert h.lookup(P, h.answer(400, bad), "url", URL, ENV)["error"]["code"] == "provider_error"
    assert h.lookup(P, h.answer(200, {"matches": "x"}), "url", URL, ENV)["error"]["code"] == "provider_error"


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call(P, h.answer(429, fake.QUOTA, {"Retry-After": "30"}), "url", URL, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 30
    assert caught.value.message.startswith("HTTP 429: Quota exceeded")


def test_rate_limited_without_retry_after_reads_retry_info() -> None:
    with pytest.raises(PluginError) as bare:
        h.raw_call(P, h.answer(429, fake.QUOTA), "url", URL, ENV)
    assert bare.value.code == "rate_limited" and bare.value.retry_after_s is None
    info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}
    body = {"error": {**fake.QUOTA["error"], "details": [info]}}
    with pytest.raises(PluginError) as caught:
        h.raw_call(P, h.answer(429, body), "url", URL, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 12


def test_server_error() -> None:
    body = {
        "error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}
    }
    assert h.lookup(P, h.answer(503, body), "url", URL, ENV)["error"]["code"] == "unavailable"


def test_transport_failure_never_shows_the_key() -> None:
    result = h.lookup(P, h.refuse, "url", URL, ENV)
    assert result["error"]["code"] == "unavailable" and fake.KEY not in result["error"]["message"]


def test_key_echoed_in_an_error_is_redacted() -> None:
    body = {"error": {"code": 400, "message": f"API key {fake.KEY} not valid", "status": "INVALID_ARGUMENT"}}
    result = h.lookup(P, h.answer(400, body), "url", URL, ENV)
    assert result["error"]["code"] == "auth_failed" and fake.KEY not in result["error"]["message"]
