"""Fake CIRCL hashlookup (bodies from providers.md's examples)."""

from __future__ import annotations

import httpx

PLUGIN = "circl_hashlookup"
ENV: dict[str, str] = {}
SHA1 = "1212f771174e85d234889c24da391e901cff32d4"
CASES = [("hash", SHA1, "harmless")]

KNOWN = {
    "CRC32": "4C2F9A11",
    "FileName": "notepad.exe",
    "FileSize": "201216",
    "MD5": "817C07263993F8BDD585AC0D9FA94878",
    "OpSystemCode": {
        "MfgCode": "1006",
        "OpSystemCode": "362",
        "OpSystemName": "TBD",
        "OpSystemVersion": "none",
    },
    "ProductCode": {
        "ApplicationType": "Operating System",
        "Language": "English",
        "MfgCode": "608",
        "OpSystemCode": "362",
        "ProductCode": "190742",
        "ProductName": "Example OS",
        "ProductVersion": "10.0",
    },
    "SHA-1": "1212F771174E85D234889C24DA391E901CFF32D4",
    "SHA-256": "EB3A3ABC3D3B8DAB1D2450CBB6B7E5D1094A0F114F092BBD471AE3EB5330CE04",
    "SpecialCode": "",
    "db": "nsrl_modern_rds",
    "hashlookup:parent-total": 3,
    "hashlookup:trust": 65,
    "insert-timestamp": "1700000000.123456",
    "source": "NSRL",
}
_NAMES = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256"}


def handle(request: httpx.Request) -> httpx.Response | None:
    parts = request.url.path.split("/")
    if request.method != "GET" or len(parts) != 4 or parts[1] != "lookup" or parts[2] not in _NAMES:
        return None
    kind, value = parts[2], parts[3]
    if value.upper() == KNOWN.get(_NAMES[kind]):
        return httpx.Response(200, json=KNOWN)
    return httpx.Response(404, json={"message": f"Non existing {_NAMES[kind]}", "query": value})
