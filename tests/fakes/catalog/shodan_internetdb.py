"""Fake Shodan InternetDB (bodies from providers.md): one known host, 404 for the rest."""

from __future__ import annotations

import httpx

PLUGIN = "shodan_internetdb"
ENV: dict[str, str] = {}
KNOWN_IP = "8.8.8.8"
CASES = [("ip", KNOWN_IP, "unknown")]

HOST = {
    "ip": KNOWN_IP,
    "ports": [22, 80, 443],
    "hostnames": ["mail.evil.example"],
    "cpes": ["cpe:/a:openbsd:openssh:8.9p1", "cpe:/a:nginx:nginx"],
    "tags": ["cloud"],
    "vulns": ["CVE-2023-38408"],
}
NOT_FOUND = {"detail": "No information available"}


def handle(request: httpx.Request) -> httpx.Response | None:
    path = request.url.path
    if request.method != "GET" or path.count("/") != 1 or len(path) < 2:
        return None
    if path == f"/{KNOWN_IP}":
        return httpx.Response(200, json=HOST)
    return httpx.Response(404, json=NOT_FOUND)
