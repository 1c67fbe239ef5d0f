"""Cloudflare's malware-blocking resolver (1.1.1.2 / "1.1.1.1 for Families") over DNS JSON.

API reference: developers.cloudflare.com/1.1.1.1/encryption/dns-over-https/make-api-requests/dns-json/
and developers.cloudflare.com/1.1.1.1/setup/#1111-for-families (blocked names resolve to 0.0.0.0).
"""

from __future__ import annotations

from typing import Any

from plugins import _dns
from plugins.spec import Context, Finding, PluginSpec, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="cloudflare_security_dns",
    display_name="Cloudflare malware-blocking DNS",
    ioc_types=frozenset({"domain", "url"}),
    categories=("reputation",),
    url_var="CLOUDFLARE_SECURITY_DNS_URL",
    default_url="https://security.cloudflare-dns.com/dns-query",
)

BLOCKED_ADDRESS = "0.0.0.0"  # the sinkhole answer for a blocked name
# Extended DNS Errors (RFC 8914) meaning "blocked by policy": Blocked, Censored, Filtered. providers.md
# makes only the 0.0.0.0 answer a block and NXDOMAIN unknown; an NXDOMAIN carrying one of these (in the
# JSON "Comment" list) is reported as ``policy_filtered`` for the analyst, and stays unknown.
BLOCKING_EDE_CODES = (15, 16, 17)
TYPE_A = 1
NXDOMAIN = 3
MAX_LIST = 10


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Ask the blocking resolver for the name's A record; a 0.0.0.0 answer means it is blocked."""
    name = host_name(ioc)
    data = _dns.query(ctx, name, "A", what="answer")
    summary = summarise(data)
    return Finding(verdict=verdict(summary), summary=summary, link=None, raw=data)


def host_name(ioc: Ioc) -> str:
    """Return the name to check: the domain, or a URL's host (an IP host has no DNS reputation)."""
    return _dns.host_name(
        ioc,
        no_host="the URL has no host name to check",
        ip_host="the URL's host is an IP address, not a name the resolver filters",
    )


def summarise(data: dict[str, Any]) -> dict[str, Any]:
    """Return whether the name is blocked, the A answers and the RCODE."""
    records = [r for r in data.get("Answer") or [] if isinstance(r, dict)]
    addresses = [str(r.get("data")) for r in records if r.get("type") == TYPE_A]
    comments = data.get("Comment")
    comments = [str(c) for c in comments] if isinstance(comments, list) else [str(comments or "")]
    filtered = any(f"EDE({code})" in c for code in BLOCKING_EDE_CODES for c in comments)
    summary: dict[str, Any] = {
        "found": data["Status"] != NXDOMAIN,
        "blocked": bool(addresses) and addresses[0] == BLOCKED_ADDRESS,
        "status": data["Status"],
        "data": [str(r.get("data")) for r in records][:MAX_LIST],
    }
    if filtered:
        summary["policy_filtered"] = True
    if any(comments):
        summary["comment"] = [c for c in comments if c][:MAX_LIST]
    return summary


def verdict(summary: dict[str, Any]) -> Verdict:
    """Blocked is malicious; anything else is unknown (the blocklist is not exhaustive)."""
    return "malicious" if summary["blocked"] else "unknown"
