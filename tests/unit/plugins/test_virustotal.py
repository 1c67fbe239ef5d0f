"""VirusTotal v3 against providers.md's example bodies."""

from __future__ import annotations

import httpx
import pytest

from plugins import _virustotal
from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes import providers as fp


def vt_fake(request: httpx.Request) -> httpx.Response:
    fake = fp.FakeProviders()
    status, headers, body = fake.handle(
        request.method,
        "/vt" + request.url.path,
        dict(request.url.params),
        {},
        {k.lower(): v for k, v in request.headers.items()},
    )
    return httpx.Response(status, headers=headers, content=body)


ENV = {"VIRUSTOTAL_API_KEY": fp.VT_KEY}


def test_url_id_is_unpadded_urlsafe_base64() -> None:
    assert (
        _virustotal.url_id("http://malicious.example/login.php")
        == "aHR0cDovL21hbGljaW91cy5leGFtcGxlL2xvZ2luLnBocA"
    )


@pytest.mark.parametrize(
    ("value", "kind", "field", "expected", "link"),
    [
        (
            "8.8.4.4",
            "ip",
            "as_owner",
            "Example Hosting Ltd",
            "https://www.virustotal.com/gui/ip-address/8.8.4.4",
        ),
        (
            "evil.example",
            "domain",
            "registrar",
            "Example Registrar, Inc.",
            "https://www.virustotal.com/gui/domain/evil.example",
        ),
        (
            "http://malicious.example/login.php",
            "url",
            "title",
            "Sign in",
            "https://www.virustotal.com/gui/url/451ad28a650bbbea3f5a4bb3818902c33c29848b8eeb583269107da4fdac3e5c",
        ),
        (
            fp.KNOWN_SHA256,
            "hash",
            "suggested_threat_label",
            "trojan.agenttesla/msil",
            f"https://www.virustotal.com/gui/file/{fp.KNOWN_SHA256}",
        ),
    ],
)
def test_ok_each_type(value, kind, field, expected, link) -> None:
    result = h.lookup("virustotal", vt_fake, kind, value, ENV)
    assert result["status"] == "ok" and result["verdict"] == "malicious"
    assert result["summary"][field] == expected
    assert result["link"] == link
    assert result["raw"]["data"]["type"]


def test_ok_summary_flattens_counts_and_votes() -> None:
    summary = h.lookup("virustotal", vt_fake, "domain", "evil.example", ENV)["summary"]
    assert summary["malicious"] == 4 and summary["harmless"] == 60 and summary["votes_malicious"] == 2
    assert summary["last_dns_records"] == [{"type": "A", "value": "198.51.100.23"}]


@pytest.mark.parametrize(
    ("stats", "verdict"),
    [
        ({"malicious": 3}, "malicious"),
        ({"malicious": 2}, "suspicious"),
        ({"suspicious": 1, "harmless": 50}, "suspicious"),
        ({"harmless": 1}, "harmless"),
        ({"undetected": 5}, "harmless"),
        ({}, "unknown"),
    ],
)
def test_ok_verdict_rule(stats, verdict) -> None:
    body = {"data": {"id": "x", "attributes": {"last_analysis_stats": stats}}}
    assert h.lookup("virustotal", h.answer(200, body), "ip", "1.1.1.1")["verdict"] == verdict


def test_not_found_is_ok_unknown() -> None:
    result = h.lookup("virustotal", vt_fake, "hash", "a" * 64, ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown" and result["summary"]["found"] is False


def test_not_found_empty_object_for_an_ip_is_unknown() -> None:
    body = {"data": {"id": "1.1.1.1", "attributes": {"last_analysis_stats": {"malicious": 0, "harmless": 0}}}}
    result = h.lookup("virustotal", h.answer(200, body), "ip", "1.1.1.1")
    assert result["verdict"] == "unknown" and result["summary"]["found"] is False


def test_auth_failed_401_and_403() -> None:
    assert (
        h.lookup("virustotal", vt_fake, "ip", "1.1.1.1", {"VIRUSTOTAL_API_KEY": "wrong"})["error"]["code"]
        == "auth_failed"
    )
    forbidden = h.answer(403, {"error": {"code": "ForbiddenError", "message": "no"}})
    assert h.lookup("virustotal", forbidden, "ip", "1.1.1.1")["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    reply = h.answer(429, fp.VT_QUOTA, {"Retry-After": "7"})
    with pytest.raises(PluginError) as caught:
        h.raw_call("virustotal", reply, "ip", "1.1.1.1")
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 7
    result = h.lookup("virustotal", reply, "ip", "1.1.1.1")
    assert (
        result["error"]["code"] == "rate_limited" and result["error"]["message"] == "HTTP 429: Quota exceeded"
    )


def test_rate_limited_without_retry_after_backs_off_a_minute() -> None:
    reply = h.answer(429, fp.VT_QUOTA)
    assert h.lookup("virustotal", reply, "ip", "1.1.1.1")["error"]["code"] == "rate_limited"
    with pytest.raises(PluginError) as caught:
        h.raw_call("virustotal", reply, "ip", "1.1.1.1")
    assert caught.value.retry_after_s == _virustotal.QUOTA_BACKOFF_S


def test_server_error_is_unavailable() -> None:
    reply = h.answer(503, {"error": {"code": "TransientError", "message": "later"}})
    assert h.lookup("virustotal", reply, "ip", "1.1.1.1")["error"]["code"] == "unavailable"


def test_transport_failure_is_unavailable_without_the_url() -> None:
    result = h.lookup("virustotal", h.refuse, "ip", "1.1.1.1")
    assert result["error"]["code"] == "unavailable" and "http" not in result["error"]["message"]


def test_bad_request_and_garbage_are_provider_errors() -> None:
    bad = h.answer(400, {"error": {"code": "InvalidArgumentError", "message": "bad"}})
    assert h.lookup("virustotal", bad, "ip", "1.1.1.1")["error"]["code"] == "provider_error"
    garbage = lambda r: httpx.Response(200, content=b"<html>")  # noqa: E731
    assert h.lookup("virustotal", garbage, "ip", "1.1.1.1")["error"]["code"] == "provider_error"


def test_key_echoed_by_the_provider_is_redacted() -> None:
    body = {"error": {"code": "WrongCredentialsError", "message": "key s3cr3t-key is wrong"}}
    result = h.lookup(
        "virustotal", h.answer(401, body), "ip", "1.1.1.1", {"VIRUSTOTAL_API_KEY": "s3cr3t-key"}
    )
    assert "s3cr3t-key" not in result["error"]["message"] and "[redacted]" in result["error"]["message"]


@pytest.mark.parametrize(
    "attributes",
    [
        {"last_analysis_stats": [1]},
        {"last_analysis_stats": {"malicious": "n/a"}},
        {"last_analysis_stats": {"malicious": True}},
    ],
)
def test_odd_counts_are_provider_errors_not_internal_errors(attributes) -> None:
    body = {"data": {"id": "1.1.1.1", "type": "ip_address", "attributes": attributes}}
    result = h.lookup("virustotal", h.answer(200, body), "ip", "1.1.1.1")
    assert result["error"]["code"] == "provider_error" and "last_analysis_stats" in result["error"]["message"]


def test_odd_optional_fields_are_left_out() -> None:
    attributes = {
        "last_analysis_stats": {"malicious": 2},
        "total_votes": 7,
        "tags": 3,
        "last_dns_records": [1],
    }
    body = {"data": {"id": "evil.com", "type": "domain", "attributes": attributes}}
    result = h.lookup("virustotal", h.answer(200, body), "domain", "evil.com")
    assert result["status"] == "ok" and result["summary"]["malicious"] == 2
    assert result["summary"]["tags"] == [] and result["summary"]["last_dns_records"] == []


def test_an_undecodable_body_is_a_provider_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"not gzip at all", headers={"Content-Encoding": "gzip"})

    result = h.lookup("virustotal", handler, "ip", "1.1.1.1")
    assert result["error"]["code"] == "provider_error" and "decoded" in result["error"]["message"]


@pytest.mark.parametrize(
    ("value", "kind", "path"),
    [
        ("1.1.1.1", "ip", "/api/v3/ip_addresses/1.1.1.1"),
        ("2606:4700::1111", "ip", "/api/v3/ip_addresses/2606:4700::1111"),
        ("evil.com", "domain", "/api/v3/domains/evil.com"),
        # providers.md: the URL id is URL-safe base64 of the URL without "=" padding.
        ("http://evil.com/a?b=1", "url", "/api/v3/urls/aHR0cDovL2V2aWwuY29tL2E_Yj0x"),
        ("d41d8cd98f00b204e9800998ecf8427e", "hash", "/api/v3/files/d41d8cd98f00b204e9800998ecf8427e"),
        (
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "hash",
            "/api/v3/files/da39a3ee5e6b4b0d3255bfef95601890afd80709",
        ),
    ],
)
def test_each_type_asks_its_documented_path(value: str, kind: str, path: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return h.json_response(404, {"error": {"code": "NotFoundError", "message": "not found"}})

    result = h.lookup("virustotal", handler, kind, value, {"VIRUSTOTAL_URL": "http://provider.test/api/v3"})
    assert result["status"] == "ok" and result["summary"]["found"] is False
    assert [(r.method, r.url.path) for r in seen] == [("GET", path)]
    assert seen[0].headers["x-apikey"] and "apikey" not in str(seen[0].url)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant: str) -> None:
    body = '{"data": {"id": "1.1.1.1", "type": "ip_address", "attributes": {"last_analysis_stats": {"malicious": %s}}}}'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=(body % constant).encode(), headers={"Content-Type": "application/json"}
        )

    result = h.lookup("virustotal", handler, "ip", "1.1.1.1")
    assert result["error"]["code"] == "provider_error" and "not JSON" in result["error"]["message"]
