"""The OpenAPI 3.1 document: valid, served without a key, true to the Falcon routes, and true to the
answers of the running embedded service (each answer validated against its documented schema)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import falcon
import falcon.testing
import jsonschema
import pytest
from dramatiq.brokers.stub import StubBroker
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from api import openapi
from api.app import create_app
from shared.config import Settings
from tests.conftest import Service
from tests.fakes.providers import KNOWN_SHA256, FakeProviders
from workers import actors, runtime

METHODS = ("get", "post", "put", "patch", "delete")


def _falcon_routes(app: falcon.App) -> dict[str, set[str]]:
    """Return {uri template: methods with a responder} for every route added to the app."""
    found: dict[str, set[str]] = {}

    def walk(nodes: list[Any]) -> Iterator[Any]:
        for node in nodes:
            yield node
            yield from walk(node.children)

    for node in walk(app._router._roots):  # Falcon's compiled router keeps its tree here
        if node.resource is None:
            continue
        found[node.uri_template] = {
            method.lower()
            for method in falcon.COMBINED_METHODS
            if hasattr(node.resource, f"on_{method.lower()}")
        }
    return found


class Documented:
    """Validates an answer against the schema the document gives its path, method and status."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def response(self, template: str, method: str, status: int) -> dict[str, Any]:
        responses = self.document["paths"][template][method]["responses"]
        assert str(status) in responses, (
            f"{method.upper()} {template} answered {status}, which is not documented"
        )
        response = responses[str(status)]
        if "$ref" in response:
            response = self.document["components"]["responses"][response["$ref"].rpartition("/")[2]]
        return response

    def check(self, template: str, method: str, answer: falcon.testing.Result) -> None:
        response = self.response(template, method, answer.status_code)
        assert answer.headers["content-type"].startswith("application/json")
        for header in response.get("headers", {}):
            assert header.lower() in answer.headers, f"{answer.status_code} without its {header} header"
        # The whole document is the root schema, so "#/components/..." references resolve in it.
        status = str(answer.status_code)
        pointer = "/".join(
            ["#/paths", template.replace("~", "~0").replace("/", "~1"), method, "responses", status]
        )
        if "$ref" in self.document["paths"][template][method]["responses"][status]:
            pointer = self.document["paths"][template][method]["responses"][status]["$ref"]
        root = {**self.document, "$ref": pointer + "/content/application~1json/schema"}
        jsonschema.Draft202012Validator(root).validate(answer.json)


@pytest.fixture
def documented() -> Documented:
    return Documented(openapi.document())


def test_document_is_valid_openapi_3_1() -> None:
    document = openapi.document()
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_served_without_a_key_and_equal_to_the_module_document(service: Service) -> None:
    answer = service.client.simulate_get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json == openapi.document()
    assert service.client.simulate_get("/api/v1/openapi.json/").json == answer.json
    wrong = service.client.simulate_post("/api/v1/openapi.json", json={})
    assert wrong.status_code == 405 and wrong.json["error"] == "method_not_allowed"


def test_every_route_is_documented_and_every_documented_route_exists(service: Service) -> None:
    routes = _falcon_routes(service.client.app)
    document = openapi.document()
    documented = {path: {m for m in item if m in METHODS} for path, item in document["paths"].items()}
    # HEAD answers wherever GET does (RFC 9110), with GET's headers, and OPTIONS everywhere (204 and
    # Allow): neither is documented apart.
    assert {path: methods - {"head", "options"} for path, methods in routes.items()} == documented
    assert all("options" in methods for methods in routes.values())
    assert {path for path, methods in routes.items() if "head" in methods} == {
        path for path, methods in documented.items() if "get" in methods
    }
    assert "/api/v1/plugins/health" in routes and "/api/v1/analysis/{id}" in routes
    for path, methods in documented.items():
        for method in methods:
            operation = document["paths"][path][method]
            public = path in ("/healthz", "/readyz", "/api/v1/openapi.json")
            assert (operation.get("security") == []) is public, path
            if not public:
                assert {"401", "429", "503"} <= set(operation["responses"]), path
            if "requestBody" in operation:
                assert {"400", "413"} <= set(operation["responses"]), path


def test_options_answers_204_with_the_allow_list_a_405_gives(service: Service) -> None:
    for template in _falcon_routes(service.client.app):
        path = template.replace("{id}", "0" * 8).replace("{plugin}", "virustotal")
        options = service.client.simulate_options(path, headers=service.auth)
        assert options.status_code == 204 and options.content == b"", path
        assert "content-type" not in options.headers, path
        refused = service.client.simulate_put(path, headers=service.auth, json={})
        assert refused.status_code == 405, path
        allowed = options.headers["allow"].split(", ")
        assert allowed == refused.headers["allow"].split(", ") and "OPTIONS" in allowed, path


def test_request_and_error_schemas_say_what_the_service_takes(documented: Documented) -> None:
    schemas = documented.document["components"]["schemas"]
    request = schemas["AnalysisRequest"]
    assert set(request["properties"]) == {"ioc", "type", "plugins", "max_age"}
    assert request["required"] == ["ioc", "type"]
    assert schemas["IocType"]["enum"] == ["ip", "domain", "url", "hash", "email"]
    assert set(schemas["Error"]["properties"]["error"]["enum"]) == {
        "invalid_api_key",
        "revoked_api_key",
        "invalid_request",
        "invalid_ioc_type",
        "no_plugins_available",
        "not_found",
        "method_not_allowed",
        "payload_too_large",
        "rate_limited",
        "unavailable",
        "internal_error",
    }
    assert "cached" in schemas["ToolResult"]["required"]
    assert "verdict" in schemas["Analysis"]["required"]
    assert documented.document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": documented.document["components"]["securitySchemes"]["bearer"]["description"],
    }


def test_schemas_reject_what_the_contract_forbids(documented: Documented) -> None:
    """The validator is not vacuous: answers that break the contract fail it."""
    document = documented.document

    def fails(pointer: str, instance: Any) -> bool:
        root = {**document, "$ref": pointer}
        return not jsonschema.Draft202012Validator(root).is_valid(instance)

    good = {
        "plugin": "virustotal",
        "status": "error",
        "verdict": "unknown",
        "summary": {},
        "link": None,
        "raw": None,
        "error": {"code": "timeout", "message": "slow"},
        "duration_ms": 3,
        "fetched_at": "2026-12-03T10:00:00.123Z",
        "cached": False,
    }
    tool = "#/components/schemas/ToolResult"
    assert not fails(tool, good)
    assert fails(tool, {**good, "verdict": "malicious"})  # an error's verdict is unknown
    assert fails(tool, {**good, "error": {"code": "oops", "message": "x"}})
    assert fails(tool, {**good, "status": "ok"})  # success with an error object
    assert fails(tool, {k: v for k, v in good.items() if k != "cached"})
    assert fails(tool, {**good, "fetched_at": "2026-12-03 10:00:00"})
    error = "#/components/schemas/Error"
    assert not fails(error, {"error": "not_found", "detail": "x"})
    assert fails(error, {"error": "not_found", "detail": "x", "trace": "..."})
    assert fails(error, {"error": "teapot", "detail": "x"})
    assert fails(error, {"error": "not_found"})


def _wait_ready(service: Service, poll_url: str) -> list[falcon.testing.Result]:
    answers = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        answers.append(service.get(poll_url))
        if answers[-1].status_code == 200:
            return answers
        time.sleep(0.05)
    raise AssertionError("the sandbox did not finish")


def test_answers_of_the_running_service_match_their_schemas(
    service: Service, fake: FakeProviders, documented: Documented
) -> None:
    check = documented.check
    client = service.client
    check("/healthz", "get", client.simulate_get("/healthz"))
    check("/readyz", "get", client.simulate_get("/readyz"))
    check("/api/v1/openapi.json", "get", client.simulate_get("/api/v1/openapi.json"))
    check("/api/v1/plugins", "get", service.get("/api/v1/plugins"))
    check("/api/v1/plugins/health", "get", service.get("/api/v1/plugins/health"))

    analyses = "/api/v1/analysis"
    ip = service.post(analyses, {"ioc": "8.8.4.4", "type": "ip", "max_age": 0})
    assert ip.status_code == 200 and ip.json["results"]
    check(analyses, "post", ip)
    again = service.post(analyses, {"ioc": "8.8.4.4", "type": "ip"})
    assert any(r["cached"] for r in again.json["results"].values())
    check(analyses, "post", again)
    fake.mode["abuseipdb"] = "quota"
    fake.mode["vt"] = "garbage"
    failed = service.post(analyses, {"ioc": "8.8.8.8", "type": "ip"})
    assert {r["status"] for r in failed.json["results"].values()} == {"error"}
    check(analyses, "post", failed)
    fake.mode.clear()
    check(analyses, "post", service.post(analyses, {"ioc": KNOWN_SHA256, "type": "hash"}))
    url = service.post(
        analyses, {"ioc": "hxxp://malicious[.]example/x", "type": "url", "plugins": ["joe_sandbox"]}
    )
    assert "joe_sandbox" in url.json["pending"] and url.json["verdict"]["complete"] is False
    check(analyses, "post", url)
    poll_url = url.json["pending"]["joe_sandbox"]["poll_url"]
    answers = _wait_ready(service, poll_url)
    pending = "/api/v1/analysis/{id}/pending/{plugin}"
    for answer in answers:
        check(pending, "get", answer)
    item = service.get(f"/api/v1/analysis/{url.json['id']}")
    assert item.json["verdict"]["complete"] is True
    check("/api/v1/analysis/{id}", "get", item)

    for path, body in [
        ("/api/actions/defang", {"text": "http://evil.com/path"}),
        ("/api/actions/refang", {"text": "hxxp[://]evil[.]com"}),
        ("/api/actions/extract", {"text": "contacted 1.2.3.4, evil.com and CVE-2024-3094"}),
    ]:
        answer = service.post(path, body)
        assert answer.status_code == 200
        check(path, "post", answer)


def test_error_answers_match_their_schemas(make_service: Any, documented: Documented) -> None:
    service = make_service(SOCBUDDY_MAX_BODY_BYTES="2048", SOCBUDDY_RATE_LIMIT="40/minute")
    check = documented.check
    analyses = "/api/v1/analysis"
    for body in [
        {"ioc": 5, "type": "ip"},
        {"ioc": "1.1.1.1", "type": "cidr"},
        {"ioc": "not an ip", "type": "ip"},
        {"ioc": "1.1.1.1", "type": "ip", "plugins": []},
        {"ioc": "1.1.1.1", "type": "ip", "max_age": -1},
    ]:
        answer = service.post(analyses, body)
        assert answer.status_code == 400
        check(analyses, "post", answer)
    too_big = service.post(analyses, {"ioc": "1" * 4096, "type": "ip"})
    assert too_big.status_code == 413
    check(analyses, "post", too_big)
    unauthorized = service.client.simulate_get("/api/v1/plugins")
    assert unauthorized.status_code == 401
    check("/api/v1/plugins", "get", unauthorized)
    missing = service.get("/api/v1/analysis/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    check("/api/v1/analysis/{id}", "get", missing)
    not_pending = service.get("/api/v1/analysis/not-a-uuid/pending/virustotal")
    assert not_pending.status_code == 404
    check("/api/v1/analysis/{id}/pending/{plugin}", "get", not_pending)
    for path in ["/api/actions/defang", "/api/actions/refang", "/api/actions/extract"]:
        check(path, "post", service.post(path, {"text": None}))
    answers = [service.get("/api/v1/plugins") for _ in range(40)]
    limited = answers[-1]
    assert limited.status_code == 429, [a.status_code for a in answers]
    check("/api/v1/plugins", "get", limited)


def test_unavailable_answers_match_their_schemas(documented: Documented) -> None:
    settings = Settings.from_env({"REDIS_URL": "redis://127.0.0.1:1/0"})
    rt = runtime.build(settings, broker=StubBroker())
    client = falcon.testing.TestClient(create_app(rt, actors.declare(rt.broker, rt)))
    key = {"Authorization": "Bearer sb_" + "a" * 32}
    not_ready = client.simulate_get("/readyz")
    assert not_ready.status_code == 503
    documented.check("/readyz", "get", not_ready)
    for path in ["/api/v1/plugins", "/api/v1/analysis/x"]:
        answer = client.simulate_get(path, headers=key)
        assert answer.status_code == 503
        documented.check(
            "/api/v1/plugins" if path.endswith("plugins") else "/api/v1/analysis/{id}", "get", answer
        )
    assert client.simulate_get("/api/v1/openapi.json").status_code == 200
