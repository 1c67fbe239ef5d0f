"""Fake Hybrid Analysis v2: URL submission, report state/summary, hash search and overview.

Bodies follow providers.md's examples. A job reports IN_QUEUE/IN_PROGRESS for a poll or two, then
SUCCESS (or ERROR when ``fail`` is set).
"""

from __future__ import annotations

import copy
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.fakes import providers as fp

PLUGIN = "hybrid_analysis"
KEY = "hybrid-analysis-test-key-0123456789"
ENV = {"HYBRID_ANALYSIS_API_KEY": KEY}
CASES = [
    ("url", "http://malicious.example/login.php", "malicious"),
    ("domain", "benign.example", "harmless"),
    ("hash", fp.KNOWN_SHA256, "malicious"),
]

JOB_ID = "67751a2b3c4d5e6f70819203"
URL_SHA256 = "451ad28a650bbbea3f5a4bb3818902c33c29848b8eeb583269107da4fdac3e5c"
HASH_REPORT_ID = "6774f0aa1b2c3d4e5f607182"
SUBMITTED = {
    "job_id": JOB_ID,
    "submission_id": "67751a2b3c4d5e6f70819204",
    "environment_id": 160,
    "sha256": URL_SHA256,
}
IN_PROGRESS = {
    "state": "IN_PROGRESS",
    "error_type": None,
    "error_origin": None,
    "error": None,
    "related_reports": [],
}
FAILED = {
    "state": "ERROR",
    "error_type": "FILE_TYPE_BAD_ERROR",
    "error_origin": "CLIENT",
    "error": "The submitted file type is not supported",
    "related_reports": [],
}
SUMMARY = {
    "job_id": JOB_ID,
    "environment_id": 160,
    "environment_description": "Windows 10 64 bit",
    "size": None,
    "type": None,
    "type_short": ["url"],
    "target_url": "http://malicious.example/login.php",
    "state": "SUCCESS",
    "submit_name": "http://malicious.example/login.php",
    "sha256": URL_SHA256,
    "av_detect": 12,
    "vx_family": "Phishing.Generic",
    "url_analysis": True,
    "analysis_start_time": "2025-01-01T09:40:00+00:00",
    "threat_score": 95,
    "threat_level": 2,
    "verdict": "malicious",
    "classification_tags": ["phishing"],
    "tags": ["phishing"],
    "domains": ["malicious.example", "cdn.example"],
    "hosts": ["198.51.100.23"],
    "total_network_connections": 6,
    "total_processes": 3,
    "total_signatures": 41,
    "mitre_attcks": [
        {
            "tactic": "Credential Access",
            "technique": "Input Capture",
            "attck_id": "T1056",
            "malicious_identifiers_count": 2,
            "suspicious_identifiers_count": 0,
            "informative_identifiers_count": 0,
        }
    ],
    "extracted_files": [],
}
SEARCH = {
    "sha256s": [fp.KNOWN_SHA256],
    "reports": [{"id": HASH_REPORT_ID, "environment_id": 160, "state": "SUCCESS", "verdict": "malicious"}],
}
HASH_SUMMARY = {
    **SUMMARY,
    "job_id": HASH_REPORT_ID,
    "type_short": ["peexe"],
    "target_url": None,
    "submit_name": "invoice_0423.exe",
    "sha256": fp.KNOWN_SHA256,
    "vx_family": "AgentTesla",
    "url_analysis": False,
}
UNKNOWN_HASH = {"message": "Requested hash not found in database"}
BAD_KEY = {"message": "Failed to authenticate, api key is invalid"}


def summary_with(verdict: str | None, **changes: Any) -> dict[str, Any]:
    """Return the report summary with another verdict (and other fields)."""
    return {**copy.deepcopy(SUMMARY), "verdict": verdict, **changes}


@dataclass
class Fake:
    """Jobs by id: IN_QUEUE, then IN_PROGRESS for ``polls_before_finish`` polls, then SUCCESS/ERROR."""

    polls_before_finish: int = 1
    fail: bool = False
    requests: list[httpx.Request] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: httpx.Request) -> httpx.Response | None:
        """Answer the HA v2 paths the plugin uses; None for any other path."""
        path = request.url.path
        if request.method == "POST" and path == "/submit/url":
            return self._checked(request, self._submit)
        if request.method == "GET" and path == "/search/hash":
            return self._checked(request, self._search)
        if request.method == "GET" and path.startswith("/report/"):
            return self._checked(request, self._report)
        return None

    def _checked(self, request: httpx.Request, route: Any) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        if request.headers.get("api-key") != KEY:
            return httpx.Response(401, json=BAD_KEY)
        return route(request)

    def _submit(self, request: httpx.Request) -> httpx.Response:
        form = dict(urllib.parse.parse_qsl(request.content.decode()))
        if not form.get("url") or not form.get("environment_id"):
            return httpx.Response(400, json={"validation_errors": [{"field": "url", "errors": ["required"]}]})
        job_id = JOB_ID if "malicious" in form["url"] else f"{JOB_ID[:-4]}{len(self.jobs) + 1:04d}"
        self.jobs[job_id] = form["url"]
        return httpx.Response(201, json={**SUBMITTED, "job_id": job_id})

    def _search(self, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("hash") == fp.KNOWN_SHA256:
            return httpx.Response(200, json=SEARCH)
        return httpx.Response(404, json=UNKNOWN_HASH)

    def _report(self, request: httpx.Request) -> httpx.Response:
        job_id, _, what = request.url.path[len("/report/") :].partition("/")
        if job_id == HASH_REPORT_ID and what == "summary":
            return httpx.Response(200, json=HASH_SUMMARY)
        if job_id not in self.jobs:
            return httpx.Response(404, json={"message": "Report not found"})
        if what == "summary":
            url = self.jobs[job_id]
            verdict = "malicious" if "malicious" in url else "no specific threat"
            body = summary_with(verdict, job_id=job_id, submit_name=url, target_url=url)
            return httpx.Response(200, json=body)
        return httpx.Response(200, json=self._state(job_id))

    def _state(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            seen = self.polls[job_id] = self.polls.get(job_id, 0) + 1
        if seen <= self.polls_before_finish:
            return {**IN_PROGRESS, "state": "IN_QUEUE" if seen == 1 else "IN_PROGRESS"}
        return FAILED if self.fail else {**IN_PROGRESS, "state": "SUCCESS"}


_STATE = Fake()


def handle(request: httpx.Request) -> httpx.Response | None:
    return _STATE.handle(request)
