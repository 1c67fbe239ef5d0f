"""Fake VirusTotal, AbuseIPDB and Joe Sandbox: one handler, served by MockTransport or on loopback.

Bodies follow the examples of providers.md. Behaviour is switchable per provider (``mode``):
``ok``, ``auth`` (401/403), ``quota`` (429), ``down`` (503), ``garbage`` (200, not JSON), plus a
per-provider delay and a gate that holds requests until released (to catch work mid-flight).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

VT_KEY = "vt-test-key-0123456789"
ABUSEIPDB_KEY = "abuseipdb-test-key-0123456789"
JOE_KEY = "joe-test-key-0123456789"

VT_IP = {
    "data": {
        "id": "198.51.100.23",
        "type": "ip_address",
        "links": {"self": "https://www.virustotal.com/api/v3/ip_addresses/198.51.100.23"},
        "attributes": {
            "as_owner": "Example Hosting Ltd",
            "asn": 64500,
            "country": "NL",
            "network": "198.51.100.0/24",
            "reputation": -12,
            "tags": [],
            "total_votes": {"harmless": 0, "malicious": 4},
            "last_analysis_date": 1735689600,
            "last_analysis_stats": {
                "harmless": 55,
                "malicious": 6,
                "suspicious": 1,
                "undetected": 30,
                "timeout": 0,
            },
        },
    }
}
VT_DOMAIN = {
    "data": {
        "id": "evil.example",
        "type": "domain",
        "attributes": {
            "registrar": "Example Registrar, Inc.",
            "creation_date": 1733011200,
            "categories": {"VendorA": "phishing", "VendorB": "malicious"},
            "last_dns_records": [{"type": "A", "value": "198.51.100.23", "ttl": 300}],
            "reputation": -5,
            "tags": [],
            "total_votes": {"harmless": 0, "malicious": 2},
            "last_analysis_date": 1735689600,
            "last_analysis_stats": {
                "harmless": 60,
                "malicious": 4,
                "suspicious": 0,
                "undetected": 28,
                "timeout": 0,
            },
        },
    }
}
VT_URL = {
    "data": {
        "id": "451ad28a650bbbea3f5a4bb3818902c33c29848b8eeb583269107da4fdac3e5c",
        "type": "url",
        "attributes": {
            "url": "http://malicious.example/login.php",
            "last_final_url": "http://malicious.example/login.php",
            "title": "Sign in",
            "last_http_response_code": 200,
            "categories": {"VendorA": "phishing"},
            "threat_names": ["phishing"],
            "reputation": 0,
            "tags": [],
            "total_votes": {"harmless": 0, "malicious": 0},
            "last_analysis_date": 1735689600,
            "last_analysis_stats": {
                "harmless": 62,
                "malicious": 9,
                "suspicious": 2,
                "undetected": 20,
                "timeout": 0,
            },
        },
    }
}
VT_FILE = {
    "data": {
        "id": "d9801979104b8f74be66d341f378234877f59c31babb576329bdedc2a486b8be",
        "type": "file",
        "attributes": {
            "md5": "7ad78abb5b739fef9c218f09fc201442",
            "sha1": "b15f657221fc03445223e1633cd3045469b8f6bc",
            "sha256": "d9801979104b8f74be66d341f378234877f59c31babb576329bdedc2a486b8be",
            "meaningful_name": "invoice_0423.exe",
            "type_description": "Win32 EXE",
            "size": 245760,
            "first_submission_date": 1735600000,
            "popular_threat_classification": {"suggested_threat_label": "trojan.agenttesla/msil"},
            "reputation": -40,
            "tags": ["peexe"],
            "total_votes": {"harmless": 0, "malicious": 3},
            "last_analysis_date": 1735689600,
            "last_analysis_stats": {
                "harmless": 0,
                "malicious": 48,
                "suspicious": 0,
                "undetected": 22,
                "timeout": 0,
            },
        },
    }
}
VT_NOT_FOUND = {"error": {"code": "NotFoundError", "message": "Resource not found"}}
VT_QUOTA = {"error": {"code": "QuotaExceededError", "message": "Quota exceeded"}}
VT_AUTH = {"error": {"code": "WrongCredentialsError", "message": "Wrong API key"}}
ABUSEIPDB_OK = {
    "data": {
        "ipAddress": "203.0.113.45",
        "isPublic": True,
        "ipVersion": 4,
        "isWhitelisted": False,
        "abuseConfidenceScore": 87,
        "countryCode": "RU",
        "usageType": "Data Center/Web Hosting/Transit",
        "isp": "Example Transit LLC",
        "domain": "example-transit.example",
        "hostnames": [],
        "isTor": False,
        "totalReports": 152,
        "numDistinctUsers": 41,
        "lastReportedAt": "2025-01-01T10:15:00+00:00",
    }
}
ABUSEIPDB_QUOTA = {
    "errors": [{"detail": "Daily rate limit of 1000 requests exceeded for this endpoint.", "status": 429}]
}
JOE_RUNNING = {
    "data": {
        "submission_id": "140",
        "name": "http://malicious.example/login.php",
        "status": "running",
        "time": "2025-01-01T09:35:05+00:00",
        "most_relevant_analysis": None,
        "analyses": [{"webid": "179", "time": "2025-01-01T09:35:08+00:00", "status": "running", "runs": []}],
    }
}
JOE_FINISHED = {
    "data": {
        "submission_id": "140",
        "name": "http://malicious.example/login.php",
        "status": "finished",
        "time": "2025-01-01T09:35:05+00:00",
        "most_relevant_analysis": {"webid": "179", "detection": "malicious", "score": 88},
        "analyses": [
            {
                "webid": "179",
                "analysisid": "127",
                "time": "2025-01-01T09:35:08+00:00",
                "status": "finished",
                "filename": "http://malicious.example/login.php",
                "scriptname": "browseurl.jbs",
                "duration": 412,
                "tags": ["phishing"],
                "runs": [{"detection": "malicious", "error": None, "system": "w10x64", "yara": False}],
                "comments": "",
            }
        ],
    }
}
JOE_ANALYSIS_INFO = {
    "data": {
        "webid": "179",
        "detection": "malicious",
        "score": 88,
        "classification": "",
        "threatname": "AgentTesla",
        "tags": ["stealer"],
        "runs": [{"detection": "malicious", "error": None, "system": "w10x64"}],
        "md5": "7ad78abb5b739fef9c218f09fc201442",
        "sha1": "b15f657221fc03445223e1633cd3045469b8f6bc",
        "sha256": "d9801979104b8f74be66d341f378234877f59c31babb576329bdedc2a486b8be",
        "filename": "invoice_0423.exe",
        "duration": 412,
        "time": "2025-01-01T09:35:08+00:00",
    }
}
JOE_BAD_KEY = {"errors": [{"code": 4, "message": "Invalid API key."}]}
KNOWN_SHA256 = "d9801979104b8f74be66d341f378234877f59c31babb576329bdedc2a486b8be"


@dataclass
class Request:
    """What the fake received."""

    provider: str
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    at: float = 0.0  # time.monotonic() on arrival


@dataclass
class FakeProviders:
    """The fake providers' state; thread-safe enough for tests."""

    mode: dict[str, str] = field(default_factory=dict)
    delay_s: dict[str, float] = field(default_factory=dict)
    gates: dict[str, threading.Event] = field(default_factory=dict)
    arrived: dict[str, threading.Event] = field(default_factory=dict)
    joe_polls_before_finish: int = 1
    joe_fail: bool = False
    requests: list[Request] = field(default_factory=list)
    peer_ports: dict[str, int] = field(default_factory=dict)
    _joe_polls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self, provider: str) -> threading.Event:
        """Make requests to ``provider`` wait until the returned event is set."""
        self.gates[provider] = threading.Event()
        self.arrived[provider] = threading.Event()
        return self.gates[provider]

    def count(self, provider: str, path_part: str = "") -> int:
        """Return how many requests reached ``provider`` (whose path contains ``path_part``)."""
        with self._lock:
            return sum(1 for r in self.requests if r.provider == provider and path_part in r.path)

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        form: dict[str, str],
        headers: dict[str, str],
        peer_port: int = 0,
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: (status, headers, body)."""
        provider, _, rest = path.lstrip("/").partition("/")
        self.peer_ports[provider] = peer_port
        with self._lock:
            self.requests.append(
                Request(provider, method, "/" + rest, query, form, headers, time.monotonic())
            )
        if provider in self.arrived:
            self.arrived[provider].set()
        if provider in self.gates:
            self.gates[provider].wait(60)
        if self.delay_s.get(provider):
            time.sleep(self.delay_s[provider])
        mode = self.mode.get(provider, "ok")
        if mode != "ok":
            return _failure(mode, provider)
        route = {"vt": self._vt, "abuseipdb": self._abuseipdb, "joe": self._joe}.get(provider)
        if route is None:
            return 404, {}, b'{"error": "no such fake"}'
        return route("/" + rest, query, form, headers)

    def _vt(self, path: str, query: dict[str, str], form: dict[str, str], headers: dict[str, str]):
        if headers.get("x-apikey") != VT_KEY:
            return _json(401, VT_AUTH)
        if path.startswith("/ip_addresses/"):
            return _json(200, VT_IP)
        if path.startswith("/domains/"):
            return _json(200, VT_DOMAIN)
        if path.startswith("/urls/"):
            return _json(200, VT_URL)
        if path == f"/files/{KNOWN_SHA256}":
            return _json(200, VT_FILE)
        return _json(404, VT_NOT_FOUND)

    def _abuseipdb(self, path: str, query: dict[str, str], form: dict[str, str], headers: dict[str, str]):
        if headers.get("key") != ABUSEIPDB_KEY:
            return _json(401, {"errors": [{"detail": "Authentication failed.", "status": 401}]})
        if path != "/check" or "ipAddress" not in query:
            return _json(422, {"errors": [{"detail": "The ip address field is required.", "status": 422}]})
        body = json.loads(json.dumps(ABUSEIPDB_OK))
        body["data"]["ipAddress"] = query["ipAddress"]
        return _json(200, body)

    def _joe(self, path: str, query: dict[str, str], form: dict[str, str], headers: dict[str, str]):
        if form.get("apikey") != JOE_KEY:
            return _json(403, JOE_BAD_KEY)
        if path == "/api/v2/submission/new":
            if form.get("accept-tac") != "1" or not form.get("url"):
                return _json(400, {"errors": [{"code": 2, "message": "Missing parameter."}]})
            return _json(200, {"data": {"submission_id": "140"}})
        if path == "/api/v2/submission/info":
            return self._joe_poll(form.get("submission_id", ""))
        if path == "/api/v2/analysis/search":
            found = form.get("q") == KNOWN_SHA256
            return _json(200, {"data": [{"webid": "179"}, {"webid": "23"}] if found else []})
        if path == "/api/v2/analysis/info":
            return _json(200, JOE_ANALYSIS_INFO)
        return _json(400, {"errors": [{"code": 8, "message": "Unknown endpoint."}]})

    def _joe_poll(self, submission_id: str):
        with self._lock:
            seen = self._joe_polls.get(submission_id, 0) + 1
            self._joe_polls[submission_id] = seen
        if seen <= self.joe_polls_before_finish:
            return _json(200, JOE_RUNNING)
        if self.joe_fail:
            failed = json.loads(json.dumps(JOE_FINISHED))
            failed["data"]["analyses"][0]["runs"][0]["error"] = "VM crashed"
            return _json(200, failed)
        return _json(200, JOE_FINISHED)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()


def _failure(mode: str, provider: str) -> tuple[int, dict[str, str], bytes]:
    if mode == "auth":
        return _json(401, VT_AUTH if provider == "vt" else JOE_BAD_KEY)
    if mode == "quota":
        return _json(429, VT_QUOTA if provider == "vt" else ABUSEIPDB_QUOTA, {"Retry-After": "3600"})
    if mode == "quota-no-retry-after":
        return _json(429, VT_QUOTA)
    if mode == "down":
        return _json(503, {"error": {"code": "TransientError", "message": "try later"}})
    if mode == "garbage":
        return 200, {"Content-Type": "text/html"}, b"<html>maintenance</html>"
    raise ValueError(mode)


def mock_transport(fake: FakeProviders) -> httpx.MockTransport:
    """Return an httpx transport answering from ``fake`` (for unit tests)."""

    def handler(request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        form: dict[str, str] = {}
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = dict(urllib.parse.parse_qsl(request.content.decode()))
        headers = {k.lower(): v for k, v in request.headers.items()}
        status, out_headers, body = fake.handle(request.method, request.url.path, query, form, headers)
        return httpx.Response(status, headers=out_headers, content=body)

    return httpx.MockTransport(handler)


def make_handler(
    fake: FakeProviders, intercept: Callable[[BaseHTTPRequestHandler, str], bool] | None = None
) -> type[BaseHTTPRequestHandler]:
    """Return a request handler answering from ``fake``.

    ``intercept(handler, provider)`` runs once the request is read; returning True means it dealt
    with the request itself (e.g. dropped the connection) and the fake does not answer.
    """

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _answer(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            if intercept is not None and intercept(self, parsed.path.lstrip("/").partition("/")[0]):
                return
            form = dict(urllib.parse.parse_qsl(raw)) if raw else {}
            headers = {k.lower(): v for k, v in self.headers.items()}
            query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
            status, out_headers, body = fake.handle(
                self.command, parsed.path, query, form, headers, self.client_address[1]
            )
            try:
                self.send_response(status)
                for name, value in out_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                self.close_connection = True  # the client gave up (killed, or its budget ran out)

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def serve(fake: FakeProviders) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``fake`` on a free loopback port in a daemon thread; return (server, base URL)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def provider_env(base_url: str) -> dict[str, str]:
    """Return the environment that points the three plugins at a fake served at ``base_url``."""
    return {
        "VIRUSTOTAL_API_KEY": VT_KEY,
        "VIRUSTOTAL_URL": f"{base_url}/vt",
        "ABUSEIPDB_API_KEY": ABUSEIPDB_KEY,
        "ABUSEIPDB_URL": f"{base_url}/abuseipdb",
        "JOE_SANDBOX_API_KEY": JOE_KEY,
        "JOE_SANDBOX_URL": f"{base_url}/joe/api",
        "JOE_SANDBOX_ACCEPT_TAC": "1",
        "SOCBUDDY_PLUGINS": "virustotal,abuseipdb,joe_sandbox",
        # Quotas have tests of their own; elsewhere the fakes take any number of requests.
        "VIRUSTOTAL_RATE_LIMIT": "none",
        "ABUSEIPDB_RATE_LIMIT": "none",
    }
