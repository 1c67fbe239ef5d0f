"""Fake IANA RDAP bootstrap plus one domain registry and one RIR (bodies from providers.md).

The bootstrap files answer absolute registry URLs built from the request's own scheme and host and
the router's prefix, so the plugin's follow-up queries come back to this fake on loopback. The RIR
redirects IP queries once, like RIRs do for blocks another RIR holds.
"""

from __future__ import annotations

import httpx

from plugins import registry
from tests.fakes import catalog

PLUGIN = "rdap"
ENV: dict[str, str] = {}
CASES = [("domain", "evil.example", "unknown"), ("ip", "8.8.8.8", "unknown")]


def vcard(*props: list) -> list:
    return ["vcard", [["version", {}, "text", "4.0"], *props]]


DOMAIN = {
    "objectClassName": "domain",
    "handle": "2881234567_DOMAIN_EXAMPLE-VRSN",
    "ldhName": "EVIL.EXAMPLE",
    "status": ["client transfer prohibited"],
    "events": [
        {"eventAction": "registration", "eventDate": "2024-12-27T18:22:05Z"},
        {"eventAction": "expiration", "eventDate": "2025-12-27T18:22:05Z"},
        {"eventAction": "last changed", "eventDate": "2024-12-28T09:00:00Z"},
    ],
    "entities": [
        {
            "objectClassName": "entity",
            "handle": "9999",
            "roles": ["registrar"],
            "publicIds": [{"type": "IANA Registrar ID", "identifier": "9999"}],
            "vcardArray": vcard(["fn", {}, "text", "Example Registrar, Inc."]),
            "entities": [
                {
                    "objectClassName": "entity",
                    "roles": ["abuse"],
                    "vcardArray": vcard(["email", {}, "text", "abuse@registrar.example"]),
                }
            ],
        }
    ],
    "nameservers": [{"objectClassName": "nameserver", "ldhName": "NS1.HOSTER.EXAMPLE"}],
    "secureDNS": {"delegationSigned": False},
    "rdapConformance": ["rdap_level_0"],
}
NETWORK = {
    "objectClassName": "ip network",
    "handle": "NET-8-8-8-0-1",
    "startAddress": "8.8.8.0",
    "endAddress": "8.8.8.255",
    "ipVersion": "v4",
    "name": "EXAMPLE-HOSTING-NET",
    "type": "ASSIGNED PA",
    "country": "NL",
    "parentHandle": "NET-8-0-0-0-0",
    "cidr0_cidrs": [{"v4prefix": "8.8.8.0", "length": 24}],
    "entities": [
        {
            "objectClassName": "entity",
            "roles": ["registrant"],
            "vcardArray": vcard(["fn", {}, "text", "Example Hosting Ltd"]),
        }
    ],
    "events": [{"eventAction": "registration", "eventDate": "2015-06-01T00:00:00Z"}],
    "rdapConformance": ["rdap_level_0", "cidr0"],
}
NOT_FOUND = {"errorCode": 404, "title": "Not Found", "description": ["The requested object was not found."]}


def handle(request: httpx.Request) -> httpx.Response | None:
    if request.method != "GET":
        return None
    path = request.url.path
    root = f"{request.url.scheme}://{request.url.netloc.decode()}{catalog.url_prefix(registry.spec(PLUGIN).url_var)}"
    if path in ("/dns.json", "/ipv4.json", "/ipv6.json"):
        return httpx.Response(200, json=_bootstrap(path, root))
    if path.startswith("/registry/domain/"):
        return _object(DOMAIN if path.endswith("/evil.example") else None)
    if path.startswith("/rir-a/ip/"):
        # The first RIR refers the query to the one holding the block.
        return httpx.Response(302, headers={"Location": root + "/rir-b/ip/" + path.rpartition("/")[2]})
    if path.startswith("/rir-b/ip/"):
        return _object(NETWORK if path.endswith("/8.8.8.8") else None)
    return None


def _bootstrap(path: str, root: str) -> dict:
    services = {
        "/dns.json": [[["example"], [root + "/registry/"]]],
        "/ipv4.json": [[["8.0.0.0/8", "1.0.0.0/8"], [root + "/rir-a/"]]],
        "/ipv6.json": [],
    }[path]
    return {
        "version": "1.0",
        "publication": "2025-01-01T00:00:00Z",
        "description": "fake",
        "services": services,
    }


def _object(body: dict | None) -> httpx.Response:
    headers = {"Content-Type": "application/rdap+json"}
    return httpx.Response(200 if body else 404, json=body or NOT_FOUND, headers=headers)
