"""Extract indicators from free text (placeholder until the text-actions work lands)."""

from __future__ import annotations


def extract(text: str) -> dict[str, list[str]]:
    """Return indicators found in ``text`` by type."""
    return {}
