"""IPinfo (legacy and Lite) against providers.md's example bodies."""

from __future__ import annotations

import httpx
import pytest

from plugins import ipinfo
from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import ipinfo as fake

PLUGIN = "ipinfo"
ENV = fake.ENV


def test_ok_legacy_json_with_token_query() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    result = h.lookup(PLUGIN, handler, "ip", fake.KNOWN_IP, ENV)
    assert seen[0].method == "GET" and seen[0].url.path == "/8.8.8.8/json"
    assert dict(seen[0].url.params) == {"token": fake.KEY} and "authorization" not in seen[0].headers
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["link"] == "https://ipinfo.io/8.8.8.8"
    assert result["summary"] == {
        "found": True,
        **fake.LEGACY,
        "anycast": None,
        "bogon": None,
    }
    assert set(result["summary"]) == {"found", *ipinfo.LEGACY_FIELDS}


def test_ok_lite_when_the_url_names_the_lite_api() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    env = {**ENV, "IPINFO_URL": h.BASE + "/lite"}
    result = h.lookup(PLUGIN, handler, "ip", fake.KNOWN_IP, env)
    assert seen[0].url.path == "/lite/8.8.8.8" and seen[0].url.params["token"] == fake.KEY
    assert result["verdict"] == "unknown" and result["summary"] == {"found": True, **fake.LITE}
    assert result["link"] == "https://ipinfo.io/8.8.8.8"


def test_ok_lite_shape_on_the_legacy_path_is_read_as_lite() -> None:
    result = h.lookup(PLUGIN, h.answer(200, fake.LITE), "ip", fake.KNOWN_IP, ENV)
    assert result["summary"]["as_name"] == "Example Hosting Ltd" and "loc" not in result["summary"]


def test_ok_ipv6_is_percent_encoded() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    h.lookup(PLUGIN, handler, "ip", "2001:4860:4860::8888", ENV)
    assert seen[0].url.raw_path.startswith(b"/2001%3A4860%3A4860%3A%3A8888/json?")


def test_not_found_bogon_is_ok_unknown() -> None:
    result = h.lookup(PLUGIN, h.answer(200, {"ip": "10.1.2.3", "bogon": True}), "ip", "8.8.8.8", ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["summary"] == {"found": False, "ip": "10.1.2.3", "bogon": True}


def test_wrong_ip_error_object_is_provider_error() -> None:
    result = h.lookup(PLUGIN, h.answer(404, fake.WRONG_IP), "ip", "8.8.8.8", ENV)
    assert result["error"] == {
        "code": "provider_error",
        "message": "HTTP 404: Please provide a valid IP address",
    }


def test_auth_failed() -> None:
    result = h.lookup(PLUGIN, fake.handle, "ip", "8.8.8.8", {"IPINFO_API_KEY": "wrong"})  # type: ignore[arg-type]
    assert result["error"] == {"code": "auth_failed", "message": "HTTP 403: Please provide a valid token"}


def test_rate_limited_with_retry_after() -> None:
    reply = h.answer(
        429,
        {"status": 429, "error": {"title": "Rate limit exceeded", "message": "Upgrade"}},
        {"Retry-After": "5"},
    )
    with pytest.raises(PluginError) as caught:
        h.raw_call(PLUGIN, reply, "ip", "8.8.8.8", ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 5


def test_rate_limited_without_retry_after() -> None:
    # The 429 body is unconfirmed: a plain-text or empty 429 is rate limited too.
    for reply in (h.answer(429), lambda r: httpx.Response(429, text="Too Many Requests")):
        with pytest.raises(PluginError) as caught:
            h.raw_call(PLUGIN, reply, "ip", "8.8.8.8", ENV)
        assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_server_error() -> None:
    assert h.lookup(PLUGIN, h.answer(500), "ip", "8.8.8.8", ENV)["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    result = h.lookup(PLUGIN, h.refuse, "ip", "8.8.8.8", ENV)
    assert result["error"]["code"] == "unavailable" and fake.KEY not in result["error"]["message"]


def test_html_or_unexpected_body_is_provider_error() -> None:
    html = lambda r: httpx.Response(200, text="<html></html>")  # noqa: E731
    assert h.lookup(PLUGIN, html, "ip", "8.8.8.8", ENV)["error"]["code"] == "provider_error"
    assert (
        h.lookup(PLUGIN, h.answer(200, {"odd": 1}), "ip", "8.8.8.8", ENV)["error"]["code"] == "provider_error"
    )
