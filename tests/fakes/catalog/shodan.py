"""Fake Shodan host API (bodies from providers.md): one known host, 404 for the rest."""

from __future__ import annotations

import httpx

PLUGIN = "shodan"
KEY = "fake-shodan-key"
ENV = {"SHODAN_API_KEY": KEY}
KNOWN_IP = "8.8.8.8"
CASES = [("ip", KNOWN_IP, "unknown")]

HOST = {
    "ip_str": KNOWN_IP,
    "ip": 134744072,
    "ports": [22, 80, 443],
    "hostnames": ["mail.evil.example"],
    "domains": ["evil.example"],
    "org": "Example Hosting Ltd",
    "isp": "Example Hosting Ltd",
    "asn": "AS64500",
    "country_code": "NL",
    "country_name": "Netherlands",
    "city": "Amsterdam",
    "region_code": "NH",
    "latitude": 52.37,
    "longitude": 4.89,
    "os": None,
    "tags": ["cloud"],
    "vulns": ["CVE-2023-38408"],
    "last_update": "2025-01-01T08:12:44.123456",
}
NOT_FOUND = {"error": "No information available for that IP."}
BAD_KEY = {"error": "Invalid API key"}


def handle(request: httpx.Request) -> httpx.Response | None:
    path = request.url.path
    if request.method != "GET" or not path.startswith("/shodan/host/"):
        return None
    if request.url.params.get("key") != KEY:
        return httpx.Response(401, json=BAD_KEY)
    if path == f"/shodan/host/{KNOWN_IP}":
        return httpx.Response(200, json=HOST)
    return httpx.Response(404, json=NOT_FOUND)
