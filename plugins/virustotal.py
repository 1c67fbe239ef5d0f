"""VirusTotal v3: multi-engine reputation for IPs, domains, URLs and files.

API reference: docs.virustotal.com/reference (``x-apikey`` header; JSON:API bodies).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins import _virustotal
from plugins.spec import Context, Finding, PluginError, PluginSpec, is_number, verdict_from_counts
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="virustotal",
    display_name="VirusTotal",
    ioc_types=frozenset({"ip", "domain", "url", "hash"}),
    categories=("reputation",),
    key_var="VIRUSTOTAL_API_KEY",
    key="required",
    auth="header",
    auth_name="x-apikey",
    url_var="VIRUSTOTAL_URL",
    default_url="https://www.virustotal.com/api/v3",
)

_TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "ip": ("as_owner", "asn", "country", "network"),
    "domain": ("registrar", "creation_date", "categories"),
    "url": ("url", "last_final_url", "title", "last_http_response_code", "categories", "threat_names"),
    "hash": ("meaningful_name", "type_description", "size", "sha256", "md5", "first_submission_date"),
}


def request_path(ioc: Ioc) -> str:
    """Return the object path for an IOC."""
    if ioc.type == "url":
        return f"/urls/{_virustotal.url_id(ioc.value)}"
    collection = {"ip": "ip_addresses", "domain": "domains", "hash": "files"}[ioc.type]
    return f"/{collection}/{quote(ioc.value, safe='')}"


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Fetch VirusTotal's object for the IOC and summarise its last analysis."""
    reply = _virustotal.fetch(ctx, "GET", request_path(ioc), accept=(404,))
    if reply.status == 404:
        return Finding(
            summary={"found": False, "message": "VirusTotal has no record of this indicator"}, raw=reply.data
        )
    data = reply.data.get("data") if isinstance(reply.data, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("attributes"), dict):
        raise PluginError("provider_error", "VirusTotal's answer has no data.attributes")
    return _finding(ioc, data, reply.data)


def _finding(ioc: Ioc, data: dict[str, Any], raw: Any) -> Finding:
    attributes = data["attributes"]
    stats = attributes.get("last_analysis_stats") or {}
    if not isinstance(stats, dict):
        raise PluginError("provider_error", "VirusTotal's last_analysis_stats is not an object")
    counts = {name: _count(stats.get(name), name) for name in _virustotal.STATS}
    summary = summarise(ioc.type, attributes)
    verdict = verdict_from_counts(
        counts["malicious"], counts["suspicious"], counts["harmless"] + counts["undetected"]
    )
    summary["found"] = any(counts.values())
    return Finding(verdict=verdict, summary=summary, link=link(ioc, data), raw=raw)


def _count(value: Any, name: str) -> int:
    """Return one of last_analysis_stats' counts; a value that is not a number is provider_error."""
    if value is None:
        return 0
    if not is_number(value):
        raise PluginError("provider_error", f"VirusTotal's last_analysis_stats.{name} is not a number")
    return int(value)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def summarise(ioc_type: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """Keep the fields the catalog lists, flattened to snake_case leaf names."""
    stats = _object(attributes.get("last_analysis_stats"))
    votes = _object(attributes.get("total_votes"))
    summary: dict[str, Any] = {name: stats.get(name, 0) for name in _virustotal.STATS}
    summary.update(
        last_analysis_date=attributes.get("last_analysis_date"),
        reputation=attributes.get("reputation"),
        votes_harmless=votes.get("harmless", 0),
        votes_malicious=votes.get("malicious", 0),
        tags=tags[:10] if isinstance(tags := attributes.get("tags"), list) else [],
    )
    for name in _TYPE_FIELDS[ioc_type]:
        value = attributes.get(name)
        summary[name] = value[:10] if isinstance(value, list) else value
    if ioc_type == "domain":
        records = attributes.get("last_dns_records")
        records = [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []
        summary["last_dns_records"] = [{"type": r.get("type"), "value": r.get("value")} for r in records[:10]]
    if ioc_type == "hash":
        classification = _object(attributes.get("popular_threat_classification"))
        summary["suggested_threat_label"] = classification.get("suggested_threat_label")
    return summary


def link(ioc: Ioc, data: dict[str, Any]) -> str:
    """Return VirusTotal's page for the IOC."""
    if ioc.type == "url":
        return f"{_virustotal.GUI}/url/{data.get('id') or _virustotal.url_id(ioc.value)}"
    kind = {"ip": "ip-address", "domain": "domain", "hash": "file"}[ioc.type]
    return f"{_virustotal.GUI}/{kind}/{ioc.value}"
