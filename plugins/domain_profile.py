"""Domain profile: public suffix, IDN homographs, brand look-alikes, DGA-likeness, TLD abuse (offline).

Needs no network and no key. It reads bundled data only: the Public Suffix List snapshot of
``shared.iocs.psl`` and, in ``plugins/``, ``brands.txt`` (commonly phished brands with the domains
they use), ``confusables.txt`` (letters of other scripts that imitate Latin ones) and
``tld_reputation.json`` (a curated, dated snapshot of TLD abuse levels).

The verdict is ``suspicious`` for a homograph of a brand, a close look-alike of a brand (never one of
the brand's own domains), a label mixing Latin with look-alike letters of another script, or a DGA
score of at least ``DGA_SUSPICIOUS``; otherwise ``unknown``, since finding nothing proves nothing.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from plugins.spec import Context, Finding, PluginSpec, Verdict
from shared.iocs import psl
from shared.iocs.normalize import Ioc, is_ip

SPEC = PluginSpec(
    name="domain_profile",
    display_name="Domain profile (offline)",
    ioc_types=frozenset({"domain", "url", "email"}),
    categories=("local", "osint"),
    url_var="",
    default_url=None,
    key="none",
    auth="none",
    remote=False,
)

# DGA score (0-1) from which a registrable label counts as machine-generated (suspicious), and from
# which it is worth a reason. Calibrated on ~300 popular second-level labels (highest: knightsbridge
# 0.66, 365scores 0.60, strengths 0.48) against random labels: at 0.7 about 70 % of random 12-character
# letter-and-digit labels are flagged, but only ~15 % of 12-letter ones; letter-only DGAs that keep
# a word-like vowel ratio need a bigram model, which these five signals are not.
DGA_SUSPICIOUS = 0.7
DGA_NOTABLE = 0.5
# A brand name may be this many edits (Damerau-Levenshtein, optimal string alignment) away; short
# names only match exactly or through look-alike characters, or every 5-letter word would match.
_TYPO_DISTANCE = ((10, 2), (6, 1))
_MIN_SUBSTRING_BRAND = 6  # a brand name inside a longer label (paypalsecure) needs this length
# Words glued to a brand name in phishing domains; a brand inside any other word (amazonia) is not.
_LURE_WORDS = frozenset(
    "login logon signin sso secure security verify verification account accounts update support "
    "service services billing payment payments wallet confirm recover recovery unlock alert alerts "
    "auth invoice refund help helpdesk online web mail app id bank pay center customer official team "
    "gift bonus prize claim reward rewards check portal access limited locked suspended notice".split()
)
_VOWELS = frozenset("aeiouy")
# ASCII characters and pairs read as letters: paypa1, micros0ft, rnicrosoft (rn -> m), vvells (vv -> w).
_ASCII_LOOKALIKES = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("3", "e"), ("4", "a"), ("5", "s"))
# Script mixes that are ordinary in one label (Japanese, Chinese, Korean with Latin), as in UTS #39.
_ALLOWED_MIXES = (
    frozenset({"latin", "cjk", "hiragana", "katakana"}),
    frozenset({"latin", "cjk", "bopomofo"}),
    frozenset({"latin", "cjk", "hangul"}),
)
_IMITATED_SCRIPT = "latin"
_KIND_RANK = {"exact_other_suffix": 0, "typo": 1, "embedded": 2, "subdomain": 3}


@dataclass(frozen=True)
class Brand:
    """A commonly phished brand: its name as a label and the registrable domains it uses."""

    name: str
    domains: frozenset[str]


@dataclass(frozen=True)
class Split:
    """A host split at its public suffix (``registrable`` is None when the host is a suffix)."""

    registrable: str | None
    suffix: str
    subdomain: str | None
    known_tld: bool

    @property
    def label(self) -> str | None:
        """Return the label left of the public suffix (``paypal`` in ``www.paypal.co.uk``)."""
        return self.registrable.partition(".")[0] if self.registrable else None


@dataclass(frozen=True)
class Match:
    """How a label resembles a brand: kind of resemblance and edit distance (None: not an edit)."""

    brand: str
    kind: str
    distance: int | None


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Profile the domain (a URL's host, an e-mail's domain) from bundled data only."""
    host = ioc.host or ioc.value
    if is_ip(host):
        reason = "the host is an IP address, not a domain: nothing to profile here (see ip_profile)"
        return Finding(summary={"host": host, "is_ip": True, "reasons": [reason]})
    verdict, summary = profile(host)
    return Finding(verdict=verdict, summary=summary)


def profile(host: str) -> tuple[Verdict, dict[str, Any]]:
    """Return the verdict and summary for a normalised (lower-case ASCII) host name."""
    parts = split(host)
    unicode_label = to_unicode(parts.label) if parts.label else None
    homograph, match = resemblance(parts, unicode_label)
    is_idn = any(label.startswith("xn--") for label in host.split("."))
    mixed = mixed_scripts(host)
    summary: dict[str, Any] = {
        "host": host,
        "registrable_domain": parts.registrable,
        "public_suffix": parts.suffix,
        "subdomain": parts.subdomain,
        "known_tld": parts.known_tld,
        "is_idn": is_idn,
        "unicode": ".".join(to_unicode(label) for label in host.split(".")) if is_idn else None,
        "mixed_scripts": mixed,
        "homograph_of": homograph,
        "lookalike_of": match.brand if match else None,
        "lookalike_kind": match.kind if match else None,
        "lookalike_distance": match.distance if match else None,
        "brand_domain_of": own_brand(parts.registrable),
        "entropy": round(shannon_entropy(unicode_label), 2) if unicode_label else None,
        "dga_score": dga_score(unicode_label) if unicode_label and unicode_label.isascii() else None,
        "tld_reputation": tld_reputation().get(host.rpartition(".")[2]),
    }
    flags = _flags(summary, confusable_mix=_has_confusable_mix(host, mixed))
    summary["reasons"] = flags + _notes(summary)
    return ("suspicious" if flags else "unknown"), summary


def resemblance(parts: Split, unicode_label: str | None) -> tuple[str | None, Match | None]:
    """Return the brand an IDN label imitates (homograph), or how an ASCII label resembles one."""
    if unicode_label is None:
        return None, None
    if unicode_label.isascii():
        return None, brand_match(parts, unicode_label)
    return homograph_of(parts, unicode_label), None


def _flags(summary: dict[str, Any], *, confusable_mix: bool) -> list[str]:
    """Return the reasons that make the domain suspicious."""
    flags = []
    if summary["homograph_of"]:
        flags.append(f"IDN homograph of {summary['homograph_of']}: {summary['unicode']} reads as Latin")
    elif confusable_mix:
        flags.append(f"mixes {' and '.join(summary['mixed_scripts'])} letters that look alike in one label")
    kind = summary["lookalike_kind"]
    if kind == "exact_other_suffix" and summary["tld_reputation"] in ("high", "medium"):
        flags.append(
            f"brand name {summary['lookalike_of']} on .{summary['public_suffix']}, "
            f"a TLD with {summary['tld_reputation']} abuse"
        )
    elif kind in ("typo", "embedded", "subdomain"):
        flags.append(_LOOKALIKE_TEXT[kind].format(**summary))
    if summary["dga_score"] is not None and summary["dga_score"] >= DGA_SUSPICIOUS:
        flags.append(f"random-looking name, like a DGA (score {summary['dga_score']})")
    return flags


_LOOKALIKE_TEXT = {
    "typo": "look-alike of {lookalike_of} (distance {lookalike_distance})",
    "embedded": "contains the brand name {lookalike_of} with extra words",
    "subdomain": "subdomain imitates a domain of {lookalike_of}",
}


def _notes(summary: dict[str, Any]) -> list[str]:
    """Return the reasons worth reading that do not change the verdict."""
    notes = []
    if summary["registrable_domain"] is None:
        notes.append("the name is itself a public suffix")
    if not summary["known_tld"]:
        notes.append(f".{summary['public_suffix']} is not a TLD of the Public Suffix List")
    if summary["lookalike_kind"] == "exact_other_suffix" and summary["tld_reputation"] not in (
        "high",
        "medium",
    ):
        notes.append(f"brand name {summary['lookalike_of']} on a suffix not in its bundled domain list")
    if summary["dga_score"] is not None and DGA_NOTABLE <= summary["dga_score"] < DGA_SUSPICIOUS:
        notes.append(f"somewhat random-looking name (DGA score {summary['dga_score']})")
    if summary["tld_reputation"] == "high":
        notes.append(f".{summary['public_suffix'].rpartition('.')[2]} is a heavily abused TLD")
    return notes


# --- Public suffix -------------------------------------------------------------------------------


def split(host: str) -> Split:
    """Split a host at its public suffix (ICANN rules; an unknown TLD is its own suffix)."""
    labels = host.split(".")
    start = _suffix_start(labels)
    suffix = ".".join(labels[start:])
    known_tld = psl.is_tld(labels[-1])
    if start == 0:
        return Split(None, suffix, None, known_tld)
    registrable = ".".join(labels[start - 1 :])
    subdomain = ".".join(labels[: start - 1]) or None
    return Split(registrable, suffix, subdomain, known_tld)


def _suffix_start(labels: list[str]) -> int:
    """Return the index of the first label of the longest public suffix (default rule: the TLD)."""
    for start in range(len(labels)):
        if psl.is_public_suffix(".".join(labels[start:])):
            return start
    return len(labels) - 1


# --- IDN and homographs --------------------------------------------------------------------------


def to_unicode(label: str) -> str:
    """Return a label with its punycode (``xn--``) decoded; a malformed one comes back as given."""
    if not label.startswith("xn--"):
        return label
    try:
        return label[4:].encode("ascii").decode("punycode")
    except UnicodeError:
        return label


def scripts(text: str) -> set[str]:
    """Return the scripts of the letters in ``text`` (lower-case names: latin, cyrillic, cjk...)."""
    found = set()
    for char in text:
        if unicodedata.category(char) in ("Ll", "Lu", "Lt", "Lo"):
            found.add(unicodedata.name(char, "unknown").split()[0].split("-")[0].lower())
    return found


def mixed_scripts(host: str) -> list[str]:
    """Return the scripts of the first label that mixes them in an unusual way ([] when none does)."""
    for label in host.split("."):
        found = scripts(to_unicode(label))
        if len(found) > 1 and not any(found <= allowed for allowed in _ALLOWED_MIXES):
            return sorted(found)
    return []


def skeleton(text: str) -> str:
    """Map look-alike letters to the Latin letters they imitate; strip accents (NFKD marks)."""
    table = confusables()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(table.get(char, char) for char in decomposed if not unicodedata.combining(char))


def homograph_of(parts: Split, unicode_label: str) -> str | None:
    """Return the brand an IDN label imitates once its look-alike letters are read as Latin."""
    latin = skeleton(unicode_label)
    if not latin.isascii():
        return None
    candidate = f"{latin}.{parts.suffix}"
    imitated = brand_match(Split(candidate, parts.suffix, None, parts.known_tld), latin)
    return own_brand(candidate) or (imitated.brand if imitated else None)


def _has_confusable_mix(host: str, mixed: list[str]) -> bool:
    """Return True when a label mixes Latin with letters of another script that imitate Latin ones."""
    if _IMITATED_SCRIPT not in mixed:
        return False
    table = confusables()
    return any(char in table for char in "".join(to_unicode(label) for label in host.split(".")))


# --- Brands and look-alikes ----------------------------------------------------------------------


def own_brand(registrable: str | None) -> str | None:
    """Return the brand whose own domain this registrable domain is, if any."""
    return brand_domains().get(registrable) if registrable else None


def brand_match(parts: Split, label: str) -> Match | None:
    """Return the closest brand resemblance of a registrable label (none for a brand's own domain)."""
    if own_brand(parts.registrable):
        return None
    matches = [m for brand in brands() if (m := match_label(label, brand.name))]
    if matches:
        return min(matches, key=lambda m: (_KIND_RANK[m.kind], m.distance if m.distance is not None else 99))
    return subdomain_match(parts.subdomain)


def match_label(label: str, name: str) -> Match | None:
    """Return how a label resembles one brand name: exactly, by a few edits, or with extra words."""
    if label == name:
        return Match(name, "exact_other_suffix", 0)
    distance = edit_distance(label, name)
    if ascii_skeleton(label) == ascii_skeleton(name) or 0 < distance <= max_distance(name):
        return Match(name, "typo", distance)
    words = [word for word in label.split("-") if word]
    close = [edit_distance(word, name) for word in words if _word_matches(word, name)]
    if close:
        return Match(name, "embedded", min(close))
    if len(name) >= _MIN_SUBSTRING_BRAND and _embedded_with_lure(label, name):
        return Match(name, "embedded", None)
    return None


def _embedded_with_lure(label: str, name: str) -> bool:
    """Return True when a label glues a brand name to a lure word (paypalsecure, netflixbilling)."""
    flat = ascii_skeleton(label.replace("-", ""))
    brand = ascii_skeleton(name)
    if brand not in flat:
        return False
    rest = [piece for piece in flat.split(brand) if piece]
    return any(piece in _LURE_WORDS or _starts_or_ends_with_lure(piece) for piece in rest)


def _starts_or_ends_with_lure(piece: str) -> bool:
    """Return True when a piece of a label begins or ends with a lure word of 4 or more letters."""
    return any(len(word) >= 4 and (piece.startswith(word) or piece.endswith(word)) for word in _LURE_WORDS)


def _word_matches(word: str, name: str) -> bool:
    """Return True when one hyphen-separated word of a label is the brand name or a look-alike of it."""
    if ascii_skeleton(word) == ascii_skeleton(name):
        return True
    return len(word) >= 4 and 0 < edit_distance(word, name) <= max_distance(name)


def subdomain_match(subdomain: str | None) -> Match | None:
    """Return the brand whose own domain appears inside the subdomain (paypal.com.evil.example)."""
    if not subdomain:
        return None
    padded = f".{subdomain}."
    for domain, name in brand_domains().items():
        if f".{domain}." in padded:
            return Match(name, "subdomain", None)
    return None


def max_distance(name: str) -> int:
    """Return how many edits away from a brand name a label may be to count as a look-alike."""
    return next((edits for length, edits in _TYPO_DISTANCE if len(name) >= length), 0)


def ascii_skeleton(text: str) -> str:
    """Replace ASCII digits and pairs that read as letters (0 -> o, 1 -> l, rn -> m)."""
    for lookalike, letter in _ASCII_LOOKALIKES:
        text = text.replace(lookalike, letter)
    return text


def edit_distance(a: str, b: str) -> int:
    """Return the optimal-string-alignment (restricted Damerau-Levenshtein) distance of two strings."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


# --- DGA-likeness --------------------------------------------------------------------------------


def shannon_entropy(text: str) -> float:
    """Return the Shannon entropy of the characters of ``text`` in bits per character."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def dga_score(label: str) -> float:
    """Score how machine-generated an ASCII label looks, 0 (word-like) to 1 (random).

    Five signals, each scaled linearly to 0-1 between a word-like and a random-like value:
    entropy 2.5-3.6 bits/char (weight 0.25), longest stretch without a vowel 3-6 characters (0.25),
    vowel ratio 0.38-0.15 (0.25; y counts as a vowel), digit ratio 0.05-0.3 (0.15), length 8-20
    (0.10). Labels shorter than 8 characters are damped in proportion: they carry too little signal.
    """
    text = label.replace("-", "")
    if not text:
        return 0.0
    n = len(text)
    vowels = sum(char in _VOWELS for char in text)
    digits = sum(char.isdigit() for char in text)
    signals = (
        0.25 * _scale(shannon_entropy(text), 2.5, 3.6),
        0.25 * _scale(_longest_run_without_vowels(text), 3, 6),
        0.25 * _scale(0.38 - vowels / n, 0.0, 0.23),
        0.15 * _scale(digits / n, 0.05, 0.3),
        0.10 * _scale(n, 8, 20),
    )
    return round(min(1.0, n / 8) * sum(signals), 2)


def _scale(value: float, low: float, high: float) -> float:
    """Map ``value`` linearly from [low, high] to [0, 1], clipped."""
    return min(1.0, max(0.0, (value - low) / (high - low)))


def _longest_run_without_vowels(text: str) -> int:
    """Return the length of the longest stretch of consonants and digits."""
    longest = run = 0
    for char in text:
        run = 0 if char in _VOWELS else run + 1
        longest = max(longest, run)
    return longest


# --- Bundled data --------------------------------------------------------------------------------


def _data_text(name: str) -> str:
    """Return the text of a data file bundled in the ``plugins`` package."""
    return resources.files("plugins").joinpath(name).read_text(encoding="utf-8")


def _data_lines(name: str) -> list[list[str]]:
    """Return the fields of each non-comment line of a bundled data file."""
    rows = []
    for line in _data_text(name).splitlines():
        fields = line.partition("#")[0].split()
        if fields:
            rows.append(fields)
    return rows


@cache
def brands() -> tuple[Brand, ...]:
    """Return the bundled brands (``brands.txt``), read once."""
    return tuple(Brand(fields[0], frozenset(fields[1:])) for fields in _data_lines("brands.txt"))


@cache
def brand_domains() -> dict[str, str]:
    """Return each bundled brand domain with the (first) brand that uses it."""
    owners: dict[str, str] = {}
    for brand in brands():
        for domain in sorted(brand.domains):
            owners.setdefault(domain, brand.name)
    return owners


@cache
def confusables() -> dict[str, str]:
    """Return the bundled look-alike characters (``confusables.txt``) and the letters they imitate."""
    return {chr(int(fields[0][2:], 16)): fields[1] for fields in _data_lines("confusables.txt")}


@cache
def tld_reputation() -> dict[str, str]:
    """Return the bundled TLD abuse levels (``tld_reputation.json``): high, medium or low."""
    data = json.loads(_data_text("tld_reputation.json"))
    return {str(tld): str(level) for tld, level in data["tlds"].items()}
