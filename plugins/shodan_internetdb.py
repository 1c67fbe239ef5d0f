"""Shodan InternetDB: keyless weekly snapshot of an IP's open ports, CPEs, tags and CVEs.

API reference: internetdb.shodan.io (``GET /{ip}``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins import _shodan
from plugins.spec import Context, Finding, PluginError, PluginSpec
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="shodan_internetdb",
    display_name="Shodan InternetDB",
    ioc_types=frozenset({"ip"}),
    categories=("osint",),
    key="none",
    url_var="SHODAN_INTERNETDB_URL",
    default_url="https://internetdb.shodan.io",
)

_LISTS = ("ports", "hostnames", "cpes", "tags", "vulns")


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Fetch InternetDB's record for one IP and summarise its exposure."""
    reply = ctx.fetch_json("GET", f"/{quote(ioc.value, safe='')}", accept=(404,))
    if reply.status == 404:
        detail = reply.data.get("detail") if isinstance(reply.data, dict) else None
        return Finding(
            summary={"found": False, "message": detail or "No information available"}, raw=reply.data
        )
    if not isinstance(reply.data, dict) or not any(name in reply.data for name in _LISTS):
        raise PluginError("provider_error", "InternetDB's answer has none of ports/hostnames/cpes/tags/vulns")
    return Finding(
        verdict=_shodan.verdict(reply.data),
        summary=summarise(reply.data),
        link=f"https://www.shodan.io/host/{ioc.value}",
        raw=reply.data,
    )


def summarise(data: dict[str, Any]) -> dict[str, Any]:
    """Keep the lists the catalog names, capped at ten."""
    return {"found": True, **_shodan.lists(data, _LISTS)}
