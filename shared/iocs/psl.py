"""Answer Public Suffix List questions from the bundled snapshot (no download at run time).

The snapshot is ``data/public_suffix_list.dat`` (Mozilla Public License 2.0, see its header for the
version). Only the ICANN section is used: it says which top-level domains exist and which names are
suffixes under which anyone may register (``co.uk``). Private-section entries such as ``github.io``
are ordinary registrable names here, so ``evil.github.io`` and ``github.io`` are both domains.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

_DATA_FILE = "public_suffix_list.dat"


@dataclass(frozen=True)
class SuffixRules:
    """The ICANN rules of the list, every name in lower-case ASCII (punycode)."""

    rules: frozenset[str]
    wildcards: frozenset[str]
    exceptions: frozenset[str]
    tlds: frozenset[str]
    version: str


def parse(text: str) -> SuffixRules:
    """Parse the ICANN section of a Public Suffix List file."""
    rules: set[str] = set()
    wildcards: set[str] = set()
    exceptions: set[str] = set()
    version = ""
    in_icann = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("// VERSION:"):
            version = line.partition(":")[2].strip()
        if "===BEGIN ICANN DOMAINS===" in line:
            in_icann = True
        elif "===END ICANN DOMAINS===" in line:
            in_icann = False
        if not in_icann or not line or line.startswith("//"):
            continue
        rule = _to_ascii(line.split()[0])
        if rule.startswith("!"):
            exceptions.add(rule[1:])
        elif rule.startswith("*."):
            wildcards.add(rule[2:])
        else:
            rules.add(rule)
    tlds = frozenset(rule.rpartition(".")[2] for rule in rules | wildcards)
    return SuffixRules(frozenset(rules), frozenset(wildcards), frozenset(exceptions), tlds, version)


@cache
def rules() -> SuffixRules:
    """Return the rules of the bundled snapshot, read once on first use."""
    text = resources.files("shared.iocs.data").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return parse(text)


def is_tld(label: str) -> bool:
    """Return True when ``label`` (lower-case ASCII) is a top-level domain in the ICANN list."""
    return label in rules().tlds


def is_public_suffix(name: str) -> bool:
    """Return True when ``name`` (lower-case ASCII) is itself a public suffix such as ``co.uk``."""
    table = rules()
    if name in table.exceptions:
        return False
    if name in table.rules:
        return True
    parent = name.partition(".")[2]
    return bool(parent) and parent in table.wildcards


def is_registrable(name: str) -> bool:
    """Return True when ``name`` ends in a known TLD and has a label left of its public suffix."""
    return is_tld(name.rpartition(".")[2]) and not is_public_suffix(name)


def _to_ascii(rule: str) -> str:
    prefix = "!" if rule.startswith("!") else "*." if rule.startswith("*.") else ""
    body = rule[len(prefix) :]
    if body.isascii():
        return prefix + body.lower()
    try:
        return prefix + body.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return prefix + body.lower()
