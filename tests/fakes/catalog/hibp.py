"""Fake Have I Been Pwned v3 breachedaccount endpoint (bodies from providers.md)."""

from __future__ import annotations

import urllib.parse

import httpx

PLUGIN = "hibp"
KEY = "hibp-test-key-0123456789"
ENV = {"HIBP_API_KEY": KEY}
CASES = [("email", "j.doe@example.com", "unknown")]
PWNED = "j.doe@example.com"
BREACH = {
    "Name": "ExampleForum",
    "Title": "Example Forum",
    "Domain": "forum.example",
    "BreachDate": "2021-05-02",
    "AddedDate": "2021-07-10T12:00:00Z",
    "ModifiedDate": "2021-07-10T12:00:00Z",
    "PwnCount": 1203344,
    "Description": "In May 2021, the forum suffered a data breach exposing usernames, email addresses and "
    "password hashes.",
    "LogoPath": "https://haveibeenpwned.com/Content/Images/PwnedLogos/ExampleForum.png",
    "DataClasses": ["Email addresses", "Passwords", "Usernames"],
    "IsVerified": True,
    "IsFabricated": False,
    "IsSensitive": False,
    "IsRetired": False,
    "IsSpamList": False,
    "IsMalware": False,
    "IsSubscriptionFree": False,
}
INVALID_KEY = {"statusCode": 401, "message": "Access denied due to invalid hibp-api-key."}
RATE_LIMITED = {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 2 seconds."}
_PREFIX = "/breachedaccount/"


def handle(request: httpx.Request) -> httpx.Response | None:
    """Answer ``GET /breachedaccount/{account}``: the example breach for j.doe@example.com, else 404."""
    if request.method != "GET" or not request.url.path.startswith(_PREFIX):
        return None
    if not request.headers.get("user-agent"):
        return httpx.Response(403)
    if request.headers.get("hibp-api-key") != KEY:
        return httpx.Response(401, json=INVALID_KEY)
    account = urllib.parse.unquote(request.url.path[len(_PREFIX) :]).lower()
    if account != PWNED:
        return httpx.Response(404)
    truncated = request.url.params.get("truncateResponse", "true") != "false"
    return httpx.Response(200, json=[{"Name": BREACH["Name"]}] if truncated else [BREACH])
