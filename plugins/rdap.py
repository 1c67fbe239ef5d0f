"""RDAP via the IANA bootstrap: registration data for domains and IP networks.

API reference: RFC 9224 (bootstrap files at data.iana.org/rdap), RFC 9082 (queries), RFC 9083 (JSON
responses). The bootstrap names each registry's RDAP base URL; queries go there by design, and the
registry may redirect (RIRs to the RIR holding the block), so redirects are followed for queries.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from plugins.spec import Context, Finding, PluginError, PluginSpec, Reply, Verdict, parse_iso_time
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="rdap",
    display_name="RDAP (IANA bootstrap)",
    ioc_types=frozenset({"domain", "ip"}),
    categories=("whois",),
    url_var="RDAP_BOOTSTRAP_URL",
    default_url="https://data.iana.org/rdap",
    # When set, skip the bootstrap and send every query to this base (a redirector such as rdap.org).
    options=("RDAP_URL",),
)

BOOTSTRAP_TTL_S = 24 * 3600.0
NEW_DOMAIN_DAYS = 30  # a domain registered more recently than this is suspicious
# Without a public-suffix list the registered domain is the bootstrap suffix plus one label; on a 404
# the next longer name is tried (foo.co.uk under "uk"), at most this many names per lookup.
MAX_DOMAIN_ATTEMPTS = 2
MAX_LIST = 10
MAX_ENTITY_DEPTH = 3
ICANN_LOOKUP = "https://lookup.icann.org/en/lookup?name="
RDAP_ACCEPT = "application/rdap+json, application/json;q=0.9"

_bootstrap: dict[tuple[str, str], tuple[float, list[Any]]] = {}
_bootstrap_lock = threading.Lock()


def clear_bootstrap_cache() -> None:
    """Forget every cached bootstrap file (tests; a changed bootstrap URL needs no clearing)."""
    with _bootstrap_lock:
        _bootstrap.clear()


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Find the registry for the IOC in the bootstrap, query it and summarise the registration."""
    if ioc.type == "ip":
        return lookup_ip(ctx, ioc)
    return lookup_domain(ctx, ioc)


def lookup_ip(ctx: Context, ioc: Ioc) -> Finding:
    """Query the RIR holding the address for its network."""
    address = ipaddress.ip_address(ioc.value)
    base = override_base(ctx) or ip_base(ctx, address)
    url = f"{base}ip/{quote(ioc.value, safe=':')}"
    reply = query(ctx, url)
    if reply.status == 404:
        return not_found([ioc.value], None, reply.data)
    data = _object(reply)
    summary = summarise_ip(data)
    return Finding(verdict="unknown", summary=summary, link=self_link(data) or url, raw=data)


def lookup_domain(ctx: Context, ioc: Ioc) -> Finding:
    """Query the TLD's registry for the registered domain (suffix plus one label, then longer)."""
    base = override_base(ctx)
    suffix_labels = 1
    if not base:
        base, suffix_labels = domain_base(ctx, ioc.value)
    names = candidates(ioc.value, suffix_labels)
    last: Reply | None = None
    for name in names:
        last = query(ctx, f"{base}domain/{quote(name, safe='')}")
        if last.status != 404:
            data = _object(last)
            summary = summarise_domain(data)
            link = self_link(data) or ICANN_LOOKUP + quote(name, safe="")
            return Finding(verdict=domain_verdict(summary), summary=summary, link=link, raw=data)
    return not_found(names, ICANN_LOOKUP + quote(names[0], safe=""), last.data if last else None)


def candidates(domain: str, suffix_labels: int) -> list[str]:
    """Return the names to query: the registered domain under the suffix, then longer ones."""
    labels = domain.split(".")
    shortest = min(suffix_labels + 1, len(labels))
    longest = min(len(labels), shortest + MAX_DOMAIN_ATTEMPTS - 1)
    return [".".join(labels[-n:]) for n in range(shortest, longest + 1)]


def not_found(names: list[str], link: str | None, raw: Any) -> Finding:
    """Return the ok/unknown answer for an object the registry does not hold."""
    return Finding(summary={"found": False, "queried": names}, link=link, raw=raw)


def query(ctx: Context, url: str) -> Reply:
    """GET one RDAP object (404 is an answer), following the registry's redirects."""
    try:
        return ctx.fetch_json(
            "GET", url, accept=(404,), headers={"Accept": RDAP_ACCEPT}, follow_redirects=True
        )
    except httpx.TooManyRedirects:
        raise PluginError("provider_error", "the RDAP servers redirected the query in a loop") from None


def _object(reply: Reply) -> dict[str, Any]:
    if not isinstance(reply.data, dict) or not reply.data.get("objectClassName"):
        raise PluginError("provider_error", f"HTTP {reply.status}: the RDAP answer is not an RDAP object")
    return reply.data


def override_base(ctx: Context) -> str | None:
    """Return RDAP_URL as a base ending in "/", or None when the bootstrap decides."""
    value = (ctx.options.get("RDAP_URL") or "").strip()
    return value.rstrip("/") + "/" if value else None


# --- bootstrap (RFC 9224) ---------------------------------------------------------------------------


def bootstrap_services(ctx: Context, file: str) -> list[Any]:
    """Return a bootstrap file's services, fetched once per process and bootstrap URL per TTL."""
    key = (ctx.base_url, file)
    with _bootstrap_lock:
        cached = _bootstrap.get(key)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    reply = ctx.fetch_json("GET", f"/{file}", headers={"Accept": "application/json"})
    services = reply.data.get("services") if isinstance(reply.data, dict) else None
    if not isinstance(services, list):
        raise PluginError("provider_error", f"the RDAP bootstrap {file} has no services list")
    with _bootstrap_lock:
        _bootstrap[key] = (time.monotonic() + BOOTSTRAP_TTL_S, services)
    return services


def _entries(services: list[Any]) -> list[tuple[list[str], list[str]]]:
    """Return well-formed (keys, base URLs) pairs of a services list."""
    pairs = []
    for service in services:
        if isinstance(service, list) and len(service) >= 2:
            keys, urls = service[0], service[1]
            if isinstance(keys, list) and isinstance(urls, list):
                pairs.append(([str(k).lower() for k in keys], [str(u) for u in urls]))
    return pairs


def domain_base(ctx: Context, domain: str) -> tuple[str, int]:
    """Return the registry base URL of the longest matching bootstrap label suffix, and its labels."""
    best: tuple[int, list[str]] | None = None
    for keys, urls in _entries(bootstrap_services(ctx, "dns.json")):
        for key in keys:
            labels = key.strip(".").count(".") + 1
            matches = domain == key or domain.endswith("." + key.strip("."))
            if matches and (best is None or labels > best[0]):
                best = (labels, urls)
    tld = domain.rpartition(".")[2]
    base = pick_base(best[1]) if best else None
    if best is None or base is None:
        raise PluginError("not_supported", f"IANA's RDAP bootstrap lists no RDAP service for .{tld}")
    return base, best[0]


def ip_base(ctx: Context, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Return the registry base URL of the longest bootstrap prefix holding the address."""
    file = "ipv4.json" if address.version == 4 else "ipv6.json"
    best: tuple[int, list[str]] | None = None
    for keys, urls in _entries(bootstrap_services(ctx, file)):
        for key in keys:
            network = _network(key)
            if network is not None and address in network and (best is None or network.prefixlen > best[0]):
                best = (network.prefixlen, urls)
    base = pick_base(best[1]) if best else None
    if base is None:
        raise PluginError("not_supported", f"IANA's RDAP bootstrap lists no RDAP service for {address}")
    return base


def _network(key: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(key, strict=False)
    except ValueError:
        return None


def pick_base(urls: list[str]) -> str | None:
    """Return the first https base URL, else the first http one, ending in "/"."""
    usable = [u for u in urls if urlsplit(u).scheme in ("https", "http") and urlsplit(u).netloc]
    usable.sort(key=lambda u: urlsplit(u).scheme != "https")
    return usable[0].rstrip("/") + "/" if usable else None


# --- summaries ----------------------------------------------------------------------------------------


def summarise_domain(data: dict[str, Any]) -> dict[str, Any]:
    """Return the domain's registration facts: dates, registrar, name servers, DNSSEC, abuse contact."""
    registrar = find_entity(data, "registrar")
    ids = registrar.get("publicIds") if registrar else None
    iana_ids = [
        i.get("identifier") for i in ids or [] if isinstance(i, dict) and i.get("type") == "IANA Registrar ID"
    ]
    servers = [n.get("ldhName") for n in data.get("nameservers") or [] if isinstance(n, dict)]
    secure = data.get("secureDNS")
    signed = secure.get("delegationSigned") if isinstance(secure, dict) else None
    return {
        "found": True,
        "ldh_name": data.get("ldhName"),
        "handle": data.get("handle"),
        "status": _list(data.get("status")),
        **events(data),
        "registrar": vcard(registrar, "fn"),
        "registrar_iana_id": iana_ids[0] if iana_ids else None,
        "nameservers": [s for s in servers if s][:MAX_LIST],
        "delegation_signed": signed,
        "abuse_email": vcard(find_entity(data, "abuse"), "email"),
    }


def summarise_ip(data: dict[str, Any]) -> dict[str, Any]:
    """Return the network's range, holder, country, parent, CIDRs, contacts and dates."""
    cidrs = [
        f"{c.get('v4prefix') or c.get('v6prefix')}/{c.get('length')}"
        for c in data.get("cidr0_cidrs") or []
        if isinstance(c, dict) and (c.get("v4prefix") or c.get("v6prefix"))
    ]
    return {
        "found": True,
        "handle": data.get("handle"),
        "name": data.get("name"),
        "start_address": data.get("startAddress"),
        "end_address": data.get("endAddress"),
        "ip_version": data.get("ipVersion"),
        "type": data.get("type"),
        "country": data.get("country"),
        "parent_handle": data.get("parentHandle"),
        "cidr0_cidrs": cidrs[:MAX_LIST],
        "registrant": vcard(find_entity(data, "registrant"), "fn"),
        "abuse_email": vcard(find_entity(data, "abuse"), "email"),
        **events(data),
    }


def events(data: dict[str, Any]) -> dict[str, Any]:
    """Return the registration, expiration and last-changed dates."""
    dates = {
        e.get("eventAction"): e.get("eventDate") for e in data.get("events") or [] if isinstance(e, dict)
    }
    return {
        "registration": dates.get("registration"),
        "expiration": dates.get("expiration"),
        "last_changed": dates.get("last changed"),
    }


def find_entity(data: dict[str, Any], role: str, depth: int = 0) -> dict[str, Any] | None:
    """Return the first entity with the role, searching nested entities breadth-first."""
    entities = [e for e in data.get("entities") or [] if isinstance(e, dict)]
    for entity in entities:
        if role in (entity.get("roles") or []):
            return entity
    if depth >= MAX_ENTITY_DEPTH:
        return None
    for entity in entities:
        found = find_entity(entity, role, depth + 1)
        if found:
            return found
    return None


def vcard(entity: dict[str, Any] | None, name: str) -> str | None:
    """Return a jCard property's text value (``["fn", {}, "text", "…"]``) of an entity."""
    card = entity.get("vcardArray") if entity else None
    if not isinstance(card, list) or len(card) < 2 or not isinstance(card[1], list):
        return None
    for prop in card[1]:
        if isinstance(prop, list) and len(prop) >= 4 and prop[0] == name:
            value = prop[3]
            return value if isinstance(value, str) else None
    return None


def self_link(data: dict[str, Any]) -> str | None:
    """Return the object's own RDAP URL (``links[rel=self]``) when it is an http(s) URL."""
    for link in data.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "self":
            href = str(link.get("href") or "")
            if urlsplit(href).scheme in ("https", "http"):
                return href
    return None


def domain_verdict(summary: dict[str, Any], now: datetime | None = None) -> Verdict:
    """Suspicious when the domain was registered less than NEW_DOMAIN_DAYS ago, else unknown."""
    registered = parse_iso_time(summary.get("registration"))
    now = now or datetime.now(UTC)
    if registered is not None and now - registered < timedelta(days=NEW_DOMAIN_DAYS):
        return "suspicious"
    return "unknown"


def _list(value: Any) -> list[Any]:
    return list(value)[:MAX_LIST] if isinstance(value, list) else []
