"""URLhaus (abuse.ch): malware distribution URLs, hosts and payloads.

API reference: urlhaus-api.abuse.ch (form-encoded POSTs with trailing slashes, ``Auth-Key`` header,
the outcome in a ``query_status`` field of an HTTP 200 body).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from plugins import _abusech
from plugins.spec import Context, Finding, PluginError, PluginSpec, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="urlhaus",
    display_name="URLhaus",
    ioc_types=frozenset({"url", "domain", "ip", "hash"}),
    categories=("reputation",),
    key_var="ABUSECH_API_KEY",
    key="required",
    auth="header",
    auth_name="Auth-Key",
    url_var="URLHAUS_URL",
    default_url="https://urlhaus-api.abuse.ch/v1",
    hash_kinds=frozenset({"md5", "sha256"}),
)

WEB = "https://urlhaus.abuse.ch"
# A host whose listed URLs are all offline and were all added this long ago is only suspicious.
HOST_STALE_DAYS = 30
MAX_ITEMS = 10
NOT_FOUND = frozenset({"no_results"})
_URL_FIELDS = ("id", "url_status", "threat", "date_added", "last_online", "urlhaus_reference")
_PAYLOAD_FIELDS = ("file_type", "file_size", "signature", "firstseen", "lastseen", "url_count", "virustotal")


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Ask URLhaus about a URL, a host or a payload hash and summarise the listing."""
    path, form = request_for(ioc)
    data = _abusech.post(ctx, path, data=form)
    status = data.get("query_status")
    if status in NOT_FOUND:
        return Finding(summary={"found": False, "query_status": status}, raw=data)
    if status != "ok":
        raise PluginError("provider_error", ctx.safe_message("URLhaus query_status", str(status)))
    if path == "/url/":
        return Finding(
            "malicious", summarise_url(data), link=f"{WEB}/url/{quote(str(data.get('id')))}/", raw=data
        )
    if path == "/host/":
        link = f"{WEB}/host/{quote(ioc.host or ioc.value, safe='')}/"
        return Finding(host_verdict(data), summarise_host(data), link=link, raw=data)
    sha256 = str(data.get("sha256_hash") or ioc.value)
    link = f"{WEB}/browse.php?search={quote(sha256, safe='')}"
    return Finding("malicious", summarise_payload(data), link=link, raw=data)


def request_for(ioc: Ioc) -> tuple[str, dict[str, str]]:
    """Return the endpoint (trailing slash kept) and form body for an IOC."""
    if ioc.type == "url":
        return "/url/", {"url": ioc.value}
    if ioc.type in ("domain", "ip"):
        return "/host/", {"host": ioc.value}
    if ioc.hash_kind not in SPEC.hash_kinds:
        raise PluginError("not_supported", "URLhaus takes only MD5 and SHA-256 payload hashes")
    return "/payload/", {f"{ioc.hash_kind}_hash": ioc.value}


def summarise_url(data: dict[str, Any]) -> dict[str, Any]:
    """Keep the URL listing's fields, blacklists flattened, payloads capped."""
    summary: dict[str, Any] = {"found": True, **{name: data.get(name) for name in _URL_FIELDS}}
    summary["tags"] = _capped(data.get("tags"))
    summary.update(_blacklists(data))
    summary["payloads"] = [
        {k: p.get(k) for k in ("filename", "file_type", "response_sha256", "signature")}
        for p in _capped(data.get("payloads"))
        if isinstance(p, dict)
    ]
    return summary


def summarise_host(data: dict[str, Any]) -> dict[str, Any]:
    """Keep the host listing's counters, blacklists and first URLs."""
    summary: dict[str, Any] = {
        "found": True,
        "url_count": data.get("url_count"),
        "firstseen": data.get("firstseen"),
    }
    summary.update(_blacklists(data))
    summary["urls"] = [
        {k: u.get(k) for k in ("url", "url_status", "threat", "tags", "date_added")}
        for u in _capped(data.get("urls"))
        if isinstance(u, dict)
    ]
    return summary


def summarise_payload(data: dict[str, Any]) -> dict[str, Any]:
    """Keep the payload's file facts and the URLs that served it."""
    summary: dict[str, Any] = {"found": True, **{name: data.get(name) for name in _PAYLOAD_FIELDS}}
    summary["urls"] = [
        {k: u.get(k) for k in ("url", "url_status", "filename")}
        for u in _capped(data.get("urls"))
        if isinstance(u, dict)
    ]
    return summary


def host_verdict(data: dict[str, Any], now: dt.datetime | None = None) -> Verdict:
    """Return malicious, or suspicious when every listed URL is offline and old."""
    urls = [u for u in data.get("urls") or [] if isinstance(u, dict)]
    if not urls or any(u.get("url_status") != "offline" for u in urls):
        return "malicious"
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=HOST_STALE_DAYS)
    added = [_parse_time(u.get("date_added")) for u in urls]
    if all(when is not None and when < cutoff for when in added):
        return "suspicious"
    return "malicious"


def _parse_time(value: Any) -> dt.datetime | None:
    text = str(value or "").removesuffix(" UTC").strip()
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _blacklists(data: dict[str, Any]) -> dict[str, Any]:
    blacklists = data.get("blacklists")
    if not isinstance(blacklists, dict):
        blacklists = {}
    return {"spamhaus_dbl": blacklists.get("spamhaus_dbl"), "surbl": blacklists.get("surbl")}


def _capped(value: Any) -> list[Any]:
    return list(value)[:MAX_ITEMS] if isinstance(value, list) else []
