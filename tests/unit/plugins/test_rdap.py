"""RDAP via the IANA bootstrap against providers.md's example bodies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from plugins import rdap
from plugins.spec import PluginError
from tests import plugin_harness as h
from tests.fakes.catalog import rdap as fake
from tests.fakes.catalog.rdap import NOT_FOUND, vcard

REGISTRY = "https://rdap.registry.example/"
RIR = "https://rdap.rir.example/"
DNS_BOOTSTRAP = {
    "version": "1.0",
    "publication": "2025-01-01T00:00:00Z",
    "description": "RDAP bootstrap file for Domain Name System registrations",
    "services": [
        [["example"], ["http://rdap.registry.example/", REGISTRY]],
        [["com", "net"], ["https://rdap.verisign.com/com/v1/"]],
        [["co.example"], ["https://rdap.second-level.example/"]],
    ],
}
IPV4_BOOTSTRAP = {
    "version": "1.0",
    "publication": "2025-01-01T00:00:00Z",
    "description": "RDAP bootstrap file for IPv4 address allocations",
    "services": [
        [["198.0.0.0/8", "203.0.0.0/8"], [RIR]],
        [["8.0.0.0/8"], ["https://rdap.other-rir.example/"]],
        [["8.8.0.0/16"], ["https://rdap.arin.example/registry/"]],
    ],
}
IPV6_BOOTSTRAP = {**IPV4_BOOTSTRAP, "services": [[["2001:4200::/23"], ["https://rdap.v6.example/"]]]}


# The catalog fake's domain with more to summarise: a named abuse desk, two name servers, a self link.
_REGISTRAR = fake.DOMAIN["entities"][0]
DOMAIN = {
    **fake.DOMAIN,
    "entities": [
        {
            **_REGISTRAR,
            "entities": [
                {
                    "objectClassName": "entity",
                    "roles": ["abuse"],
                    "vcardArray": vcard(
                        ["fn", {}, "text", "Abuse Desk"], ["email", {}, "text", "abuse@registrar.example"]
                    ),
                }
            ],
        }
    ],
    "nameservers": [
        {"objectClassName": "nameserver", "ldhName": "NS1.HOSTER.EXAMPLE"},
        {"objectClassName": "nameserver", "ldhName": "NS2.HOSTER.EXAMPLE"},
    ],
    "links": [
        {
            "value": "https://rdap.registry.example/domain/EVIL.EXAMPLE",
            "rel": "self",
            "href": "https://rdap.registry.example/domain/EVIL.EXAMPLE",
            "type": "application/rdap+json",
        }
    ],
}
NETWORK = {
    "objectClassName": "ip network",
    "handle": "NET-198-51-100-0-1",
    "startAddress": "198.51.100.0",
    "endAddress": "198.51.100.255",
    "ipVersion": "v4",
    "name": "EXAMPLE-HOSTING-NET",
    "type": "ASSIGNED PA",
    "country": "NL",
    "parentHandle": "NET-198-0-0-0-0",
    "cidr0_cidrs": [{"v4prefix": "198.51.100.0", "length": 24}],
    "entities": [
        {
            "objectClassName": "entity",
            "handle": "EHL-1",
            "roles": ["registrant"],
            "vcardArray": vcard(["fn", {}, "text", "Example Hosting Ltd"]),
        },
        {
            "objectClassName": "entity",
            "handle": "EHL-ABUSE",
            "roles": ["abuse"],
            "vcardArray": vcard(
                ["fn", {}, "text", "Abuse"], ["email", {}, "text", "abuse@examplehosting.example"]
            ),
        },
    ],
    "events": [
        {"eventAction": "registration", "eventDate": "2015-06-01T00:00:00Z"},
        {"eventAction": "last changed", "eventDate": "2023-02-10T00:00:00Z"},
    ],
    "links": [
        {
            "value": "https://rdap.rir.example/ip/198.41.0.4",
            "rel": "self",
            "href": "https://rdap.rir.example/ip/198.51.100.0",
            "type": "application/rdap+json",
        }
    ],
    "rdapConformance": ["rdap_level_0", "cidr0"],
}
BOOTSTRAPS = {"/dns.json": DNS_BOOTSTRAP, "/ipv4.json": IPV4_BOOTSTRAP, "/ipv6.json": IPV6_BOOTSTRAP}


@pytest.fixture(autouse=True)
def fresh_bootstrap() -> Iterator[None]:
    rdap.clear_bootstrap_cache()
    yield
    rdap.clear_bootstrap_cache()


def provider(seen: list[httpx.Request], objects: dict[str, httpx.Response] | None = None) -> h.Handler:
    """Serve the bootstrap files on the bootstrap base and RDAP objects by absolute URL."""
    objects = (
        objects
        if objects is not None
        else {
            REGISTRY + "domain/evil.example": h.json_response(200, DOMAIN),
            RIR + "ip/198.41.0.4": h.json_response(200, NETWORK),
        }
    )

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        url = str(request.url)
        if url.startswith(h.BASE) and request.url.path in BOOTSTRAPS:
            return h.json_response(200, BOOTSTRAPS[request.url.path])
        return objects.get(url) or h.json_response(404, NOT_FOUND)

    return handler


def test_ok_domain_uses_the_bootstrap_registry_and_summarises() -> None:
    # The "example" service lists an http base before the https one: https is preferred.
    seen: list[httpx.Request] = []
    result = h.lookup("rdap", provider(seen), "domain", "evil.example")
    assert [str(r.url) for r in seen] == [h.BASE + "/dns.json", REGISTRY + "domain/evil.example"]
    assert seen[1].headers["accept"].startswith("application/rdap+json")
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["link"] == "https://rdap.registry.example/domain/EVIL.EXAMPLE"
    assert result["summary"] == {
        "found": True,
        "ldh_name": "EVIL.EXAMPLE",
        "handle": "2881234567_DOMAIN_EXAMPLE-VRSN",
        "status": ["client transfer prohibited"],
        "registration": "2024-12-27T18:22:05Z",
        "expiration": "2025-12-27T18:22:05Z",
        "last_changed": "2024-12-28T09:00:00Z",
        "registrar": "Example Registrar, Inc.",
        "registrar_iana_id": "9999",
        "nameservers": ["NS1.HOSTER.EXAMPLE", "NS2.HOSTER.EXAMPLE"],
        "delegation_signed": False,
        "abuse_email": "abuse@registrar.example",
    }
    assert result["raw"] == DOMAIN


def test_ok_subdomain_queries_the_registered_domain() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("rdap", provider(seen), "domain", "www.login.evil.example")
    # One query: the registered domain under the bootstrap suffix, found at once (no longer name tried).
    assert [str(r.url) for r in seen[1:]] == [REGISTRY + "domain/evil.example"]
    assert result["summary"]["ldh_name"] == "EVIL.EXAMPLE"


def test_ok_longest_suffix_wins_and_a_404_tries_one_longer_name() -> None:
    seen: list[httpx.Request] = []
    objects = {"https://rdap.second-level.example/domain/shop.evil.co.example": h.json_response(200, DOMAIN)}
    result = h.lookup("rdap", provider(seen, objects), "domain", "www.shop.evil.co.example")
    assert [str(r.url) for r in seen[1:]] == [
        "https://rdap.second-level.example/domain/evil.co.example",
        "https://rdap.second-level.example/domain/shop.evil.co.example",
    ]
    assert result["summary"]["found"] is True


def test_ok_recently_registered_domain_is_suspicious() -> None:
    fresh = (datetime.now(UTC) - timedelta(days=rdap.NEW_DOMAIN_DAYS - 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {**DOMAIN, "events": [{"eventAction": "registration", "eventDate": fresh}], "links": []}
    objects = {REGISTRY + "domain/evil.example": h.json_response(200, body)}
    result = h.lookup("rdap", provider([], objects), "domain", "evil.example")
    assert result["verdict"] == "suspicious"
    assert result["link"] == "https://lookup.icann.org/en/lookup?name=evil.example"
    old = (datetime.now(UTC) - timedelta(days=rdap.NEW_DOMAIN_DAYS + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body["events"] = [{"eventAction": "registration", "eventDate": old}]
    objects = {REGISTRY + "domain/evil.example": h.json_response(200, body)}
    assert h.lookup("rdap", provider([], objects), "domain", "evil.example")["verdict"] == "unknown"


def test_ok_ip_uses_the_longest_prefix_and_follows_redirects() -> None:
    seen: list[httpx.Request] = []
    moved = httpx.Response(301, headers={"Location": RIR + "ip/198.41.0.4"})
    objects = {
        "https://rdap.arin.example/registry/ip/8.8.8.8": moved,
        RIR + "ip/198.41.0.4": h.json_response(200, NETWORK),
    }
    result = h.lookup("rdap", provider(seen, objects), "ip", "8.8.8.8")
    assert [str(r.url) for r in seen] == [
        h.BASE + "/ipv4.json",
        "https://rdap.arin.example/registry/ip/8.8.8.8",
        RIR + "ip/198.41.0.4",
    ]
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["link"] == "https://rdap.rir.example/ip/198.51.100.0"
    assert result["summary"] == {
        "found": True,
        "handle": "NET-198-51-100-0-1",
        "name": "EXAMPLE-HOSTING-NET",
        "start_address": "198.51.100.0",
        "end_address": "198.51.100.255",
        "ip_version": "v4",
        "type": "ASSIGNED PA",
        "country": "NL",
        "parent_handle": "NET-198-0-0-0-0",
        "cidr0_cidrs": ["198.51.100.0/24"],
        "registrant": "Example Hosting Ltd",
        "abuse_email": "abuse@examplehosting.example",
        "registration": "2015-06-01T00:00:00Z",
        "expiration": None,
        "last_changed": "2023-02-10T00:00:00Z",
    }


def test_ok_ipv6_uses_the_ipv6_bootstrap() -> None:
    seen: list[httpx.Request] = []
    objects = {
        "https://rdap.v6.example/ip/2001:4200::1": h.json_response(200, {**NETWORK, "ipVersion": "v6"})
    }
    result = h.lookup("rdap", provider(seen, objects), "ip", "2001:4200::1")
    assert str(seen[0].url) == h.BASE + "/ipv6.json"
    assert result["summary"]["ip_version"] == "v6"


def test_ok_bootstrap_is_cached_per_process() -> None:
    seen: list[httpx.Request] = []
    h.lookup("rdap", provider(seen), "domain", "evil.example")
    h.lookup("rdap", provider(seen), "domain", "evil.example")
    assert [r.url.path for r in seen].count("/dns.json") == 1 and len(seen) == 3


def test_ok_bootstrap_cache_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []
    h.lookup("rdap", provider(seen), "domain", "evil.example")
    monkeypatch.setattr(rdap, "BOOTSTRAP_TTL_S", -1.0)
    rdap.clear_bootstrap_cache()
    h.lookup("rdap", provider(seen), "domain", "evil.example")
    h.lookup("rdap", provider(seen), "domain", "evil.example")
    assert [r.url.path for r in seen].count("/dns.json") == 3


def test_ok_rdap_url_override_skips_the_bootstrap() -> None:
    seen: list[httpx.Request] = []
    objects = {
        "https://rdap.redirector.example/domain/evil.example": h.json_response(200, DOMAIN),
        "https://rdap.redirector.example/ip/8.8.8.8": h.json_response(200, NETWORK),
    }
    env = {"RDAP_URL": "https://rdap.redirector.example"}
    assert h.lookup("rdap", provider(seen, objects), "domain", "www.evil.example", env)["summary"]["found"]
    assert h.lookup("rdap", provider(seen, objects), "ip", "8.8.8.8", env)["summary"]["found"]
    assert [str(r.url) for r in seen] == list(objects)


def test_not_found_404_is_ok_unknown() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("rdap", provider(seen, {}), "domain", "nothing.example")
    assert result["status"] == "ok" and result["verdict"] == "unknown"
    assert result["summary"] == {"found": False, "queried": ["nothing.example"]}
    assert result["link"] == "https://lookup.icann.org/en/lookup?name=nothing.example"
    assert result["raw"] == NOT_FOUND
    ip = h.lookup("rdap", provider(seen, {}), "ip", "198.41.0.4")
    assert ip["status"] == "ok" and ip["summary"] == {"found": False, "queried": ["198.41.0.4"]}


def test_not_found_tld_without_rdap_is_not_supported() -> None:
    seen: list[httpx.Request] = []
    result = h.lookup("rdap", provider(seen), "domain", "evil.zz")
    assert result["status"] == "error" and result["error"]["code"] == "not_supported"
    assert ".zz" in result["error"]["message"] and len(seen) == 1
    assert h.lookup("rdap", provider(seen), "ip", "1.0.0.1")["error"]["code"] == "not_supported"


def test_not_found_malformed_bootstrap_or_object_is_provider_error() -> None:
    assert h.lookup("rdap", h.answer(200, {"version": "1.0"}), "domain", "evil.example")["error"]["code"] == (
        "provider_error"
    )
    objects = {REGISTRY + "domain/evil.example": h.json_response(200, {"odd": 1})}
    assert (
        h.lookup("rdap", provider([], objects), "domain", "evil.example")["error"]["code"] == "provider_error"
    )


def test_auth_failed() -> None:
    objects = {
        REGISTRY + "domain/evil.example": h.json_response(403, {"errorCode": 403, "title": "Forbidden"})
    }
    result = h.lookup("rdap", provider([], objects), "domain", "evil.example")
    assert result["error"]["code"] == "auth_failed"


def test_rate_limited_with_retry_after() -> None:
    busy = h.json_response(429, {"errorCode": 429, "title": "Too Many Requests"}, {"Retry-After": "60"})
    with pytest.raises(PluginError) as caught:
        h.raw_call("rdap", provider([], {RIR + "ip/198.41.0.4": busy}), "ip", "198.41.0.4")
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s == 60


def test_rate_limited_without_retry_after() -> None:
    with pytest.raises(PluginError) as caught:
        h.raw_call(
            "rdap",
            provider([], {REGISTRY + "domain/evil.example": httpx.Response(429)}),
            "domain",
            "evil.example",
        )
    assert caught.value.code == "rate_limited" and caught.value.retry_after_s is None


def test_server_error() -> None:
    objects = {REGISTRY + "domain/evil.example": httpx.Response(503)}
    assert h.lookup("rdap", provider([], objects), "domain", "evil.example")["error"]["code"] == "unavailable"


def test_server_error_on_the_bootstrap_is_unavailable_and_not_cached() -> None:
    assert h.lookup("rdap", h.answer(502), "domain", "evil.example")["error"]["code"] == "unavailable"
    assert h.lookup("rdap", provider([]), "domain", "evil.example")["status"] == "ok"


def test_transport_failure() -> None:
    assert h.lookup("rdap", h.refuse, "domain", "evil.example")["error"]["code"] == "unavailable"


def test_transport_failure_at_the_registry() -> None:
    bootstrap_only = provider([])

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url).startswith(REGISTRY):
            raise httpx.ConnectError("refused")
        return bootstrap_only(request)

    assert h.lookup("rdap", handler, "domain", "evil.example")["error"]["code"] == "unavailable"


def test_server_error_redirect_loop_is_provider_error() -> None:
    loop = httpx.Response(302, headers={"Location": REGISTRY + "domain/evil.example"})
    result = h.lookup(
        "rdap", provider([], {REGISTRY + "domain/evil.example": loop}), "domain", "evil.example"
    )
    assert result["error"]["code"] == "provider_error" and "loop" in result["error"]["message"]
