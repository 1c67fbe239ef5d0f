"""URLhaus against providers.md's example bodies."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

import httpx
import pytest

from plugins import urlhaus
from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import urlhaus as fake

ENV = dict(fake.ENV)


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def test_ok_url_posts_form_with_auth_key_header() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("urlhaus", h.recording(fake.handle, seen), "url", fake.URL, ENV)
    request = seen[0]
    assert request.method == "POST" and request.url.path == "/url/"
    assert request.headers["auth-key"] == fake.KEY and form(request) == {"url": fake.URL}
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert result["status"] == "ok" and result["verdict"] == "malicious"
    assert result["link"] == "https://urlhaus.abuse.ch/url/3201187/"
    summary = result["summary"]
    assert summary["url_status"] == "online" and summary["threat"] == "malware_download"
    assert summary["tags"] == ["elf", "mirai"] and summary["spamhaus_dbl"] == "not listed"
    assert summary["payloads"] == [
        {"filename": "x86", "file_type": "elf", "response_sha256": fake.SHA256, "signature": "Mirai"}
    ]
    assert result["raw"]["id"] == "3201187"


def test_ok_host_for_ip_and_domain() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("urlhaus", h.recording(fake.handle, seen), "ip", "8.8.8.8", ENV)
    assert seen[0].url.path == "/host/" and form(seen[0]) == {"host": "8.8.8.8"}
    assert result["verdict"] == "malicious" and result["link"] == "https://urlhaus.abuse.ch/host/8.8.8.8/"
    assert result["summary"]["urls"][0]["url_status"] == "online"
    domain = h.lookup("urlhaus", h.recording(fake.handle, seen), "domain", "evil.example", ENV)
    assert form(seen[1]) == {"host": "evil.example"}
    assert domain["summary"]["url_count"] == "2" and domain["summary"]["surbl"] == "listed"
    assert domain["summary"]["urls"][0] == {
        "url": "https://evil.example/update.zip",
        "url_status": "offline",
        "threat": "malware_download",
        "tags": ["zip", "AsyncRAT"],
        "date_added": "2024-12-28 14:02:10 UTC",
    }


def test_ok_host_verdict_stale_offline_is_suspicious() -> None:
    now = dt.datetime(2025, 1, 3, tzinfo=dt.UTC)
    old = now - dt.timedelta(days=urlhaus.HOST_STALE_DAYS + 1)
    recent = now - dt.timedelta(days=urlhaus.HOST_STALE_DAYS - 1)

    def host(status: str, when: dt.datetime) -> dict:
        return {"urls": [{"url_status": status, "date_added": when.strftime("%Y-%m-%d %H:%M:%S UTC")}]}

    assert urlhaus.host_verdict(host("offline", old), now) == "suspicious"
    assert urlhaus.host_verdict(host("offline", recent), now) == "malicious"
    assert urlhaus.host_verdict(host("online", old), now) == "malicious"
    assert urlhaus.host_verdict({"urls": [{"url_status": "offline", "date_added": "?"}]}, now) == "malicious"


@pytest.mark.parametrize(("value", "field"), [(fake.SHA256, "sha256_hash"), (fake.MD5, "md5_hash")])
def test_ok_payload_by_md5_or_sha256(value: str, field: str) -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("urlhaus", h.recording(fake.handle, seen), "hash", value, ENV)
    assert seen[0].url.path == "/payload/" and form(seen[0]) == {field: value}
    assert result["verdict"] == "malicious"
    assert result["link"] == f"https://urlhaus.abuse.ch/browse.php?search={fake.SHA256}"
    assert result["summary"]["signature"] == "Mirai" and result["summary"]["file_size"] == "94208"
    assert result["summary"]["urls"] == [{"url": fake.URL, "url_status": "online", "filename": "x86"}]


def test_ok_sha1_is_not_supported() -> None:
    assert "sha1" not in urlhaus.SPEC.hash_kinds
    with pytest.raises(PluginError) as caught:
        h.raw_call("urlhaus", fake.handle, "hash", "b" * 40, ENV)
    assert caught.value.code == "not_supported"


def test_not_found_is_ok_unknown() -> None:
    result = h.lookup("urlhaus", fake.handle, "url", "http://clean.example/", ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["summary"] == {"found": False, "query_status": "no_results"} and result["link"] is None


def test_auth_failed_http_401_and_body_status() -> None:
    assert h.lookup("urlhaus", fake.handle, "url", fake.URL, {"ABUSECH_API_KEY": "wrong"})["error"][
        "code"
    ] == ("auth_failed")
    in_body = h.answer(200, {"query_status": "unknown_auth_key"})
    assert h.lookup("urlhaus", in_body, "url", fake.URL, ENV)["error"]["code"] == "auth_failed"
    assert h.lookup("urlhaus", h.answer(403), "url", fake.URL, ENV)["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("urlhaus", h.answer(429, None, {"Retry-After": "30"}), "url", fake.URL, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 30
    with pytest.raises(PluginError) as caught:
        h.raw_call("urlhaus", h.answer(503, None, {"Retry-After": "12"}), "url", fake.URL, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 12


def test_rate_limited_without_retry_after() -> None:
    for reply in (
        h.answer(429),
        h.answer(402, {"query_status": "ratelimited", "msg": "Your request has been rate-limited."}),
        h.answer(200, {"query_status": "ratelimited"}),
    ):
        with pytest.raises(PluginError) as caught:
            h.raw_call("urlhaus", reply, "url", fake.URL, ENV)
        assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_server_error() -> None:
    assert h.lookup("urlhaus", h.answer(500), "url", fake.URL, ENV)["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    result = h.lookup("urlhaus", h.refuse, "url", fake.URL, ENV)
    assert result["error"]["code"] == "unavailable" and fake.KEY not in result["error"]["message"]


def test_invalid_input_status_is_provider_error() -> None:
    result = h.lookup("urlhaus", h.answer(200, {"query_status": "invalid_url"}), "url", fake.URL, ENV)
    assert result["error"]["code"] == "provider_error" and "invalid_url" in result["error"]["message"]
    assert (
        h.lookup("urlhaus", h.answer(402, {"x": 1}), "url", fake.URL, ENV)["error"]["code"]
        == "provider_error"
    )
