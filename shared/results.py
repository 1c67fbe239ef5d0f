"""Build ToolResult dictionaries, the one shape every plugin answer takes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from plugins.spec import Finding


def iso_ms(moment: dt.datetime | None = None) -> str:
    """Return an ISO-8601 UTC timestamp with milliseconds, ending in Z."""
    moment = moment or dt.datetime.now(dt.UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def iso_s(moment: dt.datetime) -> str:
    """Return an ISO-8601 UTC timestamp with whole seconds, ending in Z."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds") + "Z"


def ok_result(plugin: str, finding: Finding, duration_ms: int) -> dict[str, Any]:
    """Return the ToolResult of a successful lookup."""
    return {
        "plugin": plugin,
        "status": "ok",
        "verdict": finding.verdict,
        "summary": dict(finding.summary),
        "link": finding.link,
        "raw": raw_object(finding.raw),
        "error": None,
        "duration_ms": int(duration_ms),
        "fetched_at": iso_ms(),
        "cached": False,
    }


def raw_object(raw: Any) -> dict[str, Any] | None:
    """Return ``raw`` as API.md types it, an object or null: any other answer comes as {"data": it}.

    Some providers answer with a JSON array (crt.sh, Have I Been Pwned); some plugins keep only a
    list out of an enveloped answer.
    """
    if raw is None or isinstance(raw, dict):
        return raw
    return {"data": raw}


def error_result(plugin: str, code: str, message: str, duration_ms: int) -> dict[str, Any]:
    """Return the ToolResult of a failed plugin run (verdict unknown, empty summary)."""
    return {
        "plugin": plugin,
        "status": "error",
        "verdict": "unknown",
        "summary": {},
        "link": None,
        "raw": None,
        "error": {"code": code, "message": message},
        "duration_ms": int(duration_ms),
        "fetched_at": iso_ms(),
        "cached": False,
    }
