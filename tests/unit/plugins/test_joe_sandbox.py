"""Joe Sandbox: URL submission with polling, and hash lookup of existing analyses."""

from __future__ import annotations

import urllib.parse

import httpx
import pytest

from plugins.spec import PluginError, Submitted
from tests import plugin_harness as h
from tests.fakes import providers as fp

ENV = {"JOE_SANDBOX_API_KEY": fp.JOE_KEY, "JOE_SANDBOX_ACCEPT_TAC": "1"}
URL = "http://malicious.example/login.php"


def joe_fake(fake: fp.FakeProviders):
    def handler(request: httpx.Request) -> httpx.Response:
        form = dict(urllib.parse.parse_qsl(request.content.decode()))
        status, headers, body = fake.handle(request.method, "/joe/api" + request.url.path, {}, form, {})
        return httpx.Response(status, headers=headers, content=body)

    return handler


def test_ok_submit_sends_key_tac_and_url_in_the_form() -> None:
    fake = fp.FakeProviders()
    outcome = h.submit("joe_sandbox", joe_fake(fake), "url", URL, ENV)
    assert outcome == Submitted(job_id="140")
    assert fake.requests[0].path == "/api/v2/submission/new"
    assert fake.requests[0].form == {"apikey": fp.JOE_KEY, "accept-tac": "1", "url": URL}


def test_ok_poll_running_then_finished() -> None:
    fake = fp.FakeProviders()
    assert h.poll("joe_sandbox", joe_fake(fake), "url", URL, "140", ENV) is None
    finding = h.poll("joe_sandbox", joe_fake(fake), "url", URL, "140", ENV)
    assert finding is not None and finding.verdict == "malicious"
    assert finding.summary["score"] == 88 and finding.summary["duration"] == 412
    assert finding.summary["runs"] == [{"system": "w10x64", "detection": "malicious", "error": None}]
    assert finding.link == "http://provider.test/analysis/179/0/html"


def test_ok_hash_lookup_picks_newest_webid() -> None:
    fake = fp.FakeProviders()
    result = h.lookup("joe_sandbox", joe_fake(fake), "hash", fp.KNOWN_SHA256, ENV)
    assert result["verdict"] == "malicious" and result["summary"]["found"] is True
    assert result["summary"]["threatname"] == "AgentTesla"
    assert fake.requests[1].form == {"apikey": fp.JOE_KEY, "webid": "179"}


def test_not_found_hash_is_ok_unknown() -> None:
    result = h.lookup("joe_sandbox", joe_fake(fp.FakeProviders()), "hash", "b" * 64, ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown" and result["summary"]["found"] is False
    assert result["raw"] == {"data": []}  # API.md: raw is an object or null, never the bare list


def test_not_supported_without_terms_acceptance() -> None:
    fake = fp.FakeProviders()
    result = h.submit("joe_sandbox", joe_fake(fake), "url", URL, {"JOE_SANDBOX_API_KEY": fp.JOE_KEY})
    assert isinstance(result, dict) and result["error"]["code"] == "not_supported"
    assert "JOE_SANDBOX_ACCEPT_TAC" in result["error"]["message"] and fake.requests == []


@pytest.mark.parametrize(
    ("status", "body"),
    [(403, fp.JOE_BAD_KEY), (400, {"errors": [{"code": 4, "message": "Invalid API key."}]})],
)
def test_auth_failed(status, body) -> None:
    result = h.submit("joe_sandbox", h.answer(status, body), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    reply = h.answer(429, {"errors": [{"code": 9, "message": "Too many requests."}]}, {"Retry-After": "30"})
    result = h.submit("joe_sandbox", reply, "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "rate_limited"


def test_rate_limited_without_retry_after_quota_message() -> None:
    reply = h.answer(400, {"errors": [{"code": 3, "message": "Submission quota exceeded."}]})
    result = h.submit("joe_sandbox", reply, "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "rate_limited"


@pytest.mark.parametrize(
    ("status", "body"), [(502, None), (200, {"errors": [{"code": 5, "message": "Server offline."}]})]
)
def test_server_error(status, body) -> None:
    result = h.submit("joe_sandbox", h.answer(status, body), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    result = h.submit("joe_sandbox", h.refuse, "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "unavailable"


def test_provider_error_shapes() -> None:
    for reply in (
        h.answer(400, {"errors": [{"code": 3, "message": "Invalid parameter."}]}),
        h.answer(200, {"x": 1}),
    ):
        result = h.submit("joe_sandbox", reply, "url", URL, ENV)
        assert isinstance(result, dict) and result["error"]["code"] == "provider_error"


def test_lifecycle_pending_then_ready() -> None:
    fake = fp.FakeProviders(joe_polls_before_finish=2)
    run = h.lifecycle("joe_sandbox", joe_fake(fake), "url", URL, ENV)
    assert run.post["pending"]["joe_sandbox"]["job_id"] == "140"
    assert run.statuses[0] == 202 and run.statuses[-1] == 200
    assert run.final is not None and run.final["status"] == "ok" and run.final["verdict"] == "malicious"
    assert fake.count("joe", "submission/info") == 3


def test_sandbox_failure_all_runs_failed() -> None:
    fake = fp.FakeProviders(joe_polls_before_finish=0, joe_fail=True)
    with pytest.raises(PluginError) as caught:
        h.poll("joe_sandbox", joe_fake(fake), "url", URL, "140", ENV)
    assert caught.value.code == "provider_error" and "every run" in caught.value.message
    run = h.lifecycle(
        "joe_sandbox", joe_fake(fp.FakeProviders(joe_polls_before_finish=1, joe_fail=True)), "url", URL, ENV
    )
    assert run.final is not None and run.final["error"]["code"] == "provider_error"
    assert run.final["raw"] is None  # API.md: raw is null on error


def test_sandbox_timeout_at_the_deadline() -> None:
    fake = fp.FakeProviders(joe_polls_before_finish=10**6)
    run = h.lifecycle("joe_sandbox", joe_fake(fake), "url", URL, {**ENV, "SOCBUDDY_SANDBOX_TIMEOUT": "1"})
    assert run.final is not None and run.final["error"]["code"] == "timeout"
    assert 202 in run.statuses


def test_rate_limited_keeps_the_retry_after() -> None:
    reply = h.answer(429, {"errors": [{"code": 9, "message": "Too many requests."}]}, {"Retry-After": "30"})
    with pytest.raises(PluginError) as caught:
        h.poll("joe_sandbox", reply, "url", URL, "140", ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 30


@pytest.mark.parametrize(
    ("status", "code"),
    [(401, "auth_failed"), (403, "auth_failed"), (429, "rate_limited"), (404, "provider_error")],
)
def test_a_status_with_an_html_body_is_decided_by_the_status(status: int, code: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, text="<html><body>Error</body></html>", headers={"Content-Type": "text/html"}
        )

    with pytest.raises(PluginError) as caught:
        h.poll("joe_sandbox", handler, "url", URL, "140", ENV)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ({"code": 3, "message": "Invalid parameter: comments exceeds the length limit."}, "provider_error"),
        ({"code": 4, "message": "Invalid API key (limit of 3 keys reached)."}, "auth_failed"),
        ({"code": 9, "message": "Daily submission limit reached."}, "rate_limited"),
    ],
)
def test_a_limit_in_the_message_is_a_quota_only_when_the_code_does_not_say_otherwise(error, code) -> None:
    result = h.submit("joe_sandbox", h.answer(400, {"errors": [error]}), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == code


def test_detection_unknown_with_run_errors_is_a_failed_analysis() -> None:
    info = {
        "submission_id": "140",
        "status": "finished",
        "most_relevant_analysis": {"webid": "179", "detection": "unknown", "score": 0},
        "analyses": [
            {
                "webid": "179",
                "status": "finished",
                "detection": "unknown",
                "runs": [
                    {"system": "w10x64", "detection": "unknown", "error": "VM crashed"},
                    {"system": "lnxubuntu", "detection": "unknown", "error": None},
                ],
            }
        ],
    }
    with pytest.raises(PluginError) as caught:
        h.poll("joe_sandbox", h.answer(200, {"data": info}), "url", URL, "140", ENV)
    assert caught.value.code == "provider_error" and "detection unknown" in caught.value.message
    # Without run errors, unknown is the verdict.
    info["analyses"][0]["runs"][0]["error"] = None
    finding = h.poll("joe_sandbox", h.answer(200, {"data": info}), "url", URL, "140", ENV)
    assert finding is not None and finding.verdict == "unknown"
