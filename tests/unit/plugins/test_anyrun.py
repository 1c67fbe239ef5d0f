"""ANY.RUN: URL submission, monitor polling, report, and every failure path (providers.md bodies)."""

from __future__ import annotations

import json

import httpx
import pytest

from plugins import anyrun, registry
from plugins.spec import PluginError, Submitted
from shared.iocs.normalize import make_ioc
from tests import plugin_harness as h
from tests.fakes.catalog import anyrun as fake_anyrun
from tests.fakes.catalog.anyrun import KEY, QUEUE_ID, TASK_ID, URL, Fake
from workers import quota

ENV = {"ANYRUN_API_KEY": KEY}
LIMIT = {"error": True, "message": "API limit exceeded"}


def served(fake: Fake) -> h.Handler:
    """Return a MockTransport handler answering 404 for paths the fake does not know."""

    def handler(request: httpx.Request) -> httpx.Response:
        return fake.handle(request) or httpx.Response(404)

    return handler


def test_ok_submit_sends_the_sdk_body_with_the_api_key_header() -> None:
    fake = Fake()
    assert h.submit("anyrun", served(fake), "url", URL, ENV) == Submitted(job_id=TASK_ID)
    sent = fake.requests[0]
    assert (sent.method, sent.url.path) == ("POST", "/analysis")
    assert sent.headers["authorization"] == f"API-Key {KEY}"
    body = json.loads(sent.content)
    assert body["obj_type"] == "url" and body["obj_url"] == URL
    assert body["opt_privacy_type"] == "bylink" and body["opt_timeout"] == anyrun.OPT_TIMEOUT_S
    assert body["env_os"] == "windows" and body["opt_network_connect"] is True


def test_ok_submit_without_the_data_wrapper_reads_a_top_level_taskid() -> None:
    # Cortex's analyzer reads HTTP 201 {"taskid": ...}: the wrapper is unconfirmed, both are taken.
    assert h.submit("anyrun", h.answer(201, {"taskid": TASK_ID}), "url", URL, ENV) == Submitted(TASK_ID)


def test_ok_poll_running_then_completed_report() -> None:
    fake = Fake(polls_before_finish=1)
    assert h.poll("anyrun", served(fake), "url", URL, TASK_ID, ENV) is None
    finding = h.poll("anyrun", served(fake), "url", URL, TASK_ID, ENV)
    assert finding is not None and finding.verdict == "malicious"
    assert finding.summary == {
        "score": 100,
        "threat_level": 2,
        "threat_level_text": "Malicious activity",
        "tags": ["phishing"],
        "type": "url",
        "url": URL,
        "permanent_url": f"https://app.any.run/tasks/{TASK_ID}",
        "dns_requests": 1,
        "connections": 1,
        "mitre": ["T1056"],
        "status": "done",
    }
    assert finding.link == f"https://app.any.run/tasks/{TASK_ID}"
    assert finding.raw["data"]["analysis"]["uuid"] == TASK_ID
    paths = [r.url.path for r in fake.requests]
    assert paths == [f"/analysis/monitor/{TASK_ID}"] * 2 + [f"/analysis/{TASK_ID}"]


@pytest.mark.parametrize(
    ("level", "text", "score", "verdict"),
    [
        (1, "Suspicious activity", 60, "suspicious"),
        (0, "No threats detected", 0, "harmless"),
        (None, "Suspicious activity", None, "suspicious"),
        (None, None, anyrun.SCORE_MALICIOUS, "malicious"),
        (None, None, anyrun.SCORE_SUSPICIOUS + 1, "suspicious"),
        (None, None, anyrun.SCORE_SUSPICIOUS, "unknown"),
        (None, None, None, "unknown"),
    ],
)
def test_ok_verdict_rule(level, text, score, verdict) -> None:
    body = fake_anyrun.report()
    body["data"]["analysis"]["scores"]["verdict"] = {
        k: v
        for k, v in {"score": score, "threatLevel": level, "threatLevelText": text}.items()
        if v is not None
    }
    monitor = fake_anyrun.event(100, "0")

    def handler(request: httpx.Request) -> httpx.Response:
        if "/monitor/" in request.url.path:
            return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=monitor)
        return h.json_response(200, body)

    finding = h.poll("anyrun", handler, "url", URL, TASK_ID, ENV)
    assert finding is not None and finding.verdict == verdict


def test_ok_monitor_answering_json_instead_of_a_stream() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "/monitor/" in request.url.path:
            return h.json_response(200, {"task": {"status": 100, "remaining": "0"}})
        return h.json_response(200, fake_anyrun.report())

    finding = h.poll("anyrun", handler, "url", URL, TASK_ID, ENV)
    assert finding is not None and finding.verdict == "malicious"


def test_ok_report_not_done_yet_keeps_polling() -> None:
    # Completion comes from the monitor; a report whose data.status is not "done" and that has no
    # verdict yet is the other reading of an unfinished task: poll again.
    unfinished = {"error": False, "data": {"status": "processing", "analysis": {"uuid": TASK_ID}}}

    def handler(request: httpx.Request) -> httpx.Response:
        if "/monitor/" in request.url.path:
            return httpx.Response(
                200, headers={"Content-Type": "text/event-stream"}, content=fake_anyrun.event(100)
            )
        return h.json_response(200, unfinished)

    assert h.poll("anyrun", handler, "url", URL, TASK_ID, ENV) is None


def test_ok_without_monitor_falls_back_to_the_report_status() -> None:
    # Cortex's reading: GET /analysis/{taskid} answers before completion; done when data.status == "done".
    running = {"error": False, "data": {"status": "running", "analysis": {}}}
    bodies = [running, fake_anyrun.report()]

    def handler(request: httpx.Request) -> httpx.Response:
        if "/monitor/" in request.url.path:
            return h.json_response(404, {"error": True, "message": "Not found"})
        return h.json_response(200, bodies.pop(0))

    assert h.poll("anyrun", handler, "url", URL, TASK_ID, ENV) is None
    finding = h.poll("anyrun", handler, "url", URL, TASK_ID, ENV)
    assert finding is not None and finding.verdict == "malicious" and bodies == []


def test_ok_queued_submission_is_pending_until_the_task_exists() -> None:
    fake = Fake(queued=True)
    outcome = h.submit("anyrun", served(fake), "url", URL, ENV)
    assert outcome == Submitted(job_id=anyrun.QUEUED_PREFIX + QUEUE_ID)
    # Unknown to the monitor and to the report: still queued, not an error.
    assert h.poll("anyrun", served(fake), "url", URL, outcome.job_id, ENV) is None
    assert [r.url.path for r in fake.requests[1:]] == [
        f"/analysis/monitor/{QUEUE_ID}",
        f"/analysis/{QUEUE_ID}",
    ]


def test_not_found_task_is_a_provider_error() -> None:
    # The sandbox has no "not found" for a URL submission; an unknown task id is a failed job.
    fake = Fake()
    with pytest.raises(PluginError) as caught:
        h.poll("anyrun", served(fake), "url", URL, "ffffffff-0000-0000-0000-000000000000", ENV)
    assert caught.value.code == "provider_error" and "no such ANY.RUN task" in caught.value.message


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, fake_anyrun.BAD_KEY),
        (403, {"error": True, "description": "Your licence does not include API access"}),
        (200, {"error": True, "message": "Invalid API key"}),
    ],
)
def test_auth_failed(status, body) -> None:
    result = h.submit("anyrun", h.answer(status, body), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "auth_failed"
    assert result["status"] == "error" and result["verdict"] == "unknown"


def test_auth_failed_with_a_wrong_key_reaching_the_fake() -> None:
    result = h.submit("anyrun", served(Fake(key="other")), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "auth_failed"
    assert "Authentication required" in result["error"]["message"] and KEY not in result["error"]["message"]


def test_rate_limited_with_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.poll("anyrun", h.answer(429, LIMIT, {"Retry-After": "45"}), "url", URL, TASK_ID, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 45
    result = h.submit("anyrun", h.answer(429, LIMIT, {"Retry-After": "45"}), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "rate_limited"


def test_rate_limited_without_retry_after() -> None:
    result = h.submit("anyrun", h.answer(429, LIMIT), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "rate_limited"


def test_rate_limited_without_retry_after_limit_message_in_another_status() -> None:
    for status in (400, 403, 200):
        result = h.submit("anyrun", h.answer(status, LIMIT), "url", URL, ENV)
        assert isinstance(result, dict) and result["error"]["code"] == "rate_limited", status


def test_server_error() -> None:
    result = h.submit("anyrun", h.answer(502, {"error": True, "message": "Bad gateway"}), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "unavailable"
    with pytest.raises(PluginError) as caught:
        h.poll("anyrun", h.answer(503), "url", URL, TASK_ID, ENV)
    assert caught.value.code == "unavailable"


def test_transport_failure() -> None:
    result = h.submit("anyrun", h.refuse, "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "unavailable"
    with pytest.raises(PluginError) as caught:
        h.poll("anyrun", h.refuse, "url", URL, TASK_ID, ENV)
    assert caught.value.code == "unavailable" and "ConnectError" in caught.value.message


def test_provider_error_shapes() -> None:
    for reply in (
        h.answer(400, {"error": True, "message": "Invalid parameter: obj_url"}),
        h.answer(200, {"error": False, "data": {}}),
        h.answer(200, ["not", "an", "object"]),
    ):
        result = h.submit("anyrun", reply, "url", URL, ENV)
        assert isinstance(result, dict) and result["error"]["code"] == "provider_error"


def test_lifecycle_pending_then_ready() -> None:
    fake = Fake(polls_before_finish=2)
    run = h.lifecycle("anyrun", served(fake), "url", URL, ENV)
    assert run.post["pending"]["anyrun"]["job_id"] == TASK_ID
    assert run.statuses[0] == 202 and run.statuses[-1] == 200
    assert run.final is not None and run.final["status"] == "ok" and run.final["verdict"] == "malicious"
    assert run.final["link"] == f"https://app.any.run/tasks/{TASK_ID}"
    assert fake.polls[TASK_ID] == 3


def test_sandbox_failure_task_status_minus_one() -> None:
    with pytest.raises(PluginError) as caught:
        h.poll("anyrun", served(Fake(polls_before_finish=0, fail=True)), "url", URL, TASK_ID, ENV)
    assert caught.value.code == "provider_error" and "failed" in caught.value.message
    run = h.lifecycle("anyrun", served(Fake(polls_before_finish=1, fail=True)), "url", URL, ENV)
    assert run.final is not None and run.final["status"] == "error"
    assert run.final["error"]["code"] == "provider_error"


def test_sandbox_timeout_at_the_deadline() -> None:
    fake = Fake(polls_before_finish=10**6)
    run = h.lifecycle("anyrun", served(fake), "url", URL, {**ENV, "SOCBUDDY_SANDBOX_TIMEOUT": "1"})
    assert run.final is not None and run.final["error"]["code"] == "timeout"
    assert 202 in run.statuses and fake.polls[TASK_ID] >= 1


def test_a_blocked_key_is_not_polled() -> None:
    """A 429 blocks the key's bucket for every worker; the monitor request honours it too."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    run = h.runner("anyrun", handler, ENV)
    spec = registry.spec("anyrun")
    assert run.limiter is not None
    run.limiter.block(quota.bucket_of(spec), 3600)
    with pytest.raises((PluginError, quota.QuotaExhausted)) as caught:
        run.poll(spec, make_ioc(URL, "url"), TASK_ID)
    assert caught.value.code == "rate_limited"
    assert seen == []
