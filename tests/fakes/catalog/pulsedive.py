"""Fake Pulsedive info.php (bodies from providers.md): known domain, IP and URL; 404 for the rest."""

from __future__ import annotations

from typing import Any

import httpx

PLUGIN = "pulsedive"
KEY = "fake-pulsedive-key"
ENV = {"PULSEDIVE_API_KEY": KEY}
DOMAIN = "evil.example"
IP = "1.0.0.1"
URL = "http://malicious.example/login.php"
CASES = [("domain", DOMAIN, "malicious"), ("ip", IP, "suspicious"), ("url", URL, "harmless")]

DOMAIN_INFO: dict[str, Any] = {
    "iid": 98765432,
    "type": "domain",
    "indicator": DOMAIN,
    "risk": "high",
    "risk_recommended": "high",
    "manualrisk": 0,
    "retired": None,
    "stamp_added": "2024-12-28 14:05:00",
    "stamp_updated": "2025-01-01 09:00:00",
    "stamp_seen": "2025-01-01 09:00:00",
    "stamp_probed": "2025-01-01 08:55:00",
    "recent": 1,
    "submissions": 3,
    "umbrella_rank": 0,
    "riskfactors": [
        {"rfid": 1, "description": "found in threat feeds", "risk": "high"},
        {"rfid": 25, "description": "newly registered domain", "risk": "low"},
    ],
    "threats": [
        {
            "tid": 123,
            "name": "AsyncRAT",
            "category": "malware",
            "risk": "high",
            "stamp_linked": "2025-01-01 09:00:00",
        }
    ],
    "feeds": [
        {
            "fid": 45,
            "name": "Example Phishing Feed",
            "category": "phishing",
            "organization": "Example Org",
            "stamp_linked": "2025-01-01 09:00:00",
        }
    ],
    "comments": [],
    "attributes": {"port": ["443"], "protocol": ["HTTPS"], "technology": ["nginx"]},
    "properties": {"dns": {"A": "198.51.100.23"}},
}
IP_INFO = {**DOMAIN_INFO, "iid": 1234, "type": "ip", "indicator": IP, "risk": "medium", "threats": []}
URL_INFO = {
    **DOMAIN_INFO,
    "iid": 5678,
    "type": "url",
    "indicator": URL,
    "risk": "none",
    "threats": [],
    "feeds": [],
}
NOT_FOUND = {"error": "Indicator not found."}
BAD_KEY = {"error": "Invalid API key."}
_KNOWN = {DOMAIN: DOMAIN_INFO, IP: IP_INFO, URL: URL_INFO}


def handle(request: httpx.Request) -> httpx.Response | None:
    if request.method != "GET" or request.url.path != "/info.php":
        return None
    if request.url.params.get("key") != KEY:
        return httpx.Response(403, json=BAD_KEY)
    body = _KNOWN.get(request.url.params.get("indicator", ""))
    return httpx.Response(200, json=body) if body else httpx.Response(404, json=NOT_FOUND)
