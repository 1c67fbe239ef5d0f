"""Defang and refang: API.md's examples to the letter, every marker variant, and the round trip."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.iocs.fang import defang, refang, refang_lowered

# (defanged, refanged): shared with bench/extract.py, which scores the peers on the same cases.
_CASES_FILE = Path(__file__).parents[1] / "corpus" / "refang_cases.json"
REFANG_CASES: list[tuple[str, str]] = [
    (case["input"], case["expected"]) for case in json.loads(_CASES_FILE.read_text(encoding="utf-8"))
]


def test_api_md_examples() -> None:
    assert defang("http://evil.com/path") == "hxxp[://]evil[.]com/path"
    assert refang("hxxp[://]evil[.]com") == "http://evil.com"


@pytest.mark.parametrize(("defanged", "expected"), REFANG_CASES)
def test_refang_cases(defanged: str, expected: str) -> None:
    assert refang(defanged) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://a.b/c", "hxxps[://]a[.]b/c"),
        ("mail user@evil.com now.", "mail user[@]evil[.]com now[.]"),
        ("ftp://x.org", "ftp[://]x[.]org"),
        ("HTTPS://X.ORG", "HXXPS[://]X[.]ORG"),
        ("evil[.]com and evil.com", "evil[.]com and evil[.]com"),
        ("hxxp[://]evil(.)com", "hxxp[://]evil(.)com"),
        ("no markers here", "no markers here"),
    ],
)
def test_defang(text: str, expected: str) -> None:
    assert defang(text) == expected


def test_text_without_markers_is_unchanged() -> None:
    text = "Version 1.2.3 shipped on 2024-01-01. Contact: the team (at the office) [see notes]."
    assert refang(text) == text


_ALPHABET = st.sampled_from(list("ahtpsx.:/@ -_[](){}dotHTPSX19\n\\`'\"<>"))
_TEXT = st.lists(_ALPHABET, max_size=40).map("".join) | st.text(max_size=40)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_defang_is_idempotent(text: str) -> None:
    once = defang(text)
    assert defang(once) == once


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_refang_inverts_defang(text: str) -> None:
    assume(not any(bracket in text for bracket in "[](){}"))
    assume(refang(text) == text)  # the text holds no defang markers of its own
    assert refang(defang(text)) == text


def _case_variants(word: str) -> list[str]:
    return ["".join(letters) for letters in itertools.product(*({c.lower(), c.upper()} for c in word))]


_SCHEME_VARIANTS = sorted({v for word in ("http", "https", "ftp") for v in _case_variants(word)})


@pytest.mark.parametrize("scheme", _SCHEME_VARIANTS)
def test_round_trip_keeps_the_case_of_every_scheme_spelling(scheme: str) -> None:
    """API.md: refang(defang(x)) == x. "hTTp" is defanged "hXTp", since "hXXp" reads as "http"."""
    for text in (f"{scheme}://a.com/P", f"see {scheme}://Evil.Example:8080/x?y=z.", f"({scheme}://1.2.3.4)"):
        assert refang(defang(text)) == text
        assert defang(defang(text)) == defang(text)


@pytest.mark.parametrize(
    ("text", "defanged"),
    [
        ("hTTp://a.com", "hXTp[://]a[.]com"),
        ("hTTPS://a.com", "hXTPS[://]a[.]com"),
        ("http://a.com", "hxxp[://]a[.]com"),
        ("HTTP://a.com", "HXXP[://]a[.]com"),
        ("hTtp://a.com", "hXxp[://]a[.]com"),
    ],
)
def test_defang_of_mixed_case_schemes(text: str, defanged: str) -> None:
    assert defang(text) == defanged


def test_customary_hxxp_spellings_still_refang_to_lower_case_http() -> None:
    assert refang("hXXp://a.com") == "http://a.com"
    assert refang("hXXps[:]//a[.]com") == "https://a.com"
    assert refang("hXXP://a.com") == "httP://a.com"


@pytest.mark.parametrize(
    "text",
    [
        "Beaconing to http://update.evil-cdn.com/api?id=7 from user@corp.example every 60 s.",
        "HTTPS://SHOUT.EXAMPLE.ORG/A and Http://Mixed.Case/x",
        "End of sentence. Next: https://a.b.c/d.e?f=g.h#i.j",
        "ftp://files.evil.net/drop.bin, sftp://x.y.z:22/ and ws://chat.evil.io/socket",
    ],
)
def test_round_trip_on_realistic_text(text: str) -> None:
    assert refang(defang(text)) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Markers refanged by table lookup must behave as the general rules say.
        ("(\\[.\\])", "(.)"),  # one pass: the brackets left around are not read again
        ("[[:]//]", "[://]"),
        ("\\[.]zip", "\\.zip"),  # a backslash before a marker stays
        ("a\\(.)b", "a\\.b"),
        ("a\\(.\\)b", "a.b"),  # Markdown escapes on both sides go
        ("x[.\\]y", "x.y"),
        ("[://\\]", "://"),
        ("{.}{@}", ".@"),
        ("[.)x", "[.)x"),
        # Schemes refanged by table lookup only where a word starts.
        ("Hxxps://a.com", "Https://a.com"),
        ("hXxP://x", "hTtP://x"),
        ("ahxxp://a.com", "ahxxp://a.com"),
        ("1hXXp://a.com", "1hXXp://a.com"),
        ("_hxxp://a.com", "_http://a.com"),
        ("\u00e9hxxp://a.com", "\u00e9http://a.com"),
        ("xp://a", "xp://a"),
    ],
)
def test_refang_fast_paths_agree_with_the_rules(text: str, expected: str) -> None:
    assert refang(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nothing defanged here",
        "Evil[.]COM and hXXps[:]//Cdn[.]Evil[.]Net/A",
        "mail Bob at Evil dot COM today",
        "the dot com bubble, see [DOT] and {at}",
        "İstanbul ſ K evil dot com",
        *(case for case, _ in REFANG_CASES),
    ],
)
def test_refang_lowered_is_refang_and_its_lower_case(text: str) -> None:
    plain, lowered = refang_lowered(text)
    assert plain == refang(text)
    assert lowered == plain.lower()
