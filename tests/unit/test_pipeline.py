"""Barrier, runner budget, idempotent actors, the reconciler and the broker choice."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import dramatiq
import fakeredis
import httpx
import peewee
import pytest
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from plugins import registry
from plugins.spec import PluginError
from shared import analyses
from shared.barrier import LocalBarrier, RedisBarrier
from shared.config import Settings
from shared.iocs.normalize import make_ioc
from shared.models import PluginResult, utcnow
from tests.conftest import Service
from workers import actors as actors_module
from workers import broker as brokermod
from workers import reconciler as reconciler_module
from workers.actors import Timing, backoff_s
from workers.reconciler import MAX_REDISPATCH, reconcile_once
from workers.runner import PluginRunner


@pytest.mark.parametrize("make", [lambda: RedisBarrier(fakeredis.FakeRedis()), LocalBarrier])
def test_barrier_collects_outcomes_and_stops_at_the_deadline(make) -> None:
    barrier = make()
    threading.Timer(0.05, barrier.push, ("a1", {"plugin": "p1", "kind": "result"})).start()
    started = time.monotonic()
    outcomes = barrier.wait("a1", {"p1", "p2"}, 0.4)
    elapsed = time.monotonic() - started
    assert set(outcomes) == {"p1"}
    assert 0.35 <= elapsed < 2


@pytest.mark.parametrize("make", [lambda: RedisBarrier(fakeredis.FakeRedis()), LocalBarrier])
def test_barrier_returns_as_soon_as_all_answered(make) -> None:
    barrier = make()
    barrier.push("a2", {"plugin": "p1", "kind": "result"})
    barrier.push("a2", {"plugin": "p2", "kind": "result"})
    started = time.monotonic()
    assert set(barrier.wait("a2", {"p1", "p2"}, 5)) == {"p1", "p2"}
    assert time.monotonic() - started < 1


def test_redis_barrier_keys_expire() -> None:
    client = fakeredis.FakeRedis()
    RedisBarrier(client).push("a3", {"plugin": "p", "kind": "result"})
    assert 0 < client.ttl("socbuddy:barrier:a3") <= 600


def test_redis_barrier_cleans_up_only_after_an_incomplete_wait() -> None:
    client = fakeredis.FakeRedis()
    barrier = RedisBarrier(client)
    deleted: list[tuple] = []
    delete = client.delete
    client.delete = lambda *keys: deleted.append(keys) or delete(*keys)  # type: ignore[method-assign]
    barrier.push("a4", {"plugin": "p1", "kind": "result"})
    assert set(barrier.wait("a4", {"p1"}, 1)) == {"p1"}
    # Complete: the list was popped empty, so no extra round trip (and no key is left).
    assert deleted == [] and not client.exists("socbuddy:barrier:a4")
    for name in ("p1", "p1", "p9"):
        barrier.push("a5", {"plugin": name, "kind": "result"})
    assert set(barrier.wait("a5", {"p1", "p2"}, 0.1)) == {"p1", "p9"}
    # Incomplete (p2 never came): whatever is left is removed.
    assert deleted == [("socbuddy:barrier:a5",)] and not client.exists("socbuddy:barrier:a5")


def _runner(handler, **env: str) -> PluginRunner:
    settings = Settings.from_env({"VIRUSTOTAL_API_KEY": "k-secret", **env})
    return PluginRunner(settings, transport=httpx.MockTransport(handler))


def test_runner_enforces_wall_clock_budget_over_a_trickling_provider() -> None:
    def trickle(request: httpx.Request) -> httpx.Response:
        def body():
            for _ in range(50):
                time.sleep(0.1)
                yield b" "

        return httpx.Response(200, content=body())

    runner = _runner(trickle, SOCBUDDY_PLUGIN_TIMEOUT="0.5")
    started = time.monotonic()
    result = runner.lookup(registry.spec("virustotal"), make_ioc("1.1.1.1", "ip"))
    assert result["status"] == "error" and result["error"]["code"] == "timeout"
    assert time.monotonic() - started < 1.5


def _vt_answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"data": {"attributes": {"last_analysis_stats": {"malicious": 0}}}})


def test_runner_hands_an_answer_in_time_to_then_on_the_call_thread() -> None:
    runner = _runner(_vt_answer)
    seen: list[tuple[str, str]] = []

    def then(result: dict) -> str:
        seen.append((threading.current_thread().name, result["status"]))
        return "stored"

    assert runner.lookup_then(registry.spec("virustotal"), make_ioc("1.1.1.1", "ip"), then) == "stored"
    # Stored and told where the answer arrived: no wait for the calling thread to be woken.
    assert len(seen) == 1 and seen[0][0].startswith("plugin") and seen[0][1] == "ok"


def test_runner_gives_then_the_timeout_once_and_drops_the_late_answer() -> None:
    answered = threading.Event()

    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.8)
        answered.set()
        return _vt_answer(request)

    runner = _runner(slow, SOCBUDDY_PLUGIN_TIMEOUT="0.2")
    seen: list[tuple[str, dict]] = []

    def then(result: dict) -> None:
        seen.append((threading.current_thread().name, result))

    runner.lookup_then(registry.spec("virustotal"), make_ioc("1.1.1.1", "ip"), then)
    assert len(seen) == 1 and seen[0][0] == threading.current_thread().name
    assert seen[0][1]["error"]["code"] == "timeout"
    assert answered.wait(5)
    time.sleep(0.2)  # the late answer has been made into a result by now, and dropped
    assert len(seen) == 1


def test_runner_waits_for_then_already_running_at_the_deadline_and_raises_its_error() -> None:
    runner = _runner(_vt_answer, SOCBUDDY_PLUGIN_TIMEOUT="0.2")
    calls: list[str] = []

    def slow_store(result: dict) -> None:
        calls.append(result["status"])
        time.sleep(0.8)  # past the waiting thread's deadline: it must not answer timeout meanwhile
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError, match="database down"):
        runner.lookup_then(registry.spec("virustotal"), make_ioc("1.1.1.1", "ip"), slow_store)
    assert calls == ["ok"]


def test_runner_turns_plugin_bugs_into_internal_error(monkeypatch) -> None:
    def boom(ctx, ioc):
        raise KeyError("k-secret")

    monkeypatch.setattr(registry.BY_NAME["virustotal"], "lookup", boom)
    result = _runner(lambda r: httpx.Response(200)).lookup(
        registry.spec("virustotal"), make_ioc("1.1.1.1", "ip")
    )
    assert result["error"] == {"code": "internal_error", "message": "the plugin failed with KeyError"}


def test_runner_sends_key_and_user_agent() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(200, json={"data": {"id": "x", "attributes": {}}})

    _runner(handler).lookup(registry.spec("virustotal"), make_ioc("1.1.1.1", "ip"))
    assert seen["x-apikey"] == "k-secret" and seen["user-agent"].startswith("SOCBuddy/")


@pytest.mark.parametrize(
    "url",
    [
        "http://192.168.1.1/admin",
        "http://localhost:8080/",
        "https://intranet/login",
        "http://localhost\\@evil.com/",  # a browser's host is localhost: a backslash ends the authority
    ],
)
def test_url_with_private_host_is_not_sent(url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("must not be called")

    result = _runner(handler).lookup(registry.spec("virustotal"), make_ioc(url, "url"))
    assert result["status"] == "ok" and result["summary"]["queried"] is False


def test_backoff_grows_and_is_capped() -> None:
    schedule = Timing(interval_s=1, max_interval_s=10, timeout_s=100)
    delays = [backoff_s(n, schedule) for n in range(8)]
    assert 0.85 <= delays[0] <= 1.15
    assert 1.7 <= delays[1] <= 2.3
    assert all(d <= 11.5 for d in delays)
    assert delays[7] >= 8.5


def _seed(service: Service, plugin: str = "virustotal", **fields) -> PluginResult:
    analysis_id = uuid.uuid4()
    chain = analyses.new_chain()
    with service.workers.runtime.db.connection_context():
        analyses.create(
            analysis_id, "1.0.0.1", "ip", [analyses.PlannedPlugin(plugin, "fast", "m1", chain)], "t"
        )
        if fields:
            PluginResult.update(**fields).where(PluginResult.analysis == analysis_id).execute()
        return analyses.get_row(str(analysis_id), plugin)


def test_run_plugin_twice_keeps_one_answer_and_skips_stale_chains(service: Service, fake) -> None:
    row = _seed(service)
    run = service.workers.actors.run_plugin.fn
    run(row.analysis_key, "virustotal", row.chain)
    run(row.analysis_key, "virustotal", row.chain)
    run(row.analysis_key, "virustotal", "someone-else")
    assert fake.count("vt") == 1
    with service.workers.runtime.db.connection_context():
        stored = analyses.get_row(row.analysis_key, "virustotal")
    assert stored.status == "ok" and stored.result["verdict"] == "malicious"


def test_a_message_carrying_its_ioc_needs_no_row_read_and_never_overwrites(
    service: Service, fake, monkeypatch
) -> None:
    row = _seed(service)
    run = service.workers.actors.run_plugin.fn
    barrier = service.workers.runtime.barrier

    def no_row_check(*args):
        raise AssertionError("a fast lookup that carries its IOC must not check its row first")

    monkeypatch.setattr(actors_module._Work, "_load", no_row_check)
    run(row.analysis_key, "virustotal", "someone-else", ["ip", "1.0.0.1"])
    # The lookup ran, but the chain is not ours: nothing stored, and nothing told to a waiting call.
    assert fake.count("vt") == 1
    with service.workers.runtime.db.connection_context():
        assert analyses.get_row(row.analysis_key, "virustotal").status == "pending"
    assert barrier.wait(row.analysis_key, {"virustotal"}, 0.05) == {}
    run(row.analysis_key, "virustotal", row.chain, ["ip", "1.0.0.1"])
    with service.workers.runtime.db.connection_context():
        stored = analyses.get_row(row.analysis_key, "virustotal")
    assert fake.count("vt") == 2
    assert stored.status == "ok" and stored.result["verdict"] == "malicious"
    told = barrier.wait(row.analysis_key, {"virustotal"}, 1)
    assert told["virustotal"]["result"] == stored.result
    fake.mode["vt"] = "down"  # the redelivery's own answer would be an error
    run(row.analysis_key, "virustotal", row.chain, ["ip", "1.0.0.1"])  # a redelivery: row final
    assert fake.count("vt") == 3
    with service.workers.runtime.db.connection_context():
        assert analyses.get_row(row.analysis_key, "virustotal").result == stored.result
    # A waiting call is told the stored answer, not the redelivery's own.
    assert barrier.wait(row.analysis_key, {"virustotal"}, 1)["virustotal"]["result"] == stored.result


def test_reconciler_resends_overdue_polls_once_across_racing_reconcilers(service: Service, fake) -> None:
    fake.joe_polls_before_finish = 0
    past = utcnow() - dt.timedelta(minutes=10)
    row = _seed(service, "joe_sandbox", job_id="140", next_check_at=past, mode="slow")
    sent = []
    service.workers.runtime.broker.add_middleware(_Recorder(sent))
    counts = [reconcile_once(service.workers.runtime, service.workers.actors) for _ in range(2)]
    assert counts[0].polls_resent == 1 and counts[1].polls_resent == 0
    assert [m for m in sent if m == "poll_sandbox"] == ["poll_sandbox"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with service.workers.runtime.db.connection_context():
            stored = analyses.get_row(row.analysis_key, "joe_sandbox")
        if stored.status != "pending":
            break
        time.sleep(0.05)
    assert stored.status == "ok" and stored.result["verdict"] == "malicious"


def test_reconciler_redispatches_stalled_runs_then_gives_up(service: Service) -> None:
    old = utcnow() - dt.timedelta(hours=1)
    stalled = _seed(service, started_at=old)
    hopeless = _seed(service, started_at=old, attempts=MAX_REDISPATCH)
    counts = reconcile_once(service.workers.runtime, service.workers.actors)
    assert counts.runs_resent == 1 and counts.given_up == 1
    with service.workers.runtime.db.connection_context():
        gave_up = analyses.get_row(hopeless.analysis_key, "virustotal")
        moved = analyses.get_row(stalled.analysis_key, "virustotal")
    assert gave_up.status == "error" and gave_up.result["error"]["code"] == "unavailable"
    assert moved.chain != stalled.chain


def _held_by_broker(monkeypatch, rows: list[PluginResult]) -> list[tuple]:
    """Make the broker report the current messages of ``rows`` as held; return what gets re-sent."""
    held = {actors_module.message_id(r.analysis_key, r.plugin, r.chain) for r in rows}
    monkeypatch.setattr(brokermod, "held", lambda broker, queue, ids: held & set(ids))
    sent: list[tuple] = []
    monkeypatch.setattr(reconciler_module, "send", lambda actor, *args: sent.append(args))
    return sent


def test_a_pass_goes_on_after_the_held_rows_the_previous_pass_looked_at(
    service: Service, monkeypatch
) -> None:
    monkeypatch.setattr(reconciler_module, "PAGE", 2)
    old = utcnow() - dt.timedelta(minutes=5)
    rows = [_seed(service, started_at=old) for _ in range(3)]
    sent = _held_by_broker(monkeypatch, rows[:2])  # a backlog fills the first page
    window = reconciler_module.Window()
    first = reconcile_once(service.workers.runtime, service.workers.actors, window=window)
    assert (first.still_held, first.runs_resent) == (2, 0)
    second = reconcile_once(service.workers.runtime, service.workers.actors, window=window)
    assert (second.still_held, second.runs_resent) == (0, 1)
    assert [args[:2] for args in sent] == [(rows[2].analysis_key, "virustotal")]
    third = reconcile_once(service.workers.runtime, service.workers.actors, window=window)
    assert (third.still_held, third.runs_resent) == (2, 0)  # back to the start


def test_a_message_held_long_past_its_due_time_is_presumed_lost(service: Service, monkeypatch) -> None:
    run = _seed(service, started_at=utcnow())
    poll = _seed(service, "joe_sandbox", job_id="7", next_check_at=utcnow(), mode="slow")
    sent = _held_by_broker(monkeypatch, [run, poll])
    soon = utcnow() + dt.timedelta(minutes=5)
    counts = reconcile_once(service.workers.runtime, service.workers.actors, now=soon)
    assert (counts.still_held, counts.runs_resent, counts.polls_resent) == (2, 0, 0)
    budget_s = service.settings.plugin_timeout_for("virustotal") + 30
    long_after = utcnow() + dt.timedelta(seconds=budget_s + reconciler_module.HELD_CEILING_S + 60)
    counts = reconcile_once(service.workers.runtime, service.workers.actors, now=long_after)
    assert (counts.still_held, counts.runs_resent, counts.polls_resent) == (0, 1, 1)
    assert sorted(args[1] for args in sent) == ["joe_sandbox", "virustotal"]


def _seed_submission(service: Service) -> PluginResult:
    """A pending joe_sandbox row for a URL, as the API leaves it before the submission runs."""
    analysis_id = uuid.uuid4()
    planned = [analyses.PlannedPlugin("joe_sandbox", "slow", "m1", analyses.new_chain())]
    with service.workers.runtime.db.connection_context():
        analyses.create(analysis_id, "http://evil.example.com/x", "url", planned, "t")
        return analyses.get_row(str(analysis_id), "joe_sandbox")


def _fail_once(monkeypatch, name: str) -> list[int]:
    """Make ``analyses.<name>`` raise a database error on its first call; return the calls made."""
    real, calls = getattr(analyses, name), []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise peewee.OperationalError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(analyses, name, flaky)
    return calls


def test_a_submission_message_handled_twice_submits_once_and_starts_one_poll_chain(
    service: Service, fake, monkeypatch
) -> None:
    row = _seed_submission(service)
    actors = service.workers.actors
    polls: list[tuple] = []
    monkeypatch.setattr(actors_module, "send", lambda actor, *args: polls.append(args))
    actors.run_plugin.fn(row.analysis_key, "joe_sandbox", row.chain, ["url", "http://evil.example.com/x"])
    actors.run_plugin.fn(row.analysis_key, "joe_sandbox", row.chain, ["url", "http://evil.example.com/x"])
    assert fake.count("joe", "submission/new") == 1
    assert len(polls) == 1
    with service.workers.runtime.db.connection_context():
        stored = analyses.get_row(row.analysis_key, "joe_sandbox")
    assert stored.job_id and stored.chain == polls[0][2] != row.chain


def test_a_submission_whose_record_fails_once_keeps_its_job_and_starts_polling(
    service: Service, fake, monkeypatch
) -> None:
    calls = _fail_once(monkeypatch, "record_submission")
    polls: list[tuple] = []
    monkeypatch.setattr(actors_module, "send", lambda actor, *args: polls.append(args))
    body = service.post(
        "/api/v1/analysis",
        {"ioc": "http://evil.example.com/x", "type": "url", "plugins": ["joe_sandbox"]},
    ).json
    deadline = time.monotonic() + 3  # retried in place after 0.5 s
    while time.monotonic() < deadline and not polls:
        time.sleep(0.05)
    assert len(calls) == 2 and fake.count("joe", "submission/new") == 1
    with service.workers.runtime.db.connection_context():
        row = analyses.get_row(body["id"], "joe_sandbox")
    # The job is recorded on the claimed chain and its first poll is on its way: nothing for the
    # reconciler to submit again.
    assert row.status == "pending" and row.job_id and row.next_check_at is not None
    assert [p[:3] for p in polls] == [(body["id"], "joe_sandbox", row.chain)]


def test_a_submission_whose_record_keeps_failing_is_left_for_the_reconciler(
    service: Service, fake, monkeypatch
) -> None:
    monkeypatch.setattr(actors_module, "_DB_BACKOFF_S", (0.01, 0.01))
    real, calls = analyses.record_submission, []

    def down(*args, **kwargs):
        calls.append(1)
        raise peewee.OperationalError("database is down")

    monkeypatch.setattr(analyses, "record_submission", down)
    row = _seed_submission(service)
    with pytest.raises(peewee.OperationalError):
        service.workers.actors.run_plugin.fn(
            row.analysis_key, "joe_sandbox", row.chain, ["url", "http://evil.example.com/x"]
        )
    assert len(calls) == 3 and fake.count("joe", "submission/new") == 1
    monkeypatch.setattr(analyses, "record_submission", real)
    # The row stays pending with no poll due: the reconciler re-sends it as a stalled run.
    with service.workers.runtime.db.connection_context():
        stuck = analyses.get_row(row.analysis_key, "joe_sandbox")
        assert stuck.status == "pending" and stuck.next_check_at is None and stuck.chain != row.chain
        later = utcnow() + dt.timedelta(seconds=service.settings.fast_redispatch_after_s + 1)
        stalled = analyses.stalled_runs(later, service.settings.fast_redispatch_after_s)
    assert [r.id for r in stalled] == [row.id]


def test_a_poll_message_handled_twice_leaves_one_live_chain(service: Service, fake, monkeypatch) -> None:
    fake.joe_polls_before_finish = 1000
    row = _seed(service, "joe_sandbox", job_id="140", next_check_at=utcnow(), mode="slow")
    actors = service.workers.actors
    queued: list[tuple] = []
    monkeypatch.setattr(actors_module, "send", lambda actor, *args: queued.append(args[:3]))
    actors.poll_sandbox.fn(row.analysis_key, "joe_sandbox", row.chain)
    actors.poll_sandbox.fn(row.analysis_key, "joe_sandbox", row.chain)  # the same message again
    assert len(queued) == 1
    for _ in range(3):
        due, queued[:] = list(queued), []
        for args in due:
            actors.poll_sandbox.fn(*args)
            actors.poll_sandbox.fn(*args)  # every poll delivered twice
        assert len(queued) == 1
    with service.workers.runtime.db.connection_context():
        stored = analyses.get_row(row.analysis_key, "joe_sandbox")
    assert stored.attempts == 4 and stored.chain == queued[0][2]


def _settled(service: Service, analysis_id: str, plugin: str, within_s: float) -> PluginResult:
    """Return a plugin's row once it is no longer pending (or as it is after ``within_s``)."""
    deadline = time.monotonic() + within_s
    while True:
        with service.workers.runtime.db.connection_context():
            row = analyses.get_row(analysis_id, plugin)
        if row.status != "pending" or time.monotonic() > deadline:
            return row
        time.sleep(0.05)


def test_a_lookup_slower_than_the_redispatch_time_but_inside_its_budget_keeps_its_answer(
    make_service, fake
) -> None:
    service = make_service(
        SOCBUDDY_FAST_REDISPATCH_AFTER="1",
        VIRUSTOTAL_TIMEOUT="10",
        SOCBUDDY_RECONCILE_INTERVAL="0.3",
        SOCBUDDY_FAST_TIMEOUT="0.5",
    )
    fake.delay_s["vt"] = 2.5
    body = service.post("/api/v1/analysis", {"ioc": "8.8.8.8", "type": "ip", "plugins": ["virustotal"]}).json
    assert "virustotal" in body["pending"]
    row = _settled(service, body["id"], "virustotal", within_s=10)
    assert row.status == "ok" and row.result["verdict"] == "malicious"
    assert fake.count("vt") == 1  # never re-sent while it ran


def test_a_message_queued_behind_a_backlog_is_not_resent_and_its_answer_is_kept(
    service: Service, fake
) -> None:
    service.workers.worker.pause()  # a backlog: the message waits in the queue
    try:
        body = service.post(
            "/api/v1/analysis", {"ioc": "8.8.8.8", "type": "ip", "plugins": ["virustotal"]}
        ).json
        later = utcnow() + dt.timedelta(minutes=10)
        for _ in range(MAX_REDISPATCH + 1):
            counts = reconcile_once(service.workers.runtime, service.workers.actors, now=later)
            assert counts.runs_resent == 0 and counts.given_up == 0 and counts.still_held == 1
    finally:
        service.workers.worker.resume()
    row = _settled(service, body["id"], "virustotal", within_s=5)
    assert row.status == "ok" and fake.count("vt") == 1
    later = utcnow() + dt.timedelta(minutes=10)
    assert reconcile_once(service.workers.runtime, service.workers.actors, now=later).still_held == 0


def test_the_local_broker_holds_a_message_through_its_retries_until_its_last_run(
    service: Service, fake, monkeypatch
) -> None:
    calls = _fail_once(monkeypatch, "finish")
    row = _seed(service)
    broker = service.workers.runtime.broker
    mid = actors_module.message_id(row.analysis_key, "virustotal", row.chain)
    actors_module.send(service.workers.actors.run_plugin, row.analysis_key, "virustotal", row.chain)
    assert broker.held("fast", [mid]) == {mid}
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and len(calls) < 1:
        time.sleep(0.02)
    time.sleep(0.1)
    assert broker.held("fast", [mid]) == {mid}  # failed once, waiting for its retry
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and broker.held("fast", [mid]):
        time.sleep(0.05)
    assert len(calls) == 2 and broker.held("fast", [mid]) == set()
    with service.workers.runtime.db.connection_context():
        assert analyses.get_row(row.analysis_key, "virustotal").status == "ok"


class _Recorder(dramatiq.Middleware):
    def __init__(self, sent: list) -> None:
        self.sent = sent

    def before_enqueue(self, broker, message, delay) -> None:
        self.sent.append(message.actor_name)


def test_configured_broker_is_the_one_in_use() -> None:
    stub = brokermod.build(Settings.from_env({}))
    assert isinstance(stub, StubBroker) and dramatiq.get_broker() is stub
    redis_broker = brokermod.build(Settings.from_env({"REDIS_URL": "redis://127.0.0.1:1/3"}))
    assert isinstance(redis_broker, RedisBroker) and dramatiq.get_broker() is redis_broker
    assert redis_broker.heartbeat_timeout == 20_000
    assert brokermod.ping(redis_broker) is False


def test_actors_are_declared_on_the_configured_broker(service: Service) -> None:
    actors = service.workers.actors
    assert actors.run_plugin.broker is service.workers.runtime.broker
    assert actors.run_plugin.queue_name == "fast" and actors.poll_sandbox.queue_name == "sandbox"
    assert dramatiq.get_broker() is service.workers.runtime.broker


def test_plugin_error_rejects_unknown_codes() -> None:
    with pytest.raises(ValueError):
        PluginError("nope", "x")


def test_runner_applies_header_prefix_and_query_auth(monkeypatch) -> None:
    import dataclasses

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"id": "x", "attributes": {}}})

    vt = registry.spec("virustotal")
    bearer = dataclasses.replace(vt, auth_name="Authorization", auth_prefix="Bearer ")
    runner = _runner(handler)
    runner.client(bearer).get("/x")
    assert seen[-1].headers["authorization"] == "Bearer k-secret"
    query = dataclasses.replace(vt, auth="query", auth_name="key")
    runner.client(query).get("/y", params={"a": "1"})
    assert dict(seen[-1].url.params) == {"key": "k-secret", "a": "1"}
    unverified = dataclasses.replace(vt, tls_verify_var="MISP_VERIFY_TLS")
    assert runner._verify_tls(unverified) is True
    assert _runner(handler, MISP_VERIFY_TLS="false")._verify_tls(unverified) is False


def test_reconciler_gives_a_row_back_when_the_broker_is_down(service: Service, monkeypatch) -> None:
    import redis

    old = utcnow() - dt.timedelta(hours=1)
    stalled = _seed(service, started_at=old)

    def refuse(*args, **kwargs):
        raise redis.ConnectionError("refused")

    monkeypatch.setattr(service.workers.runtime.broker, "enqueue", refuse)
    for _ in range(MAX_REDISPATCH + 2):
        counts = reconcile_once(service.workers.runtime, service.workers.actors)
        assert counts.runs_resent == 0 and counts.given_up == 0
    with service.workers.runtime.db.connection_context():
        row = analyses.get_row(stalled.analysis_key, "virustotal")
    assert row.status == "pending" and row.chain == stalled.chain and row.attempts == 0
