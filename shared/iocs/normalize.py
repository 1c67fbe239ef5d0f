"""Validate and normalise indicators of compromise (IOCs) per type, as pure functions.

The five analysis types and their normal forms are fixed by the API contract:

| type   | valid when                                   | normal form                               |
|--------|----------------------------------------------|-------------------------------------------|
| ip     | any IPv4 or IPv6 address                     | canonical text (IPv6 compressed, lower)   |
| domain | IDNA-valid name with at least two labels     | lower-case ASCII (punycode), no final dot |
| url    | has a scheme and a host                      | scheme and host lower-cased, rest as given|
| hash   | 32, 40, 64 or 128 hex characters             | lower-case                                |
| email  | local@domain with a valid domain             | domain part lower-cased                   |

The canonical text of an IP is ``ip_text``'s: no zone ID, IPv4-mapped addresses as ``::ffff:1.2.3.4``.
Defanged input is refanged first, so ``1.1.1[.]1`` and ``hxxp[://]x[.]com`` are accepted.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import idna

from shared.iocs import ipclass
from shared.iocs.fang import refang

IOC_TYPES: tuple[str, ...] = ("ip", "domain", "url", "hash", "email")
HASH_KINDS: dict[int, str] = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}

_HEX = re.compile(r"[0-9a-fA-F]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
# DNS allows an underscore in a label (RFC 2181 section 11: "_dmarc", "_sip._tcp", and the hosts of
# much malicious infrastructure), though IDNA does not; no top-level domain has one.
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_UNDERSCORE_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
_TLD = re.compile(r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})")
_LOCAL_PART = re.compile(r"[^\s@<>()\[\],;:\"\\]{1,64}")
_MAX_URL_CHARS = 8192
# A single label of digits, or hex digits after 0x: an IPv4 address in another notation.
_NUMERIC_HOST = re.compile(r"[0-9]+|0x[0-9a-f]*")
# Control characters and lone surrogates are never part of an indicator (nor storable everywhere).
_NOT_TEXT = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


class InvalidIoc(ValueError):
    """The value is not a valid indicator of the given type; the message says why."""


@dataclass(frozen=True)
class Ioc:
    """A normalised indicator: what plugins receive."""

    type: str
    value: str

    @property
    def hash_kind(self) -> str | None:
        """Return md5/sha1/sha256/sha512 for a hash, None for other types."""
        return HASH_KINDS.get(len(self.value)) if self.type == "hash" else None

    @property
    def host(self) -> str | None:
        """Return the host of a URL or the domain of an e-mail (None for other types)."""
        if self.type == "url":
            return url_host(self.value)
        if self.type == "email":
            return self.value.rpartition("@")[2]
        if self.type in ("domain", "ip"):
            return self.value
        return None


def normalize(value: str, ioc_type: str) -> str:
    """Return the normal form of ``value`` as an IOC of ``ioc_type``; raise InvalidIoc if invalid."""
    if ioc_type not in IOC_TYPES:
        raise InvalidIoc(f"unknown IOC type {ioc_type!r}")
    text = refang(value.strip()).strip()
    if not text:
        raise InvalidIoc("the indicator is empty")
    if _NOT_TEXT.search(text):
        raise InvalidIoc("the indicator contains a control character or a lone surrogate")
    return _NORMALIZERS[ioc_type](text)


def make_ioc(value: str, ioc_type: str) -> Ioc:
    """Return a normalised Ioc; raise InvalidIoc if the value is not valid for its type."""
    return Ioc(type=ioc_type, value=normalize(value, ioc_type))


def normalize_ip(text: str) -> str:
    """Return the canonical text of an IPv4 or IPv6 address (``ip_text``); a zone ID is dropped."""
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        raise InvalidIoc(f"{_show(text)} is not an IPv4 or IPv6 address") from None
    return ip_text(address)


def ip_text(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Return the canonical text of an address, the same in every Python version.

    IPv6 is compressed and lower-case (RFC 5952), an IPv4-mapped address in mixed notation
    (``::ffff:1.2.3.4``, RFC 5952 section 5; Python before 3.13 writes ``::ffff:102:304``), and
    without a zone ID (``fe80::1%eth0`` is ``fe80::1``): the indicator is the address, the zone
    only names an interface of the host that wrote it.
    """
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    mapped = address.ipv4_mapped
    if mapped is not None:
        return f"::ffff:{mapped}"
    return str(address if address.scope_id is None else ipaddress.IPv6Address(int(address)))


def normalize_domain(text: str) -> str:
    """Return a domain as lower-case ASCII (punycode for IDNs) without a trailing dot."""
    name = text[:-1] if text.endswith(".") else text
    if not name or any(ch.isspace() for ch in name):
        raise InvalidIoc(f"{_show(text)} is not a domain name")
    ascii_name = _idna_ascii(name, text, "IDNA domain name")
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise InvalidIoc(f"{_show(text)} needs at least two labels")
    if len(ascii_name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidIoc(f"{_show(text)} is not a valid domain name")
    if not _TLD.fullmatch(labels[-1]):
        raise InvalidIoc(f"{_show(text)} does not end in a valid top-level domain")
    return ascii_name


def _idna_ascii(name: str, text: str, what: str) -> str:
    """Return ``name`` as lower-case ASCII (IDNA, UTS 46); ``text`` and ``what`` word the error.

    A label of ASCII letters, digits, hyphens and underscores that holds an underscore is valid in
    DNS but not in IDNA: it is kept as it is (lower-cased), and IDNA encodes the other labels.
    """
    try:
        return idna.encode(name, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        encoded = _with_underscore_labels(name) if "_" in name else None
        if encoded is None:
            raise InvalidIoc(f"{_show(text)} is not a valid {what}") from None
        return encoded


def _with_underscore_labels(name: str) -> str | None:
    """Return ``name`` in lower-case ASCII with its underscore labels as written, else None."""
    try:
        # The UTS 46 mapping of the whole name first: case, full-width dots and letters.
        labels = idna.uts46_remap(name, std3_rules=False, transitional=False).split(".")
        encoded = [
            label.lower()
            if "_" in label and label.isascii() and _UNDERSCORE_LABEL.fullmatch(label)
            else idna.encode(label, uts46=True).decode("ascii").lower()
            for label in labels
        ]
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    return ".".join(encoded)


def normalize_host(text: str) -> str:
    """Return a URL host: a canonical IP, a normalised domain, or a single-label name (``localhost``,
    an intranet host), which the runner never sends to a remote provider."""
    try:
        return normalize_ip(text)
    except InvalidIoc:
        pass
    if text.endswith(".") and text.count(".") == 4:
        # An IPv4 address with the final dot of a fully qualified name ("http://10.0.0.1./").
        try:
            return str(ipaddress.IPv4Address(text[:-1]))
        except ValueError:
            pass
    if "." in text.rstrip("."):
        return normalize_domain(text)
    label = _idna_ascii(text.rstrip("."), text, "host name")
    if not _LABEL.fullmatch(label) or _NUMERIC_HOST.fullmatch(label):
        # "2130706433" and "0x7f000001" are how some clients write 127.0.0.1: not names.
        raise InvalidIoc(f"{_show(text)} is not a valid host name")
    return label


def normalize_url(text: str) -> str:
    """Return a URL with scheme and host lower-cased and the rest as given."""
    if len(text) > _MAX_URL_CHARS or any(ch.isspace() for ch in text):
        raise InvalidIoc("a URL may not contain white space or exceed 8192 characters")
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise InvalidIoc(f"{_show(text)} has no scheme and host (scheme://host, such as http://x.example/)")
    if not _SCHEME.fullmatch(scheme):
        raise InvalidIoc(f"{_show(text)} has no valid scheme (such as http://)")
    userinfo, host, port, path = _split_url(rest)
    if not host:
        raise InvalidIoc(f"{_show(text)} has no host")
    host_text = f"[{normalize_ip(host)}]" if ":" in host else normalize_host(host)
    prefix = f"{userinfo}@" if userinfo else ""
    suffix = f":{port}" if port is not None else ""
    return f"{scheme.lower()}://{prefix}{host_text}{suffix}{path}"


def normalize_hash(text: str) -> str:
    """Return a lower-case md5, sha1, sha256 or sha512 hex digest."""
    if len(text) not in HASH_KINDS or not _HEX.fullmatch(text):
        raise InvalidIoc("a hash is 32, 40, 64 or 128 hexadecimal characters (md5, sha1, sha256, sha512)")
    return text.lower()


def normalize_email(text: str) -> str:
    """Return ``local@domain`` with the domain lower-cased."""
    local, at, domain = text.rpartition("@")
    if not at or not _LOCAL_PART.fullmatch(local) or local.startswith(".") or local.endswith("."):
        raise InvalidIoc(f"{_show(text)} is not an e-mail address (local@domain)")
    return f"{local}@{normalize_domain(domain)}"


def is_global_ip(value: str) -> bool:
    """Return True when ``value`` is a globally routable IP address (``shared.iocs.ipclass``)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return ipclass.is_global(address)


def is_ip(value: str) -> bool:
    """Return True when ``value`` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def url_host(url: str) -> str | None:
    """Return the host of a normalised URL (without IPv6 brackets), split as ``normalize_url`` does."""
    _, sep, rest = url.partition("://")
    if not sep:
        return None
    try:
        host = _split_url(rest)[1]
    except InvalidIoc:
        return None
    return host.lower() or None


def _split_url(rest: str) -> tuple[str, str, str | None, str]:
    """Split what follows a URL's "://" into user info, host, port and the rest (path onwards)."""
    authority, path = _split_authority(rest)
    userinfo, _, hostport = authority.rpartition("@")
    host, port = _split_port(hostport)
    return userinfo, host, port, path


def _split_authority(rest: str) -> tuple[str, str]:
    # A backslash ends the authority as a slash does: browsers and sandboxes read
    # "http://localhost\@evil.com/" as a URL on localhost (WHATWG URL), and so does this.
    for index, char in enumerate(rest):
        if char in "/?#\\":
            return rest[:index], rest[index:]
    return rest, ""


def _split_port(hostport: str) -> tuple[str, str | None]:
    if hostport.startswith("["):
        host, closed, tail = hostport[1:].partition("]")
        if not closed:
            raise InvalidIoc("malformed IPv6 host in URL (no closing bracket)")
        port = tail[1:] if tail.startswith(":") else None
        if tail and port is None:
            raise InvalidIoc("malformed IPv6 host in URL")
        host = host if ":" in host else f"[{host}]"
    else:
        host, colon, port_text = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
        port = port_text if colon else None
    if port == "":
        port = None  # "http://x.example:/" has an empty port, which RFC 3986 (3.2.3) allows: no port
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise InvalidIoc(f"invalid port {_show(port)} in URL")
    return host, port


def _show(text: str) -> str:
    """Quote a user value for an error message, shortened so details stay readable."""
    return repr(text if len(text) <= 80 else text[:77] + "...")


_NORMALIZERS = {
    "ip": normalize_ip,
    "domain": normalize_domain,
    "url": normalize_url,
    "hash": normalize_hash,
    "email": normalize_email,
}
