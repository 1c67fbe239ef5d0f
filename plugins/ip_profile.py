"""IP profile: the address class with the RFC that defines it, and GeoIP from local MaxMind files.

Needs no network and no key. The class comes from a table of the IANA special-purpose registries
(RFC 6890 and the RFCs it lists); GeoIP from MaxMind-format databases (GeoLite2/GeoIP2 City or
Country, and ASN) at the paths in ``GEOIP_CITY_DB`` and ``GEOIP_ASN_DB``, each opened once per process.
A missing or unreadable database never fails the result: the ``geoip`` notes say what happened.
The verdict is always ``unknown``: an address class is context, not reputation.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import maxminddb

from plugins.spec import Context, Finding, PluginSpec
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="ip_profile",
    display_name="IP profile (offline)",
    ioc_types=frozenset({"ip"}),
    categories=("local", "geolocation"),
    url_var="",
    default_url=None,
    key="none",
    auth="none",
    options=("GEOIP_CITY_DB", "GEOIP_ASN_DB"),
    remote=False,
)

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Block:
    """A special-purpose address block: its class, the RFC that defines it and what it is for."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    address_class: str
    rfc: str
    purpose: str


def _block(cidr: str, address_class: str, rfc: str, purpose: str) -> Block:
    """Return a Block for a CIDR string."""
    return Block(ipaddress.ip_network(cidr), address_class, rfc, purpose)


# First match wins, so more specific blocks come before the blocks that contain them.
# "bogon" is for addresses that are never valid on the Internet and belong to no narrower class.
IPV4_BLOCKS: tuple[Block, ...] = (
    _block("0.0.0.0/8", "bogon", "RFC 1122", '"this network"; never a valid destination'),
    _block("10.0.0.0/8", "private", "RFC 1918", "private-use network"),
    _block("100.64.0.0/10", "shared", "RFC 6598", "shared address space for carrier-grade NAT"),
    _block("127.0.0.0/8", "loopback", "RFC 1122", "loopback"),
    _block("169.254.0.0/16", "link-local", "RFC 3927", "link-local (automatic addressing)"),
    _block("172.16.0.0/12", "private", "RFC 1918", "private-use network"),
    _block("192.0.0.9/32", "global", "RFC 7723", "Port Control Protocol anycast"),
    _block("192.0.0.10/32", "global", "RFC 8155", "TURN anycast"),
    _block("192.0.0.0/24", "reserved", "RFC 6890", "IETF protocol assignments"),
    _block("192.0.2.0/24", "documentation", "RFC 5737", "documentation (TEST-NET-1)"),
    _block("192.88.99.0/24", "reserved", "RFC 7526", "deprecated 6to4 relay anycast"),
    _block("192.168.0.0/16", "private", "RFC 1918", "private-use network"),
    _block("198.18.0.0/15", "reserved", "RFC 2544", "network device benchmarking"),
    _block("198.51.100.0/24", "documentation", "RFC 5737", "documentation (TEST-NET-2)"),
    _block("203.0.113.0/24", "documentation", "RFC 5737", "documentation (TEST-NET-3)"),
    _block("224.0.0.0/4", "multicast", "RFC 5771", "multicast"),
    _block("255.255.255.255/32", "reserved", "RFC 919", "limited broadcast"),
    _block("240.0.0.0/4", "reserved", "RFC 1112", "reserved for future use"),
)
IPV6_BLOCKS: tuple[Block, ...] = (
    _block("::/128", "bogon", "RFC 4291", "the unspecified address"),
    _block("::1/128", "loopback", "RFC 4291", "loopback"),
    _block("64:ff9b::/96", "global", "RFC 6052", "NAT64 well-known prefix"),
    _block("64:ff9b:1::/48", "private", "RFC 8215", "local-use NAT64 prefix"),
    _block("100::/64", "reserved", "RFC 6666", "discard-only prefix"),
    _block("2001::/23", "reserved", "RFC 2928", "IETF protocol assignments"),
    _block("2001:db8::/32", "documentation", "RFC 3849", "documentation"),
    _block("2002::/16", "global", "RFC 3056", "6to4"),
    _block("3fff::/20", "documentation", "RFC 9637", "documentation"),
    _block("5f00::/16", "reserved", "RFC 9602", "segment routing (SRv6) SIDs"),
    _block("2000::/3", "global", "RFC 4291", "global unicast"),
    _block("fc00::/7", "private", "RFC 4193", "unique local addresses (ULA)"),
    _block("fe80::/10", "link-local", "RFC 4291", "link-local unicast"),
    _block("fec0::/10", "reserved", "RFC 3879", "deprecated site-local"),
    _block("ff00::/8", "multicast", "RFC 4291", "multicast"),
)
_IPV6_UNALLOCATED = _block("::/0", "bogon", "RFC 4291", "outside 2000::/3, not allocated for unicast use")
_GEO_FIELDS = ("country_code", "country", "city", "asn", "as_organization")
_DATABASES = (("GEOIP_CITY_DB", "city"), ("GEOIP_ASN_DB", "asn"))
_MAX_OPEN_DATABASES = 8


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Classify the address and add country, city and ASN from the configured GeoIP databases."""
    address = ipaddress.ip_address(ioc.value)
    summary: dict[str, Any] = {"version": address.version, **classify(address)}
    summary.update(geoip(ctx.options, address))
    return Finding(verdict="unknown", summary=summary)


def classify(address: IpAddress) -> dict[str, Any]:
    """Return the address class, the block and RFC that matched, and a one-line reason."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        inner = classify(address.ipv4_mapped)
        reason = f"IPv4-mapped IPv6 address (RFC 4291) of {address.ipv4_mapped}: {inner['reason']}"
        return {**inner, "reason": reason}
    block = find_block(address)
    if block is None:
        return {
            "address_class": "global",
            "range": None,
            "rfc": "RFC 6890",
            "reason": "in no special-purpose block of the IANA registry (RFC 6890): globally routable",
            "is_global": True,
        }
    return {
        "address_class": block.address_class,
        "range": str(block.network),
        "rfc": block.rfc,
        "reason": f"{block.purpose} ({block.network}, {block.rfc})",
        "is_global": block.address_class == "global",
    }


def find_block(address: IpAddress) -> Block | None:
    """Return the first special-purpose block holding the address (None: ordinary global IPv4)."""
    if isinstance(address, ipaddress.IPv4Address):
        return next((b for b in IPV4_BLOCKS if address in b.network), None)
    return next((b for b in IPV6_BLOCKS if address in b.network), _IPV6_UNALLOCATED)


def geoip(options: Mapping[str, str], address: IpAddress) -> dict[str, Any]:
    """Return country, city and ASN fields from the configured databases, with notes on each."""
    found: dict[str, Any] = dict.fromkeys(_GEO_FIELDS)
    notes: list[str] = []
    paths = {var: (options.get(var) or "").strip() for var, _ in _DATABASES}
    if not any(paths.values()):
        return {**found, "geoip": ["no GeoIP database configured"]}
    for var, kind in _DATABASES:
        if not paths[var]:
            notes.append(f"{var} is not set")
            continue
        record, problem = read_record(paths[var], str(address))
        if problem:
            notes.append(f"{var} could not be read ({problem})")
        elif record is None:
            notes.append(f"{address} is not in the {var} database")
        else:
            found.update(_FIELDS_OF[kind](record))
    return {**found, "geoip": notes}


def _city_fields(record: dict[str, Any]) -> dict[str, Any]:
    """Return country and city from a GeoIP2/GeoLite2 City or Country record."""
    country = record.get("country") or record.get("registered_country") or {}
    return {
        "country_code": country.get("iso_code"),
        "country": (country.get("names") or {}).get("en"),
        "city": ((record.get("city") or {}).get("names") or {}).get("en"),
    }


def _asn_fields(record: dict[str, Any]) -> dict[str, Any]:
    """Return the autonomous system number and organisation from a GeoLite2 ASN record."""
    return {
        "asn": record.get("autonomous_system_number"),
        "as_organization": record.get("autonomous_system_organization"),
    }


_FIELDS_OF = {"city": _city_fields, "asn": _asn_fields}


def read_record(path: str, address: str) -> tuple[dict[str, Any] | None, str | None]:
    """Return the database record for an address (None: not in it) or why the file could not be read."""
    try:
        stat = os.stat(path)
        record = open_database(path, stat.st_mtime_ns, stat.st_size).get(address)
    except FileNotFoundError:
        return None, "no such file"
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as ex:
        return None, _problem(ex)
    return (record if isinstance(record, dict) else None), None


def _problem(ex: Exception) -> str:
    """Describe why a database could not be read, without the exception's own text."""
    if isinstance(ex, maxminddb.InvalidDatabaseError | ValueError):
        return "not a valid MaxMind database"
    if isinstance(ex, PermissionError):
        return "permission denied"
    return type(ex).__name__


@lru_cache(maxsize=_MAX_OPEN_DATABASES)
def open_database(path: str, mtime_ns: int, size: int) -> maxminddb.Reader:
    """Open a MaxMind database once per path and version (a replaced file is opened anew)."""
    return maxminddb.open_database(path)
