"""AlienVault OTX against providers.md's example bodies."""

from __future__ import annotations

import pytest

from plugins import otx
from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import otx as fake

PLUGIN = "otx"
ENV = fake.ENV


def test_ok_ip_with_four_pulses_is_malicious() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    result = h.lookup(PLUGIN, handler, "ip", fake.PULSED_IP, ENV)
    assert seen[0].method == "GET" and seen[0].url.path == "/indicators/IPv4/1.0.0.1/general"
    assert seen[0].headers["x-otx-api-key"] == fake.KEY and not seen[0].url.params
    assert result["status"] == "ok" and result["verdict"] == "malicious"
    assert result["link"] == "https://otx.alienvault.com/indicator/ip/1.0.0.1"
    summary = result["summary"]
    assert summary["found"] is True and summary["count"] == 4
    assert summary["pulses"] == [{k: fake.PULSE[k] for k in otx._PULSE_FIELDS}]
    assert summary["asn"] == "AS64501 Example Transit LLC" and summary["country_name"] == "Russian Federation"
    assert summary["reputation"] == 0 and summary["type"] == "IPv4" and summary["validation"] == []


def test_ok_whitelisted_domain_is_harmless() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    result = h.lookup(PLUGIN, handler, "domain", fake.WHITELISTED, ENV)
    assert seen[0].url.path == "/indicators/domain/whitelisted.example/general"
    assert result["verdict"] == "harmless" and result["summary"]["validation"] == ["Whitelisted domain"]
    assert result["link"] == "https://otx.alienvault.com/indicator/domain/whitelisted.example"
    assert result["summary"]["whois"] == "http://whois.domaintools.com/whitelisted.example"


def test_ok_subdomain_is_looked_up_as_hostname() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    result = h.lookup(PLUGIN, handler, "domain", "mail.evil.example", ENV)
    assert seen[0].url.path == "/indicators/hostname/mail.evil.example/general"
    assert result["link"] == "https://otx.alienvault.com/indicator/hostname/mail.evil.example"


def test_ok_url_is_percent_encoded_in_the_path_and_link() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    result = h.lookup(PLUGIN, handler, "url", fake.URL, ENV)
    encoded = "http%3A%2F%2Fmalicious.example%2Flogin.php"
    assert seen[0].url.raw_path == f"/indicators/url/{encoded}/general".encode()
    assert result["verdict"] == "suspicious" and result["summary"]["count"] == 2
    assert result["link"] == f"https://otx.alienvault.com/indicator/url/{encoded}"


def test_ok_url_with_query_string_keeps_it_inside_the_segment() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    h.lookup(PLUGIN, handler, "url", "http://a.example/p?q=1&r=2", ENV)
    assert seen[0].url.raw_path == b"/indicators/url/http%3A%2F%2Fa.example%2Fp%3Fq%3D1%26r%3D2/general"
    assert not seen[0].url.params


def test_ok_hash_uses_file_type_and_related_malware_families() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    result = h.lookup(PLUGIN, handler, "hash", fake.SHA256, ENV)
    assert seen[0].url.path == f"/indicators/file/{fake.SHA256}/general"
    assert result["verdict"] == "malicious" and result["summary"]["malware_families"] == ["AsyncRAT"]
    assert result["link"] == f"https://otx.alienvault.com/indicator/file/{fake.SHA256}"


def test_ok_ipv6_type() -> None:
    seen, handler = h.recorded(fake.handle, unanswered=500)
    h.lookup(PLUGIN, handler, "ip", "2001:4860:4860::8888", ENV)
    assert seen[0].url.path == "/indicators/IPv6/2001:4860:4860::8888/general"


@pytest.mark.parametrize(
    ("count", "validation", "verdict"),
    [
        (3, [], "malicious"),
        (2, [], "suspicious"),
        (1, [], "suspicious"),
        (0, [], "unknown"),
        (9, [{"name": "x"}], "harmless"),
    ],
)
def test_ok_verdict_rule(count, validation, verdict) -> None:
    body = {"pulse_info": {"count": count, "pulses": []}, "validation": validation}
    assert h.lookup(PLUGIN, h.answer(200, body), "ip", "1.0.0.1", ENV)["verdict"] == verdict


def test_ok_pulses_capped_at_ten() -> None:
    body = {"pulse_info": {"count": 40, "pulses": [fake.PULSE] * 40}, "validation": []}
    assert len(h.lookup(PLUGIN, h.answer(200, body), "ip", "1.0.0.1", ENV)["summary"]["pulses"]) == 10


def test_not_found_zero_pulses_is_ok_unknown() -> None:
    result = h.lookup(PLUGIN, fake.handle, "ip", "9.9.9.9", ENV)  # type: ignore[arg-type]
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["summary"]["found"] is False and result["summary"]["count"] == 0


def test_not_found_404_is_ok_unknown() -> None:
    result = h.lookup(PLUGIN, h.answer(404, {"detail": "Not found."}), "hash", fake.SHA256, ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown" and result["link"] is None
    assert result["summary"] == {"found": False, "count": 0, "message": "Not found."}


def test_not_found_400_invalid_indicator_is_ok_unknown() -> None:
    result = h.lookup(PLUGIN, h.answer(400, {"detail": "Invalid indicator"}), "url", fake.URL, ENV)
    assert result["status"] == "ok" and result["summary"]["found"] is False


def test_other_400_is_provider_error() -> None:
    result = h.lookup(PLUGIN, h.answer(400, {"detail": "Unsupported section"}), "ip", "1.0.0.1", ENV)
    assert result["error"] == {"code": "provider_error", "message": "HTTP 400: Unsupported section"}


def test_auth_failed() -> None:
    result = h.lookup(PLUGIN, fake.handle, "ip", "1.0.0.1", {"OTX_API_KEY": "wrong"})  # type: ignore[arg-type]
    assert result["error"] == {"code": "auth_failed", "message": "HTTP 403: Authentication required"}


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call(
            PLUGIN, h.answer(429, {"detail": "Throttled"}, {"Retry-After": "60"}), "ip", "1.0.0.1", ENV
        )
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 60


def test_rate_limited_without_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call(PLUGIN, h.answer(429, {"detail": "Throttled"}), "ip", "1.0.0.1", ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_server_error() -> None:
    assert h.lookup(PLUGIN, h.answer(504), "domain", "evil.example", ENV)["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    assert h.lookup(PLUGIN, h.refuse, "domain", "evil.example", ENV)["error"]["code"] == "unavailable"


def test_unexpected_body_is_provider_error() -> None:
    assert (
        h.lookup(PLUGIN, h.answer(200, {"odd": 1}), "ip", "1.0.0.1", ENV)["error"]["code"] == "provider_error"
    )
