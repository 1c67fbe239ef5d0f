"""Fake AbuseIPDB v2 check endpoint (bodies from providers.md)."""

from __future__ import annotations

import httpx

from tests.fakes import providers as fp

PLUGIN = "abuseipdb"
ENV = {"ABUSEIPDB_API_KEY": fp.ABUSEIPDB_KEY}
CASES = [("ip", "1.0.0.1", "malicious")]


def handle(request: httpx.Request) -> httpx.Response | None:
    if request.url.path != "/check":
        return None
    headers = {k.lower(): v for k, v in request.headers.items()}
    status, out, body = fp.FakeProviders().handle(
        "GET", "/abuseipdb/check", dict(request.url.params), {}, headers
    )
    return httpx.Response(status, headers=out, content=body)
