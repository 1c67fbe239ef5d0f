"""Fake IPinfo legacy ``/{ip}/json`` and Lite ``/lite/{ip}`` (bodies from providers.md)."""

from __future__ import annotations

import httpx

PLUGIN = "ipinfo"
KEY = "fake-ipinfo-token"
ENV = {"IPINFO_API_KEY": KEY}
KNOWN_IP = "8.8.8.8"
CASES = [("ip", KNOWN_IP, "unknown")]

LEGACY = {
    "ip": KNOWN_IP,
    "hostname": "mail.evil.example",
    "city": "Amsterdam",
    "region": "North Holland",
    "country": "NL",
    "loc": "52.3740,4.8897",
    "org": "AS64500 Example Hosting Ltd",
    "postal": "1012",
    "timezone": "Europe/Amsterdam",
}
LITE = {
    "ip": KNOWN_IP,
    "asn": "AS64500",
    "as_name": "Example Hosting Ltd",
    "as_domain": "examplehosting.example",
    "country_code": "NL",
    "country": "Netherlands",
    "continent_code": "EU",
    "continent": "Europe",
}
WRONG_IP = {"status": 404, "error": {"title": "Wrong ip", "message": "Please provide a valid IP address"}}
BAD_TOKEN = {"status": 403, "error": {"title": "Unknown token", "message": "Please provide a valid token"}}


def handle(request: httpx.Request) -> httpx.Response | None:
    path = request.url.path
    if request.method != "GET":
        return None
    if path.startswith("/lite/"):
        ip, body = path[len("/lite/") :], LITE
    elif path.endswith("/json") and path.count("/") == 2:
        ip, body = path[1 : -len("/json")], LEGACY
    else:
        return None
    if request.url.params.get("token") != KEY:
        return httpx.Response(403, json=BAD_TOKEN)
    if ip.startswith(("10.", "192.168.")):
        return httpx.Response(200, json={"ip": ip, "bogon": True})
    return httpx.Response(200, json={**body, "ip": ip})
