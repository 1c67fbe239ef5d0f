"""Watch lists: match the IOC against the organisation's own indicator lists (no network, no key).

Lists are imported with ``socbuddy watchlist import FILE --name NAME``; a hit reports the list, when
the indicator was added, how it matched (exact, a URL's host, an e-mail's domain, a parent domain)
and the verdict the list declares.
"""

from __future__ import annotations

from plugins.spec import Context, Finding, PluginError, PluginSpec, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="watchlist",
    display_name="Watch lists",
    ioc_types=frozenset({"ip", "domain", "url", "hash", "email"}),
    categories=("local", "reputation"),
    url_var="",
    default_url=None,
    remote=False,
    hash_kinds=frozenset({"md5", "sha1", "sha256", "sha512"}),
)
_SEVERITY: tuple[Verdict, ...] = ("malicious", "suspicious", "harmless", "unknown")
MAX_HITS = 10


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Return the IOC's hits on every watch list; the most severe declared verdict wins."""
    match = ctx.services.get("watchlist")
    if match is None:
        raise PluginError("unavailable", "watch lists need the database, and none is configured")
    hits = match(ioc.type, ioc.value)
    if not hits:
        return Finding(summary={"matched": False, "hits": []})
    verdict = next(v for v in _SEVERITY if any(h["verdict"] == v for h in hits))
    summary = {
        "matched": True,
        "lists": sorted({h["list"] for h in hits}),
        "hits": [
            {k: h[k] for k in ("list", "verdict", "value", "match", "added_at", "note")}
            for h in hits[:MAX_HITS]
        ],
    }
    return Finding(verdict=verdict, summary=summary, raw={"hits": hits[:MAX_HITS]})
