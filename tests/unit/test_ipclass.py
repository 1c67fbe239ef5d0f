"""The address classes that decide which IPs are global, for analyses, extraction and ip_profile."""

from __future__ import annotations

import ipaddress

import pytest

from shared.iocs import ipclass
from shared.iocs.normalize import is_global_ip


@pytest.mark.parametrize(
    ("value", "address_class"),
    [
        ("192.0.0.8", "reserved"),  # IETF protocol assignments; Python 3.11 calls it global
        ("192.88.99.1", "reserved"),  # deprecated 6to4 relay anycast; likewise
        ("fec0::1", "reserved"),  # deprecated site-local; likewise
        ("192.0.0.170", "reserved"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:c0a8:101::1", "private"),  # 6to4 of 192.168.1.1
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("2001:2::1", "reserved"),  # benchmarking, inside IETF protocol assignments
    ],
)
def test_non_global_addresses(value: str, address_class: str) -> None:
    summary = ipclass.classify(ipaddress.ip_address(value))
    assert summary["address_class"] == address_class and summary["is_global"] is False
    assert is_global_ip(value) is False


@pytest.mark.parametrize(
    "value",
    [
        "8.8.8.8",
        "192.0.0.9",
        "192.31.196.1",
        "2606:4700::1111",
        "64:ff9b::808:808",
        "2002:808:808::1",
        "::ffff:1.1.1.1",
        "2001:1::1",  # globally reachable exceptions inside 2001::/23
        "2001:4:112::1",
        "2001:20::1",
    ],
)
def test_global_addresses(value: str) -> None:
    assert ipclass.classify(ipaddress.ip_address(value))["is_global"] is True
    assert is_global_ip(value) is True


def test_an_embedding_address_says_what_it_embeds() -> None:
    summary = ipclass.classify(ipaddress.ip_address("64:ff9b::a00:1"))
    assert summary["range"] == "10.0.0.0/8"
    assert summary["reason"].startswith("NAT64 IPv6 address (RFC 6052) of 10.0.0.1: private-use network")
    # A global NAT64 address keeps the NAT64 block's own class and reason.
    assert ipclass.classify(ipaddress.ip_address("64:ff9b::808:808"))["range"] == "64:ff9b::/96"


def test_not_an_address_is_not_global() -> None:
    assert is_global_ip("not-an-ip") is False
