"""GreyNoise Community: is an IPv4 address internet background noise or a known benign service?

API reference: docs.greynoise.io/reference/getcommunityip (``GET /v3/community/{ip}``, ``key`` header).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins.spec import Context, Finding, PluginError, PluginSpec, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="greynoise",
    display_name="GreyNoise Community",
    ioc_types=frozenset({"ip"}),
    categories=("reputation",),
    key_var="GREYNOISE_API_KEY",
    key="optional",
    auth="header",
    auth_name="key",
    url_var="GREYNOISE_URL",
    default_url="https://api.greynoise.io",
)

VIZ = "https://viz.greynoise.io"
_FIELDS = ("noise", "riot", "classification", "name", "last_seen", "link", "message")


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Ask the community endpoint about one IPv4 address and apply the classification rule."""
    if ":" in ioc.value:
        raise PluginError("not_supported", "the GreyNoise Community API takes IPv4 addresses only")
    reply = ctx.fetch_json("GET", f"/v3/community/{quote(ioc.value, safe='')}", accept=(404,))
    data = reply.data if isinstance(reply.data, dict) else {}
    if reply.status == 404:
        # GreyNoise answers an unobserved IP with 404 and a normal-looking body: not found, not an error.
        summary = {"found": False, "noise": False, "riot": False, "message": data.get("message")}
        return Finding(summary=summary, raw=reply.data)
    if "noise" not in data and "classification" not in data:
        raise PluginError("provider_error", "GreyNoise's answer has neither noise nor classification")
    summary = {"found": True, **{name: data.get(name) for name in _FIELDS}}
    return Finding(verdict=verdict(data), summary=summary, link=link(ioc, data), raw=reply.data)


def verdict(data: dict[str, Any]) -> Verdict:
    """Malicious classification wins; RIOT or benign is harmless; suspicious stays; noise alone is unknown."""
    classification = str(data.get("classification") or "unknown").lower()
    if classification == "malicious":
        return "malicious"
    if data.get("riot") is True or classification == "benign":
        return "harmless"
    if classification == "suspicious":
        return "suspicious"
    return "unknown"


def link(ioc: Ioc, data: dict[str, Any]) -> str:
    """Return the visualizer page GreyNoise names, or the standard one for the IP."""
    given = data.get("link")
    if isinstance(given, str) and given.startswith(VIZ + "/"):
        return given
    return f"{VIZ}/ip/{ioc.value}"
