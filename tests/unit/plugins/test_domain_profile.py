"""domain_profile: public-suffix split, homographs, brand look-alikes, DGA score, TLD abuse (offline)."""

from __future__ import annotations

import json
from importlib import resources

import httpx
import pytest

from plugins import domain_profile as dp
from shared.iocs import psl
from tests import plugin_harness as h


def no_request(request: httpx.Request) -> httpx.Response:
    """Fail any HTTP request: a local analyser must never make one."""
    raise AssertionError(f"unexpected request to {request.url}")


def profile(value: str, ioc_type: str = "domain") -> dict:
    result = h.lookup("domain_profile", no_request, ioc_type, value)
    assert result["status"] == "ok" and result["error"] is None, result
    return result


def test_ok_splits_at_the_public_suffix() -> None:
    summary = profile("www.bbc.co.uk")["summary"]
    assert summary["registrable_domain"] == "bbc.co.uk" and summary["public_suffix"] == "co.uk"
    assert summary["subdomain"] == "www" and summary["known_tld"] is True
    deep = profile("a.b.example.com.au")["summary"]
    assert (deep["registrable_domain"], deep["public_suffix"], deep["subdomain"]) == (
        "example.com.au",
        "com.au",
        "a.b",
    )
    gov = profile("hmrc.gov.uk")["summary"]
    assert (gov["registrable_domain"], gov["public_suffix"], gov["subdomain"]) == (
        "hmrc.gov.uk",
        "gov.uk",
        None,
    )


def test_ok_a_public_suffix_itself_and_an_unknown_tld() -> None:
    suffix = profile("co.uk")
    assert suffix["verdict"] == "unknown" and suffix["summary"]["registrable_domain"] is None
    assert "the name is itself a public suffix" in suffix["summary"]["reasons"]
    unknown_tld = profile("printer.corp.internal")["summary"]
    assert unknown_tld["registrable_domain"] == "corp.internal" and unknown_tld["public_suffix"] == "internal"
    assert unknown_tld["known_tld"] is False
    assert ".internal is not a TLD of the Public Suffix List" in unknown_tld["reasons"]


def test_ok_punycode_homograph_of_a_brand() -> None:
    result = profile("xn--pypal-4ve.com")  # pаypal.com with a Cyrillic а
    summary = result["summary"]
    assert result["verdict"] == "suspicious"
    assert summary["is_idn"] is True and summary["unicode"] == "p\u0430ypal.com"
    assert summary["mixed_scripts"] == ["cyrillic", "latin"] and summary["homograph_of"] == "paypal"
    assert summary["dga_score"] is None
    assert summary["reasons"][0].startswith("IDN homograph of paypal")


def test_ok_whole_script_homograph_and_unicode_input() -> None:
    apple = profile("\u0430\u0440\u0440\u04cf\u0435.com")  # аррӏе.com, every letter Cyrillic
    assert apple["verdict"] == "suspicious" and apple["summary"]["homograph_of"] == "apple"
    assert apple["summary"]["registrable_domain"] == "xn--80ak6aa92e.com"
    assert apple["summary"]["mixed_scripts"] == []


def test_ok_mixed_script_label_without_a_brand_is_suspicious() -> None:
    result = profile("ex\u0430mple.org")  # exаmple.org with a Cyrillic а
    assert result["verdict"] == "suspicious" and result["summary"]["homograph_of"] is None
    assert result["summary"]["reasons"] == ["mixes cyrillic and latin letters that look alike in one label"]


@pytest.mark.parametrize(
    "name", ["xn--bcher-kva.de", "\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", "日本語.jp"]
)
def test_not_found_ordinary_idns_are_not_flagged(name: str) -> None:
    result = profile(name)
    assert result["verdict"] == "unknown" and result["summary"]["is_idn"] is True
    assert result["summary"]["homograph_of"] is None and result["summary"]["mixed_scripts"] == []


@pytest.mark.parametrize(
    ("name", "brand", "kind", "distance"),
    [
        ("paypa1.com", "paypal", "typo", 1),
        ("rnicrosoft.com", "microsoft", "typo", 2),
        ("linkedln.com", "linkedin", "typo", 1),
        ("micros0ft-support.example", "microsoft", "embedded", 1),
        ("paypal-login-secure.example", "paypal", "embedded", 0),
        ("secure-apple-id.com", "apple", "embedded", 0),
        ("paypalsecure.top", "paypal", "embedded", None),
        ("login.paypal.com.account-verify.example", "paypal", "subdomain", None),
    ],
)
def test_ok_lookalike_of_a_brand(name: str, brand: str, kind: str, distance: int | None) -> None:
    result = profile(name)
    summary = result["summary"]
    assert result["verdict"] == "suspicious"
    assert (summary["lookalike_of"], summary["lookalike_kind"], summary["lookalike_distance"]) == (
        brand,
        kind,
        distance,
    )
    assert summary["brand_domain_of"] is None


@pytest.mark.parametrize(
    ("name", "brand"),
    [
        ("paypal.com", "paypal"),
        ("www.paypal.com", "paypal"),
        ("login.microsoftonline.com", "microsoft"),
        ("amazon.co.uk", "amazon"),
        ("hmrc.gov.uk", "hmrc"),
    ],
)
def test_not_found_a_brands_own_domain_is_not_flagged(name: str, brand: str) -> None:
    result = profile(name)
    summary = result["summary"]
    assert result["verdict"] == "unknown" and summary["reasons"] == []
    assert summary["brand_domain_of"] == brand and summary["lookalike_of"] is None


@pytest.mark.parametrize("name", ["pineapple.com", "apply.com", "amazonia.org", "stream.net", "chaser.io"])
def test_not_found_ordinary_words_near_brand_names(name: str) -> None:
    result = profile(name)
    assert result["verdict"] == "unknown" and result["summary"]["lookalike_of"] is None


def test_ok_brand_name_on_another_suffix_counts_only_on_an_abused_tld() -> None:
    abused = profile("paypal.xyz")
    assert abused["verdict"] == "suspicious" and abused["summary"]["lookalike_kind"] == "exact_other_suffix"
    assert abused["summary"]["tld_reputation"] == "high"
    elsewhere = profile("google.pl")
    assert elsewhere["verdict"] == "unknown" and elsewhere["summary"]["lookalike_of"] == "google"
    assert elsewhere["summary"]["reasons"] == ["brand name google on a suffix not in its bundled domain list"]


def test_ok_dga_looking_name_vs_a_normal_one() -> None:
    dga = profile("xjw3k9qpz7vbn2.com")
    assert dga["verdict"] == "suspicious" and dga["summary"]["dga_score"] >= dp.DGA_SUSPICIOUS
    assert dga["summary"]["entropy"] == pytest.approx(3.81, abs=0.01)
    assert dga["summary"]["reasons"] == [
        f"random-looking name, like a DGA (score {dga['summary']['dga_score']})"
    ]
    normal = profile("stackoverflow.com")
    assert normal["verdict"] == "unknown" and normal["summary"]["dga_score"] < dp.DGA_NOTABLE


@pytest.mark.parametrize(
    "label",
    [
        "google",
        "wikipedia",
        "stackoverflow",
        "washingtonpost",
        "crowdstrike",
        "strengths",
        "knightsbridge",
        "xkcd",
    ],
)
def test_not_found_word_like_labels_stay_below_the_dga_threshold(label: str) -> None:
    assert dp.dga_score(label) < dp.DGA_SUSPICIOUS


@pytest.mark.parametrize("label", ["xjw3k9qpz7vbn2", "mkkbpxugnpvfgv", "fjqwmvlhyd", "q8z3x7k2m9w4p1"])
def test_ok_random_labels_reach_the_dga_threshold(label: str) -> None:
    assert dp.dga_score(label) >= dp.DGA_SUSPICIOUS


def test_ok_tld_reputation() -> None:
    zip_tld = profile("invoice-docs.zip")["summary"]
    assert zip_tld["tld_reputation"] == "high" and ".zip is a heavily abused TLD" in zip_tld["reasons"]
    assert profile("example-shop.online")["summary"]["tld_reputation"] == "medium"
    assert profile("example.org")["summary"]["tld_reputation"] == "low"
    assert profile("example.travel")["summary"]["tld_reputation"] is None


def test_not_found_an_ordinary_domain_is_unknown_with_no_reasons() -> None:
    result = profile("example.org")
    assert result["verdict"] == "unknown" and result["link"] is None
    summary = result["summary"]
    assert summary["registrable_domain"] == "example.org" and summary["reasons"] == []
    assert summary["homograph_of"] is None and summary["lookalike_of"] is None and summary["is_idn"] is False


def test_ok_url_and_email_use_their_host() -> None:
    url = profile("https://paypal.com.secure-login.example/signin?next=1", "url")
    assert url["verdict"] == "suspicious" and url["summary"]["host"] == "paypal.com.secure-login.example"
    assert url["summary"]["lookalike_kind"] == "subdomain"
    email = profile("billing@micros0ft.com", "email")
    assert email["verdict"] == "suspicious" and email["summary"]["registrable_domain"] == "micros0ft.com"
    assert email["summary"]["lookalike_of"] == "microsoft"


@pytest.mark.parametrize("url", ["http://203.0.113.7/login", "http://[2001:db8::1]:8080/"])
def test_not_found_url_with_an_ip_host(url: str) -> None:
    result = profile(url, "url")
    assert result["verdict"] == "unknown" and result["summary"]["is_ip"] is True
    assert "IP address" in result["summary"]["reasons"][0]


def test_edit_distance_counts_a_transposition_as_one() -> None:
    assert dp.edit_distance("paypal", "papyal") == 1
    assert dp.edit_distance("microsoft", "rnicrosoft") == 2
    assert dp.edit_distance("", "abc") == 3


def test_bundled_data_is_well_formed() -> None:
    files = resources.files("plugins")
    assert files.joinpath("brands.txt").is_file() and files.joinpath("tld_reputation.json").is_file()
    brands = dp.brands()
    assert 60 <= len(brands) <= 120 and len({b.name for b in brands}) == len(brands)
    for brand in brands:
        assert brand.name.isascii() and brand.name.isalnum() and brand.name.islower(), brand
        assert brand.domains and all(psl.is_registrable(d) for d in brand.domains), brand
        assert all(dp.split(d).registrable == d for d in brand.domains), brand
    levels = dp.tld_reputation()
    assert set(levels.values()) == {"high", "medium", "low"} and all(psl.is_tld(t) for t in levels)
    meta = json.loads(files.joinpath("tld_reputation.json").read_text())["_meta"]
    assert meta["snapshot"] and "curated snapshot" in meta["curation"].lower()
    table = dp.confusables()
    assert table and all(not c.isascii() and len(v) == 1 and v.islower() for c, v in table.items())


def test_spec_is_local_and_keyless() -> None:
    spec = dp.SPEC
    assert spec.remote is False and spec.key == "none" and spec.auth == "none"
    assert spec.url_var == "" and spec.default_url is None
    assert spec.ioc_types == frozenset({"domain", "url", "email"})


def test_ok_through_the_api_without_any_request() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        raise AssertionError("domain_profile made an HTTP request")

    run = h.lifecycle("domain_profile", handler, "domain", "xn--pypal-4ve.com")
    assert run.final is not None and run.final["status"] == "ok"
    assert run.final["verdict"] == "suspicious" and run.final["summary"]["homograph_of"] == "paypal"
    assert requests == []
