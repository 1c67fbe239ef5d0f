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


# --- URL hosts: underscore labels, an empty port, an IPv4 host with a final dot ---------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://a_b.evil.com/", "http://a_b.evil.com/"),
        ("HTTP://A_B.Evil.COM/X_Y", "http://a_b.evil.com/X_Y"),
        ("https://_dmarc.evil.com:8443/x", "https://_dmarc.evil.com:8443/x"),
        ("http://c2_node-1.bücher.de/p", "http://c2_node-1.xn--bcher-kva.de/p"),
        ("http://intra_net/x", "http://intra_net/x"),  # a single-label host, as before
        ("http://evil.com:/x", "http://evil.com/x"),  # an empty port (RFC 3986 3.2.3) is no port
        ("http://evil.com:", "http://evil.com"),
        ("http://user@evil.com:?q=1", "http://user@evil.com?q=1"),
        ("http://[2606:4700::1111]:/x", "http://[2606:4700::1111]/x"),
        ("http://10.0.0.1./", "http://10.0.0.1/"),  # the final dot of a fully qualified name
        ("http://8.8.8.8.:8080/x", "http://8.8.8.8:8080/x"),
        ("hxxp[://]a_b[.]evil[.]com[:]/x", "http://a_b.evil.com/x"),
    ],
)
def test_url_hosts_as_dns_and_rfc_3986_allow(url: str, expected: str) -> None:
    assert normalize(url, "url") == expected
    assert normalize(expected, "url") == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://a_b.evil.com_/",  # no top-level domain has an underscore
        "http://a_b.evil.c_m/",
        "http://-a_b.evil.com/",  # a label never starts or ends with a hyphen
        "http://bü_cher.de/",  # an underscore only in an ASCII label (IDNA has none)
        "http://a%b.evil.com/",
        "http://evil.com:x/",
        "http://evil.com:0/",
        "http://evil.com:65536/",
        "http://8.8.8.8../",
        "http://:/x",
    ],
)
def test_urls_that_stay_invalid(url: str) -> None:
    with pytest.raises(InvalidIoc):
        normalize(url, "url")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("_dmarc.evil.com", "_dmarc.evil.com"),
        ("A_B.Evil.COM.", "a_b.evil.com"),
        ("_sip._tcp.evil.com", "_sip._tcp.evil.com"),
        ("_dmarc.bücher.de", "_dmarc.xn--bcher-kva.de"),
    ],
)
def test_domains_with_underscore_labels(value: str, expected: str) -> None:
    """A URL's host is also listed under ``domain`` (API.md), so the domain type takes what URL
    hosts take; DNS allows underscores in labels (RFC 2181 section 11)."""
    assert normalize(value, "domain") == expected
    assert normalize(f"x@{value}", "email") == f"x@{expected}"


@pytest.mark.parametrize(
    "value",
    ["evil.com_", "a_b", "a_b.c_d", "-a.evil.com", "a-.evil.com", "bü_cher.de", "a..b.com", "a b.com"],
)
def test_domains_that_stay_invalid(value: str) -> None:
    with pytest.raises(InvalidIoc):
        normalize(value, "domain")


@pytest.mark.parametrize(
    ("text", "url", "host"),
    [
        ("get https://a_b.evil.com/x now", "https://a_b.evil.com/x", ("domain", "a_b.evil.com")),
        ("get http://evil.com:/x now", "http://evil.com/x", ("domain", "evil.com")),
        ("get http://8.8.8.8./x now", "http://8.8.8.8/x", ("ip", "8.8.8.8")),
        ("get hxxps[://]c2_x[.]evil[.]net/g now", "https://c2_x.evil.net/g", ("domain", "c2_x.evil.net")),
    ],
)
def test_extract_finds_those_urls_and_their_hosts(text: str, url: str, host: tuple[str, str]) -> None:
    found = extract(text)
    assert found["url"] == [url]
    assert found[host[0]] == [host[1]]
    assert normalize(url, "url") == url and normalize(host[1], host[0]) == host[1]


def test_analysis_of_a_url_with_an_underscore_host(service: Service) -> None:
    answer = service.post("/api/v1/analysis", {"ioc": "http://a_b.evil.com:/x", "type": "url"})
    assert answer.status_code == 200, answer.json
    assert answer.json["ioc"] == "http://a_b.evil.com/x"


# --- JSON bodies: non-JSON constants are malformed JSON; details say what is wrong ------------------

POSTS = ["/api/v1/analysis", "/api/actions/defang", "/api/actions/refang", "/api/actions/extract"]
VALID_BODY = '"ioc": "8.8.4.4", "type": "ip", "text": "evil.com"'


def _post_raw(service: Service, path: str, body: str) -> tuple[int, dict]:
    headers = {**service.auth, "Content-Type": "application/json"}
    answer = service.client.simulate_post(path, body=body, headers=headers)
    return answer.status_code, answer.json


def _assert_invalid_request(service: Service, path: str, body: str, *words: str) -> str:
    status, answer = _post_raw(service, path, body)
    assert status == 400, (status, answer)
    assert set(answer) == {"error", "detail"} and answer["error"] == "invalid_request", answer
    for word in words:
        assert word in answer["detail"], answer
    return answer["detail"]


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize(
    "template",
    ['{{"max_age": {c}, {body}}}', '{{"unknown": {c}, {body}}}', '{{{body}, "x": [1, {{"y": [{c}]}}]}}'],
    ids=["max_age", "unknown-field", "nested"],
)
def test_non_json_constants_are_malformed_json(
    service: Service, path: str, constant: str, template: str
) -> None:
    """Python's json module reads NaN and Infinity; JSON (RFC 8259) has no such literals."""
    body = template.format(c=constant, body=VALID_BODY)
    _assert_invalid_request(service, path, body, "not valid JSON", constant.lstrip("-"))


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    "number", ["1" + "0" * 5000, "-" + "9" * 4301, "1e400", "-1e400", "1.5e99999"], ids=lambda n: n[:8]
)
def test_numbers_too_large_say_so(service: Service, path: str, number: str) -> None:
    detail = _assert_invalid_request(service, path, f'{{"unknown": {number}, {VALID_BODY}}}', "too large")
    assert "not valid JSON" not in detail


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"unknown": ' + '{"a":' * 100_000 + "1" + "}" * 100_000 + ", " + VALID_BODY + "}",
        '{"unknown": ' + "[" * 100_000 + "]" * 100_000 + ", " + VALID_BODY + "}",
    ],
    ids=["array", "object-in-field", "array-in-field"],
)
def test_nesting_too_deep_says_so(service: Service, path: str, body: str) -> None:
    detail = _assert_invalid_request(service, path, body, "too deep")
    assert "not valid JSON" not in detail


@pytest.mark.parametrize("path", POSTS)
def test_ordinary_numbers_and_moderate_nesting_are_fine(service: Service, path: str) -> None:
    body = '{"unknown": [1e300, -0.0, 12345678901234567890, ' + "[" * 50 + "]" * 50 + "], " + VALID_BODY + "}"
    status, answer = _post_raw(service, path, body)
    assert status == 200, answer


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('{"text": "unterminated', ("not valid JSON", "line 1")),
        ('{"text": "a",}', ("not valid JSON",)),
        ("", ("not valid JSON",)),
    ],
)
def test_malformed_json_says_where(service: Service, body: str, words: tuple[str, ...]) -> None:
    _assert_invalid_request(service, "/api/actions/defang", body, *words)


# --- Plugin names are exact identifiers, as type values are ------------------------------------------


@pytest.mark.parametrize(
    "requested",
    [["VIRUSTOTAL"], [" virustotal "], ["VirusTotal"], ["virustotal\t"], ["IP_PROFILE", "Abuseipdb"]],
    ids=repr,
)
def test_plugin_names_that_only_resemble_known_ones_are_unknown(
    service: Service, requested: list[str]
) -> None:
    """API.md: requested names that are known are run, unknown names are skipped silently; a name is
    the plugin's ``name`` exactly (as ``type`` is: "IP" is invalid_ioc_type)."""
    answer = service.post("/api/v1/analysis", {"ioc": "8.8.4.4", "type": "ip", "plugins": requested})
    assert answer.status_code == 400, answer.json
    assert answer.json["error"] == "no_plugins_available"
    assert "unknown" in answer.json["detail"] and repr(requested[0]) in answer.json["detail"]


def test_known_names_run_and_the_others_are_skipped(service: Service) -> None:
    answer = service.post(
        "/api/v1/analysis", {"ioc": "8.8.4.4", "type": "ip", "plugins": ["AbuseIPDB", "virustotal", "nope"]}
    )
    assert answer.status_code == 200, answer.json
    assert set(answer.json["results"]) == {"virustotal"}


def test_type_is_exact_too(service: Service) -> None:
    answer = service.post("/api/v1/analysis", {"ioc": "8.8.4.4", "type": "IP"})
    assert answer.status_code == 400 and answer.json["error"] == "invalid_ioc_type"
