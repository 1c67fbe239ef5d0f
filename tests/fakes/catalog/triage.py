"""Fake Recorded Future Triage: URL submission, sample polling, overview and hash search (providers.md)."""

from __future__ import annotations

import copy
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.fakes import catalog

PLUGIN = "triage"
KEY = "fake-triage-key"
ENV = {"TRIAGE_API_KEY": KEY}
URL = "http://malicious.example/login.php"
SAMPLE_ID = "250101-a1b2c3d4ef"
FOUND_ID = "241230-zz9yy8xx7w"
KNOWN_SHA256 = "d9801979104b8f74be66d341f378234877f59c31babb576329bdedc2a486b8be"
CASES = [("url", URL, "malicious"), ("hash", KNOWN_SHA256, "malicious")]

SUBMITTED = {
    "id": SAMPLE_ID,
    "status": "pending",
    "kind": "url",
    "url": URL,
    "private": False,
    "submitted": "2025-01-01T09:50:00Z",
}
UNAUTHORIZED = {"error": "UNAUTHORIZED", "message": "Missing Authorization header"}
NOT_FOUND = {"error": "NOT_FOUND", "message": "sample not found"}
OVERVIEW = {
    "version": "0.3.0",
    "sample": {
        "id": SAMPLE_ID,
        "target": URL,
        "score": 8,
        "submitted": "2025-01-01T09:50:00Z",
        "completed": "2025-01-01T09:54:30Z",
    },
    "analysis": {"score": 8, "family": ["phishing"], "tags": ["phishing", "credential_theft"]},
    "tasks": {
        f"{SAMPLE_ID}-behavioral1": {
            "kind": "behavioral",
            "name": "behavioral1",
            "status": "reported",
            "score": 8,
            "platform": "windows10-2004_x64",
        }
    },
    "targets": [
        {
            "target": URL,
            "score": 8,
            "tags": ["phishing"],
            "iocs": {"ips": ["198.51.100.23"], "domains": ["malicious.example"], "urls": [URL]},
        }
    ],
    "signatures": [{"name": "Detected phishing page", "score": 8}],
}
SEARCH = {
    "data": [
        {
            "id": FOUND_ID,
            "status": "reported",
            "kind": "file",
            "filename": "invoice_0423.exe",
            "private": False,
            "submitted": "2024-12-30T10:00:00Z",
            "completed": "2024-12-30T10:05:00Z",
        }
    ],
    "next": None,
}


def sample(status: str, sample_id: str = SAMPLE_ID) -> dict[str, Any]:
    """Return providers.md's ``GET /samples/{id}`` body in the given state."""
    tasks = [] if status == "pending" else [{"id": "behavioral1", "status": status}]
    return {**SUBMITTED, "id": sample_id, "status": status, "tasks": tasks, "completed": None}


def overview(sample_id: str = SAMPLE_ID, score: int | None = 8) -> dict[str, Any]:
    """Return providers.md's overview for a sample id, with its scores set to ``score``."""
    body = copy.deepcopy(OVERVIEW)
    body["sample"]["id"] = sample_id
    for part in (body["sample"], body["analysis"], *body["tasks"].values(), *body["targets"]):
        part["score"] = score
    return body


@dataclass
class Fake:
    """Triage with state: a sample is reported after ``polls_before_finish`` polls (or fails)."""

    polls_before_finish: int = 1
    fail: bool = False
    key: str = KEY
    requests: list[httpx.Request] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: httpx.Request) -> httpx.Response | None:
        """Answer one request whose path is relative to TRIAGE_URL."""
        path = request.url.path
        if not path.startswith(("/samples", "/search")):
            return None
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return catalog.json_response(401, UNAUTHORIZED)
        if request.method == "POST" and path == "/samples":
            return catalog.json_response(200, SUBMITTED)
        if request.method == "GET" and path == "/search":
            return self._search(request.url.params.get("query", ""))
        if request.method == "GET" and path.endswith("/overview.json"):
            sample_id = urllib.parse.unquote(path.split("/")[2])
            return (
                catalog.json_response(200, overview(sample_id))
                if sample_id in (SAMPLE_ID, FOUND_ID)
                else catalog.json_response(404, NOT_FOUND)
            )
        if request.method == "GET" and path == f"/samples/{SAMPLE_ID}":
            return catalog.json_response(200, self._state(SAMPLE_ID))
        return catalog.json_response(404, NOT_FOUND)

    def _state(self, sample_id: str) -> dict[str, Any]:
        with self.lock:
            seen = self.polls[sample_id] = self.polls.get(sample_id, 0) + 1
        if seen <= self.polls_before_finish:
            return sample("running", sample_id)
        return sample("failed" if self.fail else "reported", sample_id)

    def _search(self, query: str) -> httpx.Response:
        kind, _, value = query.partition(":")
        if kind in ("md5", "sha1", "sha256") and value == KNOWN_SHA256:
            return catalog.json_response(200, SEARCH)
        return catalog.json_response(200, {"data": [], "next": None})


_STATE = Fake(polls_before_finish=1)


def handle(request: httpx.Request) -> httpx.Response | None:
    """Answer a request sent under TRIAGE_URL (the catalog router strips its prefix)."""
    return _STATE.handle(request)
