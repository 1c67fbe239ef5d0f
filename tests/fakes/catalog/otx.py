"""Fake AlienVault OTX indicator API (bodies from providers.md), general section only."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import httpx

PLUGIN = "otx"
KEY = "fake-otx-key"
ENV = {"OTX_API_KEY": KEY}
PULSED_IP = "1.0.0.1"
WHITELISTED = "whitelisted.example"
URL = "http://malicious.example/login.php"
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
CASES = [
    ("ip", PULSED_IP, "malicious"),
    ("domain", WHITELISTED, "harmless"),
    ("url", URL, "suspicious"),
    ("hash", SHA256, "malicious"),
]

RELATED = {
    "alienvault": {"adversary": [], "malware_families": [], "industries": []},
    "other": {"adversary": [], "malware_families": [], "industries": []},
}
PULSE = {
    "id": "6772a1b2c3d4e5f601234567",
    "name": "SSH brute-force sources - week 52",
    "tags": ["bruteforce", "ssh"],
    "created": "2024-12-30T09:00:00.000000",
    "malware_families": [],
    "adversary": "",
}
IP_GENERAL = {
    "whois": f"http://whois.domaintools.com/{PULSED_IP}",
    "reputation": 0,
    "indicator": PULSED_IP,
    "type": "IPv4",
    "type_title": "IPv4",
    "base_indicator": {"id": 3917422211, "indicator": PULSED_IP, "type": "IPv4", "access_type": "public"},
    "pulse_info": {"count": 4, "pulses": [PULSE], "references": [], "related": RELATED},
    "false_positive": [],
    "validation": [],
    "asn": "AS64501 Example Transit LLC",
    "city": None,
    "country_code": "RU",
    "country_name": "Russian Federation",
    "sections": [
        "general",
        "geo",
        "reputation",
        "url_list",
        "passive_dns",
        "malware",
        "nids_list",
        "http_scans",
    ],
}
DOMAIN_GENERAL = {
    "indicator": WHITELISTED,
    "type": "domain",
    "pulse_info": {"count": 0, "pulses": [], "references": [], "related": RELATED},
    "validation": [
        {"source": "whitelist", "message": f"Whitelisted domain {WHITELISTED}", "name": "Whitelisted domain"}
    ],
    "whois": f"http://whois.domaintools.com/{WHITELISTED}",
    "sections": ["general", "geo", "url_list", "passive_dns", "malware", "whois", "http_scans"],
}
URL_GENERAL = {
    "indicator": URL,
    "type": "url",
    "pulse_info": {
        "count": 2,
        "pulses": [PULSE, {**PULSE, "id": "6772a1b2c3d4e5f601234568"}],
        "related": RELATED,
    },
    "validation": [],
    "sections": ["general", "url_list"],
}
FILE_GENERAL = {
    "indicator": SHA256,
    "type": "FileHash-SHA256",
    "pulse_info": {
        "count": 3,
        "pulses": [{**PULSE, "malware_families": ["AsyncRAT"]}],
        "related": {**RELATED, "alienvault": {**RELATED["alienvault"], "malware_families": ["AsyncRAT"]}},
    },
    "validation": [],
    "sections": ["general", "analysis"],
}
AUTH_REQUIRED = {"detail": "Authentication required"}
_KNOWN: dict[tuple[str, str], dict[str, Any]] = {
    ("IPv4", PULSED_IP): IP_GENERAL,
    ("domain", WHITELISTED): DOMAIN_GENERAL,
    ("url", URL): URL_GENERAL,
    ("file", SHA256): FILE_GENERAL,
}


def handle(request: httpx.Request) -> httpx.Response | None:
    path = request.url.path
    if request.method != "GET" or not path.startswith("/indicators/") or not path.endswith("/general"):
        return None
    if request.headers.get("x-otx-api-key") != KEY:
        return httpx.Response(403, json=AUTH_REQUIRED)
    kind, _, value = path[len("/indicators/") : -len("/general")].partition("/")
    body = _KNOWN.get((kind, unquote(value)))
    if body is None:
        empty = {"indicator": unquote(value), "type": kind, "validation": []}
        return httpx.Response(200, json={**empty, "pulse_info": {"count": 0, "pulses": []}})
    return httpx.Response(200, json=body)
