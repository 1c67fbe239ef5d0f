"""VirusTotal, AbuseIPDB and Joe Sandbox against providers.md's example bodies."""

from __future__ import annotations

import httpx
import pytest

from plugins import abuseipdb, joe_sandbox, virustotal
from plugins.spec import Context, PluginError, Submitted, parse_retry_after
from shared.iocs.normalize import make_ioc
from tests.fakes import providers as fp


def ctx_for(handler, base: str, key: str | None = None, **options: str) -> Context:
    client = httpx.Client(base_url=base, transport=httpx.MockTransport(handler))
    return Context(client=client, base_url=base, key=key, options=options)


def fake_ctx(fake: fp.FakeProviders, provider: str, key: str, **options: str) -> Context:
    base = {"vt": "http://f/vt", "abuseipdb": "http://f/abuseipdb", "joe": "http://f/joe/api"}[provider]
    headers = {"x-apikey": key} if provider == "vt" else {"Key": key} if provider == "abuseipdb" else {}
    client = httpx.Client(base_url=base, headers=headers, transport=fp.mock_transport(fake))
    return Context(client=client, base_url=base, key=key, options=options)


def answer(status: int, body=None, headers=None, content: bytes | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(status, headers=headers, content=content)
        return httpx.Response(status, json=body, headers=headers)

    return handler


# --- VirusTotal ---


def test_vt_url_id_is_unpadded_urlsafe_base64() -> None:
    assert (
        virustotal.url_id("http://malicious.example/login.php")
        == "aHR0cDovL21hbGljaW91cy5leGFtcGxlL2xvZ2luLnBocA"
    )


@pytest.mark.parametrize(
    ("value", "kind", "path", "verdict", "field", "expected", "link"),
    [
        (
            "8.8.4.4",
            "ip",
            "/ip_addresses/8.8.4.4",
            "malicious",
            "as_owner",
            "Example Hosting Ltd",
            "https://www.virustotal.com/gui/ip-address/8.8.4.4",
        ),
        (
            "evil.example",
            "domain",
            "/domains/evil.example",
            "malicious",
            "registrar",
            "Example Registrar, Inc.",
            "https://www.virustotal.com/gui/domain/evil.example",
        ),
        (
            "http://malicious.example/login.php",
            "url",
            "/urls/aHR0cDovL21hbGljaW91cy5leGFtcGxlL2xvZ2luLnBocA",
            "malicious",
            "title",
            "Sign in",
            "https://www.virustotal.com/gui/url/451ad28a650bbbea3f5a4bb3818902c33c29848b8eeb583269107da4fdac3e5c",
        ),
        (
            fp.KNOWN_SHA256,
            "hash",
            f"/files/{fp.KNOWN_SHA256}",
            "malicious",
            "suggested_threat_label",
            "trojan.agenttesla/msil",
            f"https://www.virustotal.com/gui/file/{fp.KNOWN_SHA256}",
        ),
    ],
)
def test_vt_each_type(value, kind, path, verdict, field, expected, link) -> None:
    fake = fp.FakeProviders()
    finding = virustotal.lookup(fake_ctx(fake, "vt", fp.VT_KEY), make_ioc(value, kind))
    assert fake.requests[0].path == path
    assert finding.verdict == verdict
    assert finding.summary[field] == expected
    assert finding.link == link
    assert finding.raw["data"]["type"]


def test_vt_summary_flattens_counts_and_votes() -> None:
    finding = virustotal.lookup(
        fake_ctx(fp.FakeProviders(), "vt", fp.VT_KEY), make_ioc("evil.example", "domain")
    )
    assert finding.summary["malicious"] == 4 and finding.summary["harmless"] == 60
    assert finding.summary["votes_malicious"] == 2
    assert finding.summary["last_dns_records"] == [{"type": "A", "value": "198.51.100.23"}]


@pytest.mark.parametrize(
    ("stats", "verdict"),
    [
        ({"malicious": 3}, "malicious"),
        ({"malicious": 2}, "suspicious"),
        ({"suspicious": 1, "harmless": 50}, "suspicious"),
        ({"harmless": 1}, "harmless"),
        ({"undetected": 5}, "harmless"),
        ({}, "unknown"),
    ],
)
def test_vt_verdict_rule(stats, verdict) -> None:
    body = {"data": {"id": "x", "attributes": {"last_analysis_stats": stats}}}
    finding = virustotal.lookup(ctx_for(answer(200, body), "http://f"), make_ioc("1.1.1.1", "ip"))
    assert finding.verdict == verdict


def test_vt_not_found_is_ok_unknown() -> None:
    finding = virustotal.lookup(ctx_for(answer(404, fp.VT_NOT_FOUND), "http://f"), make_ioc("a" * 64, "hash"))
    assert finding.verdict == "unknown" and finding.summary["found"] is False


@pytest.mark.parametrize(
    ("status", "body", "headers", "code", "retry"),
    [
        (401, fp.VT_AUTH, None, "auth_failed", None),
        (403, {"error": {"code": "ForbiddenError", "message": "no"}}, None, "auth_failed", None),
        (429, fp.VT_QUOTA, None, "rate_limited", 60.0),
        (429, fp.VT_QUOTA, {"Retry-After": "7"}, "rate_limited", 7.0),
        (503, {"error": {"code": "TransientError", "message": "later"}}, None, "unavailable", None),
        (400, {"error": {"code": "InvalidArgumentError", "message": "bad"}}, None, "provider_error", None),
    ],
)
def test_vt_errors(status, body, headers, code, retry) -> None:
    with pytest.raises(PluginError) as caught:
        virustotal.lookup(
            ctx_for(answer(status, body, headers), "http://f", key="secret"), make_ioc("1.1.1.1", "ip")
        )
    assert caught.value.code == code
    assert caught.value.retry_after_s == retry
    assert f"HTTP {status}" in caught.value.message


def test_transport_failure_is_unavailable_and_hides_the_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}")

    ctx = ctx_for(refuse, "http://f/?key=SECRET", key="SECRET")
    with pytest.raises(PluginError) as caught:
        virustotal.lookup(ctx, make_ioc("1.1.1.1", "ip"))
    assert caught.value.code == "unavailable"
    assert "SECRET" not in caught.value.message and "http" not in caught.value.message


def test_garbage_body_is_provider_error() -> None:
    ctx = ctx_for(answer(200, content=b"<html>"), "http://f")
    with pytest.raises(PluginError) as caught:
        virustotal.lookup(ctx, make_ioc("1.1.1.1", "ip"))
    assert caught.value.code == "provider_error"


def test_provider_echoing_the_key_is_redacted() -> None:
    body = {"error": {"code": "WrongCredentialsError", "message": "key s3cr3t-key is wrong"}}
    with pytest.raises(PluginError) as caught:
        virustotal.lookup(ctx_for(answer(401, body), "http://f", key="s3cr3t-key"), make_ioc("1.1.1.1", "ip"))
    assert "s3cr3t-key" not in caught.value.message and "[redacted]" in caught.value.message


def test_retry_after_http_date() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None


# --- AbuseIPDB ---


def test_abuseipdb_ok_sends_key_header_and_query() -> None:
    fake = fp.FakeProviders()
    finding = abuseipdb.lookup(fake_ctx(fake, "abuseipdb", fp.ABUSEIPDB_KEY), make_ioc("1.0.0.1", "ip"))
    request = fake.requests[0]
    assert request.path == "/check"
    assert request.query == {"ipAddress": "1.0.0.1", "maxAgeInDays": "90"}
    assert request.headers["accept"] == "application/json"
    assert finding.verdict == "malicious"
    assert finding.summary["abuse_confidence_score"] == 87 and finding.summary["total_reports"] == 152
    assert finding.summary["is_tor"] is False
    assert finding.link == "https://www.abuseipdb.com/check/1.0.0.1"


@pytest.mark.parametrize(
    ("data", "verdict"),
    [
        ({"abuseConfidenceScore": 100, "isWhitelisted": True}, "harmless"),
        ({"abuseConfidenceScore": 75}, "malicious"),
        ({"abuseConfidenceScore": 25}, "suspicious"),
        ({"abuseConfidenceScore": 24, "totalReports": 3}, "unknown"),
        ({"abuseConfidenceScore": 0, "totalReports": 0}, "unknown"),
    ],
)
def test_abuseipdb_verdict(data, verdict) -> None:
    finding = abuseipdb.lookup(ctx_for(answer(200, {"data": data}), "http://f"), make_ioc("1.0.0.1", "ip"))
    assert finding.verdict == verdict


@pytest.mark.parametrize(
    ("status", "body", "headers", "code", "retry"),
    [
        (429, fp.ABUSEIPDB_QUOTA, {"Retry-After": "3600"}, "rate_limited", 3600.0),
        (429, fp.ABUSEIPDB_QUOTA, None, "rate_limited", None),
        (401, {"errors": [{"detail": "Authentication failed.", "status": 401}]}, None, "auth_failed", None),
        (
            422,
            {"errors": [{"detail": "The ip address must be valid.", "status": 422}]},
            None,
            "provider_error",
            None,
        ),
        (500, None, None, "unavailable", None),
        (200, {"unexpected": True}, None, "provider_error", None),
    ],
)
def test_abuseipdb_errors(status, body, headers, code, retry) -> None:
    with pytest.raises(PluginError) as caught:
        abuseipdb.lookup(ctx_for(answer(status, body, headers), "http://f"), make_ioc("1.0.0.1", "ip"))
    assert caught.value.code == code
    assert caught.value.retry_after_s == retry


def test_abuseipdb_error_message_quotes_the_provider() -> None:
    with pytest.raises(PluginError) as caught:
        abuseipdb.lookup(ctx_for(answer(429, fp.ABUSEIPDB_QUOTA), "http://f"), make_ioc("1.0.0.1", "ip"))
    assert caught.value.message.startswith("HTTP 429: Daily rate limit of 1000 requests")


# --- Joe Sandbox ---


def test_joe_submit_url_sends_key_tac_and_url_in_the_form() -> None:
    fake = fp.FakeProviders()
    ctx = fake_ctx(fake, "joe", fp.JOE_KEY, JOE_SANDBOX_ACCEPT_TAC="1")
    outcome = joe_sandbox.submit(ctx, make_ioc("http://malicious.example/login.php", "url"))
    assert outcome == Submitted(job_id="140")
    form = fake.requests[0].form
    assert fake.requests[0].path == "/api/v2/submission/new"
    assert form == {"apikey": fp.JOE_KEY, "accept-tac": "1", "url": "http://malicious.example/login.php"}


def test_joe_submit_without_tac_is_not_supported() -> None:
    fake = fp.FakeProviders()
    with pytest.raises(PluginError) as caught:
        joe_sandbox.submit(fake_ctx(fake, "joe", fp.JOE_KEY), make_ioc("http://x.example/", "url"))
    assert caught.value.code == "not_supported" and "JOE_SANDBOX_ACCEPT_TAC" in caught.value.message
    assert fake.requests == []


def test_joe_poll_running_then_finished() -> None:
    fake = fp.FakeProviders()
    ctx = fake_ctx(fake, "joe", fp.JOE_KEY)
    ioc = make_ioc("http://malicious.example/login.php", "url")
    assert joe_sandbox.poll(ctx, ioc, "140") is None
    finding = joe_sandbox.poll(ctx, ioc, "140")
    assert finding is not None and finding.verdict == "malicious"
    assert finding.summary["score"] == 88 and finding.summary["duration"] == 412
    assert finding.summary["runs"] == [{"system": "w10x64", "detection": "malicious", "error": None}]
    assert finding.link == "http://f/joe/analysis/179/0/html"
    assert fake.requests[0].form == {"apikey": fp.JOE_KEY, "submission_id": "140"}


def test_joe_poll_all_runs_failed_is_provider_error() -> None:
    fake = fp.FakeProviders(joe_polls_before_finish=0, joe_fail=True)
    with pytest.raises(PluginError) as caught:
        joe_sandbox.poll(fake_ctx(fake, "joe", fp.JOE_KEY), make_ioc("http://x.example/", "url"), "140")
    assert caught.value.code == "provider_error" and caught.value.raw["status"] == "finished"


def test_joe_hash_lookup_picks_newest_webid() -> None:
    fake = fp.FakeProviders()
    finding = joe_sandbox.submit(fake_ctx(fake, "joe", fp.JOE_KEY), make_ioc(fp.KNOWN_SHA256, "hash"))
    assert not isinstance(finding, Submitted)
    assert finding.verdict == "malicious" and finding.summary["found"] is True
    assert fake.requests[1].form == {"apikey": fp.JOE_KEY, "webid": "179"}


def test_joe_hash_lookup_not_found_is_ok_unknown() -> None:
    finding = joe_sandbox.submit(fake_ctx(fp.FakeProviders(), "joe", fp.JOE_KEY), make_ioc("b" * 64, "hash"))
    assert not isinstance(finding, Submitted)
    assert finding.verdict == "unknown" and finding.summary["found"] is False


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (403, fp.JOE_BAD_KEY, "auth_failed"),
        (400, {"errors": [{"code": 4, "message": "Invalid API key."}]}, "auth_failed"),
        (200, {"errors": [{"code": 5, "message": "Server offline."}]}, "unavailable"),
        (400, {"errors": [{"code": 3, "message": "Submission quota exceeded."}]}, "rate_limited"),
        (429, {"errors": [{"code": 9, "message": "Too many requests."}]}, "rate_limited"),
        (400, {"errors": [{"code": 3, "message": "Invalid parameter."}]}, "provider_error"),
        (502, None, "unavailable"),
        (200, {"nodata": 1}, "provider_error"),
    ],
)
def test_joe_errors(status, body, code) -> None:
    ctx = ctx_for(answer(status, body), "http://f/api", key="k", JOE_SANDBOX_ACCEPT_TAC="1")
    with pytest.raises(PluginError) as caught:
        joe_sandbox.submit(ctx, make_ioc("http://x.example/", "url"))
    assert caught.value.code == code
