"""IPinfo: geolocation and network owner of an IP (legacy ``/{ip}/json`` or Lite ``/lite/{ip}``).

API reference: ipinfo.io/developers (``token`` query parameter).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins.spec import Context, Finding, PluginError, PluginSpec
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="ipinfo",
    display_name="IPinfo",
    ioc_types=frozenset({"ip"}),
    categories=("geolocation",),
    key_var="IPINFO_API_KEY",
    key="optional",
    auth="query",
    auth_name="token",
    url_var="IPINFO_URL",
    default_url="https://ipinfo.io",
)

LEGACY_FIELDS = (
    "ip",
    "hostname",
    "city",
    "region",
    "country",
    "loc",
    "org",
    "postal",
    "timezone",
    "anycast",
    "bogon",
)
LITE_FIELDS = ("ip", "asn", "as_name", "as_domain", "country_code", "country", "continent_code", "continent")


def is_lite(base_url: str) -> bool:
    """Return True when IPINFO_URL points at the Lite API (``https://api.ipinfo.io/lite``)."""
    return base_url.rstrip("/").endswith("/lite")


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Fetch IPinfo's record for one IP; geolocation only, so the verdict is always unknown."""
    ip = quote(ioc.value, safe="")
    reply = ctx.fetch_json("GET", f"/{ip}" if is_lite(ctx.base_url) else f"/{ip}/json")
    data = reply.data
    if not isinstance(data, dict) or "ip" not in data:
        raise PluginError("provider_error", "IPinfo's answer has no ip field")
    link = f"https://ipinfo.io/{ioc.value}"
    if data.get("bogon") is True:
        return Finding(summary={"found": False, "ip": data["ip"], "bogon": True}, link=link, raw=data)
    # The two APIs return different shapes; read whichever came back rather than trusting the URL.
    fields = LITE_FIELDS if "as_name" in data or "continent_code" in data else LEGACY_FIELDS
    summary: dict[str, Any] = {"found": True, **{name: data.get(name) for name in fields}}
    return Finding(summary=summary, link=link, raw=data)
