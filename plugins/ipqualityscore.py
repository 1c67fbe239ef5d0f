"""IPQualityScore: fraud and risk scores for e-mail addresses, URLs/domains and IPs.

API reference: ipqualityscore.com/documentation (``GET /api/json/{email,url,ip}/{key}/{value}``; errors
and quota exhaustion as HTTP 200 with ``success: false`` and a ``message``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins.spec import Context, Finding, PluginError, PluginSpec, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="ipqualityscore",
    display_name="IPQualityScore",
    ioc_types=frozenset({"email", "url", "domain", "ip"}),
    categories=("reputation",),
    key_var="IPQUALITYSCORE_API_KEY",
    key="required",
    auth="plugin",
    url_var="IPQUALITYSCORE_URL",
    default_url="https://ipqualityscore.com/api/json",
    # "header" sends the key as IPQS-KEY with the value as a query parameter instead of in the path.
    options=("IPQUALITYSCORE_AUTH",),
)

MALICIOUS_SCORE = 90
SUSPICIOUS_SCORE = 75
KEY_HEADER = "IPQS-KEY"
_ENDPOINTS = {"email": "email", "url": "url", "domain": "url", "ip": "ip"}
_PARAMS: dict[str, dict[str, str]] = {
    "email": {"timeout": "7", "fast": "true", "abuse_strictness": "0"},
    "url": {"strictness": "0", "fast": "false"},
    "ip": {"strictness": "0", "allow_public_access_points": "true"},
}
_COMMON = ("success", "message", "request_id")
_FIELDS = {
    "email": (
        "fraud_score",
        "valid",
        "disposable",
        "recent_abuse",
        "leaked",
        "honeypot",
        "spam_trap_score",
        "deliverability",
        "smtp_score",
        "overall_score",
        "catch_all",
        "suspect",
    ),
    "url": (
        "risk_score",
        "unsafe",
        "malware",
        "phishing",
        "suspicious",
        "spamming",
        "parking",
        "domain_rank",
        "dns_valid",
        "category",
        "final_url",
    ),
    "ip": ("fraud_score", "proxy", "vpn", "tor", "bot_status", "recent_abuse", "ISP", "country_code", "host"),
}
_NESTED: dict[str, tuple[str, ...]] = {
    "email": ("domain_age", "first_seen"),
    "url": ("domain_age",),
    "ip": (),
}
_QUOTA_WORDS = ("quota", "credit", "exceeded", "limit")
_AUTH_WORDS = ("invalid key", "api key", "invalid or unauthorized", "unauthorized")


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Score the IOC and rate it by IPQS's guidance (75+ suspicious, 90+ high risk)."""
    endpoint = _ENDPOINTS[ioc.type]
    path, params, headers = request_for(ctx, endpoint, ioc.value)
    reply = ctx.fetch_json("GET", path, params={**_PARAMS[endpoint], **params}, headers=headers)
    data = reply.data if isinstance(reply.data, dict) else None
    if data is None:
        raise PluginError("provider_error", "IPQualityScore's answer is not a JSON object")
    if data.get("success") is not True:
        raise failure(ctx, reply.status, data)
    return Finding(verdict(endpoint, data), summarise(endpoint, data), raw=data)


def request_for(ctx: Context, endpoint: str, value: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """Return path, extra query and headers: the key as a path segment, or as IPQS-KEY when configured."""
    key = ctx.key or ""
    if ctx.options.get("IPQUALITYSCORE_AUTH", "").strip().lower() == "header":
        return f"/{endpoint}", {endpoint: value}, {KEY_HEADER: key}
    return f"/{endpoint}/{quote(key, safe='')}/{quote(value, safe='')}", {}, {}


def failure(ctx: Context, status: int, data: dict[str, Any]) -> PluginError:
    """Return the error for a ``success: false`` answer: quota, key, or anything else."""
    text = str(data.get("message") or "")
    message = ctx.safe_message(f"HTTP {status}", text or "success is false")
    lowered = text.lower()
    if any(word in lowered for word in _QUOTA_WORDS):
        return PluginError("rate_limited", message)
    if any(word in lowered for word in _AUTH_WORDS):
        return PluginError("auth_failed", message)
    return PluginError("provider_error", message)


def verdict(endpoint: str, data: dict[str, Any]) -> Verdict:
    """Apply the catalog's rule for URLs, or for e-mail addresses and IPs."""
    if endpoint == "url":
        risk = _score(data.get("risk_score"))
        if data.get("malware") is True or data.get("phishing") is True or risk >= MALICIOUS_SCORE:
            return "malicious"
        if data.get("suspicious") is True or risk >= SUSPICIOUS_SCORE:
            return "suspicious"
        return "harmless"
    fraud = _score(data.get("fraud_score"))
    honeypot = endpoint == "email" and data.get("honeypot") is True
    if fraud >= MALICIOUS_SCORE or data.get("recent_abuse") is True or honeypot:
        return "malicious"
    if fraud >= SUSPICIOUS_SCORE or data.get("disposable") is True:
        return "suspicious"
    if endpoint == "email" and data.get("valid") is False:
        return "unknown"
    return "harmless"


def summarise(endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
    """Keep the common and per-type fields; nested ``human`` dates take their parent's name."""
    summary: dict[str, Any] = {name: data.get(name) for name in _COMMON}
    summary.update({_snake(name): data.get(name) for name in _FIELDS[endpoint]})
    for parent in _NESTED[endpoint]:
        nested = data.get(parent)
        summary[parent] = nested.get("human") if isinstance(nested, dict) else None
    return summary


def _snake(name: str) -> str:
    return name.lower()


def _score(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0
