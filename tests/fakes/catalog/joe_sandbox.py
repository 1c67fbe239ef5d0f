"""Fake Joe Sandbox: submission, polling (finishes on the second poll) and hash search."""

from __future__ import annotations

import urllib.parse

import httpx

from tests.fakes import providers as fp

PLUGIN = "joe_sandbox"
ENV = {"JOE_SANDBOX_API_KEY": fp.JOE_KEY, "JOE_SANDBOX_ACCEPT_TAC": "1"}
CASES = [("url", "http://malicious.example/login.php", "malicious"), ("hash", fp.KNOWN_SHA256, "malicious")]
_STATE = fp.FakeProviders(joe_polls_before_finish=1)


def handle(request: httpx.Request) -> httpx.Response | None:
    if not request.url.path.startswith("/v2/"):
        return None
    form = dict(urllib.parse.parse_qsl(request.content.decode()))
    status, out, body = _STATE.handle("POST", "/joe/api" + request.url.path, {}, form, {})
    return httpx.Response(status, headers=out, content=body)
