"""Fake URLhaus API (bodies from providers.md's examples; hosts moved to global/.example values)."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx

from tests.fakes import catalog

PLUGIN = "urlhaus"
KEY = "abusech-test-key-0123456789"
ENV = {"ABUSECH_API_KEY": KEY}
SHA256 = "d9801979104b8f74be66d341f378234877f59c31babb576329bdedc2a486b8be"
MD5 = "7ad78abb5b739fef9c218f09fc201442"
URL = "http://evil.example/bins/x86"
CASES = [
    ("url", URL, "malicious"),
    ("domain", "evil.example", "suspicious"),  # every listed URL offline since 2024
    ("ip", "8.8.8.8", "malicious"),
    ("hash", SHA256, "malicious"),
]

URL_OK = {
    "query_status": "ok",
    "id": "3201187",
    "urlhaus_reference": "https://urlhaus.abuse.ch/url/3201187/",
    "url": URL,
    "url_status": "online",
    "host": "evil.example",
    "date_added": "2025-01-01 06:12:33 UTC",
    "last_online": "2025-01-02 11:00:00 UTC",
    "threat": "malware_download",
    "blacklists": {"spamhaus_dbl": "not listed", "surbl": "not listed"},
    "reporter": "examplereporter",
    "larted": "true",
    "takedown_time_seconds": None,
    "tags": ["elf", "mirai"],
    "payloads": [
        {
            "firstseen": "2025-01-01",
            "filename": "x86",
            "file_type": "elf",
            "response_size": "94208",
            "response_md5": MD5,
            "response_sha256": SHA256,
            "urlhaus_download": f"https://urlhaus-api.abuse.ch/v1/download/{SHA256}/",
            "signature": "Mirai",
            "virustotal": None,
            "imphash": None,
            "ssdeep": "1536:exampleexampleexample:exampleexample",
            "tlsh": "T1EXAMPLE",
        }
    ],
}
HOST_URL = {
    "id": "3199001",
    "urlhaus_reference": "https://urlhaus.abuse.ch/url/3199001/",
    "url": "https://evil.example/update.zip",
    "url_status": "offline",
    "date_added": "2024-12-28 14:02:10 UTC",
    "threat": "malware_download",
    "reporter": "examplereporter",
    "larted": "true",
    "takedown_time_seconds": 7200,
    "tags": ["zip", "AsyncRAT"],
}
HOST_OK = {
    "query_status": "ok",
    "urlhaus_reference": "https://urlhaus.abuse.ch/host/evil.example/",
    "host": "evil.example",
    "firstseen": "2024-12-28 14:02:10 UTC",
    "url_count": "2",
    "blacklists": {"spamhaus_dbl": "abused_legit_malware", "surbl": "listed"},
    "urls": [HOST_URL],
}
HOST_ONLINE = {
    **HOST_OK,
    "host": "8.8.8.8",
    "urlhaus_reference": "https://urlhaus.abuse.ch/host/8.8.8.8/",
    "urls": [{**HOST_URL, "url": "http://8.8.8.8/bins/x86", "url_status": "online"}],
}
PAYLOAD_OK = {
    "query_status": "ok",
    "md5_hash": MD5,
    "sha256_hash": SHA256,
    "file_type": "elf",
    "file_size": "94208",
    "signature": "Mirai",
    "firstseen": "2025-01-01 06:12:40",
    "lastseen": "2025-01-02 11:00:05",
    "url_count": "1",
    "urlhaus_download": f"https://urlhaus-api.abuse.ch/v1/download/{SHA256}/",
    "virustotal": None,
    "urls": [
        {
            "url_id": "3201187",
            "url": URL,
            "url_status": "online",
            "urlhaus_reference": "https://urlhaus.abuse.ch/url/3201187/",
            "filename": "x86",
            "firstseen": "2025-01-01",
            "lastseen": "2025-01-02",
        }
    ],
}
NOT_FOUND = {"query_status": "no_results"}


def answer(path: str, form: dict[str, str]) -> dict:
    """Return the body URLhaus gives for one query."""
    if path == "/url/":
        return URL_OK if form.get("url") == URL else NOT_FOUND
    if path == "/host/":
        return {"evil.example": HOST_OK, "8.8.8.8": HOST_ONLINE}.get(form.get("host", ""), NOT_FOUND)
    if form.get("sha256_hash") == SHA256 or form.get("md5_hash") == MD5:
        return PAYLOAD_OK
    return NOT_FOUND


def handle(request: httpx.Request) -> httpx.Response | None:
    if request.method != "POST" or request.url.path not in ("/url/", "/host/", "/payload/"):
        return None
    if request.headers.get("auth-key") != KEY:
        return catalog.json_response(401, {"query_status": "unknown_auth_key"})
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    return catalog.json_response(200, answer(request.url.path, form))
