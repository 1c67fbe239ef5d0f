"""Defang and refang text, as pure functions (API.md, "POST /api/actions/defang · /refang").

``defang`` rewrites ``://`` → ``[://]``, ``.`` → ``[.]``, ``@`` → ``[@]`` and an ``http``/``https``
scheme → ``hxxp``/``hxxps`` everywhere in the text (each t becomes an x of its own case, but
``hTTp`` becomes ``hXTp``: ``hXXp`` is refanged as the customary ``http``), leaving existing markers
alone, so it is idempotent. ``refang`` undoes every common marker: bracketed dots, colons, slashes and at-signs in
``[]``, ``()`` and ``{}`` (also backslash-escaped as Markdown editors write them), ``hxxp``-style
schemes and ``fxp``, JSON-escaped ``:\\/\\/`` URLs, and the bare words `` dot `` and `` at `` where
the result is a valid domain or e-mail address. Text with nothing defanged comes back unchanged, and
``refang(defang(x)) == x`` for any text without brackets or defang markers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from operator import methodcaller
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
# escapes it ("\[.\]"); ``_INSIDE`` maps the part inside the brackets.
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
# A marker starts at its opening bracket; a backslash before the bracket and the spaces around word
# markers are looked at in Python (``_refang_markers``).
_MARK_BODY = r"(\.|dot|at|@|:|://|:/|/|//)(\\?)[\])}]((?://|/)?)"
# One pattern per opening bracket: a pattern that starts with one literal character lets the
# regex engine jump to the next one, several times faster than a character class does.
_MARKS = tuple((opening, re.compile(re.escape(opening) + _MARK_BODY, re.IGNORECASE)) for opening in "[({")
_WORDS = ("dot", "at")

_SCHEME = re.compile(
    r"(?<![A-Za-z0-9])(?:(?P<h>h)(?P<tt>xx|xt|tx)(?P<p>p)|(?P<f>f)(?P<t>x)(?P<fp>p))(?P<s>s?)(?=://)",
    re.IGNORECASE,
)
_SCHEME_HINT = re.compile(r"[xX][pPtT][pPsS]?[sS]?://")
# The "://" that end a hint: the literal comes first, so that the engine jumps from one "://" to the
# next, and the three lengths a hint's letters can have are looked at behind it.
_HINTED_SEPARATOR = re.compile(
    r"://(?:(?<=[xX][pPtT]://)|(?<=[xX][pPtT][pPsS]://)|(?<=[xX][pPtT][pPsS][sS]://))"
)
# The literal comes first (the alphanumeric before it is checked after it) so that the engine
# jumps from one ":\/\/" to the next.
_ESCAPED_URL = re.compile(r":\\/\\/(?<=[A-Za-z0-9]:\\/\\/)[^\s\"'<>]{0,8192}")

# Up to 63 letters, digits and hyphens, not starting or ending with a hyphen. Only ever used inside an
# atomic group, where it matches what "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?" does (the
# longest such run): the engine counts the run at C speed and backs off only over final hyphens.
_LABEL = r"[A-Za-z0-9][A-Za-z0-9-]{0,62}(?<!-)"
# The lookahead is what every match begins with, checked without backtracking: a local part, or
# else the first label, is the whole run of these characters before the first blank, and "at" or
# "dot" follows. Most places fail it at once.
_BARE = re.compile(
    r"(?<![A-Za-z0-9._%+-])(?=[A-Za-z0-9._%+-]{1,64}+[ \t]+(?i:at|dot)[ \t])"
    rf"(?:(?P<local>[A-Za-z0-9._%+-]{{1,64}})[ \t]+(?i:at)[ \t]+)?"
    rf"(?P<name>(?>{_LABEL})(?:[ \t]+(?i:dot)[ \t]+(?>{_LABEL})){{1,8}})(?![A-Za-z0-9-])"
)
_COMMON_SCHEMES: dict[str, str] = {}  # filled below, once _scheme_match is defined
_BARE_HINT = re.compile(r"[ \t]dot[ \t]", re.IGNORECASE)
# The same hint in lower-case ASCII text, found from its literal "dot" (which the engine jumps to).
_LOWER_BARE_HINT = re.compile(r"dot(?<=[ \t]dot)[ \t]")
_BARE_DOT = re.compile(r"[ \t]+dot[ \t]+", re.IGNORECASE)
# Prose, not a host: "the dot com era", "me at home dot org".
_NOT_LOCAL_PART = frozenset({"me", "us", "him", "her", "them", "it", "look", "looking", "is", "are", "was"})
_NOT_FIRST_LABEL = frozenset({"a", "an", "the", "this", "that", "of", "and", "or", "to", "in", "on"})


def defang(text: str) -> str:
    """Defang text: ``://`` → ``[://]``, ``.`` → ``[.]``, ``@`` → ``[@]``, http(s) → hxxp(s)."""
    return _DEFANG.sub(_defang_match, text)


def refang(text: str) -> str:
    """Undo every common defang marker; text with nothing defanged comes back unchanged."""
    return refang_lowered(text)[0]


def refang_lowered(text: str) -> tuple[str, str]:
    """Return ``refang(text)`` and its lower-case copy, which refang makes on its way anyway."""
    if "[.]" in text and "[[.]" not in text and "([.]" not in text and "{[.]" not in text:
        # The commonest marker, replaced at C speed: only after an opening bracket ("([.])") could the
        # replacement form a new marker, and that case is left to the regex pass.
        text = text.replace("[.]", ".")
    text = _refang_markers(text)
    if ":\\/\\/" in text:
        text = _ESCAPED_URL.sub(lambda m: m.group().replace("\\/", "/"), text)
    if "://" in text:
        text = _refang_schemes(text)
    lowered = text.lower()
    if "dot" in lowered:  # a substring test is far quicker than a regex search
        # In ASCII text the lower-case copy has the same lines, and a hint is found faster there.
        hints = _LOWER_BARE_HINT.finditer(lowered) if text.isascii() else _BARE_HINT.finditer(text)
        refanged = _sub_near(hints, _BARE, _bare_match, text)
        if refanged is not text:
            return refanged, refanged.lower()
    return text, lowered


def _refang_schemes(text: str) -> str:
    """Turn hxxp/fxp schemes back, looking only where a hint (``xp://``, ``xtp://``) is."""
    pieces: list[str] = []
    last = 0
    for separator in _HINTED_SEPARATOR.finditer(text):
        end = separator.end()
        # "hxxp://", "hXXps://", ...: the hint found below starts two characters after the "h",
        # and what ``_SCHEME`` and ``_scheme_match`` give is looked up.
        begin = end - 8
        common = _COMMON_SCHEMES.get(text[begin:end]) if begin >= last else None  # last >= 0
        if common is None:
            begin = end - 7
            common = _COMMON_SCHEMES.get(text[begin:end]) if begin >= last else None
        if common is not None and not (begin and text[begin - 1].isascii() and text[begin - 1].isalnum()):
            pieces += [text[last:begin], common]
            last = end - 3
            continue
        # The hint that ends with this "://" (as ``_SCHEME_HINT.finditer`` would find it): its
        # letters hold no ":" or "/", so it starts at most four characters before.
        hint = _SCHEME_HINT.search(text, max(end - 7, 0), end)
        if hint is None or hint.end() != end:
            continue
        begin = hint.start() - 2
        match = _SCHEME.search(text, max(last, begin), hint.end())
        if match is None:
            continue
        pieces += [text[last : match.start()], _scheme_match(match)]
        last = match.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _sub_near(hints: Iterator[re.Match[str]], pattern: re.Pattern[str], repl: Any, text: str) -> str:
    """Apply ``pattern.sub`` only to the lines that hold a hint: same result, far less scanning.

    ``hints`` are the matches of the hint, in order, in ``text`` or in a string with the same
    lines; only the lines they are on count. Valid because no marker pattern crosses a line break
    and each one's match contains its hint.
    """
    pieces: list[str] = []
    last = 0
    for match in hints:
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
        tt = scheme[1:3]
        # Each t becomes an x of its own case, but for "hTTp": refang reads "hXXp" as the customary
        # spelling of "http", so "hTTp" is written "hXTp", which refang turns back into "hTTp".
        xx = "XT" if scheme[0] == "h" and tt == "TT" else tt.replace("t", "x").replace("T", "X")
        return scheme[0] + xx + scheme[3:]
    return _DEFANGED[kind or ""]


def _common_schemes() -> dict[str, str]:
    table = {}
    for h in "hH":
        for xx in ("xx", "XX", "xX", "Xx"):
            for p in "pP":
                for tail in ("", "s", "S"):
                    written = f"{h}{xx}{p}{tail}"
                    match = _SCHEME.match(written + "://")
                    if match is not None:
                        table[written + "://"] = _scheme_match(match)
    return table


def _plain_markers() -> dict[str, str]:
    """Markers that only lose their brackets: "[.]", "(.)", "{@}", "[://]", "[:]", "[.\\]", ...

    Keyed by the whole match, with the slashes a marker match takes after its closing bracket.
    """
    table = {}
    for opening, closing in _CLOSING.items():
        for inside in (".", "@") if opening != "[" else (".", "@", ":", "://", ":/", "/", "//"):
            for slashes in ("", "/", "//"):
                table[f"{opening}{inside}{closing}{slashes}"] = inside + slashes
                table[f"{opening}{inside}\\{closing}{slashes}"] = inside + slashes
    return table


_PLAIN_MARKERS = _plain_markers()


def _marks(text: str) -> list[re.Match[str]]:
    """Return the markers of ``text`` in order, as one pattern with a class of the three brackets would.

    No match holds an opening bracket but its first character, so matches found for different
    brackets never overlap, and every place where that pattern matches is one ``finditer`` reaches.
    """
    matches = [match for opening, pattern in _MARKS if opening in text for match in pattern.finditer(text)]
    matches.sort(key=_START)
    return matches


_START = methodcaller("start")


def _refang_markers(text: str) -> str:
    """Rewrite every bracketed marker in one pass over the text.

    Word markers (``[dot]``, ``(at)``, also with mismatched brackets) eat one space or tab on
    either side; ``[.)`` is not a marker; ``(:)`` and ``{/}`` are left alone; ``\\[.]`` is a
    backslash before a marker; ``\\[.\\]`` is a Markdown-escaped marker.
    """
    pieces: list[str] = []
    last = 0
    size = len(text)
    plain_markers = _PLAIN_MARKERS
    for match in _marks(text):
        start, end = match.span()
        plain = plain_markers.get(match[0])
        if plain is not None and (start == last or text[start - 1] != "\\"):
            # The common case: a marker with matching brackets and no backslash before it.
            pieces += [text[last:start], plain]
            last = end
            continue
        inside, escape_close, slashes = match.groups()
        inside = inside.lower()
        escape = start > last and text[start - 1] == "\\"
        begin = start - 1 if escape else start
        closing_ok = text[end - len(slashes) - 1] == _CLOSING[text[start]]
        if inside in _WORDS:
            cut = begin - 1 if begin > last and text[begin - 1] in " \t" else begin
            after = end + 1 if not slashes and end < size and text[end] in " \t" else end
        elif not closing_ok or (text[start] != "[" and inside not in (".", "@")):
            continue  # not a marker: left as written
        else:
            cut, after = begin, end
        if not closing_ok:
            replacement = text[begin:end]
        elif escape and not escape_close:
            replacement = "\\" + _INSIDE[inside] + slashes
        else:
            mapped = _INSIDE[inside] + slashes
            replacement = "://" if mapped in (":" + "//", ":/" + "/") else mapped
        pieces += [text[last:cut], replacement]
        last = after
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _scheme_match(match: re.Match[str]) -> str:
    """Turn hxxp/hXXp/fxp back into http/ftp, keeping the case the writer used."""
    if match.group("f"):
        t = "T" if match.group("t").isupper() else "t"
        return f"{match.group('f')}{t}{match.group('fp')}{match.group('s')}"
    h, xx = match.group("h"), match.group("tt")
    # "hXXp" is the customary spelling of "http"; otherwise each x (or t) maps to a t of its own
    # case, so that "hXTp", which is how defang writes "hTTp", comes back as "hTTp".
    tt = "tt" if h == "h" and xx == "XX" else "".join("T" if c.isupper() else "t" for c in xx)
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


_COMMON_SCHEMES.update(_common_schemes())
