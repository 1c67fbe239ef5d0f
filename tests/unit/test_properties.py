"""Property tests (hypothesis) of IOC normalisation and the text actions, over hostile alphabets.

- normalize() is idempotent on its own output, for each type, from valid-looking and arbitrary input;
- normalize() never raises anything but InvalidIoc, whatever the text (controls, NUL, surrogates);
- defang() is idempotent; refang(defang(x)) == x for text without brackets or defang markers;
- every value extract() returns is valid (and already normal) for its type, IPs are global, and
  extract() gives the same answer for a text and for its refanged form.
Runs are derandomized so CI sees the same examples every time.
"""

from __future__ import annotations

import re
import string

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.iocs.extract import extract
from shared.iocs.fang import defang, refang
from shared.iocs.normalize import IOC_TYPES, InvalidIoc, is_global_ip, normalize

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True)

# Every code point, lone surrogates and C0/C1 controls included (JSON can carry all of them).
ANY_CHAR = st.one_of(st.characters(exclude_categories=()), st.characters(categories=["Cs"]))
ANY_TEXT = st.text(ANY_CHAR, max_size=80)
# Text made mostly of the characters indicators are made of, so that many draws are near-valid.
IOC_CHARS = st.sampled_from(string.ascii_letters + string.digits + ".:/@-_[]()?#=%~ \t\x00é☃İß")
NEAR_TEXT = st.text(IOC_CHARS, max_size=60)

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
TLD = st.sampled_from(["com", "net", "org", "io", "de", "example", "xn--p1ai", "co.uk", "museum"])
DOMAIN = st.builds(lambda labels, tld: ".".join([*labels, tld]), st.lists(LABEL, min_size=1, max_size=3), TLD)
UNICODE_DOMAIN = st.builds(
    lambda label, tld: f"{label}.{tld}", st.sampled_from(["bücher", "пример", "ÉCOLE", "straße"]), TLD
)
IPV4 = st.ip_addresses(v=4).map(str)
IPV6 = st.ip_addresses(v=6).map(lambda a: a.exploded.upper())
HEX = st.sampled_from([32, 40, 64, 128]).flatmap(
    lambda n: st.text("0123456789abcdefABCDEF", min_size=n, max_size=n)
)
PATH = st.text(st.sampled_from(string.ascii_letters + string.digits + "/-._~%?=&#"), max_size=30)
URL = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}{'/' + path if path else ''}",
    st.sampled_from(["http", "HTTPS", "ftp", "hxxp", "hXXps"]),
    st.one_of(DOMAIN, UNICODE_DOMAIN, IPV4, IPV6.map(lambda a: f"[{a}]")),
    st.sampled_from(["", ":8080", ":1"]),
    PATH,
)
LOCAL = st.from_regex(r"[a-zA-Z0-9_+-]([a-zA-Z0-9_.+-]{0,10}[a-zA-Z0-9_+-])?", fullmatch=True)
EMAIL = st.builds(
    lambda local, domain: f"{local}@{domain.upper() if len(local) % 2 else domain}", LOCAL, DOMAIN
)
VALID = {
    "ip": st.one_of(IPV4, IPV6),
    "domain": st.one_of(DOMAIN, UNICODE_DOMAIN, DOMAIN.map(str.upper), DOMAIN.map(lambda d: d + ".")),
    "url": URL,
    "hash": HEX,
    "email": EMAIL,
}


def _dressed(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The value as given, defanged, or with surrounding space."""
    return st.one_of(strategy, strategy.map(defang), strategy.map(lambda v: f"  {v}\t"))


def _idempotent(value: str, ioc_type: str) -> None:
    try:
        once = normalize(value, ioc_type)
    except InvalidIoc:
        return
    assert normalize(once, ioc_type) == once, (value, once)


@SETTINGS
@given(value=_dressed(VALID["ip"]))
def test_normalize_ip_is_idempotent_and_accepts_valid_ips(value: str) -> None:
    once = normalize(value, "ip")
    assert normalize(once, "ip") == once


@SETTINGS
@given(value=_dressed(VALID["domain"]))
def test_normalize_domain_is_idempotent_and_accepts_valid_domains(value: str) -> None:
    once = normalize(value, "domain")
    assert normalize(once, "domain") == once
    assert once == once.lower() and not once.endswith(".") and once.isascii()


@SETTINGS
@given(value=_dressed(VALID["url"]))
def test_normalize_url_is_idempotent_and_accepts_valid_urls(value: str) -> None:
    once = normalize(value, "url")
    assert normalize(once, "url") == once
    scheme = once.partition("://")[0]
    assert scheme == scheme.lower() and scheme in ("http", "https", "ftp")


@SETTINGS
@given(value=_dressed(VALID["hash"]))
def test_normalize_hash_is_idempotent_and_accepts_valid_hashes(value: str) -> None:
    once = normalize(value, "hash")
    assert normalize(once, "hash") == once == value.strip().lower()


@SETTINGS
@given(value=_dressed(VALID["email"]))
def test_normalize_email_is_idempotent_and_accepts_valid_addresses(value: str) -> None:
    once = normalize(value, "email")
    assert normalize(once, "email") == once
    assert once.rpartition("@")[2] == once.rpartition("@")[2].lower()


@SETTINGS
@given(ioc_type=st.sampled_from(IOC_TYPES), value=st.one_of(ANY_TEXT, NEAR_TEXT))
def test_normalize_is_idempotent_on_arbitrary_text(ioc_type: str, value: str) -> None:
    _idempotent(value, ioc_type)


@SETTINGS
@given(ioc_type=st.sampled_from([*IOC_TYPES, "cidr", ""]), value=st.one_of(ANY_TEXT, NEAR_TEXT))
def test_normalize_raises_only_invalid_ioc(ioc_type: str, value: str) -> None:
    try:
        normalize(value, ioc_type)
    except InvalidIoc:
        pass


def _spliced(ioc_type: str) -> st.SearchStrategy[str]:
    """A valid value of the type with a control character or a lone surrogate put somewhere in it."""
    bad = st.sampled_from(["\x00", "\x01", "\x1b", "\x7f", "\ud800", "\udfff"])
    return st.tuples(VALID[ioc_type], bad, st.integers(0, 200)).map(
        lambda t: t[0][: t[2] % (len(t[0]) + 1)] + t[1] + t[0][t[2] % (len(t[0]) + 1) :]
    )


@SETTINGS
@given(data=st.data(), ioc_type=st.sampled_from(IOC_TYPES))
def test_a_normal_form_is_printable_text(data: st.DataObject, ioc_type: str) -> None:
    """What normalize() accepts can be stored and sent: no control characters, no lone surrogates."""
    value = data.draw(st.one_of(_spliced(ioc_type), ANY_TEXT, NEAR_TEXT))
    try:
        once = normalize(value, ioc_type)
    except InvalidIoc:
        return
    assert not re.search(r"[\x00-\x1f\x7f\ud800-\udfff]", once), repr(once)


@SETTINGS
@given(text=st.one_of(ANY_TEXT, NEAR_TEXT, st.lists(st.one_of(*VALID.values()), max_size=4).map(" ".join)))
def test_defang_is_idempotent(text: str) -> None:
    once = defang(text)
    assert defang(once) == once


def _has_marker(text: str) -> bool:
    lowered = text.lower()
    return (
        any(b in text for b in "[](){}")
        or "\\/" in text
        or re.search(r"h(?:xx|xt|tx)ps?:|fxp:|dot|\bat\b", lowered) is not None
    )


@SETTINGS
@given(text=st.one_of(NEAR_TEXT, ANY_TEXT, st.lists(st.one_of(*VALID.values()), max_size=4).map(" ".join)))
def test_refang_inverts_defang(text: str) -> None:
    assume(not _has_marker(text))
    assert refang(defang(text)) == text


# "http", "https" and "ftp" with each letter in either case ("hTTp", "HttPs", "fTP", ...).
ANY_CASE_SCHEME = st.sampled_from(["http", "https", "ftp"]).flatmap(
    lambda word: st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in word)).map("".join)
)


@SETTINGS
@given(
    parts=st.lists(
        st.tuples(
            st.sampled_from(["", " ", "\n", "(", "see ", ", "]),
            ANY_CASE_SCHEME,
            st.one_of(DOMAIN, IPV4, PATH),
            st.sampled_from(["", "/", "/a.b?c=d", ":8080/x"]),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_refang_inverts_defang_for_every_case_of_a_scheme(parts: list[tuple[str, str, str, str]]) -> None:
    """API.md: refang(defang(x)) == x for text without markers, whatever the case of a scheme."""
    text = "".join(f"{before}{scheme}://{host}{tail}" for before, scheme, host, tail in parts)
    assume(not _has_marker(text))
    assert refang(defang(text)) == text


def _texts_with_iocs() -> st.SearchStrategy[str]:
    noise = st.sampled_from(["", " ", "\n", ", ", " and ", "\t(", ") ", "; ", " -> ", " <", "> "])
    pieces = st.one_of(*VALID.values(), st.sampled_from(["CVE-2024-3094", "cve-2021-44228"]), NEAR_TEXT)
    parts = st.lists(st.tuples(noise, st.one_of(pieces, pieces.map(defang))), max_size=6)
    return parts.map(lambda ps: "".join(a + b for a, b in ps))


@SETTINGS
@given(text=st.one_of(_texts_with_iocs(), NEAR_TEXT, ANY_TEXT))
def test_extracted_values_are_valid_for_their_type(text: str) -> None:
    found = extract(text)
    for kind, values in found.items():
        assert values, kind
        assert len(values) == len(set(values)), (kind, values)
        for value in values:
            if kind == "cve":
                assert re.fullmatch(r"CVE-\d{4}-\d{4,}", value), value
                continue
            assert normalize(value, kind) == value, (kind, value)
            if kind == "ip":
                assert is_global_ip(value), value


@SETTINGS
@given(text=st.one_of(_texts_with_iocs(), NEAR_TEXT))
def test_extract_is_stable_under_refang(text: str) -> None:
    assert extract(refang(text)) == extract(text)
