"""Google Safe Browsing v4 Lookup API: Google's lists of phishing, malware and unwanted-software URLs.

API reference: developers.google.com/safe-browsing/v4/lookup-api (``POST /threatMatches:find``,
key in the ``key`` query parameter; standard Google API error bodies).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins.spec import Context, Finding, PluginError, PluginSpec, Reply, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="google_safe_browsing",
    display_name="Google Safe Browsing",
    ioc_types=frozenset({"url", "domain"}),
    categories=("reputation",),
    key_var="GOOGLE_SAFE_BROWSING_API_KEY",
    key="required",
    auth="query",
    auth_name="key",
    url_var="GOOGLE_SAFE_BROWSING_URL",
    default_url="https://safebrowsing.googleapis.com/v4",
)

CLIENT = {"clientId": "socbuddy", "clientVersion": "0.1.0"}
THREAT_TYPES = ("MALWARE", "SOCIAL_ENGINEERING", "UNWANTED_SOFTWARE", "POTENTIALLY_HARMFUL_APPLICATION")
MAX_LISTED = 10
REPORT = "https://transparencyreport.google.com/safe-browsing/search?url="
_AUTH_STATUSES = frozenset({"PERMISSION_DENIED", "UNAUTHENTICATED"})


def target(ioc: Ioc) -> str:
    """Return the URL to check: the URL itself, or ``http://{domain}/`` for a domain."""
    return ioc.value if ioc.type == "url" else f"http://{ioc.value}/"


def request_body(url: str) -> dict[str, Any]:
    """Return the threatMatches:find body for one URL."""
    return {
        "client": CLIENT,
        "threatInfo": {
            "threatTypes": list(THREAT_TYPES),
            "platformTypes": ["ANY_PLATFORM"],
            "threatEntryTypes": ["URL"],
            "threatEntries": [{"url": url}],
        },
    }


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Ask Safe Browsing whether the URL (or the domain's root URL) is on any threat list."""
    url = target(ioc)
    reply = ctx.fetch_json("POST", "/threatMatches:find", json=request_body(url), accept=(400, 429))
    data = reply.data if reply.data is not None else {}
    if reply.status in (400, 429) or not isinstance(data, dict) or "error" in data:
        raise error_for(ctx, reply)
    matches = data.get("matches") or []
    if not isinstance(matches, list):
        raise PluginError("provider_error", "Safe Browsing's answer has a matches field that is not a list")
    listed = [summarise(m) for m in matches if isinstance(m, dict)]
    summary = {
        "found": bool(listed),
        "checked_url": url,
        "match_count": len(listed),
        "threat_types": sorted({str(m["threat_type"]) for m in listed if m["threat_type"]}),
        "matches": listed[:MAX_LISTED],
    }
    verdict: Verdict = "malicious" if listed else "unknown"
    return Finding(verdict=verdict, summary=summary, link=REPORT + quote(ioc.value, safe=""), raw=data)


def summarise(match: dict[str, Any]) -> dict[str, Any]:
    """Keep the listed fields of one match as snake_case leaf names."""
    threat = match.get("threat") if isinstance(match.get("threat"), dict) else None
    return {
        "threat_type": match.get("threatType"),
        "platform_type": match.get("platformType"),
        "url": threat.get("url") if threat else None,
        "cache_duration": match.get("cacheDuration"),
    }


def error_for(ctx: Context, reply: Reply) -> PluginError:
    """Map a Google API error body: a bad key is reported as 400 INVALID_ARGUMENT."""
    error = reply.data.get("error") if isinstance(reply.data, dict) else None
    if reply.status == 429:
        found = ctx.error_for(429, reply.data, reply.headers)
        if found.retry_after_s is None and isinstance(error, dict):
            found.retry_after_s = retry_delay_s(error)
        return found
    if not isinstance(error, dict):
        if reply.status == 400:
            return ctx.error_for(reply.status, reply.data, reply.headers)
        return PluginError(
            "provider_error", f"Safe Browsing answered HTTP {reply.status} with an unexpected body"
        )
    message = ctx.safe_message(f"HTTP {reply.status}", _text(error))
    status = str(error.get("status") or "")
    if status in _AUTH_STATUSES or "api key" in str(error.get("message") or "").lower():
        return PluginError("auth_failed", message)
    if status == "RESOURCE_EXHAUSTED":
        return PluginError("rate_limited", message, retry_after_s=retry_delay_s(error))
    return PluginError("provider_error", message)


def retry_delay_s(error: dict[str, Any]) -> float | None:
    """Return the RetryInfo delay (``"30s"``) from a Google error's details, if any."""
    for detail in error.get("details") or []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return max(0.0, float(delay[:-1]))
            except ValueError:
                return None
    return None


def _text(error: dict[str, Any]) -> str | None:
    message = error.get("message")
    status = error.get("status")
    if isinstance(message, str) and isinstance(status, str):
        return f"{status}: {message}"
    return message if isinstance(message, str) else None
