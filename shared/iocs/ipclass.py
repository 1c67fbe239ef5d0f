"""Address classes from the IANA special-purpose address registries: which IPs are global.

One table decides for the whole service: the ``ip_profile`` plugin reports an address's class from
it, and analyses and extraction ask it whether an address is globally routable (a non-global one
never goes to a remote provider). Python's ``ipaddress.is_global`` is not used because its answer
for some blocks (192.0.0.0/24, 192.88.99.0/24, fec0::/10) changed between Python versions.

An address that embeds an IPv4 address (IPv4-mapped, NAT64's well-known prefix, 6to4) is as global
as the address it embeds: ``64:ff9b::a00:1`` is 10.0.0.1.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

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
    _block("2001:1::1/128", "global", "RFC 7723", "Port Control Protocol anycast"),
    _block("2001:1::2/128", "global", "RFC 8155", "TURN anycast"),
    _block("2001:3::/32", "global", "RFC 7450", "AMT"),
    _block("2001:4:112::/48", "global", "RFC 7535", "AS112-v6"),
    _block("2001:20::/28", "global", "RFC 7343", "ORCHIDv2"),
    _block("2001:30::/28", "global", "RFC 9374", "drone remote ID (DRIP) entity tags"),
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
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def classify(address: IpAddress) -> dict[str, Any]:
    """Return the address class, the block and RFC that matched, and a one-line reason."""
    embedded = embedded_ipv4(address)
    if embedded is not None:
        kind, rfc, inner_address = embedded
        inner = classify(inner_address)
        if kind == "IPv4-mapped" or not inner["is_global"]:
            reason = f"{kind} IPv6 address ({rfc}) of {inner_address}: {inner['reason']}"
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


def embedded_ipv4(address: IpAddress) -> tuple[str, str, ipaddress.IPv4Address] | None:
    """Return how an IPv6 address embeds an IPv4 address (kind, RFC) and that address, else None."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", "RFC 4291", address.ipv4_mapped
    if address in _NAT64:
        return "NAT64", "RFC 6052", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "6to4", "RFC 3056", address.sixtofour
    return None


def is_global(address: IpAddress) -> bool:
    """Return True when the address is globally routable (its class is ``global``)."""
    return bool(classify(address)["is_global"])
