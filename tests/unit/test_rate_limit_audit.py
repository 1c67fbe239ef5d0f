"""Per-key request budgets, the append-only audit log, and keys that never leak."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import peewee
import pytest

from shared import accounts, cli
from shared import db as dbmod
from shared.models import AuditEvent
from tests.conftest import Service


def _plugins(service: Service, key: str | None = None):
    headers = {"Authorization": f"Bearer {key}"} if key else service.auth
    return service.client.simulate_get("/api/v1/plugins", headers=headers)


def test_service_wide_budget_answers_429_with_retry_after(make_service) -> None:
    service = make_service(SOCBUDDY_RATE_LIMIT="3/minute")
    assert [_plugins(service).status_code for _ in range(3)] == [200, 200, 200]
    refused = _plugins(service)
    assert refused.status_code == 429
    assert refused.json["error"] == "rate_limited" and set(refused.json) == {"error", "detail"}
    assert "'tester' is over its request budget (3/minute)" in refused.json["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 64
    with service.workers.runtime.db.connection_context():
        statuses = [e.status for e in AuditEvent.select().order_by(AuditEvent.id)]
    assert statuses == [200, 200, 200, 429]


def test_account_budget_overrides_the_service_wide_one(make_service) -> None:
    service = make_service()
    with service.workers.runtime.db.connection_context():
        slow = accounts.create_key("slow-soar", rate_limit="1/minute")
    assert _plugins(service, slow).status_code == 200
    assert _plugins(service, slow).status_code == 429
    assert [_plugins(service).status_code for _ in range(5)] == [200] * 5  # other accounts unaffected


def test_account_budget_none_lifts_the_service_wide_one(make_service) -> None:
    service = make_service(SOCBUDDY_RATE_LIMIT="1/minute")
    with service.workers.runtime.db.connection_context():
        bulk = accounts.create_key("bulk", rate_limit="none")
    assert [_plugins(service, bulk).status_code for _ in range(4)] == [200] * 4


def test_keys_create_rejects_an_invalid_rate(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'k.sqlite3'}")
    cli.main(["migrate"])
    assert cli.main(["keys", "create", "x", "--rate", "lots"]) == 2
    assert "invalid rate 'lots'" in capsys.readouterr().err
    assert cli.main(["keys", "create", "x", "--rate", "60/minute"]) == 0


def test_audit_rows_cannot_be_altered(service: Service) -> None:
    _plugins(service)
    with service.workers.runtime.db.connection_context():
        with pytest.raises(peewee.IntegrityError, match="append-only"):
            AuditEvent.update(status=200, account="someone-else").execute()
        with pytest.raises(peewee.IntegrityError, match="append-only"):
            AuditEvent.delete().execute()
        assert AuditEvent.select().count() == 1
    for method in ("PUT", "PATCH", "DELETE", "GET"):
        answer = service.client.simulate_request(method, "/api/v1/audit", headers=service.auth)
        assert answer.status_code == 404 and answer.json["error"] == "not_found"


def test_plain_keys_appear_in_no_log_detail_or_audit_row(service: Service, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    unknown = "sb_" + "Q" * 32
    with service.workers.runtime.db.connection_context():
        revoked = accounts.create_key("leaver")
        accounts.revoke("leaver")
    answers = [
        _plugins(service),
        _plugins(service, unknown),
        _plugins(service, revoked),
        service.post("/api/v1/analysis", {"ioc": "1.0.0.1", "type": "ip"}),
    ]
    assert [a.status_code for a in answers] == [200, 401, 401, 200]
    with service.workers.runtime.db.connection_context():
        rows = [str(r) for r in AuditEvent.select().dicts()]
        dump = "\n".join(service.workers.runtime.db.connection().iterdump())
    for secret in (service.key, unknown, revoked):
        body = secret[3:]
        assert body not in caplog.text
        assert all(body not in a.text for a in answers)
        assert all(body not in row for row in rows)
        assert body not in dump


def test_migrate_upgrades_an_older_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute(
            'CREATE TABLE "service_account" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(64) NOT NULL,'
            ' "created_at" DATETIME NOT NULL)'
        )
        old.execute(
            "INSERT INTO service_account (name, created_at) VALUES ('veteran', '2026-01-01 00:00:00')"
        )
    database = dbmod.bind(dbmod.open_database(f"sqlite:///{path}"))
    dbmod.migrate(database)
    dbmod.migrate(database)
    with database.connection_context():
        columns = {c.name for c in database.get_columns("service_account")}
        assert "rate_limit" in columns
        assert accounts.create_key("veteran", rate_limit="5/minute").startswith("sb_")
    database.close_all()
