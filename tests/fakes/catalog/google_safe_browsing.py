"""Fake Google Safe Browsing v4 Lookup API (bodies from providers.md)."""

from __future__ import annotations

import json

import httpx

PLUGIN = "google_safe_browsing"
KEY = "gsb-test-key-0123456789"
ENV = {"GOOGLE_SAFE_BROWSING_API_KEY": KEY}
CASES = [
    ("url", "http://malicious.example/login.php", "malicious"),
    ("domain", "evil.example", "malicious"),
]
LISTED = ("http://malicious.example/login.php", "http://evil.example/")
BAD_KEY = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
    }
}
QUOTA = {
    "error": {
        "code": 429,
        "message": "Quota exceeded for quota metric 'Requests' of service 'safebrowsing.googleapis.com'.",
        "status": "RESOURCE_EXHAUSTED",
    }
}


def match(url: str) -> dict:
    """Return a match as in providers.md's example."""
    return {
        "threatType": "SOCIAL_ENGINEERING",
        "platformType": "ANY_PLATFORM",
        "threat": {"url": url},
        "cacheDuration": "300s",
        "threatEntryType": "URL",
    }


def handle(request: httpx.Request) -> httpx.Response | None:
    """Answer ``POST /threatMatches:find?key=…``: listed URLs match, others get ``{}``."""
    if request.method != "POST" or request.url.path != "/threatMatches:find":
        return None
    if request.url.params.get("key") != KEY:
        return httpx.Response(400, json=BAD_KEY)
    entries = json.loads(request.content)["threatInfo"]["threatEntries"]
    matches = [match(e["url"]) for e in entries if e.get("url") in LISTED]
    return httpx.Response(200, json={"matches": matches} if matches else {})
