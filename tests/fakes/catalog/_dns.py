"""What the two DNS JSON resolver fakes (doh_resolve, cloudflare_security_dns) share: the answer body."""

from __future__ import annotations

from typing import Any

import httpx


def dns_json(name: str, status: int, answer: list[dict[str, Any]] | None = None) -> httpx.Response:
    """Return a resolver's DNS JSON answer for an A question about ``name`` (no Answer when None)."""
    body: dict[str, object] = {
        "Status": status,
        "TC": False,
        "RD": True,
        "RA": True,
        "AD": False,
        "CD": False,
        "Question": [{"name": name, "type": 1}],
    }
    if answer is not None:
        body["Answer"] = answer
    return httpx.Response(200, json=body, headers={"Content-Type": "application/dns-json"})
