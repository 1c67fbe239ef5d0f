"""CIRCL hashlookup: is a hash part of a known software set (NSRL and other corpora)?

API reference: hashlookup.circl.lu (OpenAPI at /swagger.json; ``GET /lookup/{md5,sha1,sha256}/{hash}``,
404 for an unknown hash). It is not a malware database: found means known software.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from plugins.spec import Context, Finding, PluginError, PluginSpec, Verdict
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="circl_hashlookup",
    display_name="CIRCL hashlookup",
    ioc_types=frozenset({"hash"}),
    categories=("reputation",),
    url_var="CIRCL_HASHLOOKUP_URL",
    default_url="https://hashlookup.circl.lu",
)

MAX_ITEMS = 10
_FIELDS = {
    "FileName": "file_name",
    "FileSize": "file_size",
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "source": "source",
    "db": "db",
    "hashlookup:trust": "hashlookup_trust",
}
_PRODUCT_FIELDS = {"ProductName": "product_name", "ProductVersion": "product_version", "MfgCode": "mfg_code"}


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Look the hash up; known software is harmless unless a malicious source also lists it."""
    if ioc.hash_kind not in SPEC.hash_kinds:
        raise PluginError("not_supported", "CIRCL hashlookup takes MD5, SHA-1 and SHA-256 hashes")
    path = f"/lookup/{ioc.hash_kind}/{quote(ioc.value, safe='')}"
    reply = ctx.fetch_json("GET", path, accept=(404,), headers={"Accept": "application/json"})
    link = f"{ctx.base_url}{path}"
    if reply.status == 404:
        message = reply.data.get("message") if isinstance(reply.data, dict) else None
        return Finding(summary={"found": False, "message": message}, raw=reply.data)
    if not isinstance(reply.data, dict):
        raise PluginError("provider_error", "CIRCL hashlookup's answer is not a JSON object")
    return Finding(verdict(reply.data), summarise(reply.data), link=link, raw=reply.data)


def verdict(data: dict[str, Any]) -> Verdict:
    """Return suspicious when KnownMalicious is set (meaning unconfirmed), else harmless."""
    # KnownMalicious has been seen as a source name; accept a string, list, number or flag.
    flag = data.get("KnownMalicious")
    if isinstance(flag, str):
        known = flag.strip().lower() not in ("", "0", "false", "no", "none")
    else:
        known = bool(flag)
    return "suspicious" if known else "harmless"


def summarise(data: dict[str, Any]) -> dict[str, Any]:
    """Keep the file facts, the NSRL product, the trust score and parent/child counts."""
    summary: dict[str, Any] = {"found": True, **{short: data.get(name) for name, short in _FIELDS.items()}}
    product = data.get("ProductCode")
    if not isinstance(product, dict):
        product = {}
    summary.update({short: product.get(name) for name, short in _PRODUCT_FIELDS.items()})
    known = data.get("KnownMalicious")
    summary["known_malicious"] = known[:MAX_ITEMS] if isinstance(known, list) else known
    summary["parents"] = _count(data, "parents", "hashlookup:parent-total")
    summary["children"] = _count(data, "children", "hashlookup:children-total")
    return summary


def _count(data: dict[str, Any], items: str, total: str) -> int:
    if isinstance(data.get(total), int):
        return int(data[total])
    value = data.get(items)
    return len(value) if isinstance(value, list) else 0
