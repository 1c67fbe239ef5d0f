"""Fake ThreatFox API (bodies from providers.md's examples; IOCs moved to global/.example values)."""

from __future__ import annotations

import json

import httpx

PLUGIN = "threatfox"
KEY = "abusech-test-key-0123456789"
ENV = {"ABUSECH_API_KEY": KEY}
SHA256 = "d9801979104b8f74be66d341f378234877f59c31babb576329bdedc2a486b8be"
URL = "http://evil.example/gate.php"
CASES = [
    ("ip", "1.0.0.1", "malicious"),
    ("domain", "evil.example", "suspicious"),
    ("url", URL, "malicious"),
    ("hash", SHA256, "malicious"),
]


def entry(ioc: str, ioc_type: str, confidence: int, entry_id: str = "1401234") -> dict:
    """Return a search_ioc entry shaped like providers.md's example."""
    return {
        "id": entry_id,
        "ioc": ioc,
        "threat_type": "botnet_cc",
        "threat_type_desc": "Indicator that identifies a botnet command&control server (C&C)",
        "ioc_type": ioc_type,
        "ioc_type_desc": "ip:port combination that is used for botnet Command&control (C&C)",
        "malware": "win.cobalt_strike",
        "malware_printable": "Cobalt Strike",
        "malware_alias": "Agentemis,BEACON,CobaltStrike",
        "malware_malpedia": "https://malpedia.caad.fkie.fraunhofer.de/details/win.cobalt_strike",
        "confidence_level": confidence,
        "first_seen": "2025-01-01 07:00:00 UTC",
        "last_seen": None,
        "reference": None,
        "reporter": "examplereporter",
        "tags": ["c2", "CobaltStrike"],
        "malware_samples": [],
    }


IP_OK = {"query_status": "ok", "data": [entry("1.0.0.1:443", "ip:port", 100)]}
NOT_FOUND = {"query_status": "no_result", "data": "Your search did not yield any results"}
ANSWERS = {
    "1.0.0.1": IP_OK,
    "evil.example": {"query_status": "ok", "data": [entry("evil.example", "domain", 50, "1401235")]},
    URL: {"query_status": "ok", "data": [entry(URL, "url", 75, "1401236")]},
    SHA256: {"query_status": "ok", "data": [entry(SHA256, "sha256_hash", 90, "1401237")]},
}


def handle(request: httpx.Request) -> httpx.Response | None:
    if request.method != "POST" or request.url.path != "/":
        return None
    if request.headers.get("auth-key") != KEY:
        return httpx.Response(401, json={"query_status": "unknown_auth_key"})
    body = json.loads(request.content or b"{}")
    if body.get("query") != "search_ioc":
        return httpx.Response(200, json={"query_status": "unknown_query"})
    return httpx.Response(200, json=ANSWERS.get(body.get("search_term"), NOT_FOUND))
