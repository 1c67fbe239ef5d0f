"""The PostgreSQL pool checks a connection with a round trip only when it has idled.

Peewee's pool sent ``SELECT 1`` on every checkout, under its lock: a round trip per query, and a
process's threads queued behind each other's. A connection checked in moments ago is now checked
locally; one idle longer than ``PING_IDLE_S`` (as every connection is after a database restart)
still gets the round trip, and a dead one is replaced before anyone uses it.
"""

from __future__ import annotations

import time

import peewee
import psycopg2
import pytest

from shared import db as dbmod

pytestmark = pytest.mark.integration


@pytest.fixture
def pool(pg_url):
    database = dbmod.open_database(pg_url, pool_size=2)
    assert isinstance(database, dbmod.PostgresPool)
    pings: list[int] = []
    adapter = database._adapter
    real_check = adapter.is_connection_closed

    def counting_check(conn):
        pings.append(conn.get_backend_pid())
        return real_check(conn)

    adapter.is_connection_closed = counting_check
    yield database, pings
    adapter.is_connection_closed = real_check
    database.close_all()


def _terminate(pg_url: str, pid: int) -> None:
    """Have the server cut session ``pid`` and wait until it is gone."""
    admin = psycopg2.connect(pg_url)
    admin.autocommit = True
    cursor = admin.cursor()
    cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
        if cursor.fetchone()[0] == 0:
            break
        time.sleep(0.01)
    admin.close()


def _backend_pid(database) -> int:
    with database.connection_context():
        return database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def test_a_connection_checked_in_moments_ago_is_reused_without_a_round_trip(pool) -> None:
    database, pings = pool
    first = _backend_pid(database)
    for _ in range(20):
        assert _backend_pid(database) == first
    assert pings == []


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(pool, pg_url, monkeypatch) -> None:
    database, pings = pool
    first = _backend_pid(database)
    monkeypatch.setattr(dbmod, "PING_IDLE_S", 0.0)  # as if it had idled past the limit
    assert _backend_pid(database) == first and pings == [first]
    # The server cuts the session (a restart does so to every one): the idle connection's
    # round trip fails, so the pool discards it and the query runs on a new session.
    _terminate(pg_url, first)
    second = _backend_pid(database)
    assert second != first and pings[-1] == first


def test_a_fresh_connection_cut_by_the_server_fails_once_then_is_replaced(pool, pg_url) -> None:
    database, _ = pool
    first = _backend_pid(database)
    _terminate(pg_url, first)
    # Within PING_IDLE_S the checkout trusts the connection's local state: the one query on it
    # fails (the price of skipping the round trip), and the pool never hands it out again.
    with pytest.raises((peewee.OperationalError, peewee.InterfaceError)):
        _backend_pid(database)
    assert _backend_pid(database) != first
