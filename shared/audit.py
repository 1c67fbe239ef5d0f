"""The audit log: one append-only row per request to an authenticated endpoint."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from shared.db import sql
from shared.models import AuditEvent, database, utcnow
from shared.results import iso_ms

PARAM_MAX_CHARS = 128


@dataclass
class Entry:
    """What one request contributes to the audit log (filled in as the request goes)."""

    method: str
    route: str
    client: str | None
    params: dict[str, str] = field(default_factory=dict)
    account: str | None = None
    key_prefix: str | None = None
    ioc: str | None = None
    ioc_type: str | None = None
    analysis_id: str | None = None

    def as_row(self, status: int, duration_ms: int) -> dict[str, Any]:
        """Return the columns of the audit row (text made storable: NULs and lone surrogates escaped)."""
        return {
            "account": self.account,
            "key_prefix": self.key_prefix,
            "method": storable(self.method)[:16],
            "route": storable(self.route)[:128],
            "params": {storable(k)[:64]: storable(str(v))[:PARAM_MAX_CHARS] for k, v in self.params.items()},
            "status": status,
            "duration_ms": duration_ms,
            "client": storable(self.client or "")[:64] or None,
            "ioc": storable(self.ioc)[:2048] if self.ioc else None,
            "ioc_type": self.ioc_type,
            "analysis_id": uuid.UUID(self.analysis_id) if self.analysis_id else None,
        }


def storable(text: str) -> str:
    """Return text any database accepts: NUL as \\x00, lone surrogates as \\udXXX escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


_COLUMNS = (
    "time",
    "account",
    "key_prefix",
    "method",
    "route",
    "params",
    "status",
    "duration_ms",
    "client",
    "ioc",
    "ioc_type",
    "analysis_id",
)
# Every authenticated request writes one: written out once (see shared.db.sql). The names and
# placeholders come from the constant column list above, never from input.
_INSERT = "INSERT INTO audit_event ({}) VALUES ({})".format(  # noqa: S608
    ", ".join(f'"{column}"' for column in _COLUMNS),
    ", ".join("?j" if column == "params" else "?" for column in _COLUMNS),
)


def record(entry: Entry, status: int, duration_ms: int) -> None:
    """Append one audit row."""
    row = entry.as_row(status, duration_ms)
    row["time"] = AuditEvent.time.db_value(utcnow())
    row["params"] = json.dumps(row["params"])
    row["analysis_id"] = AuditEvent.analysis_id.db_value(row["analysis_id"])
    database.execute_sql(sql(_INSERT), [row[column] for column in _COLUMNS])


def query(
    account: str | None = None, since: dt.datetime | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Return audit rows, newest first, as plain dicts with the documented field names."""
    select = AuditEvent.select().order_by(AuditEvent.time.desc(), AuditEvent.id.desc()).limit(limit)
    if account is not None:
        select = select.where(AuditEvent.account == account)
    if since is not None:
        select = select.where(AuditEvent.time >= since)
    return [as_dict(event) for event in select]


def as_dict(event: AuditEvent) -> dict[str, Any]:
    """Return one audit row as the JSON object ``socbuddy audit --json`` prints."""
    return {
        "time": iso_ms(event.time),
        "account": event.account,
        "key_prefix": event.key_prefix,
        "method": event.method,
        "route": event.route,
        "params": event.params or {},
        "status": event.status,
        "duration_ms": event.duration_ms,
        "client": event.client,
        "ioc": event.ioc,
        "type": event.ioc_type,
        "analysis_id": str(event.analysis_id) if event.analysis_id else None,
    }
