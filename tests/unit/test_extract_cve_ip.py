"""CVE ids in the forms analysts paste them, the fast global-IP checks, and linear running time."""

from __future__ import annotations

import ipaddress
import json
import random
import time
from pathlib import Path

import pytest

from shared.iocs.extract import _ipv6_groups, _ipv6_text, extract, is_global_ipv4, is_global_ipv6
from shared.iocs.normalize import ip_text, is_global_ip

CORPUS = Path(__file__).parents[1] / "corpus" / "corpus.json"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cve-2021-44228", ["CVE-2021-44228"]),
        ("Cve-2021-44228", ["CVE-2021-44228"]),
        ("CVE\u20112021\u201144228", ["CVE-2021-44228"]),
        ("CVE\u20102021\u201044228", ["CVE-2021-44228"]),
        ("CVE\u20122021\u201244228", ["CVE-2021-44228"]),
        ("CVE\u20132021\u201344228", ["CVE-2021-44228"]),
        ("CVE\u20142021\u201444228", ["CVE-2021-44228"]),
        ("CVE\u22122021\u221244228", ["CVE-2021-44228"]),
        ("CVE_2021_44228", ["CVE-2021-44228"]),
        ("`CVE-2021-44228`", ["CVE-2021-44228"]),
        ("[CVE-2021-44228](https://nvd.nist.gov/vuln/detail/CVE-2021-44228)", ["CVE-2021-44228"]),
        ("**CVE-2021-44228**, (CVE-2021-45046)", ["CVE-2021-44228", "CVE-2021-45046"]),
        ("CVE-2018-1000861 CVE-2023-44487", ["CVE-2018-1000861", "CVE-2023-44487"]),
        ("CVE-2021-4422", ["CVE-2021-4422"]),
        ("CVE-2014-0160", ["CVE-2014-0160"]),
        ("rule CVE_2020_1472_zerologon", ["CVE-2020-1472"]),
    ],
)
def test_cve_forms(text: str, expected: list[str]) -> None:
    assert extract(f"see {text} now").get("cve") == expected


@pytest.mark.parametrize(
    "text",
    [
        "CVE-1998-1234",  # before the list existed
        "CVE-2021-123",  # fewer than four digits
        "CVE-2021-442281234567",  # glued to more digits
        "CVE-2014-00160",  # five or more digits never start with 0
        "XCVE-2021-44228",
        "CVE2021-44228",
    ],
)
def test_invalid_cves_are_rejected(text: str) -> None:
    assert "cve" not in extract(f"see {text} now")


def test_fast_ipv4_check_agrees_with_is_global_ip() -> None:
    rng = random.Random(3)
    samples = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(20000)]
    for block in ("192.0.0.0/24", "192.88.99.0/24", "100.64.0.0/10", "172.16.0.0/12", "224.0.0.0/3"):
        network = ipaddress.IPv4Network(block)
        for offset in (-1, 0, 1, 9, 10, 170, network.num_addresses - 1, network.num_addresses):
            number = int(network.network_address) + offset
            if 0 <= number < 2**32:
                samples.append(str(ipaddress.IPv4Address(number)))
    assert [is_global_ipv4(s) for s in samples] == [is_global_ip(s) for s in samples]


def test_fast_ipv6_check_agrees_with_is_global_ip() -> None:
    rng = random.Random(4)
    prefixes = [
        0x2001,
        0x2002,
        0x2A01,
        0x2606,
        0x3FFF,
        0xFE80,
        0xFC00,
        0x0000,
        0xFF02,
        0x2001,
        0xFEC0,
        0xFDFF,
    ]
    for _ in range(5000):
        value = (rng.choice(prefixes) << 112) | rng.getrandbits(112)
        if rng.random() < 0.2:
            value = (value & ~(0xFFFFFFFF << 96)) | (0x20010DB8 << 96)  # documentation prefix
        if rng.random() < 0.05:
            value = rng.choice([0, 1, 2, 0xFFFF])  # "::", "::1", "::2", "::ffff"
        text = str(ipaddress.IPv6Address(value))
        assert (is_global_ipv6(text) is not None) == is_global_ip(text)


def test_ipv6_parsed_and_written_as_ipaddress_does() -> None:
    rng = random.Random(5)
    for _ in range(20000):
        groups = [rng.choice([0, 0, 0, 1, 0xFFFF, rng.getrandbits(16)]) for _ in range(8)]
        address = ipaddress.IPv6Address(sum(group << (16 * (7 - i)) for i, group in enumerate(groups)))
        for text in (str(address), address.exploded, str(address).upper()):
            assert _ipv6_groups(text) == groups
            assert _ipv6_text(groups) == str(address)
    for _ in range(20000):
        text = "".join(rng.choice("0123456789abcdefABCDEFg::::") for _ in range(rng.randint(1, 42)))
        try:
            number = int(ipaddress.IPv6Address(text))
        except ValueError:
            assert _ipv6_groups(text) is None, text
        else:
            assert _ipv6_groups(text) == [(number >> (16 * (7 - i))) & 0xFFFF for i in range(8)], text


def _corpus_text(size: int) -> str:
    docs = json.loads(CORPUS.read_text(encoding="utf-8"))
    text = "\n\n".join(doc["text"] for doc in docs)
    return (text * (size // len(text) + 1))[:size]


@pytest.mark.timeout(120)
def test_time_is_linear_in_input_size() -> None:
    def seconds(text: str) -> float:
        started = time.perf_counter()
        extract(text)
        return time.perf_counter() - started

    small, large = _corpus_text(250_000), _corpus_text(1_000_000)
    seconds(small)
    ratio = min(seconds(large) for _ in range(2)) / min(seconds(small) for _ in range(2))
    assert ratio < 8  # four times the text: about four times the time, never sixteen


def test_token_with_a_short_hex_run_and_no_candidate() -> None:
    assert extract("id deadbeefcafe1234567890abcdef ok") == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # IPv4-mapped addresses in RFC 5952 mixed notation, in every Python version
        ("::ffff:8.8.8.8", ["::ffff:8.8.8.8"]),
        ("::FFFF:8.8.8.8.", ["::ffff:8.8.8.8"]),
        ("[::ffff:8.8.8.8]:53 ::ffff:8.8.8.8:53", ["::ffff:8.8.8.8"]),
        ("::ffff:808:808", ["::ffff:8.8.8.8"]),
        ("2606:4700::18.8.8.8:8080", ["2606:4700::1208:808"]),  # not 2606:4700::18, nor 18.8.8.8
        ("64:ff9b::1.2.3.4", ["64:ff9b::102:304"]),
        ("2606:4700::8.8.8.8", ["2606:4700::808:808"]),  # not 2606:4700::8
        ("::ffff:10.0.0.1", []),
        ("2001:db8::8.8.8.8", []),  # not global, and its last 32 bits are no address of their own
        ("::8.8.8.8 ::ffff:8.8.8.8.5 2606:4700::8.8.8.8.5", []),  # longer dotted numbers
        # ASCII regressions: no IPv4 tail
        ("2606:4700::1111.", ["2606:4700::1111"]),
        ("2606:4700:4700::1111.53 >", ["2606:4700:4700::1111"]),  # tcpdump's address.port
        ("dead:8.8.8.8 12:30:45 src:9.9.9.9", ["8.8.8.8", "9.9.9.9"]),
    ],
)
def test_ipv6_with_an_ipv4_tail_is_read_whole(text: str, expected: list[str]) -> None:
    assert extract(f"seen {text} here").get("ip", []) == expected


def test_ipv6_with_an_ipv4_tail_is_never_cut() -> None:
    rng = random.Random(6)
    prefixes = [
        "::ffff:",
        "::FFFF:",
        "64:ff9b::",
        "2606:4700::",
        "2001:db8::",
        "::",
        "fe80::",
        "2a00:1:2:3:4:5:",
    ]
    for _ in range(5000):
        quad = ".".join(str(rng.choice([8, 10, 1, 255, rng.randrange(256)])) for _ in range(4))
        text = rng.choice(prefixes) + quad
        address = ip_text(ipaddress.ip_address(text))
        expected = [address] if is_global_ip(address) else []
        assert extract(f"({text}), {text}").get("ip", []) == expected, text
