"""Fake crt.sh JSON search (bodies from providers.md)."""

from __future__ import annotations

import httpx

PLUGIN = "crtsh"
ENV: dict[str, str] = {}
CASES = [("domain", "evil.example", "unknown")]
ENTRY = {
    "issuer_ca_id": 295815,
    "issuer_name": "C=US, O=Let's Encrypt, CN=R11",
    "common_name": "evil.example",
    "name_value": "evil.example\nwww.evil.example",
    "id": 15839920011,
    "entry_timestamp": "2024-12-28T13:50:02.117",
    "not_before": "2024-12-28T12:51:31",
    "not_after": "2025-03-28T12:51:30",
    "serial_number": "04a1b2c3d4e5f60718293a4b5c6d7e8f9012",
    "result_count": 3,
}


def handle(request: httpx.Request) -> httpx.Response | None:
    if request.method != "GET" or request.url.path != "/":
        return None
    params = request.url.params
    if params.get("output") != "json" or not params.get("q"):
        return httpx.Response(200, text="<html>crt.sh search form</html>")
    body = [ENTRY] if params["q"] == "evil.example" else []
    return httpx.Response(200, json=body)
