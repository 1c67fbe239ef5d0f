"""crt.sh certificate search against providers.md's example bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from plugins import crtsh
from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import crtsh as fake

ENTRY = fake.ENTRY
OLDER = {
    **ENTRY,
    "id": 11111,
    "issuer_name": "C=US, O=Example CA, CN=E1",
    "common_name": "mail.evil.example",
    "name_value": "mail.evil.example",
    "entry_timestamp": "2024-06-01T00:00:00",
    "not_before": "2024-06-01T00:00:00",
    "not_after": "2024-08-30T00:00:00",
}


def test_ok_sends_query_and_summarises_entries() -> None:
    seen, handler = h.recorded(h.answer(200, [ENTRY, OLDER]))
    result = h.lookup("crtsh", handler, "domain", "Evil.Example")
    assert seen[0].method == "GET" and seen[0].url.path == "/"
    assert dict(seen[0].url.params) == {"q": "evil.example", "output": "json"}
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["link"] == "https://crt.sh/?q=evil.example"
    summary = result["summary"]
    assert summary["found"] is True and summary["count"] == 2
    assert summary["names"] == ["evil.example", "www.evil.example", "mail.evil.example"]
    assert summary["issuer_name"] == ["C=US, O=Let's Encrypt, CN=R11", "C=US, O=Example CA, CN=E1"]
    assert summary["not_before"] == "2024-06-01T00:00:00" and summary["not_after"] == "2025-03-28T12:51:30"
    assert summary["entry_timestamp"] == "2024-12-28T13:50:02.117"
    assert summary["first_entry_timestamp"] == "2024-06-01T00:00:00"
    first = summary["certificates"][0]
    assert first["id"] == 15839920011 and first["link"] == "https://crt.sh/?id=15839920011"
    assert first["serial_number"] == ENTRY["serial_number"] and first["issuer_ca_id"] == 295815
    assert result["raw"] == {"data": [ENTRY, OLDER]}  # API.md: raw is an object


def test_ok_newly_observed_name_is_suspicious() -> None:
    recent = (datetime.now(UTC) - timedelta(days=crtsh.NEWLY_OBSERVED_DAYS - 2)).strftime("%Y-%m-%dT%H:%M:%S")
    fresh = {**ENTRY, "entry_timestamp": recent}
    result = h.lookup("crtsh", h.answer(200, [fresh]), "domain", "evil.example")
    assert result["verdict"] == "suspicious"
    stale = (datetime.now(UTC) - timedelta(days=crtsh.NEWLY_OBSERVED_DAYS + 2)).strftime("%Y-%m-%dT%H:%M:%S")
    assert (
        h.lookup("crtsh", h.answer(200, [{**ENTRY, "entry_timestamp": stale}]), "domain", "evil.example")[
            "verdict"
        ]
        == "unknown"
    )


def test_ok_lists_are_capped() -> None:
    many = [
        {**ENTRY, "id": i, "name_value": f"h{i}.evil.example", "issuer_name": f"CA {i}"} for i in range(15)
    ]
    summary = h.lookup("crtsh", h.answer(200, many), "domain", "evil.example")["summary"]
    assert summary["count"] == 15 and summary["name_count"] == 16
    assert len(summary["names"]) == 10 and len(summary["issuer_name"]) == 10
    assert len(summary["certificates"]) == 10


def test_not_found_empty_list_is_ok_unknown() -> None:
    result = h.lookup("crtsh", h.answer(200, []), "domain", "nothing.example")
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["summary"] == {"found": False, "count": 0}
    assert result["link"] == "https://crt.sh/?q=nothing.example"


@pytest.mark.parametrize("body", [b"", b"<html><body>crt.sh is overloaded</body></html>"])
def test_not_found_empty_or_html_body_is_provider_error(body: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "text/html"})

    assert h.lookup("crtsh", handler, "domain", "evil.example")["error"]["code"] == "provider_error"


def test_auth_failed() -> None:
    assert h.lookup("crtsh", h.answer(403), "domain", "evil.example")["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("crtsh", h.answer(429, None, {"Retry-After": "120"}), "domain", "evil.example")
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 120


def test_rate_limited_without_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("crtsh", h.answer(429), "domain", "evil.example")
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error(status: int) -> None:
    assert h.lookup("crtsh", h.answer(status), "domain", "evil.example")["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    assert h.lookup("crtsh", h.refuse, "domain", "evil.example")["error"]["code"] == "unavailable"


def test_transport_failure_timeout_is_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    assert h.lookup("crtsh", handler, "domain", "evil.example")["error"]["code"] == "timeout"
