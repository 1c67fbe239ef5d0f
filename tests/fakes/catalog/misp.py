"""Fake MISP restSearch (bodies from providers.md's examples; values moved to global/.example ones)."""

from __future__ import annotations

import json

import httpx

PLUGIN = "misp"
KEY = "misp-test-key-0123456789"
ENV = {"MISP_API_KEY": KEY}
SHA256 = "d9801979104b8f74be66d341f378234877f59c31babb576329bdedc2a486b8be"
CASES = [
    ("ip", "1.0.0.1", "malicious"),
    ("domain", "evil.example", "suspicious"),
    ("url", "http://evil.example/login.php", "malicious"),
    ("hash", SHA256, "malicious"),
    ("email", "j.doe@evil.example", "suspicious"),
]


def attribute(value: str, attr_type: str, ids: bool, attr_id: str = "884211", event_id: str = "1532") -> dict:
    """Return an attribute shaped like providers.md's example."""
    return {
        "id": attr_id,
        "event_id": event_id,
        "object_id": "0",
        "object_relation": None,
        "category": "Network activity",
        "type": attr_type,
        "to_ids": ids,
        "uuid": "cd4768a5-453f-4e94-a3cf-a07e8fe9f21e",
        "timestamp": "1735720000",
        "distribution": "5",
        "sharing_group_id": "0",
        "comment": "C2 observed in phishing campaign",
        "deleted": False,
        "disable_correlation": False,
        "first_seen": None,
        "last_seen": None,
        "value": value,
        "Event": {
            "org_id": "1",
            "distribution": "1",
            "id": event_id,
            "info": "Phishing campaign targeting finance - Jan 2025",
            "orgc_id": "4",
            "uuid": "08f735e8-3220-404f-83fd-2f8933c0f75d",
        },
        "Tag": [{"id": "12", "name": "tlp:amber", "colour": "#FFC000", "numerical_value": None}],
    }


ATTRIBUTES = [
    attribute("1.0.0.1|443", "ip-dst|port", True),
    attribute("evil.example", "domain", False, "884212"),
    attribute("http://evil.example/login.php", "url", True, "884213"),
    attribute(f"invoice.exe|{SHA256}", "filename|sha256", True, "884214", "1533"),
    attribute("j.doe@evil.example", "email-src", False, "884215"),
]
AUTH_FAILED = {
    "name": "Authentication failed. Please make sure you pass the API key of an API enabled user along in the"
    " Authorization header.",
    "message": "Authentication failed.",
    "url": "/attributes/restSearch",
}


def _like(pattern: str, value: str) -> bool:
    if pattern.startswith("%"):
        return value.endswith(pattern[1:])
    if pattern.endswith("%"):
        return value.startswith(pattern[:-1])
    return value == pattern


def search(body: dict) -> list[dict]:
    """Return the attributes a restSearch body selects (value patterns OR-ed, types filtered)."""
    patterns = body.get("value") or []
    patterns = [patterns] if isinstance(patterns, str) else patterns
    types = set(body.get("type") or [])
    return [a for a in ATTRIBUTES if a["type"] in types and any(_like(p, a["value"]) for p in patterns)]


def handle(request: httpx.Request) -> httpx.Response | None:
    if request.method != "POST" or request.url.path != "/attributes/restSearch":
        return None
    if request.headers.get("authorization") != KEY:
        return httpx.Response(403, json=AUTH_FAILED)
    body = json.loads(request.content or b"{}")
    return httpx.Response(200, json={"response": {"Attribute": search(body)}})
