"""Provider quotas: parsing, the slot reservation, and the pipeline honouring them."""

from __future__ import annotations

import dataclasses
import time

import pytest

from plugins import registry
from shared.config import Settings
from shared.errors import ConfigError
from tests.conftest import Service
from tests.fakes.providers import FakeProviders
from workers import quota


def test_parse_rates() -> None:
    assert quota.parse_rates("4/minute,500/day") == (quota.Rate(4, 60), quota.Rate(500, 86400))
    assert quota.parse_rates("10/5minutes") == (quota.Rate(10, 300),)
    assert quota.parse_rates(" none ") == ()
    assert str(quota.Rate(4, 60)) == "4/minute" and str(quota.Rate(10, 300)) == "10/5minute"
    for bad in ("4", "0/minute", "4/fortnight", "x/day"):
        with pytest.raises(ConfigError):
            quota.parse_rates(bad)


def test_rates_defaults_and_overrides() -> None:
    vt = registry.spec("virustotal")
    assert quota.override_var(vt) == "VIRUSTOTAL_RATE_LIMIT"
    assert quota.rates_for(vt, Settings.from_env({})) == (quota.Rate(4, 60), quota.Rate(500, 86400))
    assert quota.rates_for(vt, Settings.from_env({"VIRUSTOTAL_RATE_LIMIT": "100/hour"})) == (
        quota.Rate(100, 3600),
    )
    keyless = dataclasses.replace(vt, key_var=None, url_var="CRTSH_URL")
    assert (
        quota.override_var(keyless) == "CRTSH_RATE_LIMIT"
        and quota.rates_for(keyless, Settings.from_env({})) == ()
    )
    assert quota.rates_for(dataclasses.replace(vt, remote=False), Settings.from_env({})) == ()


def test_local_limiter_reserves_the_next_free_slot() -> None:
    limiter = quota.LocalLimiter()
    rates = (quota.Rate(4, 1),)
    assert [limiter.reserve("b", rates, 0)[0] for _ in range(4)] == [True] * 4
    reserved, wait = limiter.reserve("b", rates, 0)
    assert not reserved and 0.9 < wait <= 1.06
    reserved, wait = limiter.reserve("b", rates, 2)
    assert reserved and 0.9 < wait <= 1.06
    assert limiter.used("b", rates[0]) == 5
    limiter.block("c", 30)
    reserved, wait = limiter.reserve("c", (), 5)
    assert not reserved and wait > 29


def test_burst_sends_at_most_the_quota_and_answers_at_once(make_service, fake: FakeProviders) -> None:
    service: Service = make_service(VIRUSTOTAL_RATE_LIMIT="2/minute", SOCBUDDY_PLUGINS="virustotal")
    answers = []
    for i in range(5):
        started = time.monotonic()
        body = service.post("/api/v1/analysis", {"ioc": f"1.0.0.{i + 1}", "type": "ip"}).json
        answers.append((time.monotonic() - started, body["results"]["virustotal"]))
    assert fake.count("vt") == 2
    assert [r["status"] for _, r in answers] == ["ok", "ok", "error", "error", "error"]
    assert all(
        r["error"]["code"] == "rate_limited" and "quota of VIRUSTOTAL_API_KEY" in r["error"]["message"]
        for _, r in answers[2:]
    )
    assert all(elapsed < 2 for elapsed, _ in answers)


def test_provider_429_holds_off_every_later_request(service: Service, fake: FakeProviders) -> None:
    fake.mode["vt"] = "quota"  # 429 with Retry-After: 3600
    first = service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip", "plugins": ["virustotal"]}).json
    assert first["results"]["virustotal"]["error"]["code"] == "rate_limited"
    fake.mode["vt"] = "ok"
    second = service.post(
        "/api/v1/analysis", {"ioc": "1.0.0.2", "type": "ip", "plugins": ["virustotal"]}
    ).json
    assert second["results"]["virustotal"]["error"]["code"] == "rate_limited"
    assert "blocked after a 429" in second["results"]["virustotal"]["error"]["message"]
    assert fake.count("vt") == 1


def test_sandbox_polls_wait_for_a_slot_instead_of_failing(make_service, fake: FakeProviders) -> None:
    fake.joe_polls_before_finish = 3
    service = make_service(JOE_SANDBOX_RATE_LIMIT="2/second", SOCBUDDY_PLUGINS="joe_sandbox")
    body = service.post("/api/v1/analysis", {"ioc": "http://x.example/", "type": "url"}).json
    deadline = time.monotonic() + 20
    while (polled := service.get(body["pending"]["joe_sandbox"]["poll_url"])).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert polled.json["result"]["status"] == "ok"
    times = sorted(r_time for r_time in _request_times(fake, "joe"))
    assert len(times) == 5  # one submission, four polls
    assert all(later - earlier >= 1.0 for earlier, later in zip(times, times[2:], strict=False))


def _request_times(fake: FakeProviders, provider: str) -> list[float]:
    return [r.at for r in fake.requests if r.provider == provider]
