"""Open the database named by DATABASE_URL and bind the models to it."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

import peewee
from playhouse.db_url import connect
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


def database_obj() -> peewee.Database:
    """Return the database the models are bound to."""
    bound = database.obj
    if bound is None:
        raise ConfigError("no database is configured")
    return bound


def migrate(db: peewee.Database) -> None:
    """Create every table and index that does not exist yet; safe to run again."""
    with db.connection_context():
        db.create_tables(MODELS, safe=True)


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


def _open_postgres(url: str, pool_size: int) -> peewee.Database:
    # Procfile platforms export postgres://; map it to the pooled driver with a bounded size.
    parts = urlsplit(url)
    pooled = parts._replace(scheme="postgresql+pool").geturl()
    db = connect(pooled, max_connections=pool_size, stale_timeout=300, timeout=10, connect_timeout=5)
    assert isinstance(db, PooledPostgresqlDatabase)
    return db


def _open_sqlite(url: str) -> peewee.Database:
    # Pooled too: opening a SQLite connection and setting its pragmas cost more than the queries.
    name = urlsplit(url).path[1:] or ":memory:"
    return PooledSqliteDatabase(
        name,
        pragmas=_SQLITE_PRAGMAS,
        check_same_thread=False,
        timeout=10,
        max_connections=128,
        stale_timeout=600,
    )
