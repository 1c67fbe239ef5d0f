"""The organisation's own indicator lists: import (text, abuse.ch CSV, MISP JSON, STIX 2.1), match.

Every value is validated and normalised exactly like an analysis IOC (defanged values accepted),
so a hit is an exact match of normal forms. Matching also looks at what an IOC contains: a URL's
host, an e-mail's domain, and the parent domains of a domain (``a.evil.example`` hits ``evil.example``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.errors import InvalidRequest, NotFound
from shared.iocs.normalize import HASH_KINDS, InvalidIoc, is_ip, normalize, url_host
from shared.models import WatchEntry, WatchList, database, utcnow

VERDICTS = ("malicious", "suspicious", "harmless", "unknown")
FORMATS = ("auto", "text", "csv", "misp", "stix")
_BATCH = 500


@dataclass(frozen=True)
class Item:
    """One indicator read from a file."""

    ioc_type: str
    value: str
    note: str | None = None
    added_at: dt.datetime | None = None


@dataclass
class ImportReport:
    """What an import did."""

    read: int = 0
    added: int = 0
    already_listed: int = 0
    rejected: list[str] = field(default_factory=list)


# --- reading files ---------------------------------------------------------------------------------


def detect_format(text: str, filename: str = "") -> str:
    """Guess the format of a file from its content (and name)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(stripped)
        except ValueError:
            return "text"
        if isinstance(data, dict) and data.get("type") == "bundle":
            return "stix"
        return "misp"
    header = next((line for line in text.splitlines() if line.strip()), "")
    if (
        filename.lower().endswith(".csv")
        or (header.startswith("#") and "," in text[:4096])
        or header.count(",") >= 2
    ):
        return "csv"
    return "text"


def read_items(text: str, fmt: str) -> Iterator[Item | str]:
    """Yield the indicators of a file (or, for a value that cannot be read, a string saying why)."""
    readers = {"text": _read_text, "csv": _read_csv, "misp": _read_misp, "stix": _read_stix}
    yield from readers[fmt](text)


# A comment starts with "#" at the start of a line or after white space: a "#" inside a value is
# part of it (a URL's fragment), so "http://evil.example/a#b" is imported whole, never cut short.
_COMMENT = re.compile(r"(?:^|\s)#")


def _read_text(text: str) -> Iterator[Item | str]:
    for line in text.splitlines():
        value = _COMMENT.split(line, maxsplit=1)[0].strip()
        if value:
            yield _guess(value)


def _guess(value: str, note: str | None = None, added_at: dt.datetime | None = None) -> Item | str:
    """Infer the type of a bare value: hash, ip, url, email, then domain."""
    for ioc_type in _candidate_types(value):
        try:
            return Item(ioc_type, normalize(value, ioc_type), note, added_at)
        except InvalidIoc:
            continue
    return f"{value[:80]!r}: not an IP, domain, URL, hash or e-mail address"


def _candidate_types(value: str) -> tuple[str, ...]:
    if re.fullmatch(r"[0-9a-fA-F]+", value) and len(value) in HASH_KINDS:
        return ("hash",)
    if "://" in value or "[://]" in value or re.match(r"(?i)(hxxp|fxp)", value):
        return ("url",)
    if "@" in value or "[at]" in value.lower() or "[@]" in value:
        return ("email",)
    return ("ip", "domain")


# abuse.ch CSV exports: the columns that hold indicators (any other column, such as urlhaus_link, is not one).
_CSV_COLUMNS = {
    "url": "url",
    "dst_ip": "ip",
    "ip_address": "ip",
    "ip": "ip",
    "domain": "domain",
    "sha256_hash": "hash",
    "md5_hash": "hash",
    "sha1_hash": "hash",
    "sha3_384_hash": None,
}
_CSV_DATES = ("dateadded", "first_seen_utc", "first_seen")
_CSV_NOTES = ("threat", "malware_printable", "signature", "malware", "threat_type", "tags")


def _read_csv(text: str) -> Iterator[Item | str]:
    lines = text.splitlines()
    header_at, header = _csv_header(lines)
    body = (line for line in lines[header_at + 1 :] if line.strip() and not line.startswith("#"))
    rows = csv.reader(body, skipinitialspace=True)
    for row in rows:
        record = {name: value.strip() for name, value in zip(header, row, strict=False)}
        yield from _csv_items(record, header)


def _csv_header(lines: list[str]) -> tuple[int, list[str]]:
    """Find the header: the last commented line with commas (abuse.ch style), else the first line."""
    commented = [i for i, line in enumerate(lines) if line.startswith("#") and "," in line]
    if commented:
        index = commented[-1]
        return index, _columns(lines[index].lstrip("#").strip())
    first = next((i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")), None)
    if first is None:
        return len(lines), []
    return first, _columns(lines[first])


def _columns(line: str) -> list[str]:
    return [c.strip().strip('"').lower() for c in next(csv.reader([line], skipinitialspace=True))]


def _csv_items(record: dict[str, str], header: list[str]) -> Iterator[Item | str]:
    note = ", ".join(record[n] for n in _CSV_NOTES if record.get(n) and record[n] != "None") or None
    added_at = _parse_time(next((record[d] for d in _CSV_DATES if record.get(d)), None))
    if "ioc_value" in record:  # ThreatFox: the value and its type are separate columns
        value = record["ioc_value"]
        kind = record.get("ioc_type", "")
        if kind == "ip:port" or re.fullmatch(r"[\d.]+:\d+", value):
            value = value.rsplit(":", 1)[0]
        yield _guess(value, note, added_at)
        return
    known = [(name, _CSV_COLUMNS[name]) for name in header if _CSV_COLUMNS.get(name)]
    if not known and header:
        first = record.get(header[0], "")
        if first:
            yield _guess(first, note, added_at)
        return
    for name, ioc_type in known:
        if record.get(name):
            yield _typed(record[name], ioc_type, note, added_at)


def _typed(value: str, ioc_type: str | None, note: str | None, added_at: dt.datetime | None) -> Item | str:
    if ioc_type is None:
        return _guess(value, note, added_at)
    try:
        return Item(ioc_type, normalize(value, ioc_type), note, added_at)
    except InvalidIoc as ex:
        return f"{value[:80]!r}: {ex}"


# MISP attribute types that carry indicators, by the part of a composite value that is one.
_MISP_TYPES = {
    "ip-src": "ip",
    "ip-dst": "ip",
    "ip": "ip",  # the second half of domain|ip
    "domain": "domain",
    "hostname": "domain",
    "url": "url",
    "md5": "hash",
    "sha1": "hash",
    "sha256": "hash",
    "sha512": "hash",
    "email": "email",
    "email-src": "email",
    "email-dst": "email",
}


def _read_misp(text: str) -> Iterator[Item | str]:
    data = json.loads(text)
    for event in _misp_events(data):
        info = event.get("info")
        attributes = list(event.get("Attribute") or [])
        for obj in event.get("Object") or []:
            attributes += obj.get("Attribute") or []
        for attribute in attributes:
            yield from _misp_attribute(attribute, info)


def _misp_events(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _misp_events(item)
    elif isinstance(data, dict):
        if "response" in data:
            yield from _misp_events(data["response"])
        elif isinstance(data.get("Event"), dict):
            yield data["Event"]
        elif "Attribute" in data:
            yield data


def _misp_attribute(attribute: dict[str, Any], info: str | None) -> Iterator[Item | str]:
    kinds = str(attribute.get("type", "")).split("|")
    values = str(attribute.get("value", "")).split("|")
    note = attribute.get("comment") or info
    added_at = _parse_time(attribute.get("timestamp"))
    for kind, value in zip(kinds, values, strict=False):
        ioc_type = _MISP_TYPES.get(kind)
        if ioc_type:
            yield _typed(value, ioc_type, note, added_at)


_STIX_SCO = {
    "ipv4-addr": "ip",
    "ipv6-addr": "ip",
    "domain-name": "domain",
    "url": "url",
    "email-addr": "email",
}
_STIX_PATTERN = re.compile(
    r"(ipv4-addr|ipv6-addr|domain-name|url|email-addr):value\s*=\s*'((?:[^'\\]|\\.)*)'"
    r"|file:hashes\.(?:'[^']+'|[A-Za-z0-9-]+)\s*=\s*'([0-9a-fA-F]+)'"
)


def _read_stix(text: str) -> Iterator[Item | str]:
    data = json.loads(text)
    for obj in data.get("objects") or []:
        if not isinstance(obj, dict):
            continue
        kind = obj.get("type")
        if kind == "indicator":
            note = obj.get("name") or obj.get("description")
            added_at = _parse_time(obj.get("valid_from") or obj.get("created"))
            for match in _STIX_PATTERN.finditer(str(obj.get("pattern", ""))):
                if match.group(1):
                    yield _typed(
                        match.group(2).replace("\\'", "'"), _STIX_SCO[match.group(1)], note, added_at
                    )
                else:
                    yield _typed(match.group(3), "hash", note, added_at)
        elif kind in _STIX_SCO and obj.get("value"):
            yield _typed(str(obj["value"]), _STIX_SCO[kind], None, None)
        elif kind == "file":
            for digest in (obj.get("hashes") or {}).values():
                yield _typed(str(digest), "hash", obj.get("name"), None)


def _parse_time(value: Any) -> dt.datetime | None:
    if value in (None, "", "None"):
        return None
    try:
        if isinstance(value, int | float) or str(value).isdigit():
            return dt.datetime.fromtimestamp(int(value), dt.UTC).replace(tzinfo=None)
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00").replace(" UTC", ""))
    except (ValueError, OverflowError, OSError):
        return None
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


# --- storing and matching --------------------------------------------------------------------------


def import_file(
    path: str | Path, name: str, verdict: str = "malicious", fmt: str = "auto", replace: bool = False
) -> ImportReport:
    """Read a file into the named list (created if needed); return what was added and rejected."""
    text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
    return import_text(text, name, verdict, fmt, replace, filename=str(path))


def import_text(
    text: str,
    name: str,
    verdict: str = "malicious",
    fmt: str = "auto",
    replace: bool = False,
    filename: str = "",
) -> ImportReport:
    """Import indicators from text into the named list."""
    if verdict not in VERDICTS:
        raise InvalidRequest(f"verdict must be one of {', '.join(VERDICTS)}")
    if fmt not in FORMATS:
        raise InvalidRequest(f"format must be one of {', '.join(FORMATS)}")
    if not name.strip() or len(name) > 128:
        raise InvalidRequest("a list name is 1 to 128 characters")
    chosen = detect_format(text, filename) if fmt == "auto" else fmt
    try:
        items = list(read_items(text, chosen))
    except (ValueError, AttributeError) as ex:
        raise InvalidRequest(f"cannot read the file as {chosen}: {type(ex).__name__}") from None
    report = ImportReport(read=len(items))
    report.rejected = [item for item in items if isinstance(item, str)]
    good = _unique(item for item in items if isinstance(item, Item))
    with database.atomic():
        watch_list, created = WatchList.get_or_create(name=name, defaults={"verdict": verdict})
        if not created and watch_list.verdict != verdict:
            watch_list.verdict = verdict
            watch_list.save()
        if replace:
            WatchEntry.delete().where(WatchEntry.watch_list == watch_list).execute()
        report.added = _insert(watch_list, good)
    report.already_listed = len(good) - report.added
    return report


def _unique(items: Iterable[Item]) -> list[Item]:
    seen: dict[tuple[str, str], Item] = {}
    for item in items:
        seen.setdefault((item.ioc_type, item.value), item)
    return list(seen.values())


def _insert(watch_list: WatchList, items: list[Item]) -> int:
    before = WatchEntry.select().where(WatchEntry.watch_list == watch_list).count()
    now = utcnow()
    rows = [
        {
            "watch_list": watch_list.id,
            "ioc_type": item.ioc_type,
            "ioc_hash": digest(item.value),
            "ioc": item.value,
            "note": (item.note or "")[:500] or None,
            "added_at": item.added_at or now,
        }
        for item in items
    ]
    for start in range(0, len(rows), _BATCH):
        WatchEntry.insert_many(rows[start : start + _BATCH]).on_conflict_ignore().execute()
    return WatchEntry.select().where(WatchEntry.watch_list == watch_list).count() - before


def lists() -> list[dict[str, Any]]:
    """Return every list with its verdict and size."""
    return [
        {
            "name": w.name,
            "verdict": w.verdict,
            "entries": WatchEntry.select().where(WatchEntry.watch_list == w).count(),
            "created_at": w.created_at,
        }
        for w in WatchList.select().order_by(WatchList.name)
    ]


def remove(name: str) -> int:
    """Delete a list and its entries; return how many entries it had."""
    watch_list = WatchList.get_or_none(WatchList.name == name)
    if watch_list is None:
        raise NotFound(f"no watch list named {name!r}")
    with database.atomic():
        count = WatchEntry.delete().where(WatchEntry.watch_list == watch_list).execute()
        watch_list.delete_instance()
    return int(count)


def match(ioc_type: str, value: str) -> list[dict[str, Any]]:
    """Return the hits of a normalised IOC on every list: exact, or through what it contains."""
    probes = list(_probes(ioc_type, value))
    keys = {(t, digest(v)): how for t, v, how in probes}
    query = (
        WatchEntry.select(WatchEntry, WatchList)
        .join(WatchList)
        .where(WatchEntry.ioc_hash.in_([h for _, h in keys]))
    )
    hits = []
    for entry in query:
        how = keys.get((entry.ioc_type, entry.ioc_hash))
        if how is not None:
            hits.append(
                {
                    "list": entry.watch_list.name,
                    "verdict": entry.watch_list.verdict,
                    "value": entry.ioc,
                    "type": entry.ioc_type,
                    "match": how,
                    "added_at": entry.added_at.isoformat(timespec="seconds") + "Z",
                    "note": entry.note,
                }
            )
    return sorted(hits, key=lambda h: (VERDICTS.index(h["verdict"]), h["list"]))


def _probes(ioc_type: str, value: str) -> Iterator[tuple[str, str, str]]:
    """Yield (type, value, how) for the IOC and what it contains."""
    yield ioc_type, value, "exact"
    host = url_host(value) if ioc_type == "url" else value.rpartition("@")[2] if ioc_type == "email" else None
    if host and is_ip(host):
        yield "ip", normalize(host, "ip"), "host"
        return
    if host:
        yield "domain", host, "host" if ioc_type == "url" else "e-mail domain"
    domain = host or (value if ioc_type == "domain" else None)
    if domain:
        labels = domain.split(".")
        for start in range(1, len(labels) - 1):
            yield "domain", ".".join(labels[start:]), "parent domain"


def digest(value: str) -> str:
    """Return the SHA-256 of a normalised value (the indexed key)."""
    return hashlib.sha256(value.encode()).hexdigest()
