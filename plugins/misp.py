"""MISP: attributes matching the IOC on a self-hosted instance.

API reference: the MISP OpenAPI spec (``POST /attributes/restSearch`` with a JSON filter body, the
auth key as the raw ``Authorization`` header; circl.lu/doc/misp/automation).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins.spec import Context, Finding, PluginError, PluginSpec, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="misp",
    display_name="MISP",
    ioc_types=frozenset({"ip", "domain", "url", "hash", "email"}),
    categories=("reputation",),
    key_var="MISP_API_KEY",
    key="required",
    auth="header",
    auth_name="Authorization",
    url_var="MISP_URL",
    default_url=None,
    needs_url=True,
    tls_verify_var="MISP_VERIFY_TLS",
    hash_kinds=frozenset({"md5", "sha1", "sha256", "sha512"}),
)

LIMIT = 50
MAX_ITEMS = 10
_TYPES: dict[str, list[str]] = {
    "ip": ["ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain|ip"],
    "domain": ["domain", "hostname", "domain|ip"],
    "url": ["url"],
    "email": ["email", "email-src", "email-dst"],
}
_TRUE = {"1", "true", "yes"}
_ATTRIBUTE_FIELDS = ("id", "event_id", "type", "category", "value", "to_ids", "timestamp", "comment")


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Search the instance's attributes for the IOC (plain and composite values) and rate them."""
    reply = ctx.fetch_json(
        "POST", "/attributes/restSearch", json=search_body(ioc), headers={"Accept": "application/json"}
    )
    attributes = attributes_of(ctx, reply.data)
    if not attributes:
        return Finding(summary={"found": False, "count": 0}, raw=reply.data)
    ranked = sorted(attributes, key=lambda a: not to_ids(a))
    event_id = str(ranked[0].get("event_id") or "")
    link = f"{ctx.base_url}/events/view/{quote(event_id, safe='')}" if event_id else None
    return Finding(verdict(attributes), summarise(ranked), link=link, raw=reply.data)


def search_body(ioc: Ioc) -> dict[str, Any]:
    """Return the restSearch filter: the IOC's attribute types and its plain and composite values."""
    return {
        "returnFormat": "json",
        "value": values(ioc),
        "type": types_for(ioc),
        "limit": LIMIT,
        "page": 1,
        "includeEventTags": True,
        "enforceWarninglist": True,
        "includeEventUuid": True,
    }


def types_for(ioc: Ioc) -> list[str]:
    """Return the attribute types that can hold this IOC."""
    if ioc.type == "hash":
        kind = str(ioc.hash_kind)
        return [kind, f"filename|{kind}"]
    return _TYPES[ioc.type]


def values(ioc: Ioc) -> list[str]:
    """Return the value patterns: exact, and ``%`` patterns for composite types (ip|port, filename|hash)."""
    # An exact value does not match composite attributes such as ip-dst|port; MISP's % wildcard does.
    if ioc.type == "ip":
        return [ioc.value, f"{ioc.value}|%", f"%|{ioc.value}"]
    if ioc.type == "domain":
        return [ioc.value, f"{ioc.value}|%"]
    if ioc.type == "hash":
        return [ioc.value, f"%|{ioc.value}"]
    return [ioc.value]


def attributes_of(ctx: Context, data: Any) -> list[dict[str, Any]]:
    """Return the attribute list, raising for an error reported inside a 200 answer."""
    if not isinstance(data, dict) or data.get("errors"):
        text = data.get("errors") if isinstance(data, dict) else None
        message = ctx.safe_message("MISP answered with an error", str(text)[:200] if text else None)
        auth = "authentication" in str(text).lower() or "api key" in str(text).lower()
        raise PluginError("auth_failed" if auth else "provider_error", message)
    response = data.get("response")
    found = response.get("Attribute") if isinstance(response, dict) else response
    if found is None and "response" not in data:
        raise PluginError("provider_error", "MISP's answer has no response.Attribute")
    return [a for a in found or [] if isinstance(a, dict)]


def to_ids(attribute: dict[str, Any]) -> bool:
    """Return the attribute's IDS flag (true, 1 or "1")."""
    flag = attribute.get("to_ids")
    return flag is True or str(flag).strip().lower() in _TRUE


def verdict(attributes: list[dict[str, Any]]) -> Verdict:
    """Return malicious when any attribute is flagged for IDS, else suspicious."""
    return "malicious" if any(to_ids(a) for a in attributes) else "suspicious"


def summarise(attributes: list[dict[str, Any]]) -> dict[str, Any]:
    """Count the attributes and list them (IDS first) with their events and tags, and the distinct events."""
    events: dict[str, dict[str, Any]] = {}
    for attribute in attributes:
        event = attribute.get("Event")
        if not isinstance(event, dict):
            event = {}
        key = str(attribute.get("event_id") or event.get("id"))
        events.setdefault(key, {"id": key, "info": event.get("info")})
    return {
        "found": True,
        "count": len(attributes),
        "to_ids_count": sum(1 for a in attributes if to_ids(a)),
        "attributes": [_attribute(a) for a in attributes[:MAX_ITEMS]],
        "events": list(events.values())[:MAX_ITEMS],
    }


def _attribute(attribute: dict[str, Any]) -> dict[str, Any]:
    summary = {name: attribute.get(name) for name in _ATTRIBUTE_FIELDS}
    event = attribute.get("Event")
    if not isinstance(event, dict):
        event = {}
    # Event.id is the attribute's event_id already.
    for name in ("info", "uuid", "org_id", "orgc_id", "threat_level_id"):
        summary[f"event_{name}"] = event.get(name)
    tags = attribute.get("Tag")
    summary["tags"] = (
        [t.get("name") for t in tags[:MAX_ITEMS] if isinstance(t, dict)] if isinstance(tags, list) else []
    )
    return summary
