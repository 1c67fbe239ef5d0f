"""Fake VirusTotal v3 lookups (bodies from providers.md)."""

from __future__ import annotations

import httpx

from tests.fakes import providers as fp

PLUGIN = "virustotal"
ENV = {"VIRUSTOTAL_API_KEY": fp.VT_KEY}
CASES = [
    ("ip", "8.8.4.4", "malicious"),
    ("domain", "evil.example", "malicious"),
    ("url", "http://malicious.example/login.php", "malicious"),
    ("hash", fp.KNOWN_SHA256, "malicious"),
]
_PATHS = ("/ip_addresses/", "/domains/", "/urls/", "/files/")


def handle(request: httpx.Request) -> httpx.Response | None:
    if request.method != "GET" or not request.url.path.startswith(_PATHS):
        return None
    headers = {k.lower(): v for k, v in request.headers.items()}
    status, out, body = fp.FakeProviders().handle("GET", "/vt" + request.url.path, {}, {}, headers)
    return httpx.Response(status, headers=out, content=body)
