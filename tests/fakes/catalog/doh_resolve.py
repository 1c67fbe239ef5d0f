"""Fake DNS-over-HTTPS JSON resolver (bodies from providers.md)."""

from __future__ import annotations

import httpx

from tests.fakes.catalog._dns import dns_json

PLUGIN = "doh_resolve"
ENV: dict[str, str] = {}
CASES = [("domain", "evil.example", "unknown"), ("url", "http://evil.example/login.php", "unknown")]
_RECORDS = {
    "A": [{"name": "evil.example", "type": 1, "TTL": 300, "data": "198.51.100.23"}],
    "MX": [{"name": "evil.example", "type": 15, "TTL": 300, "data": "10 mx.hoster.example."}],
    "NS": [{"name": "evil.example", "type": 2, "TTL": 300, "data": "ns1.hoster.example."}],
}


def handle(request: httpx.Request) -> httpx.Response | None:
    if request.method != "GET" or request.url.path != "/" or "name" not in request.url.params:
        return None
    if request.headers.get("accept") != "application/dns-json":
        return httpx.Response(415)
    name, rtype = request.url.params["name"], request.url.params.get("type", "A")
    known = name == "evil.example"
    if known:
        return dns_json(name, 0, _RECORDS.get(rtype, []))
    return dns_json(name, 3)
