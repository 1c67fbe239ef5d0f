"""What virustotal and virustotal_url_scan share: the API v3 quota backoff, URL ids and the GUI."""

from __future__ import annotations

import base64
from typing import Any

from plugins.spec import Context, PluginError, Reply

QUOTA_BACKOFF_S = 60.0  # VT sends no Retry-After; its public quota (4/min) is per minute.
GUI = "https://www.virustotal.com/gui"
STATS = ("malicious", "suspicious", "harmless", "undetected", "timeout")


def fetch(ctx: Context, method: str, path: str, **kwargs: Any) -> Reply:
    """Call VirusTotal, giving a quota error without Retry-After the per-minute backoff."""
    try:
        return ctx.fetch_json(method, path, **kwargs)
    except PluginError as ex:
        if ex.code == "rate_limited" and ex.retry_after_s is None:
            ex.retry_after_s = QUOTA_BACKOFF_S
        raise


def url_id(url: str) -> str:
    """Return VirusTotal's URL identifier: URL-safe base64 of the URL without padding."""
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
