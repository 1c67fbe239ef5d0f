"""Open the database named by DATABASE_URL and bind the models to it."""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import peewee
from playhouse.db_url import parseresult_to_dict
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as migrate_schema
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

from shared.errors import ConfigError
from shared.models import MODELS, database

logger = logging.getLogger(__name__)

_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgres+pool", "postgresql+pool"}
_SQLITE_PRAGMAS = {"journal_mode": "wal", "busy_timeout": 10_000, "foreign_keys": 1, "synchronous": "normal"}


def open_database(url: str, *, pool_size: int = 20) -> peewee.Database:
    """Return a database for ``url``: pooled for PostgreSQL, WAL-mode for SQLite."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in _POSTGRES_SCHEMES:
        return _open_postgres(url, pool_size)
    if scheme == "sqlite":
        return _open_sqlite(url)
    raise ConfigError(f"DATABASE_URL scheme {scheme!r} is not supported (use postgres:// or sqlite:///)")


def bind(db: peewee.Database) -> peewee.Database:
    """Bind the models to ``db`` (through the proxy) and return it."""
    database.initialize(db)
    return db


@functools.lru_cache(maxsize=256)
def _in_style(statement: str, param: str) -> str:
    json_param = "json(?)" if param == "?" else f"{param}::jsonb"
    return statement.replace("?j", json_param).replace("?", param)


def sql(statement: str) -> str:
    """Return a hand-written statement (``?`` placeholders) in the bound database's parameter style.

    ``?j`` is a JSON parameter (pass ``json.dumps(value)``): ``json(?)`` on SQLite, as Peewee's
    JSONField stores it, and a ``jsonb`` cast on PostgreSQL.

    The statements of the hot paths (each plugin run, each analysis POST) are written out once
    instead of built by Peewee's query builder per call: building cost 0.6-1.3 ms of CPU per query
    on the 2-core benchmark machine, several times what SQLite or PostgreSQL took to answer it.
    Parameters go through the model fields' ``db_value``, so rows are stored exactly as Peewee would.
    """
    return _in_style(statement, database.param)


def is_postgres() -> bool:
    """Return True when the models are bound to PostgreSQL (which, unlike SQLite, writes inside WITH)."""
    return database.param == "%s"


M = TypeVar("M", bound=peewee.Model)


def first(model: type[M], statement: str, *params: Any) -> M | None:
    """Return the first row of a hand-written SELECT (see ``sql``) as a ``model``, or None.

    Columns that are not the model's own (a join's) are set as plain attributes of the row.
    """
    return next(iter(model.raw(sql(statement), *params)), None)


def database_obj() -> peewee.Database:
    """Return the database the models are bound to."""
    bound = database.obj
    if bound is None:
        raise ConfigError("no database is configured")
    return bound


def migrate(db: peewee.Database) -> list[str]:
    """Create or upgrade the schema: missing tables, indexes and columns, and the audit guard; idempotent.

    Returns what it created ("table x", "column x.y"); nothing when the schema was up to date.
    """
    with db.connection_context(), db.atomic():
        created = [f"table {m._meta.table_name}" for m in MODELS if not db.table_exists(m._meta.table_name)]
        db.create_tables(MODELS, safe=True)
        created += _add_missing_columns(db)
        _guard_audit_log(db)
    return created


def _add_missing_columns(db: peewee.Database) -> list[str]:
    # Columns added by later versions; every one is nullable or has a default, so ADD COLUMN is enough.
    migrator = SchemaMigrator.from_database(db)
    added = []
    for model in MODELS:
        table = model._meta.table_name
        present = {column.name for column in db.get_columns(table)}
        missing = [f for f in model._meta.sorted_fields if f.column_name not in present]
        for field in missing:
            logger.info("migrate: adding %s.%s", table, field.column_name)
            migrate_schema(migrator.add_column(table, field.column_name, field))
            added.append(f"column {table}.{field.column_name}")
    return added


_PG_AUDIT_GUARD = """
CREATE OR REPLACE FUNCTION socbuddy_audit_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
FOR EACH ROW EXECUTE FUNCTION socbuddy_audit_append_only();
"""
_SQLITE_AUDIT_GUARD = (
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
)


def _guard_audit_log(db: peewee.Database) -> None:
    """Make the audit log append-only in the database itself: UPDATE and DELETE are refused."""
    if isinstance(db, peewee.PostgresqlDatabase):
        db.execute_sql(_PG_AUDIT_GUARD)
    elif isinstance(db, peewee.SqliteDatabase):
        for statement in _SQLITE_AUDIT_GUARD:
            db.execute_sql(statement)


def ping(db: peewee.Database) -> bool:
    """Return True when the database answers a trivial query."""
    try:
        with db.connection_context():
            db.execute_sql("SELECT 1")
        return True
    except peewee.PeeweeException as ex:
        logger.warning("database ping failed: %s", type(ex).__name__)
        return False


def sqlite_url_for(directory: str | os.PathLike[str]) -> str:
    """Return the embedded SQLite URL for a data directory (created if missing)."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(path / 'socbuddy.sqlite3').resolve()}"


# A pooled PostgreSQL connection idle longer than this is checked with a round trip on checkout.
PING_IDLE_S = 1.0


class PostgresPool(PooledPostgresqlDatabase):
    """Peewee's PostgreSQL pool, checking a connection with a round trip only when it idled.

    Peewee's pool sends ``SELECT 1`` on every checkout, while it holds the pool's lock: every
    query paid a round trip, and the threads of a process queued behind each other's (a fan-out's
    final writes spent more time there than in their own statements). A connection checked in
    less than ``PING_IDLE_S`` ago is handed out as it is: the pool checked it on check-in (libpq's
    transaction status: a connection the server cut reads as unknown once a query has failed on
    it), and only a query changes that status. One idle longer, which is the case for every
    connection after a database restart, still gets the round trip, so a restart costs no request
    beyond the ones the outage itself fails.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._checked_in: dict[int, float] = {}

    def _close(self, conn: Any, close_conn: bool = False) -> None:
        self._checked_in[self.conn_key(conn)] = time.monotonic()
        super()._close(conn, close_conn)

    def _close_raw(self, conn: Any) -> None:
        self._checked_in.pop(self.conn_key(conn), None)
        super()._close_raw(conn)

    def _is_closed(self, conn: Any) -> bool:
        checked_in = self._checked_in.get(self.conn_key(conn))
        if checked_in is None or time.monotonic() - checked_in >= PING_IDLE_S:
            return bool(super()._is_closed(conn))
        return False  # checked on check-in, moments ago, and unused since


def _open_postgres(url: str, pool_size: int) -> peewee.Database:
    # Procfile platforms export postgres://; the pool has a bounded size.
    params = parseresult_to_dict(urlsplit(url))
    if not params.get("database"):
        raise ConfigError("DATABASE_URL names no database (expected postgres://user@host:5432/name)")
    return PostgresPool(**params, max_connections=pool_size, stale_timeout=300, timeout=10, connect_timeout=5)


class SerializedSqliteDatabase(PooledSqliteDatabase):
    """SQLite whose writers queue on a process lock instead of SQLite's busy handler.

    SQLite allows one writer at a time; a writer that finds the database locked sleeps in steps of
    up to 100 ms, however soon the lock is free. ``socbuddy dev`` runs the API and the workers in
    one process, so a Python lock hands the write lock over at once: reads (WAL) never wait,
    writes queue fairly, and a transaction takes its write lock up front (BEGIN IMMEDIATE).
    """

    _READS = ("SELECT", "PRAGMA", "EXPLAIN")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer = threading.Lock()
        self._holder = threading.local()

    def _holding(self) -> bool:
        return bool(getattr(self._holder, "held", False))

    def begin(self, lock_type: str | None = None) -> None:
        self._writer.acquire()
        self._holder.held = True
        try:
            super().begin("IMMEDIATE")
        except BaseException:
            self._release()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def _release(self) -> None:
        if self._holding():
            self._holder.held = False
            self._writer.release()

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        if self._holding() or sql.lstrip()[:7].upper().startswith(self._READS):
            return super().execute_sql(sql, params)
        with self._writer:
            return super().execute_sql(sql, params)


def _open_sqlite(url: str) -> peewee.Database:
    # Pooled too: opening a SQLite connection and setting its pragmas cost more than the queries.
    name = urlsplit(url).path[1:] or ":memory:"
    return SerializedSqliteDatabase(
        name,
        pragmas=_SQLITE_PRAGMAS,
        check_same_thread=False,
        timeout=10,
        max_connections=128,
        stale_timeout=600,
    )
