"""One explainable verdict per analysis, computed from the plugin verdicts.

The rule, in full: the overall verdict is the most severe verdict that any plugin that answered
gave, in the order malicious > suspicious > harmless > unknown. Plugins that failed (status
``error``) and plugins still pending do not count; they are listed so a reader knows what is
missing. There are no weights and no thresholds beyond each plugin's own documented rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ORDER = ("malicious", "suspicious", "harmless", "unknown")
RULE = (
    "the most severe verdict any plugin gave (malicious > suspicious > harmless > unknown); "
    "failed and pending plugins do not count"
)


def overall(results: Mapping[str, Mapping[str, Any]], pending: Iterable[str] = ()) -> dict[str, Any]:
    """Return ``{"value", "counts", "reasons", "not_counted", "complete", "rule"}`` for an analysis."""
    counts = dict.fromkeys(ORDER, 0)
    reasons: list[dict[str, Any]] = []
    failed: list[str] = []
    for name, result in results.items():
        if result.get("status") != "ok":
            failed.append(name)
            continue
        given = result.get("verdict")
        verdict = given if isinstance(given, str) and given in counts else "unknown"
        counts[verdict] += 1
        if verdict != "unknown":
            reasons.append({"plugin": name, "verdict": verdict, "cached": bool(result.get("cached"))})
    value = next((v for v in ORDER if counts[v]), "unknown")
    reasons.sort(key=lambda r: (ORDER.index(r["verdict"]), r["plugin"]))
    waiting = sorted(pending)
    return {
        "value": value,
        "counts": counts,
        "reasons": reasons,
        "not_counted": {"failed": sorted(failed), "pending": waiting},
        "complete": not waiting,
        "rule": RULE,
    }
