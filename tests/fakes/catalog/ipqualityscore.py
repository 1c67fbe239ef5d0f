"""Fake IPQualityScore JSON API, key in the path (bodies from providers.md's examples)."""

from __future__ import annotations

import httpx

PLUGIN = "ipqualityscore"
KEY = "ipqs-test-key-0123456789"
ENV = {"IPQUALITYSCORE_API_KEY": KEY}
EMAIL = "j.doe@evil.example"
URL = "http://malicious.example/login.php"
CASES = [
    ("email", EMAIL, "malicious"),
    ("url", URL, "malicious"),
    ("domain", "shop.example", "harmless"),
    ("ip", "1.0.0.1", "suspicious"),
]
AGE = {"human": "5 days ago", "timestamp": 1735300000, "iso": "2024-12-27T12:00:00-05:00"}
EMAIL_OK = {
    "message": "Success.",
    "success": True,
    "valid": True,
    "disposable": False,
    "smtp_score": 2,
    "overall_score": 3,
    "first_name": "Unknown",
    "generic": False,
    "common": False,
    "dns_valid": True,
    "honeypot": False,
    "deliverability": "medium",
    "frequent_complainer": False,
    "spam_trap_score": "none",
    "catch_all": True,
    "timed_out": False,
    "suspect": True,
    "recent_abuse": True,
    "fraud_score": 92,
    "suggested_domain": "N/A",
    "leaked": False,
    "domain_age": AGE,
    "first_seen": {"human": "4 days ago", "timestamp": 1735390000, "iso": "2024-12-28T13:00:00-05:00"},
    "sanitized_email": EMAIL,
    "request_id": "8a1Bc2De3F",
}
URL_OK = {
    "message": "Success.",
    "success": True,
    "unsafe": True,
    "domain": "malicious.example",
    "ip_address": "198.51.100.23",
    "server": "nginx",
    "content_type": "text/html; charset=UTF-8",
    "status_code": 200,
    "page_size": 20441,
    "domain_rank": 0,
    "dns_valid": True,
    "parking": False,
    "spamming": False,
    "malware": False,
    "phishing": True,
    "suspicious": True,
    "adult": False,
    "risk_score": 100,
    "country_code": "NL",
    "category": "Phishing",
    "domain_age": AGE,
    "redirected": False,
    "final_url": URL,
    "request_id": "9b2Cd3Ef4G",
}
URL_CLEAN = {
    **URL_OK,
    "unsafe": False,
    "domain": "shop.example",
    "phishing": False,
    "suspicious": False,
    "risk_score": 0,
    "category": "Shopping",
    "final_url": "http://shop.example/",
}
IP_OK = {
    "message": "Success.",
    "success": True,
    "proxy": True,
    "vpn": True,
    "tor": False,
    "bot_status": False,
    "recent_abuse": False,
    "ISP": "Example Hosting",
    "country_code": "NL",
    "host": "vpn.example",
    "fraud_score": 80,
    "request_id": "6d4Ef5Gh6I",
}
NO_CREDITS = {
    "success": False,
    "message": "You have insufficient credits to make this query. Please contact support if this is in error.",
    "request_id": "7c3De4Fg5H",
}
ANSWERS = {
    ("email", EMAIL): EMAIL_OK,
    ("url", URL): URL_OK,
    ("url", "shop.example"): URL_CLEAN,
    ("ip", "1.0.0.1"): IP_OK,
}


def handle(request: httpx.Request) -> httpx.Response | None:
    parts = request.url.path.split("/", 3)
    if request.method != "GET" or len(parts) != 4 or parts[1] not in ("email", "url", "ip"):
        return None
    if parts[2] != KEY:
        return httpx.Response(
            200, json={"success": False, "message": "Invalid or unauthorized key.", "request_id": "x"}
        )
    body = ANSWERS.get((parts[1], parts[3]))
    if body is None:
        body = (
            {**URL_CLEAN, "final_url": parts[3]}
            if parts[1] == "url"
            else {**IP_OK, "fraud_score": 0, "vpn": False}
        )
    return httpx.Response(200, json=body)
