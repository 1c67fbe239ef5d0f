"""CIRCL hashlookup against providers.md's example bodies."""

from __future__ import annotations

import httpx
import pytest

from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import circl_hashlookup as fake


def test_ok_known_file_is_harmless() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("circl_hashlookup", h.recording(fake.handle, seen), "hash", fake.SHA1.upper())
    assert seen[0].method == "GET" and seen[0].url.path == f"/lookup/sha1/{fake.SHA1}"
    assert seen[0].headers["accept"] == "application/json"
    assert result["status"] == "ok" and result["verdict"] == "harmless"
    assert result["link"] == f"{h.BASE}/lookup/sha1/{fake.SHA1}"
    summary = result["summary"]
    assert summary["file_name"] == "notepad.exe" and summary["product_name"] == "Example OS"
    assert summary["product_version"] == "10.0" and summary["mfg_code"] == "608"
    assert summary["hashlookup_trust"] == 65 and summary["parents"] == 3 and summary["children"] == 0
    assert (
        summary["source"] == "NSRL"
        and summary["db"] == "nsrl_modern_rds"
        and summary["known_malicious"] is None
    )


@pytest.mark.parametrize(("value", "kind"), [("a" * 32, "md5"), ("b" * 64, "sha256")])
def test_ok_path_per_hash_kind(value: str, kind: str) -> None:
    seen: list[httpx.Request] = []
    h.lookup("circl_hashlookup", h.recording(fake.handle, seen), "hash", value)
    assert seen[0].url.path == f"/lookup/{kind}/{value}"


@pytest.mark.parametrize(
    ("flag", "verdict"),
    [
        ("malware-bazaar", "suspicious"),
        (True, "suspicious"),
        (["vt"], "suspicious"),
        ("", "harmless"),
        (False, "harmless"),
    ],
)
def test_ok_known_malicious_readings(flag: object, verdict: str) -> None:
    reply = h.answer(200, {**fake.KNOWN, "KnownMalicious": flag})
    result = h.lookup("circl_hashlookup", reply, "hash", fake.SHA1)
    assert result["verdict"] == verdict and result["summary"]["known_malicious"] == flag


def test_ok_sha512_is_not_supported() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("circl_hashlookup", fake.handle, "hash", "d" * 128)
    assert caught.value.code == "not_supported"


def test_not_found_404_is_ok_unknown() -> None:
    result = h.lookup("circl_hashlookup", fake.handle, "hash", "b15f657221fc03445223e1633cd3045469b8f6bc")
    assert result["status"] == "ok" and result["verdict"] == "unknown" and result["link"] is None
    assert result["summary"] == {"found": False, "message": "Non existing SHA-1"}


def test_auth_failed() -> None:
    assert h.lookup("circl_hashlookup", h.answer(403), "hash", fake.SHA1)["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("circl_hashlookup", h.answer(429, None, {"Retry-After": "5"}), "hash", fake.SHA1)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 5


def test_rate_limited_without_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call("circl_hashlookup", h.answer(429), "hash", fake.SHA1)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_server_error() -> None:
    assert h.lookup("circl_hashlookup", h.answer(503), "hash", fake.SHA1)["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    assert h.lookup("circl_hashlookup", h.refuse, "hash", fake.SHA1)["error"]["code"] == "unavailable"


def test_bad_input_400_is_provider_error() -> None:
    reply = h.answer(400, {"message": "SHA-1 is not in hex format"})
    result = h.lookup("circl_hashlookup", reply, "hash", fake.SHA1)
    assert result["error"] == {"code": "provider_error", "message": "HTTP 400: SHA-1 is not in hex format"}
