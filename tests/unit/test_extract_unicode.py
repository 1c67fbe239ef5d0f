"""Extraction in text that is not ASCII: IDNs in punycode, and no candidate cut out of a word."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from shared.iocs.extract import extract, unspaced
from shared.iocs.fang import refang
from shared.iocs.normalize import normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bücher.de", ["xn--bcher-kva.de"]),
        ("visit münchen.de today", ["xn--mnchen-3ya.de"]),
        ("пример.рф", ["xn--e1afmkfd.xn--p1ai"]),
        ("ПРИМЕР.рф", ["xn--e1afmkfd.xn--p1ai"]),
        ("sub.bücher.de", ["sub.xn--bcher-kva.de"]),
        ("seen (bücher.de), later", ["xn--bcher-kva.de"]),
        ("«bücher.de»; “münchen.de”.", ["xn--bcher-kva.de", "xn--mnchen-3ya.de"]),
        ("bücher[.]de and BÜCHER.DE", ["xn--bcher-kva.de"]),
        ("straße.de", ["xn--strae-oqa.de"]),
        ("bu\u0308cher.de", ["xn--bcher-kva.de"]),  # ü written as u and a combining mark
        ("उदाहरण.भारत", ["xn--p1b6ci4b4b3a.xn--h2brj9c"]),  # Devanagari vowel signs are marks
        ("col·legi.cat", ["xn--collegi-xma.cat"]),  # the Catalan middle dot, between two l
        ("mal\u00adware.com", ["malware.com"]),  # a soft hyphen (PDF copies) is not part of a name
    ],
)
def test_idn_domains_are_found_in_punycode(text: str, expected: list[str]) -> None:
    assert extract(text) == {"domain": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ä8.8.8.8", {}),
        ("\u06638.8.8.8", {}),  # after an Arabic-Indic digit
        ("éd41d8cd98f00b204e9800998ecf8427e", {}),
        ("ühttp://evil.com/x", {}),
        ("ä2606:4700::1111", {}),
        ("a⅓b.de", {}),  # not a valid IDN: nothing, and not "b.de"
        ("ab--ü.de", {}),
        ("jürgen@evil.com", {"email": ["jürgen@evil.com"], "domain": ["evil.com"]}),
        ("bücher.de@intranet.local", {"domain": ["xn--bcher-kva.de"]}),  # the rejected e-mail's retry
        ("http://intranet/?q=bücher.de", {"domain": ["xn--bcher-kva.de"]}),  # a rejected URL's rescan
        ("bücher.example, bücher.test, bücher.invalid, пример.испытание", {}),
        ("bücher.zip, self.рф", {}),  # file-like names and code identifiers written plainly
        ("bücher.zip and bücher[.]zip", {"domain": ["xn--bcher-kva.zip"]}),
        ("sub.bücher[.]zip and bücher.zip", {"domain": ["sub.xn--bcher-kva.zip", "xn--bcher-kva.zip"]}),
        ("self[.]рф", {"domain": ["self.xn--p1ai"]}),
    ],
)
def test_no_candidate_starts_inside_a_word_and_the_rules_apply(
    text: str, expected: dict[str, list[str]]
) -> None:
    assert extract(text) == expected


def test_email_with_an_idn_domain() -> None:
    # The local part is kept as written (shared.iocs.normalize.normalize_email), the domain in punycode.
    assert extract("jürgen@bücher.de and INFO@BÜCHER.DE") == {
        "email": ["jürgen@xn--bcher-kva.de", "INFO@xn--bcher-kva.de"],
        "domain": ["xn--bcher-kva.de"],
    }
    assert normalize("jürgen@bücher.de", "email") == "jürgen@xn--bcher-kva.de"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://bücher.de/x", {"url": ["http://xn--bcher-kva.de/x"], "domain": ["xn--bcher-kva.de"]}),
        (
            "hxxps://пример[.]рф/ä",
            {"url": ["https://xn--e1afmkfd.xn--p1ai/ä"], "domain": ["xn--e1afmkfd.xn--p1ai"]},
        ),
        ("—evil.com— “8.8.8.8” «bad.org»", {"ip": ["8.8.8.8"], "domain": ["evil.com", "bad.org"]}),
        ("xn--bcher-kva.de", {"domain": ["xn--bcher-kva.de"]}),
        ("·evil.com", {"domain": ["evil.com"]}),
        ("Größe: 8.8.8.8, évité evil.com", {"ip": ["8.8.8.8"], "domain": ["evil.com"]}),
    ],
)
def test_ascii_candidates_and_unicode_urls_in_unicode_text(text: str, expected: dict[str, list[str]]) -> None:
    assert extract(text) == expected


def _is_word(char: str) -> bool:
    return (char.isalnum() or unicodedata.category(char).startswith("M")) and not unspaced(ord(char))


_PIECES = [
    "bücher", "evil", "ж", "é", "ü", "x", "日本", ".", ".", ".", "[.]", "de", "com", "zip", "self", "рф", "@",
    "-", "/", "(", ")", ",", " ", " ", "8.8.8.8", "::ffff:", "2606:4700::1", "http://", "hxxp://", "?q=",
    "d41d8cd98f00b204e9800998ecf8427e", "«", "—", "1", "ab",
]  # fmt: skip
_WORDS = ["bü", "cher", "é", "ж", "evil", "x1", "self", "日本"]
_BEFORE = [
    "",
    "",
    "",
    "http://",
    "hxxp://",
    "ftp://ü",
    "user@",
    "ü@",
    "é.",
    "(",
    "ä",
    "«",
    "8.8.8.8/",
    "1",
    "/",
]
_AFTER = ["", "", "", "/p?q=é.de", ",", ")", "ü", "»", "[.]de", "@evil.com", ".", ".1", "-x", "::1"]


def _random_text(rng: random.Random, pieces: list[str], words: list[str]) -> str:
    """Return pieces, and names made of ``words`` between what may come before and after them."""
    parts = []
    for _ in range(rng.randint(1, 6)):
        if rng.random() < 0.4:
            parts.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 5))))
        else:
            labels = [
                rng.choice(words) + rng.choice(["", "", rng.choice(words)]) for _ in range(rng.randint(1, 3))
            ]
            tld = rng.choice(
                ["de", "com", "zip", "ru", "рф"] if "рф" in pieces else ["de", "com", "zip", "ru"]
            )
            dot = rng.choice([".", ".", "[.]"])
            parts.append(rng.choice(_BEFORE) + dot.join([*labels, tld]) + rng.choice(_AFTER))
        parts.append(rng.choice([" ", " ", "", "\n", ", "]))
    return "".join(parts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IP地址1.2.3.4进行", {"ip": ["1.2.3.4"]}),
        ("请访问evil.com", {"domain": ["evil.com"]}),
        ("เว็บไซต์evil.comอันตราย", {"domain": ["evil.com"]}),
        (
            "検体のハッシュはd41d8cd98f00b204e9800998ecf8427eです",
            {"hash": ["d41d8cd98f00b204e9800998ecf8427e"]},
        ),
        ("連絡先bob@evil.com。", {"email": ["bob@evil.com"], "domain": ["evil.com"]}),
        ("악성 도메인은 evil.com입니다", {"domain": ["evil.com"]}),
        ("C2는 8.8.8.8에서", {"ip": ["8.8.8.8"]}),
        # The price: a name written in these scripts is not found.
        ("例え.jp", {}),
    ],
)
def test_scripts_that_glue_indicators_to_words_end_a_word(text: str, expected: dict) -> None:
    assert extract(text) == expected


def test_no_value_is_cut_out_of_a_word() -> None:
    # An ASCII value (not punycode) appears in the text somewhere not right after a letter or digit.
    rng = random.Random(11)
    for _ in range(3000):
        text = _random_text(rng, _PIECES, _WORDS)
        lowered = refang(text).lower()
        for kind, values in extract(text).items():
            for value in values:
                starts = [match.start() for match in re.finditer(re.escape(value.lower()), lowered)]
                if kind == "url" or not starts:
                    continue  # a URL's host is checked under domain; a value normalised otherwise
                assert any(not (start and _is_word(lowered[start - 1])) for start in starts), (
                    text,
                    kind,
                    value,
                )


_LETTERS = {"ü": "q", "é": "j", "ж": "y"}  # ("v" is a version word)


def test_unicode_letters_act_as_ascii_letters() -> None:
    # Unicode letters in labels, local parts and URLs take the paths an ASCII letter would
    # (retries, rescans of rejected URLs, the defanged test), so the same kinds are found as often.
    rng = random.Random(12)
    # (No hyphen: "ab--ü" is no IDN, "ab--q" a name; no word of another script.)
    pieces = [piece for piece in _PIECES if piece not in ("日本", "рф", "-")]
    words = [word for word in _WORDS if word != "日本"]
    for _ in range(3000):
        text = _random_text(rng, pieces, words)
        ascii_text = text.translate(str.maketrans(_LETTERS))
        found, ascii_found = extract(text), extract(ascii_text)
        if any(set(name.rpartition(".")[2]) & set("qjy") for name in ascii_found.get("domain", [])):
            continue  # the letter standing for a Unicode one made a known top-level domain
        assert {kind: len(values) for kind, values in found.items()} == {
            kind: len(values) for kind, values in ascii_found.items()
        }, (text, found, ascii_found)
        for kind in ("ip", "hash"):
            assert found.get(kind) == ascii_found.get(kind), text
