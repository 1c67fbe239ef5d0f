"""AbuseIPDB v2: community abuse reports for IP addresses. API reference: docs.abuseipdb.com."""

from __future__ import annotations

from typing import Any

from plugins.spec import Context, Finding, PluginError, PluginSpec, Verdict, is_number
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="abuseipdb",
    display_name="AbuseIPDB",
    ioc_types=frozenset({"ip"}),
    categories=("reputation",),
    key_var="ABUSEIPDB_API_KEY",
    key="required",
    auth="header",
    auth_name="Key",
    url_var="ABUSEIPDB_URL",
    default_url="https://api.abuseipdb.com/api/v2",
)

MALICIOUS_SCORE = 75
SUSPICIOUS_SCORE = 25
MAX_AGE_DAYS = 90
_FIELDS = {
    "abuseConfidenceScore": "abuse_confidence_score",
    "totalReports": "total_reports",
    "numDistinctUsers": "num_distinct_users",
    "lastReportedAt": "last_reported_at",
    "isWhitelisted": "is_whitelisted",
    "isPublic": "is_public",
    "countryCode": "country_code",
    "usageType": "usage_type",
    "isp": "isp",
    "domain": "domain",
    "hostnames": "hostnames",
    "isTor": "is_tor",
}


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Fetch the abuse report for one IP and keep what an analyst reads first."""
    reply = ctx.fetch_json(
        "GET",
        "/check",
        params={"ipAddress": ioc.value, "maxAgeInDays": MAX_AGE_DAYS},
        headers={"Accept": "application/json"},
    )
    data = reply.data.get("data") if isinstance(reply.data, dict) else None
    if not isinstance(data, dict) or "abuseConfidenceScore" not in data:
        raise PluginError("provider_error", "AbuseIPDB's answer has no data.abuseConfidenceScore")
    score = data["abuseConfidenceScore"]
    if score is not None and not is_number(score):
        raise PluginError("provider_error", "AbuseIPDB's data.abuseConfidenceScore is not a number")
    summary: dict[str, Any] = {short: data.get(name) for name, short in _FIELDS.items()}
    if isinstance(summary["hostnames"], list):
        summary["hostnames"] = summary["hostnames"][:10]
    return Finding(
        verdict=verdict(data),
        summary=summary,
        link=f"https://www.abuseipdb.com/check/{ioc.value}",
        raw=reply.data,
    )


def verdict(data: dict[str, Any]) -> Verdict:
    """Whitelisted is harmless; the confidence score decides the rest (no reports is unknown)."""
    if data.get("isWhitelisted") is True:
        return "harmless"
    score = int(data.get("abuseConfidenceScore") or 0)
    if score >= MALICIOUS_SCORE:
        return "malicious"
    if score >= SUSPICIOUS_SCORE:
        return "suspicious"
    return "unknown"
