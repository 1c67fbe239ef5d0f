"""Have I Been Pwned v3: the data breaches an e-mail address appears in.

API reference: haveibeenpwned.com/API/v3 (``GET /breachedaccount/{account}``, ``hibp-api-key`` header,
a user-agent required; 404 means not pwned).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from plugins.spec import Context, Finding, PluginError, PluginSpec, Reply
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="hibp",
    display_name="Have I Been Pwned",
    ioc_types=frozenset({"email"}),
    categories=("email",),
    key_var="HIBP_API_KEY",
    key="required",
    auth="header",
    auth_name="hibp-api-key",
    url_var="HIBP_URL",
    default_url="https://haveibeenpwned.com/api/v3",
)

MAX_LISTED = 10
# Sent explicitly: the default of includeUnverified is not confirmed; unverified breaches are
# listed and marked (is_verified) rather than silently dropped.
PARAMS = {"truncateResponse": "false", "includeUnverified": "true"}
BREACH_PAGE = "https://haveibeenpwned.com/PwnedWebsites#"
_FIELDS = {
    "Name": "name",
    "Title": "title",
    "Domain": "domain",
    "BreachDate": "breach_date",
    "AddedDate": "added_date",
    "PwnCount": "pwn_count",
    "IsVerified": "is_verified",
    "IsSensitive": "is_sensitive",
    "IsSpamList": "is_spam_list",
    "IsMalware": "is_malware",
    "IsFabricated": "is_fabricated",
}
_TRY_AGAIN = re.compile(r"try again in (\d+) seconds?", re.IGNORECASE)


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """List the breaches of one address; being breached says nothing about malice (verdict unknown)."""
    path = f"/breachedaccount/{quote(ioc.value, safe='')}"
    reply = ctx.fetch_json("GET", path, params=PARAMS, accept=(404, 429))
    if reply.status == 429:
        raise rate_limited(ctx, reply)
    if reply.status == 404:
        summary = {"found": False, "breached": False, "breach_count": 0, "message": "not found in any breach"}
        return Finding(summary=summary, raw=reply.data)
    if not isinstance(reply.data, list):
        raise PluginError("provider_error", "HIBP's answer is not a list of breaches")
    breaches = [b for b in reply.data if isinstance(b, dict)]
    return Finding(summary=summarise(breaches), raw=reply.data)


def summarise(breaches: list[dict[str, Any]]) -> dict[str, Any]:
    """Summarise breaches, newest first: count, latest date, union of data classes, first ten."""
    ordered = sorted(breaches, key=lambda b: str(b.get("BreachDate") or ""), reverse=True)
    classes: list[str] = []
    for breach in ordered:
        classes += [c for c in breach.get("DataClasses") or [] if c not in classes]
    dates = [str(b["BreachDate"]) for b in ordered if b.get("BreachDate")]
    return {
        "found": bool(ordered),
        "breached": bool(ordered),
        "breach_count": len(ordered),
        "latest_breach_date": dates[0] if dates else None,
        "data_classes": classes[:MAX_LISTED],
        "breaches": [breach_summary(b) for b in ordered[:MAX_LISTED]],
    }


def breach_summary(breach: dict[str, Any]) -> dict[str, Any]:
    """Keep one breach's listed fields (a truncated answer holds only the name)."""
    entry: dict[str, Any] = {short: breach.get(name) for name, short in _FIELDS.items()}
    entry["data_classes"] = list(breach.get("DataClasses") or [])[:MAX_LISTED]
    name = breach.get("Name")
    entry["link"] = f"{BREACH_PAGE}{quote(str(name), safe='')}" if name else None
    return entry


def rate_limited(ctx: Context, reply: Reply) -> PluginError:
    """Return the rate-limit error, taking the wait from Retry-After or else the message's seconds."""
    error = ctx.error_for(429, reply.data, reply.headers)
    if error.retry_after_s is None:
        found = _TRY_AGAIN.search(error.message)
        error.retry_after_s = float(found.group(1)) if found else None
    return error
