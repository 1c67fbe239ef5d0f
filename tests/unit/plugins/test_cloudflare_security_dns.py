"""Cloudflare's malware-blocking resolver against providers.md's example bodies."""

from __future__ import annotations

import pytest

from plugins.spec import PluginError
from tests import plugin_harness as h

BLOCKED = {
    "Status": 0,
    "TC": False,
    "RD": True,
    "RA": True,
    "AD": False,
    "CD": False,
    "Question": [{"name": "malicious.example", "type": 1}],
    "Answer": [{"name": "malicious.example", "type": 1, "TTL": 60, "data": "0.0.0.0"}],
}
CLEAN = {**BLOCKED, "Answer": [{"name": "malicious.example", "type": 1, "TTL": 60, "data": "198.51.100.23"}]}
NXDOMAIN = {**BLOCKED, "Status": 3}
del NXDOMAIN["Answer"]


def test_ok_blocked_name_is_malicious() -> None:
    seen, handler = h.recorded(h.answer(200, BLOCKED))
    result = h.lookup("cloudflare_security_dns", handler, "domain", "malicious.example")
    assert len(seen) == 1 and seen[0].method == "GET" and str(seen[0].url).startswith(h.BASE + "?")
    assert dict(seen[0].url.params) == {"name": "malicious.example", "type": "A"}
    assert seen[0].headers["accept"] == "application/dns-json"
    assert result["status"] == "ok" and result["verdict"] == "malicious" and result["link"] is None
    assert result["summary"] == {"found": True, "blocked": True, "status": 0, "data": ["0.0.0.0"]}
    assert result["raw"] == BLOCKED


def test_ok_resolving_name_is_unknown_never_harmless() -> None:
    result = h.lookup("cloudflare_security_dns", h.answer(200, CLEAN), "domain", "malicious.example")
    assert result["verdict"] == "unknown" and result["summary"]["blocked"] is False
    assert result["summary"]["data"] == ["198.51.100.23"]


def test_ok_first_a_record_decides_after_a_cname() -> None:
    chain = [
        {"name": "www.malicious.example", "type": 5, "TTL": 60, "data": "malicious.example."},
        {"name": "malicious.example", "type": 1, "TTL": 60, "data": "0.0.0.0"},
    ]
    seen, handler = h.recorded(h.answer(200, {**BLOCKED, "Answer": chain}))
    result = h.lookup("cloudflare_security_dns", handler, "url", "https://www.malicious.example/a?b=c")
    assert seen[0].url.params["name"] == "www.malicious.example"
    assert result["verdict"] == "malicious"
    assert result["summary"]["data"] == ["malicious.example.", "0.0.0.0"]


def test_ok_url_with_ip_host_is_not_supported() -> None:
    result = h.lookup("cloudflare_security_dns", h.answer(200, BLOCKED), "url", "http://1.0.0.1/x")
    assert result["status"] == "error" and result["error"]["code"] == "not_supported"


def test_not_found_nxdomain_is_ok_unknown() -> None:
    result = h.lookup("cloudflare_security_dns", h.answer(200, NXDOMAIN), "domain", "gone.example")
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["summary"] == {"found": False, "blocked": False, "status": 3, "data": []}


@pytest.mark.parametrize(("status", "body"), [(400, {"error": "Invalid name"}), (415, None), (200, [])])
def test_not_found_bad_query_is_provider_error(status: int, body: object) -> None:
    result = h.lookup("cloudflare_security_dns", h.answer(status, body), "domain", "evil.example")
    assert result["error"]["code"] == "provider_error"


def test_auth_failed() -> None:
    result = h.lookup("cloudflare_security_dns", h.answer(401), "domain", "evil.example")
    assert result["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call(
            "cloudflare_security_dns", h.answer(429, None, {"Retry-After": "30"}), "domain", "a.example"
        )
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 30


def test_rate_limited_without_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("cloudflare_security_dns", h.answer(429), "domain", "a.example")
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_server_error() -> None:
    result = h.lookup("cloudflare_security_dns", h.answer(500), "domain", "evil.example")
    assert result["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    result = h.lookup("cloudflare_security_dns", h.refuse, "domain", "evil.example")
    assert result["error"]["code"] == "unavailable"


@pytest.mark.parametrize(
    ("comment", "filtered"),
    [
        (["EDE(17): Filtered"], True),
        ("EDE(16): Censored", True),
        (["EDE(22): No Reachable Authority"], False),
    ],
)
def test_ok_nxdomain_is_unknown_even_with_a_blocking_extended_dns_error(
    comment: object, filtered: bool
) -> None:
    # providers.md: a 0.0.0.0 answer is a block; NXDOMAIN is unknown. A policy EDE is reported.
    body = {**NXDOMAIN, "Comment": comment}
    result = h.lookup("cloudflare_security_dns", h.answer(200, body), "domain", "malicious.example")
    assert result["verdict"] == "unknown" and result["summary"]["blocked"] is False
    assert result["summary"].get("policy_filtered", False) is filtered
    assert result["summary"]["comment"] == (comment if isinstance(comment, list) else [comment])
