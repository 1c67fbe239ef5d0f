"""DNS over HTTPS (JSON API): resolve a domain's A, AAAA, MX, NS and TXT records.

API reference: developers.cloudflare.com/1.1.1.1/encryption/dns-over-https/make-api-requests/dns-json/
(Google's ``https://dns.google/resolve`` takes the same parameters and answers the same JSON shape).
"""

from __future__ import annotations

from typing import Any

from plugins import _dns
from plugins.spec import Context, Finding, PluginSpec
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="doh_resolve",
    display_name="DNS over HTTPS",
    ioc_types=frozenset({"domain", "url"}),
    categories=("dns",),
    url_var="DOH_RESOLVE_URL",
    default_url="https://cloudflare-dns.com/dns-query",
)

RECORD_TYPES = ("A", "AAAA", "MX", "NS", "TXT")
NXDOMAIN = 3
MAX_LIST = 10
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
TYPE_NAMES = {1: "a", 2: "ns", 5: "cname", 6: "soa", 15: "mx", 16: "txt", 28: "aaaa", 33: "srv", 257: "caa"}


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Resolve the name's common record types and group the answers by record type."""
    name = host_name(ioc)
    first = query(ctx, name, RECORD_TYPES[0])
    replies = {RECORD_TYPES[0]: first}
    if first.get("Status") != NXDOMAIN:
        replies.update({rtype: query(ctx, name, rtype) for rtype in RECORD_TYPES[1:]})
    summary = summarise(first, list(replies.values()))
    return Finding(verdict="unknown", summary=summary, link=None, raw=replies)


def host_name(ioc: Ioc) -> str:
    """Return the DNS name to resolve: the domain, or a URL's host (an IP host is not resolvable)."""
    return _dns.host_name(
        ioc,
        no_host="the URL has no host name to resolve",
        ip_host="the URL's host is an IP address, not a name to resolve",
    )


def query(ctx: Context, name: str, rtype: str) -> dict[str, Any]:
    """Send one DNS JSON query to the configured resolver URL and return its answer."""
    return _dns.query(ctx, name, rtype, what=f"{rtype} answer")


def summarise(first: dict[str, Any], replies: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the RCODE, the DNSSEC flag and the answers grouped by record type."""
    status = int(first["Status"])
    groups = group_answers(replies)
    summary: dict[str, Any] = {
        "found": bool(groups),
        "status": status,
        "status_name": RCODES.get(status, str(status)),
        "ad": all(bool(r.get("AD")) for r in replies),
    }
    summary.update({kind: records[:MAX_LIST] for kind, records in groups.items()})
    return summary


def group_answers(replies: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Group every answer record by its type name, dropping repeats (a CNAME answers every query)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple[Any, ...]] = set()
    records = [r for reply in replies for r in reply.get("Answer") or [] if isinstance(r, dict)]
    for record in records:
        entry = {
            "name": record.get("name"),
            "type": record.get("type"),
            "ttl": record.get("TTL"),
            "data": record.get("data"),
        }
        marker = (entry["name"], entry["type"], entry["data"])
        if marker in seen:
            continue
        seen.add(marker)
        rtype = record.get("type")
        kind = TYPE_NAMES.get(rtype, f"type_{rtype}") if isinstance(rtype, int) else f"type_{rtype}"
        groups.setdefault(kind, []).append(entry)
    return groups
