"""What doh_resolve and cloudflare_security_dns share: DNS JSON queries and the name to ask about.

Both speak the DNS JSON API (developers.cloudflare.com/1.1.1.1/encryption/dns-over-https/
make-api-requests/dns-json/) to a resolver URL that is the endpoint itself (…/dns-query).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from plugins.spec import Context, PluginError
from shared.iocs.normalize import Ioc


def host_name(ioc: Ioc, *, no_host: str, ip_host: str) -> str:
    """Return the domain, or a URL's host; raise not_supported with ``no_host``/``ip_host`` otherwise."""
    name = ioc.host if ioc.type == "url" else ioc.value
    if not name:
        raise PluginError("not_supported", no_host)
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name
    raise PluginError("not_supported", ip_host)


def query(ctx: Context, name: str, rtype: str, *, what: str) -> dict[str, Any]:
    """Send one DNS JSON query and return its answer; ``what`` names it when it has no DNS Status."""
    # The resolver URL is the endpoint itself (…/dns-query): request it as configured, no extra "/".
    reply = ctx.fetch_json(
        "GET", ctx.base_url, params={"name": name, "type": rtype}, headers={"Accept": "application/dns-json"}
    )
    if not isinstance(reply.data, dict) or not isinstance(reply.data.get("Status"), int):
        raise PluginError("provider_error", f"the resolver's {what} has no DNS Status")
    return reply.data
