"""Fake GreyNoise Community API (bodies from providers.md): one scanner, one benign service."""

from __future__ import annotations

import httpx

PLUGIN = "greynoise"
KEY = "fake-greynoise-key"
ENV = {"GREYNOISE_API_KEY": KEY}
MALICIOUS_IP = "1.0.0.1"
BENIGN_IP = "8.8.8.8"
CASES = [("ip", MALICIOUS_IP, "malicious")]

SCANNER = {
    "ip": MALICIOUS_IP,
    "noise": True,
    "riot": False,
    "classification": "malicious",
    "name": "unknown",
    "link": f"https://viz.greynoise.io/ip/{MALICIOUS_IP}",
    "last_seen": "2025-01-01",
    "message": "Success",
}
BENIGN = {
    "ip": BENIGN_IP,
    "noise": False,
    "riot": True,
    "classification": "benign",
    "name": "Example Public DNS",
    "link": f"https://viz.greynoise.io/riot/{BENIGN_IP}",
    "last_seen": "2025-01-01",
    "message": "Success",
}
NOT_FOUND_MESSAGE = "IP not observed scanning the internet or contained in RIOT data set."
RATE_LIMITED = {
    "plan": "unauthenticated",
    "rate-limit": "10-lookups/day",
    "plan_url": "https://greynoise.io/pricing",
    "message": "You have hit your daily rate limit. Please create a free account or upgrade your plan.",
}
_KNOWN = {MALICIOUS_IP: SCANNER, BENIGN_IP: BENIGN}


def handle(request: httpx.Request) -> httpx.Response | None:
    path = request.url.path
    if request.method != "GET" or not path.startswith("/v3/community/"):
        return None
    if request.headers.get("key") != KEY:
        return httpx.Response(401, json={"message": "Invalid API key"})
    ip = path.rpartition("/")[2]
    if ip in _KNOWN:
        return httpx.Response(200, json=_KNOWN[ip])
    body = {"ip": ip, "noise": False, "riot": False, "message": NOT_FOUND_MESSAGE}
    return httpx.Response(404, json=body)
