"""Fake urlscan.io scan API: POST /scan/ and GET /result/{uuid}/ (bodies from providers.md).

Only the submission and result paths: ``GET /search/`` belongs to the ``urlscan_search`` fake, so
``handle`` returns None there. A scan answers 404 for a poll or two, then 200 with the result.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

PLUGIN = "urlscan_scan"
KEY = "urlscan-test-key-0123456789"  # the same value as the urlscan_search fake: one shared variable
ENV = {"URLSCAN_API_KEY": KEY}
CASES = [("url", "http://malicious.example/login.php", "malicious"), ("domain", "benign.example", "harmless")]

UUID = "cd4768a5-453f-4e94-a3cf-a07e8fe9f21e"
SUBMITTED = {
    "message": "Submission successful",
    "uuid": UUID,
    "result": f"https://urlscan.io/result/{UUID}/",
    "api": f"https://urlscan.io/api/v1/result/{UUID}/",
    "visibility": "unlisted",
    "options": {"useragent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36"},
    "url": "http://malicious.example/login.php",
    "country": "de",
}
DNS_ERROR = {
    "message": "DNS Error - Could not resolve domain",
    "description": "The domain unresolvable.example could not be resolved to a valid IPv4/IPv6 address. "
    "We won't try to load it in the browser.",
    "status": 400,
}
RUNNING = {"message": "Scan is not finished yet", "status": 404}
DELETED = {"message": "Scan has been deleted", "status": 410}
UNAUTHORIZED = {"message": "Unauthorized: API key missing or invalid", "status": 401}
RESULT = {
    "task": {
        "uuid": UUID,
        "time": "2025-01-01T09:31:02.112Z",
        "url": "http://malicious.example/login.php",
        "visibility": "unlisted",
        "method": "api",
        "screenshotURL": f"https://urlscan.io/screenshots/{UUID}.png",
        "reportURL": f"https://urlscan.io/result/{UUID}/",
    },
    "page": {
        "url": "http://malicious.example/login.php",
        "domain": "malicious.example",
        "ip": "198.51.100.23",
        "country": "NL",
        "asn": "AS64500",
        "asnname": "EXAMPLE-HOSTING, NL",
        "server": "nginx",
        "status": "200",
        "title": "Sign in to your account",
    },
    "stats": {"malicious": 1, "uniqIPs": 3, "uniqCountries": 1},
    "lists": {
        "ips": ["198.51.100.23", "192.0.2.10"],
        "domains": ["malicious.example", "cdn.example"],
        "urls": ["http://malicious.example/login.php", "https://cdn.example/lib.js"],
        "certificates": [],
    },
    "verdicts": {
        "overall": {
            "score": 100,
            "categories": ["phishing"],
            "brands": ["Example Bank"],
            "tags": ["phishing"],
            "malicious": True,
            "hasVerdicts": True,
        },
        "urlscan": {
            "score": 100,
            "categories": ["phishing"],
            "brands": [{"key": "examplebank", "name": "Example Bank"}],
            "malicious": True,
        },
        "engines": {
            "score": 0,
            "malicious": [],
            "benign": [],
            "maliciousTotal": 0,
            "benignTotal": 0,
            "verdicts": [],
            "enginesTotal": 0,
        },
        "community": {"score": 0, "votes": [], "votesTotal": 0, "votesMalicious": 0, "votesBenign": 0},
    },
}


def result_with(
    score: int, malicious: bool, url: str = "http://malicious.example/login.php"
) -> dict[str, Any]:
    """Return the result body with another overall verdict and scanned URL."""
    body = copy.deepcopy(RESULT)
    body["verdicts"]["overall"].update(score=score, malicious=malicious)
    body["task"]["url"] = body["page"]["url"] = url
    return body


@dataclass
class Fake:
    """Scans by uuid: each answers 404 for ``polls_before_finish`` polls, then its result (or 410)."""

    polls_before_finish: int = 1
    deleted: bool = False
    requests: list[httpx.Request] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)
    scans: dict[str, str] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count())
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: httpx.Request) -> httpx.Response | None:
        """Answer POST /scan/ and GET /result/{uuid}/; None for every other path."""
        path = request.url.path
        if request.method == "POST" and path == "/scan/":
            return self._checked(request, self._submit)
        if request.method == "GET" and path.startswith("/result/") and path.endswith("/"):
            return self._checked(request, self._result)
        return None

    def _checked(self, request: httpx.Request, route: Any) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        if request.headers.get("api-key") != KEY:
            return httpx.Response(401, json=UNAUTHORIZED)
        return route(request)

    def _submit(self, request: httpx.Request) -> httpx.Response:
        url = json.loads(request.content or b"{}").get("url", "")
        if not url or "unresolvable" in url:
            return httpx.Response(400, json=DNS_ERROR)
        with self._lock:
            n = next(self._ids)
        uuid = UUID if n == 0 else f"{UUID[:-12]}{n:012d}"
        self.scans[uuid] = url
        return httpx.Response(200, json={**SUBMITTED, "uuid": uuid, "url": url})

    def _result(self, request: httpx.Request) -> httpx.Response:
        uuid = request.url.path[len("/result/") : -1]
        if uuid not in self.scans:
            return httpx.Response(404, json=RUNNING)
        with self._lock:
            seen = self.polls[uuid] = self.polls.get(uuid, 0) + 1
        if seen <= self.polls_before_finish:
            return httpx.Response(404, json=RUNNING)
        if self.deleted:
            return httpx.Response(410, json=DELETED)
        url = self.scans[uuid]
        body = result_with(100, True, url) if "malicious" in url else result_with(-50, False, url)
        body["task"]["uuid"] = uuid
        return httpx.Response(200, json=body)


_STATE = Fake()


def handle(request: httpx.Request) -> httpx.Response | None:
    return _STATE.handle(request)
