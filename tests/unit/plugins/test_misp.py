"""MISP restSearch against providers.md's example bodies."""

from __future__ import annotations

import json

import httpx
import pytest

from plugins import misp, registry
from plugins.spec import PluginError
from shared.config import Settings
from tests import plugin_harness as h
from tests.fakes.catalog import misp as fake

ENV = dict(fake.ENV)


def test_ok_ip_sends_raw_key_and_matches_composite_ip_port() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("misp", h.recording(fake.handle, seen), "ip", "1.0.0.1", ENV)
    request = seen[0]
    assert request.method == "POST" and request.url.path == "/attributes/restSearch"
    assert request.headers["authorization"] == fake.KEY
    assert (
        request.headers["accept"] == "application/json"
        and request.headers["content-type"] == "application/json"
    )
    body = json.loads(request.content)
    assert body["value"] == ["1.0.0.1", "1.0.0.1|%", "%|1.0.0.1"]
    assert body["type"] == ["ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain|ip"]
    assert (
        body["returnFormat"] == "json" and body["limit"] == misp.LIMIT and body["enforceWarninglist"] is True
    )
    assert result["status"] == "ok" and result["verdict"] == "malicious"
    assert result["link"] == f"{h.BASE}/events/view/1532"
    summary = result["summary"]
    assert summary["count"] == 1 and summary["to_ids_count"] == 1
    assert summary["events"] == [{"id": "1532", "info": "Phishing campaign targeting finance - Jan 2025"}]
    first = summary["attributes"][0]
    assert (
        first["value"] == "1.0.0.1|443" and first["type"] == "ip-dst|port" and first["tags"] == ["tlp:amber"]
    )
    assert first["event_info"].startswith("Phishing") and first["event_orgc_id"] == "4"


@pytest.mark.parametrize(
    ("ioc_type", "value", "types", "verdict"),
    [
        ("domain", "evil.example", ["domain", "hostname", "domain|ip"], "suspicious"),
        ("url", "http://evil.example/login.php", ["url"], "malicious"),
        ("hash", fake.SHA256, ["sha256", "filename|sha256"], "malicious"),
        ("email", "j.doe@evil.example", ["email", "email-src", "email-dst"], "suspicious"),
    ],
)
def test_ok_types_per_ioc(ioc_type: str, value: str, types: list[str], verdict: str) -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("misp", h.recording(fake.handle, seen), ioc_type, value, ENV)
    assert json.loads(seen[0].content)["type"] == types
    assert result["verdict"] == verdict and result["summary"]["count"] == 1


def test_ok_verdict_ids_flag_readings_and_ids_event_is_the_link() -> None:
    attrs = [
        fake.attribute("1.0.0.1", "ip-src", False, "1", "7"),
        fake.attribute("1.0.0.1", "ip-dst", "1", "2", "8"),
    ]
    result = h.lookup("misp", h.answer(200, {"response": {"Attribute": attrs}}), "ip", "1.0.0.1", ENV)
    assert result["verdict"] == "malicious" and result["link"] == f"{h.BASE}/events/view/8"
    assert result["summary"]["attributes"][0]["id"] == "2" and len(result["summary"]["events"]) == 2
    only_false = {"response": {"Attribute": [fake.attribute("1.0.0.1", "ip-src", "0")]}}
    assert h.lookup("misp", h.answer(200, only_false), "ip", "1.0.0.1", ENV)["verdict"] == "suspicious"


def test_ok_disabled_without_url() -> None:
    settings = h.settings_for("misp", {**ENV})
    assert registry.status(misp.SPEC, settings).enabled
    bare = Settings.from_env({"MISP_API_KEY": fake.KEY})
    assert registry.status(misp.SPEC, bare).reason == "MISP_URL is not set"


def test_not_found_is_ok_unknown() -> None:
    result = h.lookup("misp", fake.handle, "ip", "8.8.8.8", ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown" and result["link"] is None
    assert result["summary"] == {"found": False, "count": 0}


def test_auth_failed() -> None:
    result = h.lookup("misp", fake.handle, "ip", "1.0.0.1", {"MISP_API_KEY": "wrong"})
    assert result["error"]["code"] == "auth_failed" and result["error"]["message"].startswith("HTTP 403")


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("misp", h.answer(429, None, {"Retry-After": "9"}), "ip", "1.0.0.1", ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 9


def test_rate_limited_without_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("misp", h.answer(429), "ip", "1.0.0.1", ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_server_error() -> None:
    assert h.lookup("misp", h.answer(500), "ip", "1.0.0.1", ENV)["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    assert h.lookup("misp", h.refuse, "ip", "1.0.0.1", ENV)["error"]["code"] == "unavailable"


def test_errors_inside_200_and_bad_filters() -> None:
    reply = h.answer(200, {"errors": "Invalid filter: type"})
    result = h.lookup("misp", reply, "ip", "1.0.0.1", ENV)
    assert result["error"]["code"] == "provider_error" and "Invalid filter" in result["error"]["message"]
    assert h.lookup("misp", h.answer(400, {"message": "bad"}), "ip", "1.0.0.1", ENV)["error"]["code"] == (
        "provider_error"
    )
    assert (
        h.lookup("misp", h.answer(200, {"odd": 1}), "ip", "1.0.0.1", ENV)["error"]["code"] == "provider_error"
    )
