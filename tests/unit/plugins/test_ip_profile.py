"""ip_profile: address classes with their RFCs, and GeoIP from MaxMind-format files built here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from plugins import ip_profile
from tests import plugin_harness as h

CITY_RECORD = {
    "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
    "city": {"names": {"en": "London"}},
}
ASN_RECORD = {"autonomous_system_number": 64500, "autonomous_system_organization": "Example Networks Ltd"}
MAPPED_RECORD = {"country": {"iso_code": "DE", "names": {"en": "Germany"}}}  # Country-only record


def no_request(request: httpx.Request) -> httpx.Response:
    """Fail any HTTP request: a local analyser must never make one."""
    raise AssertionError(f"unexpected request to {request.url}")


def write_db(path: Path, database_type: str, networks: dict[str, dict]) -> str:
    """Write a MaxMind-format database mapping each network to its record; return its path."""
    writer = MMDBWriter(
        ip_version=6, ipv4_compatible=True, database_type=database_type, languages=["en"], description="test"
    )
    for network, record in networks.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return str(path)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    ip_profile.open_database.cache_clear()
    yield
    ip_profile.open_database.cache_clear()


@pytest.fixture
def dbs(tmp_path: Path) -> dict[str, str]:
    city = write_db(
        tmp_path / "GeoLite2-City.mmdb",
        "GeoLite2-City",
        {"81.2.69.0/24": CITY_RECORD, "2a02:db8::/32": CITY_RECORD, "10.20.0.0/16": MAPPED_RECORD},
    )
    asn = write_db(tmp_path / "GeoLite2-ASN.mmdb", "GeoLite2-ASN", {"81.2.69.0/24": ASN_RECORD})
    return {"GEOIP_CITY_DB": city, "GEOIP_ASN_DB": asn}


def profile(value: str, env: dict[str, str] | None = None) -> dict:
    result = h.lookup("ip_profile", no_request, "ip", value, env)
    assert result["status"] == "ok" and result["verdict"] == "unknown", result
    return result["summary"]


def test_ok_global_address_with_country_city_and_asn(dbs: dict[str, str]) -> None:
    summary = profile("81.2.69.160", dbs)
    assert summary["address_class"] == "global" and summary["is_global"] is True
    assert summary["rfc"] == "RFC 6890" and "globally routable" in summary["reason"]
    assert (summary["country_code"], summary["country"], summary["city"]) == (
        "GB",
        "United Kingdom",
        "London",
    )
    assert (summary["asn"], summary["as_organization"]) == (64500, "Example Networks Ltd")
    assert summary["geoip"] == []


def test_ok_ipv6_with_geoip_and_an_address_missing_from_one_database(dbs: dict[str, str]) -> None:
    summary = profile("2a02:db8::1", dbs)
    assert summary["version"] == 6 and summary["address_class"] == "global"
    assert summary["range"] == "2000::/3" and summary["rfc"] == "RFC 4291"
    assert summary["country_code"] == "GB" and summary["asn"] is None
    assert summary["geoip"] == ["2a02:db8::1 is not in the GEOIP_ASN_DB database"]


def test_ok_private_address_is_still_looked_up_in_a_custom_database(dbs: dict[str, str]) -> None:
    summary = profile("10.20.30.40", dbs)
    assert summary["address_class"] == "private" and summary["rfc"] == "RFC 1918"
    assert summary["country_code"] == "DE" and summary["city"] is None


@pytest.mark.parametrize(
    ("value", "address_class", "network", "rfc", "words"),
    [
        ("10.1.2.3", "private", "10.0.0.0/8", "RFC 1918", "private-use"),
        ("172.31.255.1", "private", "172.16.0.0/12", "RFC 1918", "private-use"),
        ("192.168.1.1", "private", "192.168.0.0/16", "RFC 1918", "private-use"),
        ("100.64.0.1", "shared", "100.64.0.0/10", "RFC 6598", "carrier-grade NAT"),
        ("127.0.0.1", "loopback", "127.0.0.0/8", "RFC 1122", "loopback"),
        ("169.254.169.254", "link-local", "169.254.0.0/16", "RFC 3927", "link-local"),
        ("192.0.2.10", "documentation", "192.0.2.0/24", "RFC 5737", "TEST-NET-1"),
        ("198.51.100.7", "documentation", "198.51.100.0/24", "RFC 5737", "TEST-NET-2"),
        ("203.0.113.9", "documentation", "203.0.113.0/24", "RFC 5737", "TEST-NET-3"),
        ("224.0.0.251", "multicast", "224.0.0.0/4", "RFC 5771", "multicast"),
        ("240.0.0.1", "reserved", "240.0.0.0/4", "RFC 1112", "future use"),
        ("255.255.255.255", "reserved", "255.255.255.255/32", "RFC 919", "broadcast"),
        ("198.18.0.1", "reserved", "198.18.0.0/15", "RFC 2544", "benchmarking"),
        ("192.0.0.8", "reserved", "192.0.0.0/24", "RFC 6890", "IETF protocol"),
        ("192.0.0.9", "global", "192.0.0.9/32", "RFC 7723", "Port Control Protocol"),
        ("0.1.2.3", "bogon", "0.0.0.0/8", "RFC 1122", "this network"),
        ("::1", "loopback", "::1/128", "RFC 4291", "loopback"),
        ("::", "bogon", "::/128", "RFC 4291", "unspecified"),
        ("fd12:3456:789a::1", "private", "fc00::/7", "RFC 4193", "ULA"),
        ("fe80::1", "link-local", "fe80::/10", "RFC 4291", "link-local"),
        ("2001:db8::1", "documentation", "2001:db8::/32", "RFC 3849", "documentation"),
        ("3fff::1", "documentation", "3fff::/20", "RFC 9637", "documentation"),
        ("ff02::1", "multicast", "ff00::/8", "RFC 4291", "multicast"),
        ("100::1", "reserved", "100::/64", "RFC 6666", "discard"),
        ("fec0::1", "reserved", "fec0::/10", "RFC 3879", "site-local"),
        ("4000::1", "bogon", "::/0", "RFC 4291", "outside 2000::/3"),
        ("2606:4700::1111", "global", "2000::/3", "RFC 4291", "global unicast"),
    ],
)
def test_ok_every_class_with_range_rfc_and_reason(value, address_class, network, rfc, words) -> None:
    summary = profile(value)
    assert (summary["address_class"], summary["range"], summary["rfc"]) == (address_class, network, rfc)
    assert words in summary["reason"] and network in summary["reason"]
    assert summary["is_global"] is (address_class == "global")


def test_ok_ipv4_mapped_ipv6_takes_the_class_of_the_ipv4_address() -> None:
    summary = profile("::ffff:192.168.0.1")
    assert summary["version"] == 6 and summary["address_class"] == "private"
    assert summary["range"] == "192.168.0.0/16" and summary["reason"].startswith("IPv4-mapped IPv6 address")


def test_not_found_without_geoip_databases_still_answers_the_class() -> None:
    summary = profile("8.8.8.8")
    assert summary["address_class"] == "global" and summary["range"] is None
    assert summary["geoip"] == ["no GeoIP database configured"]
    assert all(summary[k] is None for k in ("country_code", "country", "city", "asn", "as_organization"))


def test_not_found_address_in_neither_database(dbs: dict[str, str]) -> None:
    summary = profile("9.9.9.9", dbs)
    assert summary["country_code"] is None and summary["asn"] is None
    assert summary["geoip"] == [
        "9.9.9.9 is not in the GEOIP_CITY_DB database",
        "9.9.9.9 is not in the GEOIP_ASN_DB database",
    ]


def test_only_one_database_configured(dbs: dict[str, str]) -> None:
    summary = profile("81.2.69.160", {"GEOIP_ASN_DB": dbs["GEOIP_ASN_DB"]})
    assert summary["asn"] == 64500 and summary["country"] is None
    assert summary["geoip"] == ["GEOIP_CITY_DB is not set"]


def test_missing_file_still_answers_the_class_and_the_other_database(
    dbs: dict[str, str], tmp_path: Path
) -> None:
    env = {**dbs, "GEOIP_CITY_DB": str(tmp_path / "absent.mmdb")}
    summary = profile("81.2.69.160", env)
    assert summary["address_class"] == "global" and summary["asn"] == 64500 and summary["country"] is None
    assert summary["geoip"] == ["GEOIP_CITY_DB could not be read (no such file)"]


@pytest.mark.parametrize("content", [b"", b"this is not a MaxMind database" * 4])
def test_invalid_file_still_answers_the_class(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.mmdb"
    bad.write_bytes(content)
    summary = profile("127.0.0.1", {"GEOIP_CITY_DB": str(bad), "GEOIP_ASN_DB": str(tmp_path)})
    assert summary["address_class"] == "loopback"
    assert summary["geoip"] == [
        "GEOIP_CITY_DB could not be read (not a valid MaxMind database)",
        "GEOIP_ASN_DB could not be read (not a valid MaxMind database)",
    ]


def test_each_database_is_opened_once_and_again_after_it_changes(dbs: dict[str, str]) -> None:
    for _ in range(3):
        profile("81.2.69.160", dbs)
    info = ip_profile.open_database.cache_info()
    assert (info.misses, info.hits) == (2, 4)
    stat = os.stat(dbs["GEOIP_CITY_DB"])
    os.utime(dbs["GEOIP_CITY_DB"], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    profile("81.2.69.160", dbs)
    assert ip_profile.open_database.cache_info().misses == 3


def test_spec_is_local_keyless_and_reads_its_options() -> None:
    spec = ip_profile.SPEC
    assert spec.remote is False and spec.key == "none" and spec.url_var == "" and spec.default_url is None
    assert spec.options == ("GEOIP_CITY_DB", "GEOIP_ASN_DB")


def test_ok_through_the_api_without_any_request(dbs: dict[str, str]) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        raise AssertionError("ip_profile made an HTTP request")

    run = h.lifecycle("ip_profile", handler, "ip", "192.168.10.1", dbs)
    assert run.final is not None and run.final["status"] == "ok" and run.final["verdict"] == "unknown"
    assert run.final["summary"]["address_class"] == "private" and run.final["summary"]["rfc"] == "RFC 1918"
    assert run.final["summary"]["geoip"] == [
        "192.168.10.1 is not in the GEOIP_CITY_DB database",
        "192.168.10.1 is not in the GEOIP_ASN_DB database",
    ]
    assert requests == []
