"""Fake Cloudflare malware-blocking DNS JSON resolver (bodies from providers.md)."""

from __future__ import annotations

import httpx

from tests.fakes.catalog._dns import dns_json

PLUGIN = "cloudflare_security_dns"
ENV: dict[str, str] = {}
CASES = [("domain", "malicious.example", "malicious"), ("url", "http://benign.example/", "unknown")]
_ADDRESSES = {"malicious.example": "0.0.0.0", "benign.example": "198.51.100.23"}


def handle(request: httpx.Request) -> httpx.Response | None:
    if request.method != "GET" or request.url.path != "/" or "name" not in request.url.params:
        return None
    if request.headers.get("accept") != "application/dns-json":
        return httpx.Response(415)
    name = request.url.params["name"]
    address = _ADDRESSES.get(name)
    if address and request.url.params.get("type") == "A":
        return dns_json(name, 0, [{"name": name, "type": 1, "TTL": 60, "data": address}])
    return dns_json(name, 0 if address else 3)
