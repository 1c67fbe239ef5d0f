"""urlscan.io scan: submission, polling (404 while running) and the lifecycle, on providers.md's bodies."""

from __future__ import annotations

import json

import httpx
import pytest

from plugins import urlscan_scan as plugin
from plugins.spec import PluginError, Submitted
from tests import plugin_harness as h
from tests.fakes.catalog import urlscan_scan as fake_us

NAME = "urlscan_scan"
ENV = {"URLSCAN_API_KEY": fake_us.KEY}
URL = "http://malicious.example/login.php"
UUID = fake_us.UUID
LINK = f"https://urlscan.io/result/{UUID}/"


def served(fake: fake_us.Fake) -> h.Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return fake.handle(request) or httpx.Response(404, json={"message": "not this fake"})

    return handler


def test_ok_submit_posts_json_unlisted_with_the_key_header() -> None:
    fake = fake_us.Fake()
    assert h.submit(NAME, served(fake), "url", URL, ENV) == Submitted(job_id=UUID)
    sent = fake.requests[0]
    assert (sent.method, sent.url.path) == ("POST", "/scan/")
    assert sent.headers["api-key"] == fake_us.KEY
    assert json.loads(sent.content) == {"url": URL, "visibility": "unlisted", "tags": ["socbuddy"]}


def test_ok_submit_domain_as_https_root() -> None:
    fake = fake_us.Fake()
    assert isinstance(h.submit(NAME, served(fake), "domain", "benign.example", ENV), Submitted)
    assert json.loads(fake.requests[0].content)["url"] == "https://benign.example/"


def test_ok_poll_404_while_running_then_result() -> None:
    fake = fake_us.Fake(polls_before_finish=1)
    assert isinstance(h.submit(NAME, served(fake), "url", URL, ENV), Submitted)
    assert h.poll(NAME, served(fake), "url", URL, UUID, ENV) is None
    finding = h.poll(NAME, served(fake), "url", URL, UUID, ENV)
    assert fake.requests[-1].url.path == f"/result/{UUID}/"
    assert fake.requests[-1].headers["api-key"] == fake_us.KEY
    assert finding is not None and finding.verdict == "malicious" and finding.link == LINK
    s = finding.summary
    assert (s["score"], s["malicious"], s["categories"], s["brands"]) == (
        100,
        True,
        ["phishing"],
        ["Example Bank"],
    )
    assert (s["urlscan_score"], s["urlscan_brands"], s["engines_score"]) == (100, ["Example Bank"], 0)
    assert (s["domain"], s["ip"], s["asn"], s["title"]) == (
        "malicious.example",
        "198.51.100.23",
        "AS64500",
        "Sign in to your account",
    )
    assert s["ips"] == ["198.51.100.23", "192.0.2.10"] and s["certificates"] == []
    assert (s["uuid"], s["visibility"], s["stats_malicious"]) == (UUID, "unlisted", 1)
    assert s["screenshot_url"] == f"https://urlscan.io/screenshots/{UUID}.png"


@pytest.mark.parametrize(
    ("score", "malicious", "verdict"),
    [
        (100, True, "malicious"),
        (5, True, "malicious"),
        (1, False, "suspicious"),
        (-1, False, "harmless"),
        (0, False, "unknown"),
    ],
)
def test_ok_verdict_rule(score: int, malicious: bool, verdict: str) -> None:
    finding = h.poll(NAME, h.answer(200, fake_us.result_with(score, malicious)), "url", URL, UUID, ENV)
    assert finding is not None and finding.verdict == verdict


def test_ok_lists_are_capped_at_ten() -> None:
    body = fake_us.result_with(0, False)
    body["lists"]["ips"] = [f"192.0.2.{i}" for i in range(30)]
    finding = h.poll(NAME, h.answer(200, body), "url", URL, UUID, ENV)
    assert finding is not None and len(finding.summary["ips"]) == 10


def test_not_found_result_means_still_running() -> None:
    # urlscan answers 404 until the scan is done: "not found" is "not yet", never an error.
    assert h.poll(NAME, h.answer(404, fake_us.RUNNING), "url", URL, UUID, ENV) is None
    assert h.poll(NAME, h.answer(404), "url", URL, UUID, ENV) is None


def test_not_found_verdicts_missing_is_unknown() -> None:
    body = fake_us.result_with(0, False)
    del body["verdicts"]
    finding = h.poll(NAME, h.answer(200, body), "url", URL, UUID, ENV)
    assert finding is not None and finding.verdict == "unknown" and finding.summary["score"] is None


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, fake_us.UNAUTHORIZED),
        (403, {"message": "Forbidden"}),
        (400, {"message": "Invalid API key format"}),
    ],
)
def test_auth_failed(status: int, body: dict) -> None:
    result = h.submit(NAME, h.answer(status, body), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "auth_failed"
    assert h.error_code(lambda: h.poll(NAME, h.answer(status, body), "url", URL, UUID, ENV)) == "auth_failed"


def test_auth_failed_wrong_key_against_the_fake() -> None:
    result = h.submit(NAME, served(fake_us.Fake()), "url", URL, {"URLSCAN_API_KEY": "wrong"})
    assert isinstance(result, dict) and result["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    reply = h.answer(429, {"message": "Rate limit exceeded", "status": 429}, {"Retry-After": "7"})
    result = h.submit(NAME, reply, "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "rate_limited"
    with pytest.raises(PluginError) as caught:
        h.poll(NAME, reply, "url", URL, UUID, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 7


def test_rate_limited_without_retry_after_uses_the_reset_header() -> None:
    headers = {"X-Rate-Limit-Action": "result", "X-Rate-Limit-Reset-After": "17"}
    reply = h.answer(429, {"message": "Rate limit exceeded", "status": 429}, headers)
    with pytest.raises(PluginError) as caught:
        h.poll(NAME, reply, "url", URL, UUID, ENV)
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 17
    with pytest.raises(PluginError) as bare:
        h.poll(NAME, h.answer(429, {"message": "Rate limit exceeded"}), "url", URL, UUID, ENV)
    assert bare.value.code == "rate_limited" and bare.value.retry_after_s is None


def test_server_error() -> None:
    result = h.submit(NAME, h.answer(502), "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "unavailable"
    assert h.error_code(lambda: h.poll(NAME, h.answer(503), "url", URL, UUID, ENV)) == "unavailable"


def test_transport_failure() -> None:
    result = h.submit(NAME, h.refuse, "url", URL, ENV)
    assert isinstance(result, dict) and result["error"]["code"] == "unavailable"
    assert h.error_code(lambda: h.poll(NAME, h.refuse, "url", URL, UUID, ENV)) == "unavailable"


def test_provider_error_shapes() -> None:
    for reply in (h.answer(200, {"message": "ok"}), h.answer(418, {"message": "teapot"})):
        result = h.submit(NAME, reply, "url", URL, ENV)
        assert isinstance(result, dict) and result["error"]["code"] == "provider_error"
    assert h.error_code(lambda: h.poll(NAME, h.answer(200, [1]), "url", URL, UUID, ENV)) == "provider_error"


def test_lifecycle_pending_then_ready() -> None:
    fake = fake_us.Fake(polls_before_finish=2)
    run = h.lifecycle(NAME, served(fake), "url", URL, ENV)
    assert run.post["pending"][NAME]["job_id"] == UUID
    assert run.statuses[0] == 202 and run.statuses[-1] == 200
    assert run.final is not None and run.final["status"] == "ok" and run.final["verdict"] == "malicious"
    assert run.final["link"] == LINK and fake.polls[UUID] == 3


def test_lifecycle_domain_is_harmless() -> None:
    run = h.lifecycle(NAME, served(fake_us.Fake(polls_before_finish=1)), "domain", "benign.example", ENV)
    assert run.final is not None and run.final["verdict"] == "harmless"
    assert run.final["summary"]["url"] == "https://benign.example/"


def test_sandbox_failure_scan_deleted() -> None:
    fake = fake_us.Fake(polls_before_finish=1, deleted=True)
    run = h.lifecycle(NAME, served(fake), "url", URL, ENV)
    assert run.final is not None and run.final["error"]["code"] == "provider_error"
    assert "410" in run.final["error"]["message"]


def test_sandbox_failure_submission_rejected() -> None:
    run = h.lifecycle(NAME, served(fake_us.Fake()), "url", "http://unresolvable.example/", ENV)
    assert run.final is not None and run.final["error"]["code"] == "provider_error"
    assert "DNS Error" in run.final["error"]["message"] and run.statuses == []


def test_sandbox_timeout_at_the_deadline() -> None:
    fake = fake_us.Fake(polls_before_finish=10**6)
    run = h.lifecycle(NAME, served(fake), "url", URL, {**ENV, "SOCBUDDY_SANDBOX_TIMEOUT": "1"})
    assert run.final is not None and run.final["error"]["code"] == "timeout"
    assert 202 in run.statuses


def test_timings_follow_the_catalog() -> None:
    assert (plugin.SPEC.poll_interval_s, plugin.SPEC.poll_timeout_s) == (10.0, 180.0)
    assert plugin.SPEC.url_var == "URLSCAN_URL" and plugin.SPEC.auth_name == "API-Key"
