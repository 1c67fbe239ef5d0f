"""Hybrid Analysis: URL/domain submission with polling, hash report lookup, on providers.md's bodies."""

from __future__ import annotations

import urllib.parse

import httpx
import pytest

from plugins import hybrid_analysis as plugin
from plugins.spec import PluginError, Submitted
from tests import plugin_harness as h
from tests.fakes import providers as fp
from tests.fakes.catalog import hybrid_analysis as fake_ha

NAME = "hybrid_analysis"
ENV = {"HYBRID_ANALYSIS_API_KEY": fake_ha.KEY}
URL = "http://malicious.example/login.php"
JOB = fake_ha.JOB_ID
LINK = f"https://www.hybrid-analysis.com/sample/{fake_ha.URL_SHA256}/{JOB}"


def served(fake: fake_ha.Fake) -> h.Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return fake.handle(request) or httpx.Response(404, json={"message": "not this fake"})

    return handler


def routes(table: dict[str, httpx.Response]) -> h.Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return table[request.url.path]

    return handler


def test_ok_submit_posts_url_and_environment_with_ha_headers() -> None:
    fake = fake_ha.Fake()
    assert h.submit(NAME, served(fake), "url", URL, ENV) == Submitted(job_id=JOB)
    sent = fake.requests[0]
    assert (sent.method, sent.url.path) == ("POST", "/submit/url")
    assert sent.headers["api-key"] == fake_ha.KEY
    assert sent.headers["user-agent"] == "Falcon Sandbox" and sent.headers["accept"] == "application/json"
    assert dict(urllib.parse.parse_qsl(sent.content.decode())) == {"url": URL, "environment_id": "160"}


def test_ok_submit_domain_and_environment_option() -> None:
    fake = fake_ha.Fake()
    env = {**ENV, "HYBRID_ANALYSIS_ENVIRONMENT_ID": "140"}
    assert isinstance(h.submit(NAME, served(fake), "domain", "benign.example", env), Submitted)
    form = dict(urllib.parse.parse_qsl(fake.requests[0].content.decode()))
    assert form == {"url": "https://benign.example/", "environment_id": "140"}
    bad = h.submit(NAME, served(fake), "url", URL, {**ENV, "HYBRID_ANALYSIS_ENVIRONMENT_ID": "win10"})
    assert isinstance(bad, dict) and bad["error"]["code"] == "not_supported" and len(fake.requests) == 1


def test_ok_poll_in_queue_then_summary() -> None:
    fake = fake_ha.Fake(polls_before_finish=2)
    h.submit(NAME, served(fake), "url", URL, ENV)
    assert h.poll(NAME, served(fake), "url", URL, JOB, ENV) is None
    assert h.poll(NAME, served(fake), "url", URL, JOB, ENV) is None
    finding = h.poll(NAME, served(fake), "url", URL, JOB, ENV)
    assert [r.url.path for r in fake.requests[-2:]] == [f"/report/{JOB}/state", f"/report/{JOB}/summary"]
    assert finding is not None and finding.verdict == "malicious" and finding.link == LINK
    s = finding.summary
    assert (s["threat_score"], s["threat_level"], s["av_detect"], s["vx_family"]) == (
        95,
        2,
        12,
        "Phishing.Generic",
    )
    assert s["mitre_attcks"] == [
        {"tactic": "Credential Access", "technique": "Input Capture", "attck_id": "T1056"}
    ]
    assert (
        s["domains"] == ["malicious.example", "cdn.example"]
        and s["environment_description"] == "Windows 10 64 bit"
    )
    assert "total_processes" not in s and s["job_id"] == JOB


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        ("malicious", "malicious"),
        ("suspicious", "suspicious"),
        ("whitelisted", "harmless"),
        ("no specific threat", plugin.NO_SPECIFIC_THREAT),
        (None, "unknown"),
    ],
)
def test_ok_verdict_mapping(verdict: str | None, expected: str) -> None:
    handler = routes(
        {
            f"/report/{JOB}/state": h.json_response(200, {**fake_ha.IN_PROGRESS, "state": "SUCCESS"}),
            f"/report/{JOB}/summary": h.json_response(200, fake_ha.summary_with(verdict)),
        }
    )
    finding = h.poll(NAME, handler, "url", URL, JOB, ENV)
    assert finding is not None and finding.verdict == expected
    assert plugin.NO_SPECIFIC_THREAT == "harmless"


def test_ok_hash_lookup_reads_the_report_summary() -> None:
    fake = fake_ha.Fake()
    result = h.lookup(NAME, served(fake), "hash", fp.KNOWN_SHA256, ENV)
    assert result["status"] == "ok" and result["verdict"] == "malicious"
    assert result["summary"]["found"] is True and result["summary"]["report_id"] == fake_ha.HASH_REPORT_ID
    assert result["summary"]["vx_family"] == "AgentTesla"
    assert (
        result["link"] == f"https://www.hybrid-analysis.com/sample/{fp.KNOWN_SHA256}/{fake_ha.HASH_REPORT_ID}"
    )
    search = fake.requests[0]
    assert (search.method, search.url.path, dict(search.url.params)) == (
        "GET",
        "/search/hash",
        {"hash": fp.KNOWN_SHA256},
    )
    assert fake.requests[1].url.path == f"/report/{fake_ha.HASH_REPORT_ID}/summary"


def test_ok_hash_lookup_old_list_shape_and_summary_gone() -> None:
    # The deprecated POST answered a list of full summaries; a vanished summary falls back to the entry.
    handler = routes(
        {
            "/search/hash": h.json_response(200, [{**fake_ha.HASH_SUMMARY, "verdict": "suspicious"}]),
            f"/report/{fake_ha.HASH_REPORT_ID}/summary": h.json_response(404, {"message": "gone"}),
        }
    )
    result = h.lookup(NAME, handler, "hash", fp.KNOWN_SHA256, ENV)
    assert result["verdict"] == "suspicious" and result["summary"]["vx_family"] == "AgentTesla"


def test_ok_hash_lookup_without_report_ids_uses_the_overview() -> None:
    overview = {
        "sha256": fp.KNOWN_SHA256,
        "verdict": "malicious",
        "threat_score": 80,
        "vx_family": "AgentTesla",
    }
    handler = routes(
        {
            "/search/hash": h.json_response(200, {"sha256s": [fp.KNOWN_SHA256], "reports": []}),
            f"/overview/{fp.KNOWN_SHA256}": h.json_response(200, overview),
        }
    )
    result = h.lookup(NAME, handler, "hash", fp.KNOWN_SHA256, ENV)
    assert result["verdict"] == "malicious" and result["summary"]["threat_score"] == 80
    assert result["link"] == f"https://www.hybrid-analysis.com/sample/{fp.KNOWN_SHA256}"


def test_not_found_hash_is_ok_unknown() -> None:
    result = h.lookup(NAME, served(fake_ha.Fake()), "hash", "b" * 64, ENV)
    assert result["status"] == "ok" and result["verdict"] == "unknown" and result["summary"]["found"] is False
    empty = h.lookup(NAME, h.answer(200, {"sha256s": [], "reports": []}), "hash", "b" * 64, ENV)
    assert empty["status"] == "ok" and empty["summary"]["found"] is False


@pytest.mark.parametrize(
    ("status", "body"), [(401, fake_ha.BAD_KEY), (403, {"message": "Your API key is not allowed to submit"})]
)
def test_auth_failed(status: int, body: dict) -> None:
    result = h.submit(NAME, h.answer(status, body), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "auth_failed"
    assert (
        h.lookup(NAME, h.answer(status, body), "hash", fp.KNOWN_SHA256, ENV)["error"]["code"] == "auth_failed"
    )
    wrong = h.submit(NAME, served(fake_ha.Fake()), "url", URL, {"HYBRID_ANALYSIS_API_KEY": "wrong"})
    assert isinstance(wrong, dict) and wrong["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    reply = h.answer(429, {"message": "API rate limit exceeded"}, {"Retry-After": "12"})
    result = h.submit(NAME, reply, "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "rate_limited"
    with pytest.raises(PluginError) as caught:
        h.poll(NAME, reply, "url", URL, JOB, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 12


def test_rate_limited_without_retry_after_backs_off_a_minute() -> None:
    old_style = {
        "validation_errors": [{"field": "api", "errors": ["Exceeded maximum API requests per minute(5)"]}]
    }
    for reply in (h.answer(429, {"message": "Too Many Requests"}), h.answer(400, old_style)):
        with pytest.raises(PluginError) as caught:
            h.poll(NAME, reply, "url", URL, JOB, ENV)
        assert caught.value.code == "rate_limited" and caught.value.retry_after_s == plugin.RATE_BACKOFF_S
        assert h.lookup(NAME, reply, "hash", fp.KNOWN_SHA256, ENV)["error"]["code"] == "rate_limited"


def test_server_error() -> None:
    result = h.submit(NAME, h.answer(503), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "unavailable"
    assert h.error_code(lambda: h.poll(NAME, h.answer(500), "url", URL, JOB, ENV)) == "unavailable"
    assert h.lookup(NAME, h.answer(502), "hash", fp.KNOWN_SHA256, ENV)["error"]["code"] == "unavailable"


def test_transport_failure() -> None:
    result = h.submit(NAME, h.refuse, "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "unavailable"
    assert h.error_code(lambda: h.poll(NAME, h.refuse, "url", URL, JOB, ENV)) == "unavailable"


def test_provider_error_shapes() -> None:
    invalid = {"validation_errors": [{"field": "url", "errors": ["The url is invalid"]}]}
    result = h.submit(NAME, h.answer(400, invalid), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "provider_error"
    assert "The url is invalid" in result["error"]["message"]
    assert (
        h.submit(NAME, h.answer(201, {"sha256": "x"}), "url", URL, ENV)["error"]["code"] == "provider_error"
    )
    unknown_job = h.answer(404, {"message": "Report not found"})
    assert h.error_code(lambda: h.poll(NAME, unknown_job, "url", URL, JOB, ENV)) == "provider_error"


def test_lifecycle_pending_then_ready() -> None:
    fake = fake_ha.Fake(polls_before_finish=2)
    run = h.lifecycle(NAME, served(fake), "url", URL, ENV)
    assert run.post["pending"][NAME]["job_id"] == JOB
    assert run.statuses[0] == 202 and run.statuses[-1] == 200
    assert run.final is not None and run.final["status"] == "ok" and run.final["verdict"] == "malicious"
    assert run.final["link"] == LINK and fake.polls[JOB] == 3


def test_lifecycle_hash_answers_during_the_call() -> None:
    run = h.lifecycle(NAME, served(fake_ha.Fake()), "hash", fp.KNOWN_SHA256, ENV)
    assert run.statuses == [] and run.final is not None and run.final["verdict"] == "malicious"


def test_sandbox_failure_error_state() -> None:
    fake = fake_ha.Fake(polls_before_finish=0, fail=True)
    h.submit(NAME, served(fake), "url", URL, ENV)
    with pytest.raises(PluginError) as caught:
        h.poll(NAME, served(fake), "url", URL, JOB, ENV)
    assert caught.value.code == "provider_error" and "FILE_TYPE_BAD_ERROR" in caught.value.message
    assert "not supported" in caught.value.message
    run = h.lifecycle(NAME, served(fake_ha.Fake(polls_before_finish=1, fail=True)), "url", URL, ENV)
    assert run.final is not None and run.final["error"]["code"] == "provider_error"


def test_sandbox_timeout_at_the_deadline() -> None:
    fake = fake_ha.Fake(polls_before_finish=10**6)
    run = h.lifecycle(NAME, served(fake), "url", URL, {**ENV, "SOCBUDDY_SANDBOX_TIMEOUT": "1"})
    assert run.final is not None and run.final["error"]["code"] == "timeout"
    assert 202 in run.statuses


def test_timings_follow_the_catalog() -> None:
    assert (plugin.SPEC.poll_interval_s, plugin.SPEC.poll_timeout_s) == (30.0, 1800.0)
    assert plugin.SPEC.lookup_types == frozenset({"hash"}) and plugin.SPEC.auth_name == "api-key"
