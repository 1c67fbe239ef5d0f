"""EmailRep.io (Sublime Security): reputation of an e-mail address.

API reference: docs.sublime.security/reference/emailrep-introduction (``GET /{email}``, ``Key``
header, a User-Agent required; errors are ``{"status": "fail", "reason": ...}``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins.spec import Context, Finding, PluginError, PluginSpec, Reply, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="emailrep",
    display_name="EmailRep.io",
    ioc_types=frozenset({"email"}),
    categories=("email",),
    key_var="EMAILREP_API_KEY",
    key="optional",
    auth="header",
    auth_name="Key",
    url_var="EMAILREP_URL",
    default_url="https://emailrep.io",
)

MAX_LISTED = 10
WEB = "https://emailrep.io"
_DETAILS = (
    "blacklisted",
    "malicious_activity",
    "malicious_activity_recent",
    "credentials_leaked",
    "credentials_leaked_recent",
    "data_breach",
    "first_seen",
    "last_seen",
    "domain_exists",
    "domain_reputation",
    "new_domain",
    "days_since_domain_creation",
    "suspicious_tld",
    "spam",
    "free_provider",
    "disposable",
    "deliverable",
    "valid_mx",
    "spoofable",
    "spf_strict",
    "dmarc_enforced",
)
# Reasons EmailRep gives in {"status": "fail"} bodies, in whatever HTTP status they arrive.
_AUTH_WORDS = ("invalid api key", "unauthenticated", "api key required")
_LIMIT_WORDS = ("exceeded", "limit", "quota")


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Fetch EmailRep's report for one address and judge it by its blacklist and activity flags."""
    reply = ctx.fetch_json("GET", f"/{quote(ioc.value, safe='')}", accept=(400, 401, 403, 429))
    data = reply.data
    if reply.status != 200 or not isinstance(data, dict) or data.get("status") == "fail":
        raise error_for(ctx, reply)
    if "reputation" not in data:
        raise PluginError("provider_error", "EmailRep's answer has no reputation")
    raw_details = data.get("details")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    summary: dict[str, Any] = {
        "found": not (data.get("reputation") == "none" and not data.get("references")),
        "reputation": data.get("reputation"),
        "suspicious": data.get("suspicious"),
        "references": data.get("references"),
    }
    summary.update({name: details.get(name) for name in _DETAILS})
    summary["profiles"] = list(details.get("profiles") or [])[:MAX_LISTED]
    link = f"{WEB}/{quote(ioc.value, safe='@')}"
    return Finding(verdict=verdict(data, details), summary=summary, link=link, raw=data)


def verdict(data: dict[str, Any], details: dict[str, Any]) -> Verdict:
    """Blacklisted or malicious activity is malicious; suspicious is suspicious; high reputation harmless."""
    if details.get("blacklisted") is True or details.get("malicious_activity") is True:
        return "malicious"
    if data.get("suspicious") is True:
        return "suspicious"
    if data.get("reputation") == "high":
        return "harmless"
    return "unknown"


def error_for(ctx: Context, reply: Reply) -> PluginError:
    """Map a ``{"status": "fail", "reason": ...}`` answer by its reason, whatever its HTTP status."""
    reason = reply.data.get("reason") if isinstance(reply.data, dict) else None
    text = reason if isinstance(reason, str) else ""
    message = ctx.safe_message(f"HTTP {reply.status}", text or None)
    lowered = text.lower()
    # Keyless use is now disabled with a 429 whose reason asks for a key: that is an auth problem.
    if reply.status in (401, 403) or any(word in lowered for word in _AUTH_WORDS):
        return PluginError("auth_failed", message)
    if reply.status == 429 or any(word in lowered for word in _LIMIT_WORDS):
        retry = ctx.error_for(429, None, reply.headers).retry_after_s
        return PluginError("rate_limited", message, retry_after_s=retry)
    if reply.status == 200 and not text:
        return PluginError("provider_error", "EmailRep's answer is not a report")
    return PluginError("provider_error", message)
