"""VirusTotal URL analysis: submission, polling and the whole lifecycle, on providers.md's bodies."""

from __future__ import annotations

import urllib.parse

import httpx
import pytest

from plugins import _virustotal
from plugins import virustotal_url_scan as plugin
from plugins.spec import PluginError, Submitted
from tests import plugin_harness as h
from tests.fakes import providers as fp
from tests.fakes.catalog import virustotal_url_scan as fake_vt

NAME = "virustotal_url_scan"
ENV = {"VIRUSTOTAL_API_KEY": fp.VT_KEY}
URL = "http://malicious.example/login.php"
JOB = fake_vt.ANALYSIS_ID
LINK = f"https://www.virustotal.com/gui/url/{fake_vt.URL_ID}"


def served(fake: fake_vt.Fake) -> h.Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return fake.handle(request) or httpx.Response(404, json={"error": "not this fake"})

    return handler


def test_ok_submit_posts_the_url_form_with_the_key_header() -> None:
    fake = fake_vt.Fake()
    assert h.submit(NAME, served(fake), "url", URL, ENV) == Submitted(job_id=JOB)
    sent = fake.requests[0]
    assert (sent.method, sent.url.path) == ("POST", "/urls")
    assert sent.headers["x-apikey"] == fp.VT_KEY
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(urllib.parse.parse_qsl(sent.content.decode())) == {"url": URL}


def test_ok_poll_queued_then_completed() -> None:
    fake = fake_vt.Fake(polls_before_finish=1)
    assert h.poll(NAME, served(fake), "url", URL, JOB, ENV) is None
    finding = h.poll(NAME, served(fake), "url", URL, JOB, ENV)
    assert finding is not None and finding.verdict == "malicious"
    assert fake.requests[0].url.path == f"/analyses/{JOB}"
    assert finding.summary == {
        "malicious": 7,
        "suspicious": 1,
        "harmless": 60,
        "undetected": 24,
        "timeout": 0,
        "status": "completed",
        "date": 1735723800,
        "url": URL,
        "flagged_engines": {"ExampleAV": "phishing"},
        "found": True,
    }
    assert finding.link == LINK and finding.raw["data"]["id"] == JOB


@pytest.mark.parametrize(
    ("stats", "verdict"),
    [
        ({"malicious": 3, "harmless": 1}, "malicious"),
        ({"malicious": 2, "harmless": 50}, "suspicious"),
        ({"suspicious": 1, "harmless": 50}, "suspicious"),
        ({"harmless": 50, "undetected": 10}, "harmless"),
        ({"undetected": 10}, "harmless"),
        ({}, "unknown"),
    ],
)
def test_ok_verdict_thresholds(stats: dict[str, int], verdict: str) -> None:
    body = fake_vt.completed_with(stats)
    finding = h.poll(NAME, h.answer(200, body), "url", URL, JOB, ENV)
    assert finding is not None and finding.verdict == verdict


def test_ok_link_without_url_info_uses_the_analysis_id() -> None:
    body = fake_vt.completed_with({"malicious": 1})
    del body["meta"]
    finding = h.poll(NAME, h.answer(200, body), "url", URL, JOB, ENV)
    assert finding is not None and finding.link == LINK and finding.summary["url"] is None


def test_not_found_analysis_is_ok_unknown() -> None:
    finding = h.poll(NAME, served(fake_vt.Fake()), "url", URL, "u-unknown-1", ENV)
    assert finding is not None and finding.verdict == "unknown" and finding.summary["found"] is False


def test_not_found_when_no_engine_has_an_opinion() -> None:
    finding = h.poll(NAME, h.answer(200, fake_vt.completed_with({})), "url", URL, JOB, ENV)
    assert finding is not None and finding.verdict == "unknown" and finding.summary["found"] is False


def test_auth_failed() -> None:
    result = h.submit(NAME, served(fake_vt.Fake()), "url", URL, {"VIRUSTOTAL_API_KEY": "wrong"})
    assert isinstance(result, dict) and result["error"]["code"] == "auth_failed"
    assert "wrong" not in result["error"]["message"]
    assert h.error_code(lambda: h.poll(NAME, h.answer(403, {}), "url", URL, JOB, ENV)) == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    reply = h.answer(429, fp.VT_QUOTA, {"Retry-After": "30"})
    result = h.submit(NAME, reply, "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "rate_limited"
    with pytest.raises(PluginError) as caught:
        h.poll(NAME, reply, "url", URL, JOB, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 30


def test_rate_limited_without_retry_after_backs_off_a_minute() -> None:
    reply = h.answer(429, fp.VT_QUOTA)
    result = h.submit(NAME, reply, "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "rate_limited"
    with pytest.raises(PluginError) as caught:
        h.poll(NAME, reply, "url", URL, JOB, ENV)
    assert caught.value.retry_after_s == _virustotal.QUOTA_BACKOFF_S


def test_server_error() -> None:
    result = h.submit(NAME, h.answer(503), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "unavailable"
    assert h.error_code(lambda: h.poll(NAME, h.answer(500), "url", URL, JOB, ENV)) == "unavailable"


def test_transport_failure() -> None:
    result = h.submit(NAME, h.refuse, "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "unavailable"
    assert h.error_code(lambda: h.poll(NAME, h.refuse, "url", URL, JOB, ENV)) == "unavailable"


def test_provider_error_shapes() -> None:
    rejected = {"error": {"code": "InvalidArgumentError", "message": "Unable to canonicalize url"}}
    for reply in (h.answer(400, rejected), h.answer(200, {"data": {}}), h.answer(200, {"x": 1})):
        result = h.submit(NAME, reply, "url", URL, ENV)
        assert isinstance(result, dict) and result["error"]["code"] == "provider_error"
    assert (
        h.error_code(lambda: h.poll(NAME, h.answer(200, {"x": 1}), "url", URL, JOB, ENV)) == "provider_error"
    )


def test_lifecycle_pending_then_ready() -> None:
    fake = fake_vt.Fake(polls_before_finish=2)
    run = h.lifecycle(NAME, served(fake), "url", URL, ENV)
    assert run.post["pending"][NAME]["job_id"] == JOB
    assert run.statuses[0] == 202 and run.statuses[-1] == 200
    assert run.final is not None and run.final["status"] == "ok" and run.final["verdict"] == "malicious"
    assert run.final["link"] == LINK and run.final["summary"]["malicious"] == 7
    assert fake.polls[JOB] == 3


def test_sandbox_failure_unknown_status_is_an_error() -> None:
    fake = fake_vt.Fake(polls_before_finish=0, final_status="failed")
    with pytest.raises(PluginError) as caught:
        h.poll(NAME, served(fake), "url", URL, JOB, ENV)
    assert caught.value.code == "provider_error" and "'failed'" in caught.value.message
    run = h.lifecycle(
        NAME, served(fake_vt.Fake(polls_before_finish=1, final_status="failed")), "url", URL, ENV
    )
    assert run.final is not None and run.final["error"]["code"] == "provider_error"


def test_sandbox_failure_rejected_submission() -> None:
    rejected = {"error": {"code": "InvalidArgumentError", "message": "Unable to canonicalize url"}}
    run = h.lifecycle(NAME, h.answer(400, rejected), "url", URL, ENV)
    assert run.final is not None and run.final["error"]["code"] == "provider_error"
    assert "canonicalize" in run.final["error"]["message"]


def test_sandbox_timeout_at_the_deadline() -> None:
    fake = fake_vt.Fake(polls_before_finish=10**6)
    run = h.lifecycle(NAME, served(fake), "url", URL, {**ENV, "SOCBUDDY_SANDBOX_TIMEOUT": "1"})
    assert run.final is not None and run.final["error"]["code"] == "timeout"
    assert 202 in run.statuses


def test_timings_follow_the_catalog() -> None:
    assert (plugin.SPEC.poll_interval_s, plugin.SPEC.poll_timeout_s) == (15.0, 600.0)
    assert plugin.SPEC.url_var == "VIRUSTOTAL_URL" and plugin.SPEC.key_var == "VIRUSTOTAL_API_KEY"
