"""Shodan InternetDB against providers.md's example bodies."""

from __future__ import annotations

import pytest

from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import shodan_internetdb as fake

PLUGIN = "shodan_internetdb"


def test_ok_keyless_get_of_the_ip() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    result = h.lookup(PLUGIN, handler, "ip", fake.KNOWN_IP)
    assert seen[0].method == "GET" and seen[0].url.path == "/8.8.8.8" and not seen[0].url.params
    assert "key" not in seen[0].headers and seen[0].headers["user-agent"].startswith("SOCBuddy/")
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["link"] == "https://www.shodan.io/host/8.8.8.8"
    assert result["summary"] == {
        "found": True,
        "ports": [22, 80, 443],
        "hostnames": ["mail.evil.example"],
        "cpes": ["cpe:/a:openbsd:openssh:8.9p1", "cpe:/a:nginx:nginx"],
        "tags": ["cloud"],
        "vulns": ["CVE-2023-38408"],
    }


@pytest.mark.parametrize(
    ("tags", "verdict"), [([], "unknown"), (["c2"], "suspicious"), (["malware"], "suspicious")]
)
def test_ok_tag_heuristic(tags, verdict) -> None:
    assert h.lookup(PLUGIN, h.answer(200, {**fake.HOST, "tags": tags}), "ip", "8.8.8.8")["verdict"] == verdict


def test_ok_lists_capped_at_ten() -> None:
    body = {**fake.HOST, "vulns": [f"CVE-2024-{n:04d}" for n in range(30)]}
    assert len(h.lookup(PLUGIN, h.answer(200, body), "ip", "8.8.8.8")["summary"]["vulns"]) == 10


def test_not_found_is_ok_unknown() -> None:
    result = h.lookup(PLUGIN, fake.handle, "ip", "1.0.0.1")  # type: ignore[arg-type]
    assert result["status"] == "ok" and result["verdict"] == "unknown" and result["link"] is None
    assert result["summary"] == {"found": False, "message": "No information available"}


def test_auth_failed() -> None:
    assert (
        h.lookup(PLUGIN, h.answer(403, {"detail": "Forbidden"}), "ip", "8.8.8.8")["error"]["code"]
        == "auth_failed"
    )


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call(PLUGIN, h.answer(429, {"detail": "Too many"}, {"Retry-After": "30"}), "ip", "8.8.8.8")
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 30


def test_rate_limited_without_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call(PLUGIN, h.answer(429), "ip", "8.8.8.8")
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_server_error() -> None:
    assert h.lookup(PLUGIN, h.answer(502), "ip", "8.8.8.8")["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    assert h.lookup(PLUGIN, h.refuse, "ip", "8.8.8.8")["error"]["code"] == "unavailable"


def test_unexpected_body_is_provider_error() -> None:
    assert h.lookup(PLUGIN, h.answer(200, {"odd": 1}), "ip", "8.8.8.8")["error"]["code"] == "provider_error"
    assert (
        h.lookup(PLUGIN, h.answer(422, {"detail": "bad ip"}), "ip", "8.8.8.8")["error"]["code"]
        == "provider_error"
    )
