"""What shodan and shodan_internetdb share: the tag heuristic and the capped lists of a host record."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from plugins.spec import Verdict

# Tags that make an exposed host worth a second look (Shodan's data alone gives no verdict).
SUSPICIOUS_TAGS = frozenset({"malware", "c2", "compromised"})
MAX_LIST = 10


def verdict(data: dict[str, Any]) -> Verdict:
    """Return suspicious for a host tagged malware/c2/compromised, otherwise unknown."""
    tags = {str(tag).lower() for tag in data.get("tags") or []}
    return "suspicious" if tags & SUSPICIOUS_TAGS else "unknown"


def lists(data: dict[str, Any], names: Iterable[str]) -> dict[str, list[Any]]:
    """Return the named lists of a host record, each capped at ten (a missing one as [])."""
    return {name: _capped(data.get(name)) for name in names}


def _capped(value: Any) -> list[Any]:
    return list(value)[:MAX_LIST] if isinstance(value, list) else []
