"""Defang and refang text, as pure functions (API.md, "POST /api/actions/defang · /refang").

``defang`` rewrites ``://`` → ``[://]``, ``.`` → ``[.]``, ``@`` → ``[@]`` and an ``http``/``https``
scheme → ``hxxp``/``hxxps`` everywhere in the text, leaving existing markers alone, so it is
idempotent. ``refang`` undoes every common marker: bracketed dots, colons, slashes and at-signs in
``[]``, ``()`` and ``{}`` (also backslash-escaped as Markdown editors write them), ``hxxp``-style
schemes and ``fxp``, JSON-escaped ``:\\/\\/`` URLs, and the bare words `` dot `` and `` at `` where
the result is a valid domain or e-mail address. Text with nothing defanged comes back unchanged, and
``refang(defang(x)) == x`` for any text without brackets or defang markers.
"""

from __future__ import annotations

import re
from typing import Any

from shared.iocs import psl

# Markers already in the text are kept as they are, which makes defang idempotent.
_DEFANG = re.compile(
    r"(?P<keep>\\?[\[({](?:\.|dot|@|at|:|://|/)\\?[\])}])|(?P<sep>://)|(?P<dot>\.)|(?P<at>@)"
    r"|(?<![A-Za-z0-9])(?P<scheme>[hH][tT]{2}[pP][sS]?)(?=://|\[://\])",
    re.IGNORECASE,
)
_DEFANGED = {"sep": "[://]", "dot": "[.]", "at": "[@]"}

# A bracketed marker: "[.]", "(dot)", "{@}", "[:]//", "[:/]/", "[://]", "[/]", also as Markdown
# escapes it ("\[.\]"). The callback maps the part inside the brackets.
_MARKER = re.compile(r"(\\?)([\[({])(\.|dot|at|@|:|://|:/|/|//)(\\?)[\])}]((?://|/)?)", re.IGNORECASE)
_INSIDE = {
    ".": ".",
    "dot": ".",
    "@": "@",
    "at": "@",
    ":": ":",
    "://": "://",
    ":/": ":/",
    "/": "/",
    "//": "//",
}
_CLOSING = {"[": "]", "(": ")", "{": "}"}
_MARKER_HINT = re.compile(r"[\[({](?:[.@:/]|dot|at)", re.IGNORECASE)
_WORD_HINT = re.compile(r"[\[({](?:dot|at)\\?[\])}]", re.IGNORECASE)
# Word markers eat one space or tab on either side: "evil [dot] com", "user (at) evil (dot) com".
_SPACED_WORD = re.compile(r"[ \t]?(\\?[\[({](?:dot|at)\\?[\])}])[ \t]?", re.IGNORECASE)

_SCHEME = re.compile(
    r"(?<![A-Za-z0-9])(?:(?P<h>h)(?P<tt>xx|xt|tx)(?P<p>p)|(?P<f>f)(?P<t>x)(?P<fp>p))(?P<s>s?)(?=://)",
    re.IGNORECASE,
)
_SCHEME_HINT = re.compile(r"[xX][pPtT][pPsS]?[sS]?://")
_ESCAPED_URL = re.compile(r"(?<=[A-Za-z0-9]):\\/\\/[^\s\"'<>]{0,8192}")

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_BARE = re.compile(
    rf"(?<![A-Za-z0-9._%+-])(?:(?P<local>[A-Za-z0-9._%+-]{{1,64}})[ \t]+(?i:at)[ \t]+)?"
    rf"(?P<name>{_LABEL}(?:[ \t]+(?i:dot)[ \t]+{_LABEL}){{1,8}})(?![A-Za-z0-9-])"
)
_BARE_HINT = re.compile(r"[ \t]dot[ \t]", re.IGNORECASE)
_BARE_DOT = re.compile(r"[ \t]+dot[ \t]+", re.IGNORECASE)
# Prose, not a host: "the dot com era", "me at home dot org".
_NOT_LOCAL_PART = frozenset({"me", "us", "him", "her", "them", "it", "look", "looking", "is", "are", "was"})
_NOT_FIRST_LABEL = frozenset({"a", "an", "the", "this", "that", "of", "and", "or", "to", "in", "on"})


def defang(text: str) -> str:
    """Defang text: ``://`` → ``[://]``, ``.`` → ``[.]``, ``@`` → ``[@]``, http(s) → hxxp(s)."""
    return _DEFANG.sub(_defang_match, text)


def refang(text: str) -> str:
    """Undo every common defang marker; text with nothing defanged comes back unchanged."""
    text = _sub_near(_WORD_HINT, _SPACED_WORD, r"\1", text)
    text = _sub_near(_MARKER_HINT, _MARKER, _marker_match, text)
    if ":\\/\\/" in text:
        text = _ESCAPED_URL.sub(lambda m: m.group().replace("\\/", "/"), text)
    text = _sub_near(_SCHEME_HINT, _SCHEME, _scheme_match, text)
    return _sub_near(_BARE_HINT, _BARE, _bare_match, text)


def _sub_near(hint: re.Pattern[str], pattern: re.Pattern[str], repl: Any, text: str) -> str:
    """Apply ``pattern.sub`` only to the lines that hold ``hint``: same result, far less scanning.

    Valid because no marker pattern crosses a line break and each one's match contains its hint.
    """
    pieces: list[str] = []
    last = 0
    for match in hint.finditer(text):
        if match.start() < last:
            continue
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        end = len(text) if end == -1 else end
        pieces += [text[last:start], pattern.sub(repl, text[start:end])]
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _defang_match(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "keep":
        return match.group()
    if kind == "scheme":
        scheme = match.group()
        return scheme[0] + scheme[1:3].replace("t", "x").replace("T", "X") + scheme[3:]
    return _DEFANGED[kind or ""]


def _marker_match(match: re.Match[str]) -> str:
    escape, opening, inside, escape_close, slashes = match.groups()
    if match.group()[-1 - len(slashes)] != _CLOSING[opening]:
        return match.group()  # "[.)" is not a marker
    inside = inside.lower()
    if opening != "[" and inside not in (".", "dot", "@", "at"):
        return match.group()  # "(:)" and "{/}" are left alone
    if escape and not escape_close:
        return escape + _INSIDE[inside] + slashes  # "\[.]" is a backslash before a marker
    mapped = _INSIDE[inside] + slashes
    return "://" if mapped in (":" + "//", ":/" + "/") else mapped


def _scheme_match(match: re.Match[str]) -> str:
    """Turn hxxp/hXXp/fxp back into http/ftp, keeping the case the writer used."""
    if match.group("f"):
        t = "T" if match.group("t").isupper() else "t"
        return f"{match.group('f')}{t}{match.group('fp')}{match.group('s')}"
    h, xx = match.group("h"), match.group("tt")
    # "hXXp" is the customary spelling of "http"; otherwise each x maps to a t of its own case.
    tt = "tt" if h.islower() and xx.isupper() else "".join("T" if c.isupper() else "t" for c in xx)
    return f"{h}{tt}{match.group('p')}{match.group('s')}"


def _bare_match(match: re.Match[str]) -> str:
    """Refang ``evil dot com`` and ``user at evil dot com`` only when the result is valid."""
    name = _BARE_DOT.sub(".", match.group("name"))
    labels = name.lower().split(".")
    if labels[0] in _NOT_FIRST_LABEL or not psl.is_registrable(name.lower()):
        return match.group()
    local = match.group("local")
    if local is None:
        return name
    if local.lower() in _NOT_LOCAL_PART or local.startswith(".") or local.endswith("."):
        return match.group()[: match.start("name") - match.start()] + name
    return f"{local}@{name}"
