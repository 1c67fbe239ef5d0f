"""Extract indicators of compromise from free text, as pure functions (see docs/extraction.md).

``extract(text)`` refangs the text, finds URLs, e-mail addresses, domains, IPv4/IPv6 addresses,
md5/sha1/sha256/sha512 hashes and CVE ids, and returns them normalised (as ``normalize()`` would)
and de-duplicated in order of first appearance: ``{type: [values]}`` without empty types. A URL's
host and an e-mail's domain are also listed under ``domain`` (or ``ip``).

What is not an indicator is left out: non-global IPs, reserved and example names (RFC 2606/6761),
unknown TLDs (checked against the bundled Public Suffix List), version and section numbers, file
names whose extension is also a TLD unless the text marks them as hosts, hex strings that are not
hashes, and trailing punctuation or unbalanced closing brackets after a URL.

Every pattern has bounded repetition and starts only at a token boundary, so the running time is
linear in the length of the text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from functools import lru_cache
from operator import itemgetter

from shared.iocs import psl
from shared.iocs.fang import refang
from shared.iocs.normalize import InvalidIoc, is_global_ip, normalize_ip, normalize_url, url_host

TYPES: tuple[str, ...] = ("ip", "domain", "url", "hash", "email", "cve")

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_NAME = rf"(?:{_LABEL}\.){{1,126}}(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})"
_URL = re.compile(
    r"(?<![A-Za-z0-9+.-])(?:https?|ftps?|sftp|wss?|smb|ssh|telnet|rdp|ldaps?|irc|tcp|udp)"
    r"://[^\s<>\"'`{}|\\^]{1,8192}",
    re.IGNORECASE,
)
_EMAIL = re.compile(
    rf"(?<![A-Za-z0-9._%+-])(?P<local>[A-Za-z0-9_%+-][A-Za-z0-9._%+-]{{0,63}})@(?P<domain>{_NAME})"
    r"(?![A-Za-z0-9-])"
)
# Not after a path separator (a file name) nor inside a longer dotted token.
_DOMAIN = re.compile(rf"(?<![A-Za-z0-9.@/\\_-]){_NAME}(?![A-Za-z0-9_-]|\.[A-Za-z0-9])")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?<![A-Za-z0-9.]){_OCTET}(?:\.{_OCTET}){{3}}(?![A-Za-z0-9]|\.[0-9])")
_IPV6 = re.compile(
    r"(?<![A-Za-z0-9:.])(?=[0-9A-Fa-f]{0,4}::?[0-9A-Fa-f])[0-9A-Fa-f:]{2,39}"
    r"(?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?(?![A-Za-z0-9:])"
)
_HASH = re.compile(r"(?<![A-Za-z0-9])[0-9A-Fa-f]{32,128}(?![A-Za-z0-9])")
_CVE = re.compile(
    r"(?<![A-Za-z0-9])CVE[-\u2010\u2011\u2013 ](\d{4})[-\u2010\u2011\u2013](\d{4,7})(?![0-9])", re.I
)
_PLAIN_AUTHORITY = re.compile(rf"(?P<host>{_NAME})(?::(?P<port>[0-9]{{1,5}}))?(?=[/?#]|$)")
_INTERESTING = re.compile(r"[A-Za-z0-9]\.[A-Za-z0-9]|@|::|://|[0-9A-Fa-f]:[0-9A-Fa-f]{1,4}:|[0-9A-Fa-f]{32}")
_HASH_LENGTHS = frozenset({32, 40, 64, 128})

# "version 1.2.3.4", "section 10.2.1.4", "build 5.1.2600.1": numbers, not addresses.
_VERSION_BEFORE = re.compile(
    r"(?:\b(?:v|ver|versions?|builds?|releases?|rev|revision|sections?|sec|chapters?|clauses?|patch|"
    r"firmware|fw|oid|updates?|kb|rule|sid)[\s.:#=-]{0,3}|\u00a7\s?)$",
    re.IGNORECASE,
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
_RESERVED_NAMES = ("example.com", "example.net", "example.org", "home.arpa")
_RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost", "local", "arpa", "internal"})
_NOT_DOMAINS = frozenset({"asp.net", "vb.net", "ado.net"})
_URL_TRAILING = ".,;:!?*~"
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}
_DOT_SEPARATOR = r"(?:\.|\\?[\[({](?:\.|dot)\\?[\])}]|[ \t]?[\[({]dot[\])}][ \t]?|[ \t]+dot[ \t]+)"


def extract(text: str) -> dict[str, list[str]]:
    """Return the indicators in ``text`` by type, refanged, normalised and in order of appearance."""
    plain = refang(text)
    context = _Context(original=text)
    result: dict[str, dict[str, None]] = {kind: {} for kind in TYPES}
    # No indicator holds white space, so each token is scanned on its own; most tokens are words
    # that a quick test dismisses, which is what makes extraction fast.
    tokens = plain.split()
    for index, token in enumerate(tokens):
        if len(token) < 4 or not _INTERESTING.search(token):
            continue
        scan = _Scan(context, token, tokens[index - 1] if index else "")
        for _, kind, value in sorted(scan.run(), key=itemgetter(0)):
            result[kind].setdefault(value, None)
    if "cve" in plain or "CVE" in plain or "Cve" in plain:
        for match in _CVE.finditer(plain):
            result["cve"].setdefault(f"CVE-{match.group(1)}-{match.group(2)}", None)
    return {kind: list(values) for kind, values in result.items() if values}


@lru_cache(maxsize=65536)
def is_public_domain(name: str) -> bool:
    """Return True for a lower-case name under a known TLD that is not reserved for examples."""
    tld = name.rpartition(".")[2]
    if tld == "onion":
        return len(name) > 6
    if tld in _RESERVED_TLDS or len(name) > 253 or name in _NOT_DOMAINS:
        return False
    if any(name == reserved or name.endswith("." + reserved) for reserved in _RESERVED_NAMES):
        return False
    return psl.is_registrable(name)


class _Context:
    """What the scan of one text remembers across tokens: which names it writes defanged."""

    def __init__(self, original: str) -> None:
        self.original = original
        self.defanged: dict[str, bool] = {}

    def written_defanged(self, name: str) -> bool:
        """Return True when the original text writes ``name`` with a defanged dot somewhere."""
        if name not in self.defanged:
            labels = (re.escape(label) for label in name.split("."))
            pattern = r"(?<![A-Za-z0-9-])" + _DOT_SEPARATOR.join(labels) + r"(?![A-Za-z0-9-])"
            self.defanged[name] = any(
                refang(m.group()) != m.group() for m in re.finditer(pattern, self.original, re.IGNORECASE)
            )
        return self.defanged[name]


class _Scan:
    """The scan of one white-space-free token; yields (offset, type, value) in no particular order."""

    def __init__(self, context: _Context, token: str, before: str) -> None:
        self.context = context
        self.plain = token
        self.before = before
        self.starts: list[int] = []
        self.ends: list[int] = []

    def run(self) -> Iterator[tuple[int, str, str]]:
        """Yield every indicator: URLs and e-mails first, as they claim their spans."""
        token = self.plain
        if "://" in token:
            yield from self.urls()
        if "@" in token:
            yield from self.emails()
        if "." in token:
            yield from self.domains()
            yield from self.ipv4s()
        if "::" in token or token.count(":") >= 7:
            yield from self.ipv6s()
        if len(token) >= 32:
            yield from self.hashes()

    def claim(self, start: int, end: int) -> None:
        """Record a span whose inside holds no further indicators (a URL or an e-mail)."""
        index = bisect_right(self.starts, start)
        self.starts.insert(index, start)
        self.ends.insert(index, end)

    def claimed(self, position: int) -> bool:
        """Return True when ``position`` lies inside a claimed span."""
        index = bisect_right(self.starts, position) - 1
        return index >= 0 and position < self.ends[index]

    def urls(self) -> Iterator[tuple[int, str, str]]:
        """Yield URLs whose host is public, and their hosts as domains or IPs."""
        for match in _URL.finditer(self.plain):
            raw = trim_url(match.group())
            checked = check_url(raw)
            if checked is None:
                continue
            url, host_type, host = checked
            self.claim(match.start(), match.start() + len(raw))
            yield match.start(), "url", url
            yield match.start(), host_type, host

    def emails(self) -> Iterator[tuple[int, str, str]]:
        """Yield e-mail addresses with a public domain, and that domain."""
        for match in _EMAIL.finditer(self.plain):
            local, domain = match.group("local"), match.group("domain").lower()
            if self.claimed(match.start()) or local.endswith(".") or ".." in local:
                continue
            if not is_public_domain(domain):
                continue
            self.claim(match.start(), match.end())
            yield match.start(), "email", f"{local}@{domain}"
            yield match.start(), "domain", domain

    def domains(self) -> Iterator[tuple[int, str, str]]:
        """Yield names that are domains in their context."""
        for match in _DOMAIN.finditer(self.plain):
            if self.claimed(match.start()):
                continue
            raw = match.group()
            name = raw.lower()
            if is_public_domain(name) and self.domain_in_context(raw, name):
                yield match.start(), "domain", name

    def domain_in_context(self, raw: str, name: str) -> bool:
        """Tell a host from a file name, a code identifier or two sentences missing a space."""
        labels = raw.split(".")
        last = labels[-1]
        if last[0].isupper() and last[1:].islower() and not labels[-2][:1].isupper():
            return False  # "the host.It was" : a missing space after a full stop
        tld = name.rpartition(".")[2]
        plain_file = tld in FILE_LIKE_TLDS
        code_like = len(labels) == 2 and labels[0].lower() in _CODE_OBJECTS
        if plain_file or code_like:
            return self.context.written_defanged(name)
        return True

    def ipv4s(self) -> Iterator[tuple[int, str, str]]:
        """Yield global IPv4 addresses that are not version or section numbers."""
        for match in _IPV4.finditer(self.plain):
            start = match.start()
            if self.claimed(start) or _VERSION_BEFORE.search(f"{self.before} {self.plain[:start]}"):
                continue
            if _is_global_ipv4(match.group()):
                yield start, "ip", match.group()

    def ipv6s(self) -> Iterator[tuple[int, str, str]]:
        """Yield global IPv6 addresses."""
        for match in _IPV6.finditer(self.plain):
            if match.group().count(":") < 2 or self.claimed(match.start()):
                continue
            try:
                address = normalize_ip(match.group())
            except InvalidIoc:
                continue
            if is_global_ip(address):
                yield match.start(), "ip", address

    def hashes(self) -> Iterator[tuple[int, str, str]]:
        """Yield md5/sha1/sha256/sha512 digests, lower-cased."""
        for match in _HASH.finditer(self.plain):
            value = match.group()
            if len(value) in _HASH_LENGTHS and looks_like_hash(value) and not self.claimed(match.start()):
                yield match.start(), "hash", value.lower()


@lru_cache(maxsize=16384)
def _is_global_ipv4(value: str) -> bool:
    return is_global_ip(value)


@lru_cache(maxsize=16384)
def looks_like_hash(value: str) -> bool:
    """Return True for hex that reads as a digest: one case, digits and letters, not a fill pattern."""
    if value != value.lower() and value != value.upper():
        return False
    digits = sum(char.isdigit() for char in value)
    return 0 < digits < len(value) and len(set(value.lower())) >= 6


def trim_url(url: str) -> str:
    """Cut trailing punctuation, unbalanced closing brackets, list commas and Markdown ``](`` off."""
    for stop in (",", "]("):
        cut = url.find(stop)
        if cut != -1:
            url = url[:cut]
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
    url = _fast_normalize_url(raw)
    if url is None:
        try:
            url = normalize_url(raw)
        except InvalidIoc:
            return None
    host = _public_host(url)
    return None if host is None else (url, host[0], host[1])


def _fast_normalize_url(raw: str) -> str | None:
    """Normalise the common case (ASCII name host, no user info) without the IDNA codec."""
    scheme, _, rest = raw.partition("://")
    match = _PLAIN_AUTHORITY.match(rest)
    if not raw.isascii() or match is None:
        return None
    port = match.group("port")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        return None
    return f"{scheme.lower()}://{match.group('host').lower()}{rest[match.end('host') :]}"


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
