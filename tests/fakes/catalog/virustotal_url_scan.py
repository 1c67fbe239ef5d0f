"""Fake VirusTotal URL analysis: POST /urls and GET /analyses/{id} (bodies from providers.md).

Only the submission and analysis endpoints: the lookup paths (``/ip_addresses/``, ``/domains/``,
``GET /urls/{id}``, ``/files/``) belong to the ``virustotal`` fake, so ``handle`` returns None there.
"""

from __future__ import annotations

import copy
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.fakes import providers as fp

PLUGIN = "virustotal_url_scan"
ENV = {"VIRUSTOTAL_API_KEY": fp.VT_KEY}
CASES = [("url", "http://malicious.example/login.php", "malicious")]

URL_ID = "451ad28a650bbbea3f5a4bb3818902c33c29848b8eeb583269107da4fdac3e5c"
ANALYSIS_ID = f"u-{URL_ID}-1735723800"
SUBMITTED = {
    "data": {
        "type": "analysis",
        "id": ANALYSIS_ID,
        "links": {"self": f"https://www.virustotal.com/api/v3/analyses/{ANALYSIS_ID}"},
    }
}
QUEUED = {
    "data": {
        "id": ANALYSIS_ID,
        "type": "analysis",
        "attributes": {
            "date": 1735723800,
            "status": "queued",
            "stats": {"harmless": 0, "malicious": 0, "suspicious": 0, "undetected": 0, "timeout": 0},
            "results": {},
        },
    },
    "meta": {"url_info": {"id": URL_ID, "url": "http://malicious.example/login.php"}},
}
COMPLETED = {
    "data": {
        "id": ANALYSIS_ID,
        "type": "analysis",
        "attributes": {
            "date": 1735723800,
            "status": "completed",
            "stats": {"harmless": 60, "malicious": 7, "suspicious": 1, "undetected": 24, "timeout": 0},
            "results": {
                "ExampleAV": {
                    "category": "malicious",
                    "engine_name": "ExampleAV",
                    "method": "blacklist",
                    "result": "phishing",
                },
                "OtherAV": {
                    "category": "harmless",
                    "engine_name": "OtherAV",
                    "method": "blacklist",
                    "result": "clean",
                },
            },
        },
    },
    "meta": {"url_info": {"id": URL_ID, "url": "http://malicious.example/login.php"}},
}
NOT_FOUND = {"error": {"code": "NotFoundError", "message": f'Analysis "{ANALYSIS_ID}" not found'}}


def completed_with(stats: dict[str, int]) -> dict[str, Any]:
    """Return the completed analysis body with other engine counts."""
    body = copy.deepcopy(COMPLETED)
    body["data"]["attributes"]["stats"] = stats
    return body


@dataclass
class Fake:
    """Submission and analysis state: an analysis completes after ``polls_before_finish`` polls."""

    polls_before_finish: int = 1
    final_status: str = "completed"
    requests: list[httpx.Request] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: httpx.Request) -> httpx.Response | None:
        """Answer POST /urls and GET /analyses/{id}; None for every other path."""
        path = request.url.path
        if request.method == "POST" and path == "/urls":
            return self._answer(request, self._submit)
        if request.method == "GET" and path.startswith("/analyses/"):
            return self._answer(request, self._analysis)
        return None

    def _answer(self, request: httpx.Request, route: Any) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        if request.headers.get("x-apikey") != fp.VT_KEY:
            return httpx.Response(401, json=fp.VT_AUTH)
        return route(request)

    def _submit(self, request: httpx.Request) -> httpx.Response:
        form = dict(urllib.parse.parse_qsl(request.content.decode()))
        if not form.get("url"):
            body = {"error": {"code": "InvalidArgumentError", "message": "Unable to canonicalize url"}}
            return httpx.Response(400, json=body)
        return httpx.Response(200, json=SUBMITTED)

    def _analysis(self, request: httpx.Request) -> httpx.Response:
        analysis_id = urllib.parse.unquote(request.url.path[len("/analyses/") :])
        if analysis_id != ANALYSIS_ID:
            return httpx.Response(404, json=NOT_FOUND)
        with self._lock:
            seen = self.polls[analysis_id] = self.polls.get(analysis_id, 0) + 1
        if seen <= self.polls_before_finish:
            return httpx.Response(200, json=QUEUED)
        body = copy.deepcopy(COMPLETED)
        body["data"]["attributes"]["status"] = self.final_status
        return httpx.Response(200, json=body)


_STATE = Fake()


def handle(request: httpx.Request) -> httpx.Response | None:
    return _STATE.handle(request)
