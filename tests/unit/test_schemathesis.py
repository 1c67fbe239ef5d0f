"""A bounded schemathesis run against the embedded service, from the service's own OpenAPI document.

The document is loaded from GET /api/v1/openapi.json of the Falcon app itself, and every documented
operation is called in process (WSGI) with a valid key and generated requests:
- positive: requests that fit the schema. Random strings rarely make a valid indicator, so the
  analysis POST also draws from real indicators (some defanged) of each type with random plugin
  lists and max_age, against fake providers that answer ok, 429, 503 or garbage; the reads draw
  from ids of analyses that exist (one with a sandbox pending) as well as random ones.
- negative: for operations that take input, requests that break the schema (wrong types, missing
  fields, ...).
Every answer must be no 5xx, a documented status with a documented content type, and conform to
that status's response schema. Deterministic (derandomized), MAX_EXAMPLES per operation and mode.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.openapi import document
from tests.conftest import Service
from tests.fakes.providers import KNOWN_SHA256, FakeProviders

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 25
POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE


def _operations() -> list[Any]:
    cases = []
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            takes_input = "requestBody" in operation or "parameters" in item or "parameters" in operation
            for mode in (POSITIVE, NEGATIVE) if takes_input else (POSITIVE,):
                cases.append(
                    pytest.param(path, method.upper(), mode, id=f"{mode.value} {method.upper()} {path}")
                )
    return cases


VALID_IOCS = {
    "ip": ["198.51.100.23", "8.8.4[.]4", "10.1.2.3", "2001:DB8::1", "1.1.1.1"],
    "domain": ["evil.example", "EVIL[.]example", "xn--bcher-kva.example", "bücher.example"],
    "url": ["hxxp://malicious[.]example/login.php", "https://evil.example/a?b=c", "http://198.51.100.23/x"],
    "hash": [KNOWN_SHA256, KNOWN_SHA256.upper(), "44d88612fea8a8f36de82e1278abb02f", "a" * 40],
    "email": ["someone@evil.example", "x[@]evil[.]example"],
}
PLUGIN_NAMES = ["virustotal", "abuseipdb", "joe_sandbox", "nope", "../../etc/passwd"]
FAKE_MODES = ["ok", "ok", "ok", "quota", "down", "garbage"]


def _analysis_bodies() -> st.SearchStrategy[dict[str, Any]]:
    ioc_type = st.sampled_from(sorted(VALID_IOCS))
    return ioc_type.flatmap(
        lambda t: st.fixed_dictionaries(
            {"ioc": st.sampled_from(VALID_IOCS[t]), "type": st.just(t)},
            optional={
                "plugins": st.lists(st.sampled_from(PLUGIN_NAMES), max_size=3),
                "max_age": st.one_of(st.integers(0, 10**6), st.floats(0, 1e6)),
            },
        )
    )


def _negates_headers(case: schemathesis.Case) -> bool:
    """True when schemathesis broke the headers on purpose (a bad Authorization): then send them as made."""
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    return header is not None and header.mode is NEGATIVE


def _existing(service: Service) -> tuple[str, str, str]:
    """Return ids of an IP analysis, a URL one whose sandbox has finished and one whose sandbox has not."""
    first = service.post("/api/v1/analysis", {"ioc": "198.51.100.23", "type": "ip"})
    assert first.status_code == 200, first.json
    finished = service.post("/api/v1/analysis", {"ioc": "http://malicious.example/a", "type": "url"})
    assert "joe_sandbox" in finished.json["pending"], finished.json
    deadline = time.monotonic() + 15
    while service.get(finished.json["pending"]["joe_sandbox"]["poll_url"]).status_code != 200:
        assert time.monotonic() < deadline, "the sandbox did not finish"
        time.sleep(0.05)
    waiting = service.post("/api/v1/analysis", {"ioc": "http://malicious.example/b", "type": "url"})
    assert "joe_sandbox" in waiting.json["pending"], waiting.json
    return first.json["id"], finished.json["id"], waiting.json["id"]


def _strategy(service: Service, fake: FakeProviders, operation: Any, path: str, mode: Any) -> Any:
    generic = operation.as_strategy(generation_mode=mode)
    if mode is not POSITIVE:
        return generic
    if path == "/api/v1/analysis":
        targeted = _analysis_bodies().flatmap(lambda body: operation.as_strategy(body=body))
        return st.one_of(generic, targeted, targeted)
    if path == "/api/v1/analysis/{id}":
        ids = st.sampled_from(_existing(service))
        return st.one_of(generic, ids.flatmap(lambda i: operation.as_strategy(path_parameters={"id": i})))
    if path == "/api/v1/analysis/{id}/pending/{plugin}":
        done, finished, waiting = _existing(service)
        pairs = st.sampled_from(
            [
                (waiting, "joe_sandbox"),
                (finished, "joe_sandbox"),
                (waiting, "virustotal"),
                (done, "abuseipdb"),
            ]
        )
        targeted = pairs.flatmap(
            lambda p: operation.as_strategy(path_parameters={"id": p[0], "plugin": p[1]})
        )
        return st.one_of(generic, targeted, targeted)
    return generic


# Hypothesis warns when the global random module is used while it generates data; the embedded
# workers' threads (retry jitter) do that in the background, which is not the strategies' doing.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
@pytest.mark.parametrize(("path", "method", "mode"), _operations())
def test_operation_holds_to_its_schema(
    service: Service, fake: FakeProviders, path: str, method: str, mode: Any
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", service.client.app)
    operation = schema[path][method]
    statuses: list[int] = []

    @given(
        case=_strategy(service, fake, operation, path, mode),
        modes=st.lists(st.sampled_from(FAKE_MODES), min_size=3, max_size=3),
    )
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case, modes: list[str]) -> None:
        fake.mode.update(zip(("vt", "abuseipdb", "joe"), modes, strict=True))
        response = case.call(headers=None if _negates_headers(case) else service.auth)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    run()
    print(f"{mode.value} {method} {path}: {len(statuses)} calls, statuses {sorted(set(statuses))}")
    assert statuses
    assert all(400 <= s < 500 for s in statuses) or mode is POSITIVE
