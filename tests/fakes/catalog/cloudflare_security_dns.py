"""Fake Cloudflare malware-blocking DNS JSON resolver (bodies from providers.md)."""

from __future__ import annotations

import httpx

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
    body: dict[str, object] = {
        "Status": 0 if address else 3,
        "TC": False,
        "RD": True,
        "RA": True,
        "AD": False,
        "CD": False,
        "Question": [{"name": name, "type": 1}],
    }
    if address and request.url.params.get("type") == "A":
        body["Answer"] = [{"name": name, "type": 1, "TTL": 60, "data": address}]
    return httpx.Response(200, json=body, headers={"Content-Type": "application/dns-json"})
