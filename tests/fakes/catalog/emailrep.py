"""Fake EmailRep.io (bodies from providers.md)."""

from __future__ import annotations

import urllib.parse

import httpx

PLUGIN = "emailrep"
KEY = "emailrep-test-key-0123456789"
ENV = {"EMAILREP_API_KEY": KEY}
CASES = [("email", "j.doe@evil.example", "malicious")]
REPORT = {
    "email": "j.doe@evil.example",
    "reputation": "low",
    "suspicious": True,
    "references": 2,
    "details": {
        "blacklisted": False,
        "malicious_activity": True,
        "malicious_activity_recent": True,
        "credentials_leaked": False,
        "credentials_leaked_recent": False,
        "data_breach": False,
        "first_seen": "12/28/2024",
        "last_seen": "01/01/2025",
        "domain_exists": True,
        "domain_reputation": "low",
        "new_domain": True,
        "days_since_domain_creation": 5,
        "suspicious_tld": False,
        "spam": False,
        "free_provider": False,
        "disposable": False,
        "deliverable": True,
        "accept_all": True,
        "valid_mx": True,
        "primary_mx": "mx.evil.example",
        "spoofable": True,
        "spf_strict": False,
        "dmarc_enforced": False,
        "profiles": [],
    },
}
UNKNOWN = {
    "email": "nobody@clean.example",
    "reputation": "none",
    "suspicious": False,
    "references": 0,
    "details": {"blacklisted": False, "malicious_activity": False, "profiles": []},
}
INVALID_EMAIL = {"status": "fail", "reason": "invalid email"}
INVALID_KEY = {"status": "fail", "reason": "invalid api key"}
DAILY_LIMIT = {
    "status": "fail",
    "reason": "exceeded daily limit. please wait 24 hrs or visit emailrep.io/key for an api key.",
}
KEYLESS_DISABLED = {
    "status": "fail",
    "reason": "the unauthenticated API is currently disabled. please use an API key",
}


def handle(request: httpx.Request) -> httpx.Response | None:
    """Answer ``GET /{email}``: the example report for j.doe@evil.example, a blank one otherwise."""
    path = request.url.path
    if request.method != "GET" or path.count("/") != 1 or "@" not in urllib.parse.unquote(path):
        return None
    if not request.headers.get("user-agent"):
        return httpx.Response(403, json={"status": "fail", "reason": "user agent required"})
    key = request.headers.get("key")
    if not key:
        return httpx.Response(429, json=KEYLESS_DISABLED)
    if key != KEY:
        return httpx.Response(401, json=INVALID_KEY)
    email = urllib.parse.unquote(path[1:])
    return httpx.Response(200, json=REPORT if email == REPORT["email"] else {**UNKNOWN, "email": email})
