"""Recorded Future Triage: URL submission with polling, hash search, and every failure path."""

from __future__ import annotations

import json

import httpx
import pytest

from plugins import triage
from plugins.spec import PluginError, Submitted
from tests import plugin_harness as h
from tests.fakes.catalog import triage as fake_triage
from tests.fakes.catalog.triage import FOUND_ID, KEY, KNOWN_SHA256, SAMPLE_ID, URL, Fake

ENV = {"TRIAGE_API_KEY": KEY}


def served(fake: Fake) -> h.Handler:
    """Return a MockTransport handler answering 404 for paths the fake does not know."""

    def handler(request: httpx.Request) -> httpx.Response:
        return fake.handle(request) or httpx.Response(404)

    return handler


def test_ok_submit_sends_a_url_sample_with_the_bearer_key() -> None:
    fake = Fake()
    assert h.submit("triage", served(fake), "url", URL, ENV) == Submitted(job_id=SAMPLE_ID)
    sent = fake.requests[0]
    assert (sent.method, sent.url.path) == ("POST", "/samples")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(sent.content) == {"kind": "url", "url": URL, "interactive": False}


def test_ok_poll_running_then_reported_overview() -> None:
    fake = Fake(polls_before_finish=1)
    assert h.poll("triage", served(fake), "url", URL, SAMPLE_ID, ENV) is None
    finding = h.poll("triage", served(fake), "url", URL, SAMPLE_ID, ENV)
    assert finding is not None and finding.verdict == "malicious"
    assert finding.summary == {
        "score": 8,
        "family": ["phishing"],
        "tags": ["phishing", "credential_theft"],
        "id": SAMPLE_ID,
        "target": URL,
        "sample_score": 8,
        "completed": "2025-01-01T09:54:30Z",
        "ips": ["198.51.100.23"],
        "domains": ["malicious.example"],
        "urls": [URL],
        "signatures": [{"name": "Detected phishing page", "score": 8}],
    }
    assert finding.link == f"https://tria.ge/{SAMPLE_ID}"
    assert finding.raw["version"] == "0.3.0"
    paths = [r.url.path for r in fake.requests]
    assert paths == [f"/samples/{SAMPLE_ID}"] * 2 + [f"/samples/{SAMPLE_ID}/overview.json"]


@pytest.mark.parametrize(
    ("score", "verdict"),
    [
        (10, "malicious"),
        (triage.SCORE_MALICIOUS, "malicious"),
        (triage.SCORE_MALICIOUS - 1, "suspicious"),
        (triage.SCORE_SUSPICIOUS, "suspicious"),
        (triage.SCORE_SUSPICIOUS - 1, "harmless"),
        (triage.SCORE_HARMLESS, "harmless"),
        (0, "unknown"),
        (None, "unknown"),
    ],
)
def test_ok_verdict_rule(score, verdict) -> None:
    body = fake_triage.overview(score=score)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/overview.json"):
            return h.json_response(200, body)
        return h.json_response(200, fake_triage.sample("reported"))

    finding = h.poll("triage", handler, "url", URL, SAMPLE_ID, ENV)
    assert finding is not None and finding.verdict == verdict


def test_ok_overview_with_tasks_as_a_list_and_signatures_per_target() -> None:
    # The Go client's types: tasks is a list, signatures hang off each target; no top-level score.
    body = fake_triage.overview()
    body["tasks"] = [{"sample": SAMPLE_ID, "name": "behavioral1", "status": "reported", "score": 7}]
    body["analysis"].pop("score")
    body["sample"].pop("score")
    body.pop("signatures")
    body["targets"][0]["score"] = None
    body["targets"][0]["signatures"] = [{"name": "Suspicious redirect", "score": 6}, {"name": "Phishing kit"}]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/overview.json"):
            return h.json_response(200, body)
        return h.json_response(200, fake_triage.sample("reported"))

    finding = h.poll("triage", handler, "url", URL, SAMPLE_ID, ENV)
    assert finding is not None and finding.verdict == "suspicious" and finding.summary["score"] == 7
    assert finding.summary["signatures"] == [
        {"name": "Suspicious redirect", "score": 6},
        {"name": "Phishing kit", "score": None},
    ]


def test_ok_sample_stuck_in_static_analysis_gets_automatic_profiles() -> None:
    seen: list[httpx.Request] = []
    static = {**fake_triage.sample("static_analysis"), "tasks": [{"id": "static1", "status": "reported"}]}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            return h.json_response(200, {})
        return h.json_response(200, static)

    assert h.poll("triage", handler, "url", URL, SAMPLE_ID, ENV) is None
    assert [(r.method, r.url.path) for r in seen] == [
        ("GET", f"/samples/{SAMPLE_ID}"),
        ("POST", f"/samples/{SAMPLE_ID}/profile"),
    ]
    assert json.loads(seen[1].content) == {"auto": True}


def test_ok_profile_refusal_is_not_a_failure() -> None:
    static = {**fake_triage.sample("static_analysis"), "tasks": [{"id": "static1", "status": "reported"}]}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return h.json_response(400, {"error": "INVALID", "message": "profile already selected"})
        return h.json_response(200, static)

    assert h.poll("triage", handler, "url", URL, SAMPLE_ID, ENV) is None


def test_ok_hash_lookup_reads_the_newest_reported_sample() -> None:
    fake = Fake()
    result = h.lookup("triage", served(fake), "hash", KNOWN_SHA256, ENV)
    assert result["status"] == "ok" and result["verdict"] == "malicious"
    assert result["summary"]["found"] is True and result["summary"]["id"] == FOUND_ID
    assert result["link"] == f"https://tria.ge/{FOUND_ID}"
    assert fake.requests[0].url.path == "/search"
    assert fake.requests[0].url.params["query"] == f"sha256:{KNOWN_SHA256}"
    assert fake.requests[1].url.path == f"/samples/{FOUND_ID}/overview.json"


@pytest.mark.parametrize(("value", "kind"), [("a" * 32, "md5"), ("b" * 40, "sha1")])
def test_not_found_hash_is_ok_unknown(value, kind) -> None:
    fake = Fake()
    result = h.lookup("triage", served(fake), "hash", value, ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["summary"]["found"] is False and result["link"] is None
    assert fake.requests[0].url.params["query"] == f"{kind}:{value}" and len(fake.requests) == 1


def test_not_found_when_only_unfinished_samples_match() -> None:
    running = {"data": [{**fake_triage.SEARCH["data"][0], "status": "running"}], "next": None}
    result = h.lookup("triage", h.answer(200, running), "hash", KNOWN_SHA256, ENV)
    assert result["status"] == "ok" and result["summary"] == {
        "found": False,
        "samples": 1,
        "message": "Triage has no finished analysis of this hash",
    }


def test_auth_failed() -> None:
    result = h.submit("triage", served(Fake(key="other")), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "auth_failed"
    assert "Missing Authorization header" in result["error"]["message"]
    forbidden = h.lookup(
        "triage", h.answer(403, {"error": "FORBIDDEN", "message": "no API access"}), "hash", KNOWN_SHA256, ENV
    )
    assert forbidden["error"]["code"] == "auth_failed" and forbidden["verdict"] == "unknown"


def test_rate_limited_with_retry_after() -> None:
    reply = h.answer(429, {"error": "TOO_MANY_REQUESTS", "message": "slow down"}, {"Retry-After": "20"})
    with pytest.raises(PluginError) as caught:
        h.poll("triage", reply, "url", URL, SAMPLE_ID, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 20
    result = h.submit("triage", reply, "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "rate_limited"


def test_rate_limited_without_retry_after() -> None:
    for status, body in (
        (429, None),
        (400, {"error": "QUOTA_EXCEEDED", "message": "submission limit reached"}),
    ):
        result = h.submit("triage", h.answer(status, body), "url", URL, ENV)
        assert isinstance(result, dict) and result["error"]["code"] == "rate_limited", status


def test_server_error() -> None:
    result = h.lookup(
        "triage", h.answer(500, {"error": "INTERNAL", "message": "oops"}), "hash", KNOWN_SHA256, ENV
    )
    assert result["error"]["code"] == "unavailable"
    with pytest.raises(PluginError) as caught:
        h.poll("triage", h.answer(503), "url", URL, SAMPLE_ID, ENV)
    assert caught.value.code == "unavailable"


def test_transport_failure() -> None:
    result = h.submit("triage", h.refuse, "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "unavailable"
    assert h.lookup("triage", h.refuse, "hash", KNOWN_SHA256, ENV)["error"]["code"] == "unavailable"


def test_provider_error_shapes() -> None:
    for reply in (
        h.answer(400, {"error": "INVALID_QUERY", "message": "bad query"}),
        h.answer(200, {"status": "pending"}),
        h.answer(200, ["not", "an", "object"]),
    ):
        result = h.submit("triage", reply, "url", URL, ENV)
        assert isinstance(result, dict) and result["error"]["code"] == "provider_error"
    with pytest.raises(PluginError) as caught:
        h.poll("triage", served(Fake()), "url", URL, "250101-unknown000", ENV)
    assert caught.value.code == "provider_error" and "sample not found" in caught.value.message


def test_lifecycle_pending_then_ready() -> None:
    fake = Fake(polls_before_finish=2)
    run = h.lifecycle("triage", served(fake), "url", URL, ENV)
    assert run.post["pending"]["triage"]["job_id"] == SAMPLE_ID
    assert run.statuses[0] == 202 and run.statuses[-1] == 200
    assert run.final is not None and run.final["status"] == "ok" and run.final["verdict"] == "malicious"
    assert run.final["summary"]["score"] == 8 and run.final["link"] == f"https://tria.ge/{SAMPLE_ID}"
    assert fake.polls[SAMPLE_ID] == 3


def test_lifecycle_hash_answers_during_the_call() -> None:
    run = h.lifecycle("triage", served(Fake()), "hash", KNOWN_SHA256, ENV)
    assert run.statuses == [] and run.final is not None and run.final["verdict"] == "malicious"


def test_sandbox_failure_status_failed() -> None:
    with pytest.raises(PluginError) as caught:
        h.poll("triage", served(Fake(polls_before_finish=0, fail=True)), "url", URL, SAMPLE_ID, ENV)
    assert caught.value.code == "provider_error" and "failed" in caught.value.message
    run = h.lifecycle("triage", served(Fake(polls_before_finish=1, fail=True)), "url", URL, ENV)
    assert run.final is not None and run.final["status"] == "error"
    assert run.final["error"]["code"] == "provider_error"


def test_sandbox_timeout_at_the_deadline() -> None:
    fake = Fake(polls_before_finish=10**6)
    run = h.lifecycle("triage", served(fake), "url", URL, {**ENV, "SOCBUDDY_SANDBOX_TIMEOUT": "1"})
    assert run.final is not None and run.final["error"]["code"] == "timeout"
    assert 202 in run.statuses and fake.polls[SAMPLE_ID] >= 1
