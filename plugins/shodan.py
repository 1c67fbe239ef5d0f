"""Shodan host API: open ports, services and vulnerabilities of an IP.

API reference: developer.shodan.io/api (``GET /shodan/host/{ip}``, ``key`` query parameter).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins import _shodan
from plugins.spec import Context, Finding, PluginError, PluginSpec
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="shodan",
    display_name="Shodan",
    ioc_types=frozenset({"ip"}),
    categories=("osint",),
    key_var="SHODAN_API_KEY",
    key="required",
    auth="query",
    auth_name="key",
    url_var="SHODAN_URL",
    default_url="https://api.shodan.io",
)

_SCALARS = ("ip_str", "org", "isp", "asn", "country_code", "country_name", "city", "os", "last_update")
_LISTS = ("ports", "hostnames", "domains", "tags", "vulns")


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Fetch Shodan's host record (without banners) and summarise the exposure."""
    path = f"/shodan/host/{quote(ioc.value, safe='')}"
    reply = ctx.fetch_json("GET", path, accept=(404,), params={"minify": "true"})
    link = f"https://www.shodan.io/host/{ioc.value}"
    if reply.status == 404:
        message = _error_text(reply.data) or "No information available for that IP."
        return Finding(summary={"found": False, "message": message}, raw=reply.data)
    if not isinstance(reply.data, dict) or "ip_str" not in reply.data:
        raise _body_error(ctx, reply.data)
    return Finding(
        verdict=_shodan.verdict(reply.data), summary=summarise(reply.data), link=link, raw=reply.data
    )


def summarise(data: dict[str, Any]) -> dict[str, Any]:
    """Keep the fields the catalog lists; lists capped at ten."""
    summary: dict[str, Any] = {"found": True}
    summary.update({name: data.get(name) for name in _SCALARS})
    summary.update(_shodan.lists(data, _LISTS))
    return summary


def _error_text(data: Any) -> str | None:
    return data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), str) else None


def _body_error(ctx: Context, data: Any) -> PluginError:
    """Map an error reported in a 200 body (Shodan's JSON is ``{"error": ...}``)."""
    text = _error_text(data)
    message = ctx.safe_message("HTTP 200", text or "answer without ip_str")
    if text and "api key" in text.lower():
        return PluginError("auth_failed", message)
    return PluginError("provider_error", message)
