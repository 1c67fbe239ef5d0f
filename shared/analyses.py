"""The analysis store: the database row is the truth about every plugin of every analysis.

Every write to a plugin_result is a compare-and-set on (status = pending, chain token), so actors
may run twice, late or concurrently without losing or overwriting a final answer.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from shared import cache, verdict
from shared.db import first, is_postgres, sql
from shared.iocs.normalize import Ioc
from shared.models import Analysis, PluginResult, database, utcnow
from shared.results import iso_s

FINAL = ("ok", "error")


@dataclass(frozen=True)
class PlannedPlugin:
    """One plugin of a new analysis: its name, fast or slow path, and the message id sent for it."""

    name: str
    mode: str
    message_id: str
    chain: str
    result: dict[str, Any] | None = None  # a reused (cached) answer: the row starts final


def new_chain() -> str:
    """Return a fresh chain token: the id of the one live message chain of a row."""
    return secrets.token_hex(8)


def create(
    analysis_id: uuid.UUID, ioc: str, ioc_type: str, planned: list[PlannedPlugin], account: str | None
) -> Analysis:
    """Insert an analysis and one pending row per plugin in one transaction (before any send)."""
    now = utcnow()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    analysis = Analysis(
        id=analysis_id,
        ioc=ioc,
        ioc_type=ioc_type,
        plugins=[p.name for p in planned],
        account=account,
        queried_at=now,
    )
    stamp = PluginResult.created_at.db_value(now)
    key = analysis_key(analysis_id)
    rows = [
        (
            key,
            p.name,
            p.mode,
            p.result["status"] if p.result else "pending",
            json.dumps(p.result) if p.result else None,
            None if p.result else p.message_id,
            p.chain,
            stamp,
            stamp,
            stamp,
            PluginResult.reported_pending.db_value(False),
            0,
        )
        for p in planned
    ]
    head = [key, ioc, ioc_type, Analysis.queried_at.db_value(now), json.dumps(analysis.plugins), account]
    values = [value for row in rows for value in row]
    insert_rows = _INSERT_ROWS + ", ".join([_PLUGIN_ROW] * len(rows))
    if is_postgres():
        # One statement is one round trip and its own transaction (on the POST's critical path).
        database.execute_sql(sql(f"WITH a AS ({_INSERT_ANALYSIS}) {insert_rows}"), head + values)
        return analysis
    with database.atomic():
        database.execute_sql(sql(_INSERT_ANALYSIS), head)
        database.execute_sql(sql(insert_rows), values)
    return analysis


def delete(analysis_id: uuid.UUID) -> None:
    """Remove an analysis that could not be dispatched, so none is left behind."""
    with database.atomic():
        PluginResult.delete().where(PluginResult.analysis == analysis_id).execute()
        Analysis.delete().where(Analysis.id == analysis_id).execute()


# The statements every analysis runs, written out once (see shared.db.sql).
_INSERT_ANALYSIS = (
    "INSERT INTO analysis (id, ioc, ioc_type, queried_at, plugins, account) VALUES (?, ?, ?, ?, ?j, ?)"
)
_INSERT_ROWS = (
    "INSERT INTO plugin_result (analysis_id, plugin, mode, status, result, job_id, chain, started_at,"
    " created_at, updated_at, reported_pending, attempts) VALUES "
)
_PLUGIN_ROW = "(?, ?, ?, ?, ?j, ?, ?, ?, ?, ?, ?, ?)"
_GET_ROW = (
    "SELECT r.*, a.ioc AS ioc, a.ioc_type AS ioc_type FROM plugin_result r"
    " JOIN analysis a ON a.id = r.analysis_id WHERE r.analysis_id = ? AND r.plugin = ?"
)
_FINISH = (
    "UPDATE plugin_result SET status = ?, result = ?j, next_check_at = NULL, updated_at = ?"
    " WHERE analysis_id = ? AND plugin = ? AND status = 'pending'"
)


def analysis_key(analysis_id: str | uuid.UUID) -> Any:
    """Return an analysis id as the database stores it (a statement parameter)."""
    key = analysis_id if isinstance(analysis_id, uuid.UUID) else uuid.UUID(analysis_id)
    return Analysis.id.db_value(key)


def get_row(analysis_id: str, plugin: str) -> PluginResult | None:
    """Return one plugin's row, or None."""
    found = load_run(analysis_id, plugin)
    return found[0] if found is not None else None


def load_run(analysis_id: str, plugin: str) -> tuple[PluginResult, Ioc] | None:
    """Return one plugin's row and its analysis's IOC (one query), or None."""
    row = first(PluginResult, _GET_ROW, analysis_key(analysis_id), plugin)
    if row is None:
        return None
    extra = row.__dict__  # the joined columns land beside the model's own fields
    return row, Ioc(type=extra["ioc_type"], value=extra["ioc"])


def rows_for(analysis_id: uuid.UUID, plugins: Iterable[str]) -> dict[str, PluginResult]:
    """Return some plugins' rows of one analysis by plugin name."""
    names = list(plugins)
    if not names:
        return {}
    query = PluginResult.select().where(
        (PluginResult.analysis == analysis_id) & PluginResult.plugin.in_(names)
    )
    return {row.plugin: row for row in query}


def finish(
    analysis_id: str,
    plugin: str,
    result: dict[str, Any],
    chain: str | None = None,
    remember: Sequence[Any] | None = None,
) -> bool:
    """Store a final result if the row is still pending (and still on ``chain``); return whether it was.

    ``remember`` (``cache.entry``'s parameters) also puts the answer in the result cache, only if it
    was stored: on PostgreSQL in the same statement (one round trip and one commit per plugin run,
    where a separate upsert cost a second of each), on SQLite in the same transaction.
    """
    params = [
        result["status"],
        json.dumps(result),
        PluginResult.updated_at.db_value(utcnow()),
        analysis_key(analysis_id),
        plugin,
    ]
    statement = _FINISH
    if chain is not None:
        statement += " AND chain = ?"
        params.append(chain)
    if remember is None:
        return bool(database.execute_sql(sql(statement), params).rowcount)
    if is_postgres():
        # The upsert reads the UPDATE's row, so it runs (and counts one row) only when that matched.
        both = f"WITH done AS ({statement} RETURNING 1) {cache.STORE_IF_DONE}"
        return bool(database.execute_sql(sql(both), [*params, *remember]).rowcount)
    with database.atomic():
        if not database.execute_sql(sql(statement), params).rowcount:
            return False
        database.execute_sql(sql(cache.STORE), list(remember))
    return True


def record_submission(
    analysis_id: str, plugin: str, job_id: str, chain: str, next_check_at: dt.datetime
) -> bool:
    """Store a sandbox's job id and first poll time; return False when the chain is no longer ours."""
    return bool(
        PluginResult.update(job_id=job_id, next_check_at=next_check_at, attempts=0, updated_at=utcnow())
        .where(_pending_on(analysis_id, plugin, chain))
        .execute()
    )


def _pending_on(analysis_id: str, plugin: str, chain: str) -> Any:
    """The condition of a compare-and-set on one plugin's row: still pending, still on ``chain``."""
    return (
        (PluginResult.analysis == analysis_id)
        & (PluginResult.plugin == plugin)
        & (PluginResult.status == "pending")
        & (PluginResult.chain == chain)
    )


def reschedule(row: PluginResult, next_check_at: dt.datetime) -> str | None:
    """Record the next poll of a sandbox row and hand it a new chain token; None if the chain moved.

    The new token goes with the next poll's message. A poll message delivered twice then makes one
    live chain, not two: the second delivery's reschedule finds the token already changed.
    """
    token = new_chain()
    updated = (
        PluginResult.update(
            next_check_at=next_check_at, attempts=PluginResult.attempts + 1, updated_at=utcnow(), chain=token
        )
        .where(
            (PluginResult.id == row.id)
            & (PluginResult.status == "pending")
            & (PluginResult.chain == row.chain)
        )
        .execute()
    )
    return token if updated else None


def claim(analysis_id: str, plugin: str, chain: str) -> str | None:
    """Move a pending row from ``chain`` to a new token before a step that must not run twice.

    Returns the new token, or None when the row is final or another run already moved it. A
    sandbox submission claims its row first: a redelivered or retried message then finds the
    chain moved and submits nothing. The claim restarts the row's clock (``started_at``): a run
    that dies after it leaves the row pending with no poll due, which the reconciler re-sends as a
    stalled run once that clock is old.
    """
    token = new_chain()
    updated = (
        PluginResult.update(chain=token, started_at=utcnow(), updated_at=utcnow())
        .where(_pending_on(analysis_id, plugin, chain))
        .execute()
    )
    return token if updated else None


def take_over(row: PluginResult, *, restart: bool) -> str | None:
    """Move a pending row to a new chain (compare-and-set); return the new token, or None if we lost."""
    token = new_chain()
    changes: dict[Any, Any] = {PluginResult.chain: token, PluginResult.updated_at: utcnow()}
    if restart:
        changes[PluginResult.started_at] = utcnow()
        changes[PluginResult.attempts] = PluginResult.attempts + 1
    else:
        # Due now: another reconciler sees it overdue again only after the grace period.
        changes[PluginResult.next_check_at] = utcnow()
    updated = (
        PluginResult.update(changes)
        .where(
            (PluginResult.id == row.id)
            & (PluginResult.status == "pending")
            & (PluginResult.chain == row.chain)
        )
        .execute()
    )
    return token if updated else None


def give_back(row: PluginResult, token: str) -> bool:
    """Undo ``take_over`` when the new chain's message could not be sent (row as it was before)."""
    return bool(
        PluginResult.update(
            chain=row.chain, started_at=row.started_at, attempts=row.attempts, next_check_at=row.next_check_at
        )
        .where((PluginResult.id == row.id) & (PluginResult.chain == token))
        .execute()
    )


def mark_reported_pending(analysis_id: uuid.UUID, plugins: Iterable[str]) -> None:
    """Remember which plugins the POST answer listed as pending: only those can be polled."""
    names = list(plugins)
    if names:
        PluginResult.update(reported_pending=True).where(
            (PluginResult.analysis == analysis_id) & (PluginResult.plugin.in_(names))
        ).execute()


def load(analysis_id: str) -> tuple[Analysis, list[PluginResult]] | None:
    """Return an analysis and its plugin rows, or None for an unknown or malformed id."""
    try:
        key = uuid.UUID(analysis_id)
    except ValueError:
        return None
    analysis = Analysis.get_or_none(Analysis.id == key)
    if analysis is None:
        return None
    rows = list(PluginResult.select().where(PluginResult.analysis == key).order_by(PluginResult.id))
    return analysis, rows


def poll_url(analysis_id: Any, plugin: str) -> str:
    """Return the poll URL of a pending plugin."""
    return f"/api/v1/analysis/{analysis_id}/pending/{plugin}"


def view(analysis: Analysis, rows: list[PluginResult]) -> dict[str, Any]:
    """Return the stored analysis in the API's shape: final rows in results, the rest pending."""
    results: dict[str, Any] = {}
    pending: dict[str, Any] = {}
    for row in rows:
        if row.status in FINAL:
            results[row.plugin] = row.result
        else:
            pending[row.plugin] = {"job_id": row.job_id, "poll_url": poll_url(analysis.id, row.plugin)}
    return shape(analysis, results, pending)


def shape(analysis: Analysis, results: dict[str, Any], pending: dict[str, Any]) -> dict[str, Any]:
    """Return an analysis in the API's shape, with its overall verdict."""
    return {
        "id": str(analysis.id),
        "ioc": analysis.ioc,
        "type": analysis.ioc_type,
        "queried_at": iso_s(analysis.queried_at),
        "results": results,
        "pending": pending,
        "verdict": verdict.overall(results, pending),
    }


def overdue_polls(
    now: dt.datetime, grace_s: float, after_id: int = 0, limit: int = 200
) -> list[PluginResult]:
    """Return submitted sandbox rows whose next poll is overdue by more than the grace period.

    At most ``limit`` rows, in id order from ``after_id`` on, so a caller can page through them.
    """
    cutoff = now - dt.timedelta(seconds=grace_s)
    return list(
        PluginResult.select()
        .where(
            (PluginResult.status == "pending")
            & PluginResult.next_check_at.is_null(False)
            & (PluginResult.next_check_at < cutoff)
            & (PluginResult.id > after_id)
        )
        .order_by(PluginResult.id)
        .limit(limit)
    )


def stalled_runs(now: dt.datetime, after_s: float, after_id: int = 0, limit: int = 200) -> list[PluginResult]:
    """Return rows whose run (fast lookup or sandbox submission) has not answered for too long.

    At most ``limit`` rows, in id order from ``after_id`` on, so a caller can page through them.
    """
    cutoff = now - dt.timedelta(seconds=after_s)
    return list(
        PluginResult.select()
        .where(
            (PluginResult.status == "pending")
            & PluginResult.next_check_at.is_null(True)
            & (PluginResult.started_at < cutoff)
            & (PluginResult.id > after_id)
        )
        .order_by(PluginResult.id)
        .limit(limit)
    )
