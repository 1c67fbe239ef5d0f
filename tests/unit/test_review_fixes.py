"""Contract fixes from a review against API.md: IP canonical text (zone IDs, IPv4-mapped addresses),
URL and domain hosts (underscore labels, an empty port, an IPv4 host with a final dot), JSON bodies
(non-JSON constants, accurate details) and exact plugin names."""

from __future__ import annotations

import pytest

from shared import watchlist
from shared.iocs.extract import extract
from shared.iocs.normalize import InvalidIoc, make_ioc, normalize
from tests.conftest import Service
from tests.fakes.providers import FakeProviders

# --- IP canonical text: no zone ID, IPv4-mapped addresses in RFC 5952 mixed notation ---------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2606:4700::1111%foo", "2606:4700::1111"),
        ("FE80::1%eth0", "fe80::1"),
        ("fe80::1%25eth0", "fe80::1"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("::FFFF:102:304", "::ffff:1.2.3.4"),
        ("0:0:0:0:0:ffff:0102:0304", "::ffff:1.2.3.4"),
        ("[::ffff:8.8.8.8]", "::ffff:8.8.8.8"),
        ("::ffff:8.8.8.8%x", "::ffff:8.8.8.8"),
        ("::ffff:0.0.0.0", "::ffff:0.0.0.0"),
        # Other addresses keep the text ipaddress gives them.
        ("64:ff9b::1.2.3.4", "64:ff9b::102:304"),
        ("::1.2.3.4", "::102:304"),
        ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("1.2.3.4", "1.2.3.4"),
    ],
)
def test_ip_canonical_text(value: str, expected: str) -> None:
    assert normalize(value, "ip") == expected
    assert normalize(expected, "ip") == expected
    assert make_ioc(value, "ip").value == expected


@pytest.mark.parametrize("value", ["2606:4700::1111%", "2606:4700::1111%a%b", "1.2.3.4%eth0", "%eth0"])
def test_malformed_zone_ids_are_invalid(value: str) -> None:
    with pytest.raises(InvalidIoc):
        normalize(value, "ip")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seen 2606:4700::1111%foo here", "2606:4700::1111"),
        ("seen ::ffff:8.8.8.8 here", "::ffff:8.8.8.8"),
        ("seen ::FFFF:808:808 here", "::ffff:8.8.8.8"),
    ],
)
def test_extract_and_analysis_agree_on_ips(text: str, expected: str) -> None:
    assert extract(text)["ip"] == [expected]
    assert normalize(text.split()[1], "ip") == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://[::ffff:8.8.8.8]/x", "http://[::ffff:8.8.8.8]/x"),
        ("http://[::ffff:808:808]:8080/x", "http://[::ffff:8.8.8.8]:8080/x"),
        ("http://[fe80::1%25eth0]/x", "http://[fe80::1]/x"),
    ],
)
def test_url_hosts_use_the_same_ip_text(url: str, expected: str) -> None:
    assert normalize(url, "url") == expected


def test_extracted_url_with_a_mapped_host_lists_the_same_ip() -> None:
    found = extract("get http://[::ffff:808:808]/a now")
    assert found["url"] == ["http://[::ffff:8.8.8.8]/a"]
    assert found["ip"] == ["::ffff:8.8.8.8"]


def test_watch_list_entries_take_the_same_normal_form() -> None:
    """Watch list import and matching use ``normalize``, so an entry matches the analysed value."""
    for written in ("2606:4700::1111%foo", "::ffff:102:304"):
        item = watchlist._guess(written)
        assert isinstance(item, watchlist.Item)
        assert item.value == make_ioc(written, "ip").value


def test_analysis_of_an_address_with_a_zone_id_sends_the_address(
    service: Service, fake: FakeProviders
) -> None:
    answer = service.post("/api/v1/analysis", {"ioc": "2606:4700::1111%foo", "type": "ip"})
    assert answer.status_code == 200, answer.json
    assert answer.json["ioc"] == "2606:4700::1111"
    assert fake.requests, "a global address goes to the providers"
    for request in fake.requests:
        sent = request.path + "".join(request.query.values())
        assert "%" not in sent and "foo" not in sent, request


def test_analysis_of_a_mapped_address_answers_the_mixed_notation(service: Service) -> None:
    answer = service.post("/api/v1/analysis", {"ioc": "::ffff:102:304", "type": "ip"})
    assert answer.status_code == 200, answer.json
    assert answer.json["ioc"] == "::ffff:1.2.3.4"
