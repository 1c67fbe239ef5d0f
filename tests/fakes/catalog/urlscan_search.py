"""Fake urlscan.io search API (bodies from providers.md); other URLSCAN_URL paths are not its own."""

from __future__ import annotations

import httpx

PLUGIN = "urlscan_search"
KEY = "urlscan-test-key-0123456789"
ENV = {"URLSCAN_API_KEY": KEY}
CASES = [
    ("domain", "evil.example", "malicious"),
    ("url", "http://malicious.example/login.php", "malicious"),
    ("ip", "1.0.0.1", "unknown"),
]
SCAN_ID = "2cd4d879-bc12-41ff-b3aa-50f3805d70ce"
HIT = {
    "_id": SCAN_ID,
    "_score": None,
    "task": {
        "visibility": "public",
        "method": "api",
        "domain": "evil.example",
        "apexDomain": "evil.example",
        "time": "2025-01-01T09:30:12.345Z",
        "uuid": SCAN_ID,
        "url": "https://evil.example/login",
    },
    "stats": {
        "uniqIPs": 3,
        "uniqCountries": 1,
        "dataLength": 120334,
        "encodedDataLength": 45210,
        "requests": 14,
    },
    "page": {
        "country": "NL",
        "server": "nginx",
        "ip": "198.51.100.23",
        "mimeType": "text/html",
        "title": "Sign in to your account",
        "url": "https://evil.example/login",
        "domain": "evil.example",
        "apexDomain": "evil.example",
        "asnname": "EXAMPLE-HOSTING, NL",
        "asn": "AS64500",
        "status": "200",
    },
    "verdicts": {"malicious": True, "score": 100},
    "sort": [1735723812345, SCAN_ID],
    "result": f"https://urlscan.io/api/v1/result/{SCAN_ID}/",
    "screenshot": f"https://urlscan.io/screenshots/{SCAN_ID}.png",
}
SEARCH_HIT = {"results": [HIT], "total": 1, "took": 37, "has_more": False}
SEARCH_EMPTY = {"results": [], "total": 0, "took": 5, "has_more": False}
BAD_QUERY = {"message": "Search query is invalid", "description": "Could not parse query", "status": 400}
BAD_KEY = {"message": "Invalid API key format", "description": "The API key is malformed", "status": 400}
_KNOWN = ("domain:evil.example", 'page.url:"http://malicious.example/login.php"')


def handle(request: httpx.Request) -> httpx.Response | None:
    """Answer ``GET /search/`` only; None for the scan and result paths of the other urlscan fake."""
    if request.method != "GET" or request.url.path != "/search/":
        return None
    # Any well-formed key passes: URLSCAN_API_KEY is shared with the urlscan_scan fake.
    if request.headers.get("api-key", KEY).strip() in ("", "malformed"):
        return httpx.Response(400, json=BAD_KEY)
    q = request.url.params.get("q", "")
    if not q:
        return httpx.Response(400, json=BAD_QUERY)
    return httpx.Response(200, json=SEARCH_HIT if q in _KNOWN else SEARCH_EMPTY)
