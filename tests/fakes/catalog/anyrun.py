"""Fake ANY.RUN sandbox API: submit, the monitor event stream, and the JSON report (providers.md bodies)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import httpx

from tests.fakes import catalog

PLUGIN = "anyrun"
KEY = "fake-anyrun-key"
ENV = {"ANYRUN_API_KEY": KEY}
URL = "http://malicious.example/login.php"
CASES = [("url", URL, "malicious")]
TASK_ID = "0f2c9a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
QUEUE_ID = "7e6d5c4b-3a29-4817-9f6e-5d4c3b2a1908"

SUBMITTED = {"error": False, "data": {"taskid": TASK_ID}}
QUEUED = {"error": False, "data": {"queueTaskId": QUEUE_ID}}
BAD_KEY = {"error": True, "message": "Authentication required to access this resource"}


def report(
    task_id: str = TASK_ID, level: int = 2, text: str = "Malicious activity", score: int = 100
) -> dict:
    """Return providers.md's trimmed ``GET /analysis/{taskid}`` body."""
    return {
        "error": False,
        "data": {
            "status": "done",
            "analysis": {
                "uuid": task_id,
                "permanentUrl": f"https://app.any.run/tasks/{task_id}",
                "creation": "2025-01-01T09:45:00.000Z",
                "content": {"mainObject": {"type": "url", "url": URL}},
                "scores": {"verdict": {"score": score, "threatLevel": level, "threatLevelText": text}},
                "tags": [{"tag": "phishing", "suspicious": False}],
            },
            "network": {
                "dnsRequests": [{"domain": "malicious.example", "ips": ["198.51.100.23"]}],
                "connections": [{"ip": "198.51.100.23", "port": 80}],
            },
            "mitre": [{"id": "T1056", "name": "Input Capture"}],
        },
    }


def event(status: int, remaining: str = "95") -> bytes:
    """Return one monitor event as the server-sent-events stream sends it."""
    body = json.dumps({"task": {"status": status, "remaining": remaining}})
    return f"id: 1\ndata: {body}\n\n".encode()


@dataclass
class Fake:
    """ANY.RUN with state: the task completes after ``polls_before_finish`` running monitor events."""

    polls_before_finish: int = 1
    fail: bool = False
    queued: bool = False
    key: str = KEY
    requests: list[httpx.Request] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: httpx.Request) -> httpx.Response | None:
        """Answer one request whose path is relative to ANYRUN_URL."""
        path = request.url.path
        if not path.startswith("/analysis"):
            return None
        self.requests.append(request)
        if request.headers.get("authorization") != f"API-Key {self.key}":
            return catalog.json_response(401, BAD_KEY)
        if request.method == "POST" and path == "/analysis":
            return catalog.json_response(200, QUEUED if self.queued else SUBMITTED)
        if request.method == "GET" and path.startswith("/analysis/monitor/"):
            return self._monitor(path.rsplit("/", 1)[-1])
        if request.method == "GET" and path == f"/analysis/{TASK_ID}":
            return catalog.json_response(200, report())
        return catalog.json_response(404, {"error": True, "message": "Task not found"})

    def _monitor(self, task_id: str) -> httpx.Response:
        if task_id != TASK_ID:
            return catalog.json_response(404, {"error": True, "message": "Task not found"})
        with self.lock:
            seen = self.polls[task_id] = self.polls.get(task_id, 0) + 1
        if seen <= self.polls_before_finish:
            status = 10 if seen == 1 else 60
        else:
            status = -1 if self.fail else 100
        return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=event(status))


_STATE = Fake(polls_before_finish=1)


def handle(request: httpx.Request) -> httpx.Response | None:
    """Answer a request sent under ANYRUN_URL (the catalog router strips its prefix)."""
    return _STATE.handle(request)
