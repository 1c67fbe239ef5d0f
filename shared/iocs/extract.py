"""Extract indicators of compromise from free text, as pure functions (see docs/extraction.md).

``extract(text)`` refangs the text, finds URLs, e-mail addresses, domains, IPv4/IPv6 addresses,
md5/sha1/sha256/sha512 hashes and CVE ids, and returns them normalised (as ``normalize()`` would)
and de-duplicated in order of first appearance: ``{type: [values]}`` without empty types. A URL's
host and an e-mail's domain are also listed under ``domain`` (or ``ip``).

What is not an indicator is left out: non-global IPs, reserved and example names (RFC 2606/6761),
unknown TLDs (checked against the bundled Public Suffix List), version and section numbers, file
names whose extension is also a TLD unless the text marks them as hosts, hex strings that are not
hashes, and trailing punctuation or unbalanced closing brackets after a URL.

Names written in any script are found whole and returned in punycode ("bücher.de" is
"xn--bcher-kva.de"): no candidate starts or ends inside a word of any script (a token that is not
ASCII is searched in its shadow, ``_shadow``). An IPv6 address with an IPv4 tail is read whole.

Every pattern has bounded repetition and starts only at a token boundary, so the running time is
linear in the length of the text.
"""

from __future__ import annotations

import ipaddress
import re
import string
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import filterfalse

from shared.iocs import psl
from shared.iocs.fang import refang, refang_lowered
from shared.iocs.normalize import (
    InvalidIoc,
    ip_text,
    is_global_ip,
    is_ip,
    normalize_domain,
    normalize_ip,
    normalize_url,
    url_host,
)

TYPES: tuple[str, ...] = ("ip", "domain", "url", "hash", "email", "cve")

# Up to 63 letters, digits and hyphens, not starting or ending with a hyphen. Only ever used inside an
# atomic group, where it matches what "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?" does (the
# longest such run): the engine counts the run at C speed and backs off only over final hyphens.
_LABEL = r"[A-Za-z0-9][A-Za-z0-9-]{0,62}(?<!-)"
# A label is never followed by a letter, digit or hyphen where a dot, a separator or the end must
# come, so a shorter one never helps: the atomic group spares the engine trying them all.
_ATOMIC_LABEL = rf"(?>{_LABEL})"
_NAME = rf"(?:{_ATOMIC_LABEL}\.){{1,126}}(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})"
_URL = re.compile(
    r"(?<![A-Za-z0-9+.-])(?i:https?|ftps?|sftp|wss?|smb|ssh|telnet|rdp|ldaps?|irc|tcp|udp)"
    r"://[^\s<>\"'`{}|\\^]{1,8192}"
)
# The local part is possessive: the at-sign is not one of its characters, so no shorter local
# part could be followed by one, and the engine need not try them all on every dotted name.
_EMAIL = re.compile(
    rf"(?<![A-Za-z0-9._%+-])[A-Za-z0-9_%+-][A-Za-z0-9._%+-]{{0,63}}+@{_NAME}"
    r"(?![A-Za-z0-9-])"
)
# Not after a path separator (a file name) nor inside a longer dotted token.
_DOMAIN = re.compile(rf"(?<![A-Za-z0-9.@/\\_-]){_NAME}(?![A-Za-z0-9_-]|\.[A-Za-z0-9])")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
# The dotted quad is written out: a counted repeat of a group costs the engine more than three copies.
_QUAD = rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}"
_IPV4 = re.compile(rf"(?<![A-Za-z0-9.]){_QUAD}(?![A-Za-z0-9]|\.[0-9])")
# An IPv4 tail ("::ffff:8.8.8.8") is read whole: the hex-and-colon run may not end in a group of
# one to three digits that the rest of a dotted quad follows (it then gives back the group, which
# starts the tail), and the tail ends as a dotted quad does (no longer dotted number; a colon may
# follow: nothing continues an address after its tail, so "::ffff:8.8.8.8:53" is one with a port).
# Other runs end as before ("2606:4700::1111.53", an address and port as tcpdump writes them).
_IPV6 = re.compile(
    r"(?<![A-Za-z0-9:.])(?=[0-9A-Fa-f]{0,4}::?[0-9A-Fa-f])[0-9A-Fa-f:]{2,39}"
    r"(?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![A-Za-z0-9]|\.[0-9])"
    r"|(?![A-Za-z0-9:]|(?:(?<=:[0-9])|(?<=:[0-9]{2})|(?<=:[0-9]{3}))\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]))"
)
_HASH = re.compile(r"(?<![A-Za-z0-9])[0-9A-Fa-f]{32,128}(?![A-Za-z0-9])")
# CVE ids as analysts paste them: any case, hyphen or the dashes of Word and PDF copies (U+2010
# hyphen, U+2011 non-breaking hyphen, U+2012 figure dash, U+2013 en dash, U+2014 em dash, U+2212
# minus) or an underscore; a sequence of 4 to 7 digits not glued to more digits or letters.
_CVE_DASH = "[-_\u2010\u2011\u2012\u2013\u2014\u2212]"
# The letter C comes first so that the engine skips to the next one; the characters before it are
# those [A-Za-z0-9] matches ignoring case (the Kelvin sign, the long s, dotted and dotless i).
_CVE = re.compile(
    rf"[Cc](?<![A-Za-z0-9\u0130\u0131\u017f\u212a][Cc])[Vv][Ee](?:{_CVE_DASH}| )([0-9]{{4}}){_CVE_DASH}([0-9]{{4,7}})"
    r"(?![0-9])"
)
_CVE_FIRST_YEAR, _CVE_LAST_YEAR = 1999, 2099
# A URL's scheme (up to its first "://", as ``str.partition`` splits) and its authority; the host is
# group 2.
_PLAIN_AUTHORITY = re.compile(
    rf"(?>(?P<scheme>[\s\S]*?)://)(?P<host>{_NAME}|(?P<ipv4>{_QUAD}))(?::(?P<port>[0-9]{{1,5}}))?(?=[/?#]|$)"
)
_HASH_LENGTHS = frozenset({32, 40, 64, 128})

# "version 1.2.3.4", "section 10.2.1.4", "build 5.1.2600.1": numbers, not addresses.
_VERSION_BEFORE = re.compile(
    r"(?:\b(?:v|ver|versions?|builds?|releases?|rev|revision|sections?|sec|chapters?|clauses?|patch|"
    r"firmware|fw|oid|updates?|kb|rule|sid)[\s.:#=-]{0,3}|\u00a7\s?)$",
    re.IGNORECASE,
)
_VERSION_WORDS = tuple(
    "v ver version versions build builds release releases rev revision section sections sec chapter "
    "chapters clause clauses patch firmware fw oid update updates kb rule sid".split()
)
_VERSION_SEPARATORS = " \t\n\r\f\v.:#=-"
# The letters a version word ends with, in either case: a text that ends otherwise ends in none.
_VERSION_LAST_LETTERS = frozenset(word[-1] for word in _VERSION_WORDS) | frozenset(
    word[-1].upper() for word in _VERSION_WORDS
)
# TLDs that are also common file extensions: plain "update.zip" is a file, "update[.]zip" a host.
FILE_LIKE_TLDS = frozenset(
    "zip mov md py sh pl rs ps pub one cab properties java mo pm so tf mk cf mm ml run data".split()
)
# Identifiers of code and logs that read like names: "logger.info", "self.name", "window.top".
_CODE_OBJECTS = frozenset(
    "self this cls logger log logging console window document user request response req res args "
    "kwargs obj os sys app process event err error data item file path module exports math json "
    "string system config settings db session model ctx context result node element el".split()
)
_RESERVED_NAMES = frozenset({"example.com", "example.net", "example.org", "home.arpa"})
_RESERVED_SUFFIXES = tuple(sorted("." + name for name in _RESERVED_NAMES))
_RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost", "local", "arpa", "internal"})
_NOT_DOMAINS = frozenset({"asp.net", "vb.net", "ado.net"})
_EXCLUDED_NAMES = _RESERVED_NAMES | _NOT_DOMAINS
_RESERVED_NAME_TLDS = frozenset(name.rpartition(".")[2] for name in _EXCLUDED_NAMES)
_URL_TRAILING = ".,;:!?*~"
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}
_DOT_SEPARATOR = r"(?:\.|\\?[\[({](?:\.|dot)\\?[\])}]|[ \t]?[\[({]dot[\])}][ \t]?|[ \t]+dot[ \t]+)"
_AFTER_MARKER = re.compile(r"[\])}dD](?:(?<=[\])}])[ \t]?|(?<=[dD])[oO][tT][ \t]+)([A-Za-z0-9-]{1,63})")
# The two branches of ``_AFTER_MARKER`` apart, each starting with a literal (which the engine jumps
# to), for the lower-case copy of an ASCII text.
_AFTER_CLOSERS = tuple(
    (closer, re.compile(re.escape(closer) + r"[ \t]?([a-z0-9-]{1,63})")) for closer in ")]}"
)
_AFTER_DOT = re.compile(r"dot[ \t]+([a-z0-9-]{1,63})")
_DEFANGED_HINT = re.compile(r"[\[({](?:\.|dot)|[ \t]dot[ \t]", re.IGNORECASE)
_SEPARATOR = re.compile(f"({_DOT_SEPARATOR})", re.IGNORECASE)
# A dotted name in the original text, dots written plainly or defanged.
_DEFANGED_RUN = re.compile(
    rf"(?<![A-Za-z0-9-]){_ATOMIC_LABEL}(?:{_DOT_SEPARATOR}{_ATOMIC_LABEL})+", re.IGNORECASE
)
# IANA special-purpose IPv4 blocks as integer ranges, and whether Python versions differ on them
# (True: ask ``is_global_ip``; False: never global).
_SPECIAL_IPV4 = sorted(
    (int(network.network_address), int(network.broadcast_address), ask)
    for blocks, ask in (
        (
            "0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 172.16.0.0/12 192.0.2.0/24 "
            "192.168.0.0/16 198.18.0.0/15 198.51.100.0/24 203.0.113.0/24 224.0.0.0/3",
            False,
        ),
        ("192.0.0.0/24 192.31.196.0/24 192.52.193.0/24 192.88.99.0/24 192.175.48.0/24", True),
    )
    for network in map(ipaddress.IPv4Network, blocks.split())
)
_SPECIAL_IPV4_STARTS = [start for start, _, _ in _SPECIAL_IPV4]
_SPECIAL_IPV4_ENDS = [end for _, end, _ in _SPECIAL_IPV4]
_SPECIAL_IPV4_ASK = [ask for _, _, ask in _SPECIAL_IPV4]
# First octets (as the candidate pattern writes them: no leading zero) outside every special block.
_GLOBAL_FIRST_OCTETS = frozenset(
    str(octet)
    for octet in range(256)
    if not any(start >> 24 <= octet <= end >> 24 for start, end, _ in _SPECIAL_IPV4)
)


_ALNUM = re.compile("[A-Za-z0-9]")
# What usually follows a candidate in its token; stripping it is quicker than searching ``_ALNUM``.
_PUNCTUATION = string.punctuation


# Scripts whose text glues indicators to the words around them: those written without spaces
# (Han, kana, Thai, Lao, Myanmar, Khmer: "IP地址1.2.3.4进行", "请访问evil.com") and Hangul, whose
# particles join the word before ("evil.com입니다"). Their characters end a word as punctuation
# does; names written in them are therefore not found.
_UNSPACED_SCRIPTS = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul jamo
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x31F0, 0x31FF),  # Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width katakana
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


def unspaced(code: int) -> bool:
    """Return True for a character of a script that glues indicators to its words."""
    return any(low <= code <= high for low, high in _UNSPACED_SCRIPTS)


class _ShadowTable(dict[int, int]):
    """For ``str.translate``: each letter, digit or combining mark outside ASCII to "z" (but those of
    scripts written without spaces), every other character to itself (filled as characters are met)."""

    def __missing__(self, code: int) -> int:
        char = chr(code)
        letter = char.isalnum() or unicodedata.category(char)[0] == "M"
        shadow = _Z if code > 0x7F and letter and not unspaced(code) else code
        if len(self) < 65536:
            self[code] = shadow
        return shadow


_Z = ord("z")
_SHADOW_TABLE = _ShadowTable()
# Characters that join the letters of a word but start none: the soft hyphen (which IDNA drops),
# the joiners and the IDNA "CONTEXTO" punctuation; the middle dot only in the Catalan "l·l".
_JOINER = re.compile("[\u00ad\u00b7\u0375\u05f3\u05f4\u200c\u200d\u30fb]")
_JOINER_IN_WORD = re.compile(
    "(?<=[A-Za-z0-9])[\u00ad\u0375\u05f3\u05f4\u200c\u200d\u30fb](?=[A-Za-z0-9])|(?<=[lL])\u00b7(?=[lL])"
)


def _shadow(text: str) -> str:
    """Return ``text`` with each letter, digit or mark outside ASCII (and each joiner inside a word)
    written "z": the same length, and the ASCII patterns see every word as a word.

    A non-ASCII token is searched in its shadow, and a candidate's value is read from the token at
    the same place: no candidate starts or ends inside a word of any script, and a name with
    letters of any script is one candidate (its labels count as the ASCII patterns count them).
    "z" is no hex digit, so no address or hash takes in such a character.
    """
    shadow = text.translate(_SHADOW_TABLE)
    if _JOINER.search(shadow) is not None:
        shadow = _JOINER_IN_WORD.sub("z", shadow)
    return shadow


@lru_cache(maxsize=4096)
def _idna_name(name: str) -> str | None:
    """Return the normal form (punycode) of a name written with letters outside ASCII, else None."""
    try:
        return normalize_domain(name)
    except InvalidIoc:
        return None


def _idna_label(label: str) -> str:
    """Return a label in lower-case punycode, or "" when it is no valid IDNA label."""
    if label.isascii():
        return label.lower()
    name = _idna_name(label + ".com")
    return "" if name is None or name.count(".") != 1 else name[:-4]


# Every candidate in one left-to-right pass. At one position the first alternative that matches
# wins; when its value is rejected the later alternatives are tried at the same position.
_ALTERNATIVES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("url", _URL),
    ("email", _EMAIL),
    ("ipv6", _IPV6),
    ("ipv4", _IPV4),
    ("domain", _DOMAIN),
    ("hash", _HASH),
)


@lru_cache(maxsize=64)
def _candidates(kinds: tuple[str, ...]) -> re.Pattern[str]:
    """Return one pattern for the given alternatives (every one of them excludes a letter or digit
    before its start, so that test comes first, once)."""
    branches = "|".join(f"(?P<{kind}>{pattern.pattern})" for kind, pattern in _ALTERNATIVES if kind in kinds)
    return re.compile(f"(?<![A-Za-z0-9])(?:{branches})")


_FALLBACKS = {kind: _ALTERNATIVES[index + 1 :] for index, (kind, _) in enumerate(_ALTERNATIVES)}


_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# The characters of ``_NOT_TEXT`` an ASCII text can hold, as bytes.
_ASCII_CONTROLS = bytes(range(0x20)).translate(None, b"\t\n\r") + b"\x7f"
# Each byte to itself but those, to NUL (one of them): translating without deleting is the quicker loop.
_CONTROLS_TO_NUL = bytes(0 if byte in _ASCII_CONTROLS else byte for byte in range(256))


def _has_control(text: str) -> bool:
    """Return True when ``text`` holds a character of ``_NOT_TEXT``; ASCII text is checked on its
    bytes, which is several times faster than the regex engine's scan."""
    if text.isascii():
        raw = text.encode("ascii")
        return b"\0" in raw.translate(_CONTROLS_TO_NUL)
    return _NOT_TEXT.search(text) is not None


def extract(text: str) -> dict[str, list[str]]:
    """Return the indicators in ``text`` by type, refanged, normalised and in order of appearance."""
    if _has_control(text):
        # Control characters and lone surrogates end a token: they are never part of an indicator.
        text = _NOT_TEXT.sub(" ", text)
    plain, lowered = refang_lowered(text)
    found: dict[str, dict[str, None]] = {kind: {} for kind in TYPES}
    _Scan(text, plain, found).run_tokens()
    if "cve" in lowered:
        cves = found["cve"]
        for match in _cve_matches(plain, lowered):
            value = _cve_value(match)
            if value is not None:
                cves[value] = None
    return {kind: list(values) for kind, values in found.items() if values}


def _cve_matches(plain: str, lowered: str) -> Iterator[re.Match[str]]:
    """Yield what ``_CVE.finditer(plain)`` yields, trying the pattern only where "cve" is.

    Each match starts with the letters C, V, E in some case, and no match holds another C, so the
    matches are those at the places of "cve" in the lower-case text (the same places as in
    ``plain`` when lower-casing kept every character one character long).
    """
    if len(lowered) != len(plain):
        yield from _CVE.finditer(plain)
        return
    match_at = _CVE.match
    at = lowered.find("cve")
    while at != -1:
        match = match_at(plain, at)
        if match is not None:
            yield match
        at = lowered.find("cve", at + 3)


def _cve_value(match: re.Match[str]) -> str | None:
    year, number = match.group(1), match.group(2)
    if not _CVE_FIRST_YEAR <= int(year) <= _CVE_LAST_YEAR or (len(number) > 4 and number[0] == "0"):
        return None
    return f"CVE-{year}-{number}"


def is_public_domain(name: str) -> bool:
    """Return True for a lower-case name under a known TLD that is not reserved for examples."""
    tld = name.rpartition(".")[2]
    if tld in (_PLAIN_TLDS or _plain_tlds()):
        if tld in _RESERVED_NAME_TLDS and (name in _EXCLUDED_NAMES or name.endswith(_RESERVED_SUFFIXES)):
            return False
        return len(tld) < len(name) <= 253
    if tld == "onion":
        return len(name) > 6
    table = psl.rules()
    if tld not in table.tlds or tld in _RESERVED_TLDS or len(name) > 253 or name in _NOT_DOMAINS:
        return False
    if name.endswith(_RESERVED_SUFFIXES) or name in _RESERVED_NAMES:
        return False
    # psl.is_public_suffix, inline
    if name in table.exceptions:
        return True
    if name in table.rules:
        return False
    parent = name.partition(".")[2]
    return not parent or parent not in table.wildcards


# Filled on first use (the suffix list is read then, not at import).
_PLAIN_TLDS: frozenset[str] = frozenset()


def _plain_tlds() -> frozenset[str]:
    """Return the TLDs under which every longer name is public but for the reserved and excluded
    names (``_RESERVED_NAME_TLDS``): the list has no other rule, wildcard or exception under them."""
    global _PLAIN_TLDS
    if not _PLAIN_TLDS:
        table = psl.rules()
        special = {
            rule.rpartition(".")[2]
            for rule in table.rules | table.wildcards | table.exceptions
            if "." in rule
        }
        _PLAIN_TLDS = frozenset(table.tlds - special - table.wildcards - _RESERVED_TLDS - {"onion"})
    return _PLAIN_TLDS


def clear_caches() -> None:
    """Empty every cache of the extractor (the benchmark starts each pass cold)."""
    _TOKENS.clear()
    for cached in (check_url, _is_global_ipv4_slow, looks_like_hash, is_global_ipv6, _idna_name):
        cached.cache_clear()


# The findings of each distinct token whose findings do not depend on the text around it.
_TOKENS: dict[str, list[tuple[str, str]]] = {}
_TOKENS_MAX = 65536


class _Scan:
    """The scan of one text: finds candidates token by token and keeps those that are indicators.

    A token's findings depend on the token alone unless a check looked at the text around it (a
    version number before a dotted quad, a file-like name written defanged elsewhere); the others
    are remembered per distinct token (``_TOKENS``), since texts repeat their indicators.
    """

    def __init__(self, original: str, plain: str, found: dict[str, dict[str, None]]) -> None:
        self.original = original
        self.plain = plain
        self.found = found
        self.defanged: dict[str, frozenset[str]] = {}
        self.lines: tuple[str, list[str]] | None = None
        self.after_marker: set[str] | None = None
        self.token = ""
        # The token itself where ``token`` is its shadow (a token that is not ASCII), and what
        # accepts each kind of candidate there.
        self.source = ""
        self.accepters = _ACCEPTERS
        self.base = 0
        self.records: list[tuple[str, str]] = []
        self.contextual = False

    def run_tokens(self) -> None:
        """Scan each white-space-separated token that can hold a candidate; none holds white space.

        A token is searched on its own: every candidate pattern sees white space around it as it
        sees the ends of a string. Only tokens with a dot, an at-sign, a colon or 32 characters
        can hold one.
        """
        plain = self.plain
        found = self.found
        tokens = _TOKENS
        find = plain.find
        offset = 0
        # Most words are letters only: ``filterfalse`` drops them without a turn of this loop.
        for token in filterfalse(str.isalpha, plain.split()):
            if (
                (size := len(token)) < 32
                and "@" not in token
                and (
                    ("." not in token and ":" not in token)  # other words
                    or ("." not in (bare := token.rstrip(".:")) and ":" not in bare)  # "opened.", "From:"
                )
            ):
                continue
            # The first occurrence from the end of the last such token is this one: the tokens
            # in between hold no dot, at-sign or colon and are too short to hold this one.
            base = find(token, offset)
            offset = base + size
            records = tokens.get(token)
            if records is None:
                # The first scan of this token (inline: it is the hot path). A token that got here
                # holds a dot, a colon, an at-sign or 32 characters, so it has a pattern.
                self.token = token
                self.base = base
                self.records = []
                self.contextual = False
                pattern = _PATTERNS[("://" in token, "@" in token, ":" in token, "." in token, size >= 32)]
                # The first turn of ``run``, inline: most tokens hold one candidate, found here. A
                # token that is not ASCII is scanned apart (and then holds no match here).
                match = (
                    pattern.search(token, 0, size)
                    if token.isascii()
                    else self.run_unicode(token, pattern, size)
                )
                if match is not None:
                    kind = match.lastgroup or ""
                    start = match.start()
                    value = match[0]
                    end = _ACCEPTERS[kind](self, start, value)
                    if end < 0:
                        self.run(pattern, self.resume_at(kind, start, value, match.end()), size)
                    elif not (
                        end >= size
                        or (size - end <= 16 and not token[end:size].strip(_PUNCTUATION))
                        or _ALNUM.search(token, end, size) is None
                    ):
                        self.run(pattern, end, size)
                records = self.records
                if not self.contextual:
                    if len(tokens) >= _TOKENS_MAX:
                        tokens.clear()
                    tokens[token] = records
            for kind, value in records:
                found[kind][value] = None

    def run_unicode(self, token: str, pattern: re.Pattern[str], size: int) -> re.Match[str] | None:
        """Scan a token that is not ASCII: its shadow (``_shadow``) with the ASCII patterns, every
        retry and rescan included, and each candidate's value read from the token. Return None
        (for ``run_tokens``: no match left to accept)."""
        self.source = token
        self.token = _shadow(token)
        self.accepters = _UNICODE_ACCEPTERS
        try:
            self.run(pattern, 0, size)
        finally:
            self.accepters = _ACCEPTERS
        return None

    def resume_at(self, kind: str, start: int, value: str, match_end: int) -> int:
        """Return where a scan goes on after its candidate ``value`` at ``start`` was rejected.

        A rejected URL's span is scanned again without URLs first, and the scan goes on after it.
        """
        if kind == "url":
            inner = _token_pattern(value, with_urls=False)
            if inner is not None:
                self.run(inner, start + 1, match_end)
            return match_end
        return self.retry(kind, start, value)

    def run(self, pattern: re.Pattern[str], pos: int, endpos: int) -> None:
        """Scan ``token[pos:endpos]``; a rejected URL's span is scanned again without URLs."""
        token = self.token
        search = pattern.search
        accepters = self.accepters
        while True:
            match = search(token, pos, endpos)
            if match is None:
                return
            kind = match.lastgroup or ""
            start = match.start()
            value = match[0]
            end = accepters[kind](self, start, value)
            if end >= 0:
                # Every candidate holds a letter or digit: nothing left to find without one. Most
                # tokens end in a little punctuation, which a strip tells quicker than ``_ALNUM``
                # (on a long rest the regex engine's scan is the quicker).
                if (
                    end >= endpos
                    or (endpos - end <= 16 and not token[end:endpos].strip(_PUNCTUATION))
                    or _ALNUM.search(token, end, endpos) is None
                ):
                    return
                pos = end
                continue
            pos = self.resume_at(kind, start, value, match.end())

    def retry(self, kind: str, start: int, value: str) -> int:
        """Try the later alternatives where a candidate of ``kind`` was rejected; return where
        scanning resumes.

        None of them can match at a dotted quad that no hyphen or dot continues: a name's labels
        would end with its digits, which no top-level domain is, and a hash has no dot among its
        first four characters. Nor can any candidate start inside the quad: each excludes a letter
        or a digit before it, all but the hash also a dot, and no hash fits between two dots.
        """
        token = self.token
        end = start + len(value)
        if kind == "ipv4" and token[end : end + 1] not in ("-", "."):
            return end
        for other, alternative in _FALLBACKS[kind]:
            match = alternative.match(token, start)
            if match is not None:
                end = self.accepters[other](self, start, match[0])
                if end >= 0:
                    return end
        return start + 1

    def accept(self, kind: str, start: int, value: str) -> int:
        """Record ``value`` if it is an indicator of ``kind``; return where scanning resumes, or -1."""
        return self.accepters[kind](self, start, value)

    def accept_domain(self, start: int, value: str) -> int:
        name = value.lower()
        if not is_public_domain(name) or not self.domain_in_context(value, name):
            return -1
        self.records.append(("domain", name))
        return start + len(value)

    def accept_url(self, start: int, value: str) -> int:
        raw = trim_url(value)
        checked = check_url(raw)
        if checked is None:
            return -1
        self.records += (("url", checked[0]), (checked[1], checked[2]))
        return start + len(raw)

    def accept_ipv4(self, start: int, value: str) -> int:
        if not is_global_ipv4(value) or self.version_number(start):
            return -1
        self.records.append(("ip", value))
        return start + len(value)

    def accept_hash(self, start: int, value: str) -> int:
        if len(value) not in _HASH_LENGTHS or not looks_like_hash(value):
            return -1
        self.records.append(("hash", value.lower()))
        return start + len(value)

    def accept_email(self, start: int, value: str) -> int:
        local, _, domain = value.partition("@")
        domain = domain.lower()
        if local.endswith(".") or ".." in local or not is_public_domain(domain):
            return -1
        self.records += (("email", f"{local}@{domain}"), ("domain", domain))
        return start + len(value)

    def accept_ipv6(self, start: int, value: str) -> int:
        address = is_global_ipv6(value) if value.count(":") >= 2 else None
        if address is None:
            if "." in value and is_ip(value):
                # An address with an IPv4 tail that is not global: its tail is no address of its own.
                return start + len(value)
            return -1
        self.records.append(("ip", address))
        return start + len(value)

    def accept_unicode_url(self, start: int, value: str) -> int:
        return self.accept_url(start, self.source[start : start + len(value)])

    def accept_unicode_email(self, start: int, value: str) -> int:
        value = self.source[start : start + len(value)]
        if value.isascii():
            return self.accept_email(start, value)
        # The local part as written (``normalize_email`` allows any letters there), the domain in
        # its normal form.
        local, _, domain = value.partition("@")
        name = domain.lower() if domain.isascii() else _idna_name(domain)
        if name is None or local.endswith(".") or ".." in local or not is_public_domain(name):
            return -1
        self.records += (("email", f"{local}@{name}"), ("domain", name))
        return start + len(value)

    def accept_unicode_domain(self, start: int, value: str) -> int:
        raw = self.source[start : start + len(value)]
        if raw.isascii():
            return self.accept_domain(start, raw)
        name = _idna_name(raw)
        if (
            name is None
            or not is_public_domain(name)
            or not self.domain_in_context(raw, name, check_markers=False)
        ):
            return -1
        self.records.append(("domain", name))
        return start + len(value)

    def version_number(self, start: int) -> bool:
        """Return True when the dotted quad at ``start`` follows "version", "build", "§", ..."""
        # White space counts once, as between two tokens; the keyword and three separators fit
        # in the last 13 characters.
        if start < 14:
            self.contextual = True  # the answer depends on the text before the token
        start += self.base
        window = self.plain[start - 40 if start > 40 else 0 : start]
        tail = window.rstrip(_VERSION_SEPARATORS)
        last = tail[-1:]
        if (
            last.isascii()
            and "\u00a7" not in window
            and (last not in _VERSION_LAST_LETTERS or not tail.lower().endswith(_VERSION_WORDS))
        ):
            # The common case, decided on the text as it is: what the test below reads ends where
            # ``tail`` does (an ASCII character, so no white space that test would skip follows).
            return False
        before = " ".join(self.plain[max(0, start - 40) : start + 1].split())[-14:-1]
        if "\u00a7" not in before and not before.rstrip(_VERSION_SEPARATORS).lower().endswith(_VERSION_WORDS):
            return False  # the common case, decided without the regex
        return _VERSION_BEFORE.search(before) is not None

    def domain_in_context(self, raw: str, name: str, check_markers: bool = True) -> bool:
        """Tell a host from a file name, a code identifier or two sentences missing a space.

        ``raw`` is the name as written, ``name`` its normal form (in punycode for a name written
        with letters outside ASCII, which then passes ``check_markers=False``: see
        ``written_defanged``).
        """
        head, _, last = raw.rpartition(".")
        if last[0].isupper() and last[1:].islower():
            previous = head.rpartition(".")[2]
            if not previous[:1].isupper():
                return False  # "the host.It was" : a missing space after a full stop
        dot = name.rfind(".")
        # A name of two labels whose first is a code object (which holds no dot).
        if name[dot + 1 :] in FILE_LIKE_TLDS or name[:dot] in _CODE_OBJECTS:
            self.contextual = True
            return self.written_defanged(name, check_markers)
        return True

    def labels_after_markers(self) -> set[str]:
        """Return what ``{label.lower() for label in _AFTER_MARKER.findall(self.original)}`` does.

        In an ASCII text the branches are searched apart, in its lower-case copy: a match after a
        closing bracket holds no other bracket, so those are all found; a match of "dot" is one
        unless it starts inside one of them (then the combined scan goes on from that one's end) or
        inside the previous match.
        """
        original = self.original
        if not original.isascii():
            return {label.lower() for label in _AFTER_MARKER.findall(original)}
        if self.lines is None:
            self.lines = (original.lower(), original.split("\n"))
        lowered = self.lines[0]
        labels: set[str] = set()
        for closer, pattern in _AFTER_CLOSERS:
            if closer in lowered:
                labels.update(pattern.findall(lowered))
        match = _AFTER_DOT.search(lowered) if "dot" in lowered else None
        if match is None:
            return labels
        spans = sorted(
            found.span()
            for closer, pattern in _AFTER_CLOSERS
            if closer in lowered
            for found in pattern.finditer(lowered)
        )
        starts = [start for start, _ in spans]
        search = _AFTER_DOT.search
        while match is not None:
            start = match.start()
            index = bisect_right(starts, start) - 1
            if index >= 0 and start < spans[index][1]:
                match = search(lowered, spans[index][1])
                continue
            labels.add(match[1])
            match = search(lowered, match.end())
        return labels

    def written_defanged(self, name: str, check_markers: bool = True) -> bool:
        """Return True when the original text writes ``name`` (or a subdomain of it) defanged.

        ``check_markers``: first look at the ASCII labels right after the markers, which is no test
        for a name with labels in punycode.
        """
        if self.plain == self.original:
            return False
        if check_markers:
            if self.after_marker is None:
                # Labels right after a closing marker or the word "dot": a cheap first test, since
                # a name written defanged has one of its labels there.
                self.after_marker = self.labels_after_markers()
            if self.after_marker.isdisjoint(name.split(".")[1:]):
                return False
        # The names are collected from the lines that hold the file-like last label, or for a code
        # identifier its first label; after three such labels from every line with a defanged dot
        # (the empty label), so the text is read at most four times.
        labels = name.split(".")
        key = labels[-1] if labels[-1] in FILE_LIKE_TLDS else labels[0] + "."
        if key not in self.defanged and len(self.defanged) >= 3:
            key = ""
        names = self.defanged.get(key)
        if names is None:
            if self.lines is None:
                self.lines = (self.original.lower(), self.original.split("\n"))
            names = self.defanged[key] = _defanged_names(self.lines, key.rstrip("."), not key.endswith("."))
        return name in names


# What ``_Scan.run`` calls for each kind of candidate.
_ACCEPTERS: dict[str, Callable[[_Scan, int, str], int]] = {
    "url": _Scan.accept_url,
    "email": _Scan.accept_email,
    "ipv6": _Scan.accept_ipv6,
    "ipv4": _Scan.accept_ipv4,
    "domain": _Scan.accept_domain,
    "hash": _Scan.accept_hash,
}
# The same in a token that is not ASCII, searched in its shadow: the values of URLs, e-mails and
# names are read from the token (addresses and hashes are ASCII, the same in both).
_UNICODE_ACCEPTERS = _ACCEPTERS | {
    "url": _Scan.accept_unicode_url,
    "email": _Scan.accept_unicode_email,
    "domain": _Scan.accept_unicode_domain,
}


def _token_pattern(token: str, with_urls: bool = True) -> re.Pattern[str] | None:
    """Return the candidate pattern with only the alternatives that ``token`` can hold."""
    return _PATTERNS.get(
        (with_urls and "://" in token, "@" in token, ":" in token, "." in token, len(token) >= 32)
    )


def _pattern_for(url: bool, email: bool, ipv6: bool, dotted: bool, long: bool) -> re.Pattern[str] | None:
    kinds = (
        ("url",) * url
        + ("email",) * email
        + ("ipv6",) * ipv6
        + ("ipv4", "domain") * dotted
        + ("hash",) * long
    )
    return _candidates(kinds) if kinds else None


# The pattern for each combination of (URL, e-mail, IPv6, dotted, long) a token can hold; a token
# that holds none of them has no entry.
_PATTERNS = {
    flags: pattern
    for flags in (
        (u, e, i, d, h)
        for u in (False, True)
        for e in (False, True)
        for i in (False, True)
        for d in (False, True)
        for h in (False, True)
    )
    if (pattern := _pattern_for(*flags)) is not None
}


def _wholly(low: int, high: int) -> bool | None:
    """Return the answer of ``is_global_ipv4`` for every address from ``low`` to ``high`` when it is
    the same for all of them and for every Python version (none of them in a block, or all in one
    block that is never global), else None."""
    overlapping = [block for block in _SPECIAL_IPV4 if block[0] <= high and block[1] >= low]
    if not overlapping:
        return True
    start, end, ask = overlapping[0]
    if len(overlapping) == 1 and start <= low and end >= high and not ask:
        return False
    return None


# First octets under which no address is global ("10", "127", "224", ...).
_NON_GLOBAL_FIRST_OCTETS = frozenset(
    str(octet) for octet in range(256) if _wholly(octet << 24, (octet << 24) | 0xFFFFFF) is False
)


def _two_octet_answers() -> dict[str, bool]:
    """Return the answer of ``is_global_ipv4`` for the addresses under each "a.b" that decides it,
    for the first octets that do not decide it alone."""
    answers = {}
    for first in range(256):
        if str(first) in _GLOBAL_FIRST_OCTETS or str(first) in _NON_GLOBAL_FIRST_OCTETS:
            continue
        for second in range(256):
            low = (first << 24) | (second << 16)
            answer = _wholly(low, low | 0xFFFF)
            if answer is not None:
                answers[f"{first}.{second}"] = answer
    return answers


def _runs_near_markers(lines: tuple[str, list[str]], label: str) -> Iterator[str]:
    """Yield the matches of ``_DEFANGED_RUN`` on the lines that hold ``label`` in lower case and a
    defanged dot (the others hold only runs with plain dots); no run crosses a line break. On a
    line that is not ASCII, the runs are those of its shadow (``_shadow``), read from the line.

    ``lines`` is the text in lower case and the text's lines (the lines of both are the same:
    ``lower()`` maps no character to or from a line break). The lines are found from the label,
    so the text is not searched for hints as a whole.
    """
    lowered, originals = lines
    number = scanned = 0
    at = lowered.find(label)
    while at != -1:
        number += lowered.count("\n", scanned, at)
        scanned = lowered.find("\n", at)
        if scanned == -1:
            scanned = len(lowered)
        line = originals[number]
        if _DEFANGED_HINT.search(line) is not None:
            if line.isascii():
                for match in _DEFANGED_RUN.finditer(line):
                    yield match[0]
            else:
                for match in _DEFANGED_RUN.finditer(_shadow(line)):
                    yield line[match.start() : match.end()]
        at = lowered.find(label, scanned + 1)


def _defanged_names(lines: tuple[str, list[str]], label: str, last: bool) -> frozenset[str]:
    """Return the names the text writes with a defanged dot, with their parents down to that dot,
    among those holding ``label`` (as their last label when ``last``): a name's run is on a line
    that holds each of its labels, and all the names of a run end in its last label."""
    names: set[str] = set()
    for run in _runs_near_markers(lines, label):
        if (
            (last and not run.lower().endswith(label))
            or ("[" not in run and "(" not in run and "{" not in run and "dot" not in run.lower())
            or refang(run) == run
        ):
            continue  # nothing defanged (refang changes only brackets and the word "dot" in a run)
        parts = _SEPARATOR.split(run)
        labels = list(map(str.lower if run.isascii() else _idna_label, parts[0::2]))[-127:]
        defanged = [separator != "." for separator in parts[1::2]][-126:]
        if True not in defanged:
            continue
        last_defanged = len(defanged) - 1 - defanged[::-1].index(True)
        suffix = labels[-1]
        for index in range(len(labels) - 2, -1, -1):
            suffix = f"{labels[index]}.{suffix}"
            if len(suffix) > 253:
                break
            if index <= last_defanged:
                names.add(suffix)
    return frozenset(names)


def is_global_ipv4(value: str) -> bool:
    """Return True for a globally routable dotted quad; same answer as ``is_global_ip``, faster.

    Addresses outside the IANA special-purpose blocks are global in every Python version, those in
    the blocks every version calls private, shared, loopback, link-local, documentation or
    multicast are not; the few others are left to ``is_global_ip``.
    """
    first = value.partition(".")[0]
    if first in _GLOBAL_FIRST_OCTETS:
        return True  # the common case: no special block starts with this octet
    if first in _NON_GLOBAL_FIRST_OCTETS:
        return False
    # The next common case: the first two octets decide (no block smaller than a /16 there).
    decided = _BY_TWO_OCTETS.get(value[: value.find(".", len(first) + 1)])
    if decided is not None:
        return decided
    a, b, c, d = value.split(".")
    number = (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)
    index = bisect_right(_SPECIAL_IPV4_STARTS, number) - 1
    if index < 0 or number > _SPECIAL_IPV4_ENDS[index]:
        return True
    return _SPECIAL_IPV4_ASK[index] and _is_global_ipv4_slow(value)


@lru_cache(maxsize=16384)
def _is_global_ipv4_slow(value: str) -> bool:
    return is_global_ip(value)


@lru_cache(maxsize=16384)
def is_global_ipv6(value: str) -> str | None:
    """Return the canonical text of a global IPv6 address, else None.

    Global unicast (2000::/3) outside 2001::/16, 2002::/16 and 3fff::/16 is global in every Python
    version; every other address is left to ``is_global_ip``.
    """
    if "::" not in value and value.count(":") != 7 and "." not in value:
        return None  # eight groups or "::" (or an IPv4 tail): "12:30:45" is a time
    groups = _ipv6_groups(value) if "." not in value else None
    if groups is not None:
        top = groups[0]
        if 0x2000 <= top <= 0x3FFE and top not in (0x2001, 0x2002):
            return _ipv6_text(groups)
        if not any(groups[:7]) and groups[7] <= 1:
            return None  # "::" and "::1": unspecified and loopback
        if (
            (top == 0x2001 and groups[1] == 0xDB8)
            or 0xFC00 <= top <= 0xFDFF
            or 0xFE80 <= top <= 0xFEBF
            or top >= 0xFF00
        ):
            return None  # documentation, unique-local, link-local, multicast: never global
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        return None
    text = ip_text(address)
    top = int(address) >> 112
    if 0x2000 <= top <= 0x3FFE and top not in (0x2001, 0x2002):
        return text
    return text if is_global_ip(text) else None


_HEX_AND_COLONS = re.compile(r"[0-9A-Fa-f:]{2,39}")


def _ipv6_groups(value: str) -> list[int] | None:
    """Return the eight 16-bit groups of an IPv6 address written in hex groups, else None."""
    if _HEX_AND_COLONS.fullmatch(value) is None:
        return None
    head, double, tail = value.partition("::")
    groups = head.split(":") if head else []
    after = tail.split(":") if tail else []
    missing = 8 - len(groups) - len(after)
    if (missing < 1) if double else (missing != 0 or not head):
        return None
    parts = groups + ["0"] * missing + after if double else groups
    if "" in parts or max(map(len, parts)) > 4:
        return None  # an empty group (":::", a colon at an end) or more than four digits
    return list(map(int, parts, _HEX_BASES))


_HEX_BASES = (16,) * 8


# ":0:0:...:0:" for runs of eight zero groups down to two, the longest first.
_ZERO_RUNS = tuple(":" + "0:" * length for length in range(8, 1, -1))


# The eight groups in hex between colons, in one call.
_GROUPS_TEXT = ":{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:".format


def _ipv6_text(groups: list[int]) -> str:
    """Return RFC 5952 text as ``ipaddress`` writes it: the first longest run of 2+ zero groups is "::".

    The groups are written between colons; the first place of the longest run of zero groups is
    where ``str.find`` first finds that many "0:" after a colon.
    """
    text = _GROUPS_TEXT(*groups)
    # No run is longer than the number of zero groups: the search starts at that length.
    count = groups.count(0)
    for zeros in _ZERO_RUNS[8 - count :] if count > 1 else ():
        at = text.find(zeros)
        if at != -1:
            return text[1:at] + "::" + text[at + len(zeros) : -1]
    return text[1:-1]


@lru_cache(maxsize=16384)
def looks_like_hash(value: str) -> bool:
    """Return True for hex that reads as a digest: one case, digits and letters, not a fill pattern."""
    lower = value.lower()
    if value != lower and value != value.upper():
        return False
    # Hex only: a digit is there unless all are letters, a letter unless all are digits. Six
    # distinct characters are nearly always among the first sixteen.
    return not value.isdigit() and not value.isalpha() and (len(set(lower[:16])) >= 6 or len(set(lower)) >= 6)


def trim_url(url: str) -> str:
    """Cut trailing punctuation, unbalanced closing brackets, list commas and Markdown ``](`` off."""
    if "," in url:  # the substring tests are quicker than a find that finds nothing
        url = url[: url.find(",")]
    if "](" in url:
        url = url[: url.find("](")]
    while url:
        last = url[-1]
        if last in _URL_TRAILING:
            url = url[:-1]
        elif last in _CLOSERS and url.count(_CLOSERS[last]) < url.count(last):
            url = url[:-1]
        else:
            break
    return url


@lru_cache(maxsize=16384)
def check_url(raw: str) -> tuple[str, str, str] | None:
    """Return (normalised URL, "ip" | "domain", host) for a URL with a public host, else None."""
    fast = _fast_check_url(raw)
    if fast is not None:
        return fast or None
    try:
        url = normalize_url(raw)
    except InvalidIoc:
        return None
    host = _public_host(url)
    return None if host is None else (url, host[0], host[1])


def _fast_check_url(raw: str) -> tuple[str, str, str] | tuple[()] | None:
    """Decide the common case (ASCII name or IPv4 host, no user info) without the IDNA codec.

    Returns the answer, ``()`` for a URL that is not an indicator, or None for "ask the slow path".
    """
    match = _PLAIN_AUTHORITY.match(raw) if raw.isascii() else None
    if match is None:
        return None
    scheme, host, ipv4, port = match.groups()
    if port is not None and not 0 < int(port) < 65536:
        return None
    if ipv4 is not None:
        url = f"{scheme.lower()}://{host}{raw[match.end(2) :]}"
        return (url, "ip", host) if is_global_ipv4(host) else ()
    host = host.lower()
    if not is_public_domain(host):
        return ()
    return f"{scheme.lower()}://{host}{raw[match.end(2) :]}", "domain", host


def _public_host(url: str) -> tuple[str, str] | None:
    """Return ("ip" | "domain", host) for a URL with a global or public host, else None."""
    host = url_host(url)
    if host is None:
        return None
    if ":" in host or host.replace(".", "").isdigit():
        try:
            address = normalize_ip(host)
        except InvalidIoc:
            return None
        return ("ip", address) if is_global_ip(address) else None
    return ("domain", host) if is_public_domain(host) else None


_BY_TWO_OCTETS = _two_octet_answers()
