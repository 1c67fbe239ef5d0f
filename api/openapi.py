"""The OpenAPI 3.1 description of the whole API, served without authentication at /api/v1/openapi.json.

The document is data, built once: every route of api/app.py with its request body, its answers and
their JSON schemas (JSON Schema 2020-12, as OpenAPI 3.1 uses). tests/unit/test_openapi.py checks it
against the Falcon app's routes and against the running service's answers, and
tests/unit/test_schemathesis.py fuzzes the service from it.
"""

from __future__ import annotations

import functools
import json
from typing import Any, get_args

import falcon

from plugins.spec import TOOL_ERROR_CODES, Verdict
from shared.iocs import normalize

IOC_TYPES = list(normalize.IOC_TYPES)
VERDICTS = list(get_args(Verdict))
# Every code of the error shape, with its HTTP status (API.md, "Errors").
ERROR_CODES = {
    "invalid_request": 400,
    "invalid_ioc_type": 400,
    "no_plugins_available": 400,
    "invalid_api_key": 401,
    "revoked_api_key": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "rate_limited": 429,
    "internal_error": 500,
    "unavailable": 503,
}

_UTC_MS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
_UTC_S = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error_schema(*codes: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error", "detail"],
        "additionalProperties": False,
        "properties": {
            "error": {"type": "string", "enum": list(codes)},
            "detail": {"type": "string", "description": "human-readable text, never a traceback"},
        },
    }


def _error_response(description: str, *codes: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": _json(_error_schema(*codes))}
    if headers:
        response["headers"] = headers
    return response


def _strings() -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}}


def _schemas() -> dict[str, Any]:
    tool_error = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "enum": list(TOOL_ERROR_CODES)},
            "message": {"type": "string"},
        },
    }
    return {
        "Error": _error_schema(*ERROR_CODES),
        "IocType": {"type": "string", "enum": IOC_TYPES},
        "Verdict": {"type": "string", "enum": VERDICTS},
        "ToolResult": {
            "type": "object",
            "description": "One plugin's answer. Every key is always present; clients ignore keys they do not know.",
            "required": [
                "plugin",
                "status",
                "verdict",
                "summary",
                "link",
                "raw",
                "error",
                "duration_ms",
                "fetched_at",
                "cached",
            ],
            "properties": {
                "plugin": {"type": "string"},
                "status": {"type": "string", "enum": ["ok", "error"]},
                "verdict": _ref("Verdict"),
                "summary": {
                    "type": "object",
                    "description": "the few normalised facts an analyst reads first",
                },
                "link": {"type": ["string", "null"], "description": "the provider's own page for this IOC"},
                "raw": {
                    "oneOf": [{"type": "object"}, {"type": "null"}],
                    "description": "the provider's answer (null on most errors); an answer that is "
                    'not a JSON object comes wrapped as {"data": answer}',
                },
                "error": {"oneOf": [{"type": "null"}, tool_error]},
                "duration_ms": {"type": "integer", "minimum": 0},
                "fetched_at": {"type": "string", "pattern": _UTC_MS},
                "cached": {
                    "type": "boolean",
                    "description": "true when a provider's earlier answer was reused (fetched_at is the original)",
                },
            },
            # An error carries its code, an unknown verdict and an empty summary; a success no error.
            "if": {"properties": {"status": {"const": "error"}}},
            "then": {
                "properties": {
                    "verdict": {"const": "unknown"},
                    "summary": {"maxProperties": 0},
                    "error": tool_error,
                }
            },
            "else": {"properties": {"error": {"type": "null"}}},
        },
        "PendingPlugin": {
            "type": "object",
            "required": ["job_id", "poll_url"],
            "properties": {
                "job_id": {"type": "string", "description": "the sandbox's job id, or the service's own"},
                "poll_url": {
                    "type": "string",
                    "pattern": r"^/api/v1/analysis/[0-9a-f-]{36}/pending/[^/]+$",
                    "description": "exactly /api/v1/analysis/{id}/pending/{plugin}",
                },
            },
        },
        "AnalysisVerdict": {
            "type": "object",
            "description": "The overall verdict: the most severe verdict any plugin gave; failed and pending plugins do not count.",
            "required": ["value", "counts", "reasons", "not_counted", "complete", "rule"],
            "properties": {
                "value": _ref("Verdict"),
                "counts": {
                    "type": "object",
                    "required": VERDICTS,
                    "additionalProperties": False,
                    "properties": {v: {"type": "integer", "minimum": 0} for v in VERDICTS},
                },
                "reasons": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["plugin", "verdict", "cached"],
                        "properties": {
                            "plugin": {"type": "string"},
                            "verdict": {"type": "string", "enum": VERDICTS[:3]},
                            "cached": {"type": "boolean"},
                        },
                    },
                },
                "not_counted": {
                    "type": "object",
                    "required": ["failed", "pending"],
                    "properties": {"failed": _strings(), "pending": _strings()},
                },
                "complete": {"type": "boolean", "description": "no plugin is pending"},
                "rule": {"type": "string"},
            },
        },
        "Analysis": {
            "type": "object",
            "required": ["id", "ioc", "type", "queried_at", "results", "pending", "verdict"],
            "properties": {
                "id": {"type": "string", "format": "uuid", "pattern": _UUID},
                "ioc": {"type": "string", "description": "the normalised indicator"},
                "type": _ref("IocType"),
                "queried_at": {"type": "string", "pattern": _UTC_S},
                "results": {"type": "object", "additionalProperties": _ref("ToolResult")},
                "pending": {"type": "object", "additionalProperties": _ref("PendingPlugin")},
                "verdict": _ref("AnalysisVerdict"),
            },
        },
        "AnalysisRequest": {
            "type": "object",
            "required": ["ioc", "type"],
            "properties": {
                "ioc": {"type": "string", "description": "the indicator; defanged forms are accepted"},
                "type": _ref("IocType"),
                "plugins": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "plugin names to ask (default: all that fit); unknown names are skipped",
                },
                "max_age": {
                    "type": "number",
                    "minimum": 0,
                    "exclusiveMaximum": 1_000_000_000,
                    "description": "seconds a cached answer may have; 0 forces fresh lookups",
                },
            },
        },
        "TextRequest": {
            "type": "object",
            "required": ["text"],
            "properties": {"text": {"type": "string"}},
        },
        "TextResult": {
            "type": "object",
            "required": ["result"],
            "properties": {"result": {"type": "string"}},
        },
        "Indicators": {
            "type": "object",
            "required": ["indicators"],
            "properties": {
                "indicators": {
                    "type": "object",
                    "description": "values by type, in order of first appearance; types with no value are omitted",
                    "properties": {
                        name: {"type": "array", "items": {"type": "string"}, "minItems": 1}
                        for name in [*IOC_TYPES, "cve"]
                    },
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                }
            },
        },
        "Plugin": {
            "type": "object",
            "required": ["name", "display_name", "supported_ioc_types", "enabled", "categories", "mode"],
            "properties": {
                "name": {"type": "string"},
                "display_name": {"type": "string"},
                "supported_ioc_types": {"type": "array", "items": _ref("IocType")},
                "enabled": {"type": "boolean"},
                "categories": _strings(),
                "mode": {"type": "string", "enum": ["fast", "slow"]},
            },
        },
        "PluginHealth": {
            "type": "object",
            "required": ["healthy", "plugins"],
            "properties": {
                "healthy": {"type": "boolean", "description": "every enabled plugin is healthy"},
                "plugins": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["plugin", "healthy", "state", "detail", "duration_ms"],
                        "properties": {
                            "plugin": {"type": "string"},
                            "healthy": {"type": "boolean"},
                            "state": {"type": "string"},
                            "detail": {"type": "string"},
                            "duration_ms": {"type": "integer", "minimum": 0},
                        },
                    },
                },
            },
        },
    }


def _responses() -> dict[str, Any]:
    return {
        "InvalidRequest": _error_response(
            "the body is not a JSON object of the documented shape, or the indicator is invalid",
            "invalid_request",
        ),
        "Unauthorized": _error_response(
            "missing, malformed, unknown or revoked API key", "invalid_api_key", "revoked_api_key"
        ),
        "NotFound": _error_response("no such analysis, pending plugin or route", "not_found"),
        "MethodNotAllowed": _error_response(
            "the route exists but not with this method (every documented path answers this for any other method)",
            "method_not_allowed",
            headers={"Allow": {"description": "the methods the route accepts", "schema": {"type": "string"}}},
        ),
        "PayloadTooLarge": _error_response(
            "the raw request body is over SOCBUDDY_MAX_BODY_BYTES (default 1 MiB)", "payload_too_large"
        ),
        "RateLimited": _error_response(
            "the service account is over its request budget (SOCBUDDY_RATE_LIMIT or its own)",
            "rate_limited",
            headers={
                "Retry-After": {
                    "description": "seconds until a request may succeed",
                    "schema": {"type": "string", "pattern": r"^[0-9]+$"},
                }
            },
        ),
        "Unavailable": _error_response(
            "no database is configured, or the database or the broker is unreachable", "unavailable"
        ),
    }


def _common(*statuses: str) -> dict[str, Any]:
    names = {
        "400": "InvalidRequest",
        "401": "Unauthorized",
        "404": "NotFound",
        "413": "PayloadTooLarge",
        "429": "RateLimited",
        "503": "Unavailable",
    }
    return {status: {"$ref": f"#/components/responses/{names[status]}"} for status in statuses}


def _json_body(schema_name: str, description: str) -> dict[str, Any]:
    return {"required": True, "description": description, "content": _json(_ref(schema_name))}


def _text_action(summary: str, description: str) -> dict[str, Any]:
    return {
        "post": {
            "tags": ["text actions"],
            "summary": summary,
            "description": description + " The request body is never logged.",
            "requestBody": _json_body("TextRequest", "the text"),
            "responses": {
                "200": {"description": "the result", "content": _json(_ref("TextResult"))},
                **_common("400", "401", "413", "429", "503"),
            },
        }
    }


def _paths() -> dict[str, Any]:
    no_auth: list[dict[str, list[str]]] = []
    id_param = {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "the analysis id (a UUID); any other value is 404 not_found",
        "schema": {"type": "string"},
    }
    plugin_param = {
        "name": "plugin",
        "in": "path",
        "required": True,
        "description": "a plugin the analysis reported pending; any other is 404 not_found",
        "schema": {"type": "string"},
    }
    return {
        "/healthz": {
            "get": {
                "tags": ["operations"],
                "summary": "Liveness: 200 while the process serves",
                "security": no_auth,
                "responses": {
                    "200": {
                        "description": "alive",
                        "content": _json(
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {"status": {"const": "ok"}},
                            }
                        ),
                    }
                },
            }
        },
        "/readyz": {
            "get": {
                "tags": ["operations"],
                "summary": "Readiness: the database and the broker answer",
                "security": no_auth,
                "responses": {
                    "200": {
                        "description": "ready",
                        "content": _json(
                            {
                                "type": "object",
                                "required": ["status", "database", "broker"],
                                "properties": {
                                    "status": {"const": "ready"},
                                    "database": {"const": "ok"},
                                    "broker": {"const": "ok"},
                                },
                            }
                        ),
                    },
                    "503": {"$ref": "#/components/responses/Unavailable"},
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "tags": ["operations"],
                "summary": "This document",
                "security": no_auth,
                "responses": {
                    "200": {
                        "description": "the OpenAPI 3.1 description of the API",
                        "content": _json({"type": "object", "required": ["openapi", "paths"]}),
                    }
                },
            }
        },
        "/api/v1/plugins": {
            "get": {
                "tags": ["plugins"],
                "summary": "The enabled plugins",
                "responses": {
                    "200": {
                        "description": "every enabled plugin",
                        "content": _json({"type": "array", "items": _ref("Plugin")}),
                    },
                    **_common("401", "429", "503"),
                },
            }
        },
        "/api/v1/plugins/health": {
            "get": {
                "tags": ["plugins"],
                "summary": "Probe every enabled provider now: reachable, credentials accepted",
                "description": "A fast plugin costs one lookup of a benign indicator; a sandbox one poll of a job that does not exist.",
                "responses": {
                    "200": {
                        "description": "one row per enabled plugin",
                        "content": _json(_ref("PluginHealth")),
                    },
                    **_common("401", "429", "503"),
                },
            }
        },
        "/api/v1/analysis": {
            "post": {
                "tags": ["analysis"],
                "summary": "Analyse one indicator with every fitting plugin",
                "description": (
                    "Checked in this order, first failure wins: not a JSON object (400 invalid_request); "
                    "ioc or type missing or not a string, plugins not a list of strings, max_age not a "
                    "number from 0 (400 invalid_request); type not one of the five (400 invalid_ioc_type); "
                    "ioc invalid for its type (400 invalid_request); no plugin left (400 "
                    "no_plugins_available). Fast plugins answer in results within SOCBUDDY_FAST_TIMEOUT; "
                    "sandboxes and late plugins are in pending with a poll URL. 503 unavailable when the "
                    "broker is unreachable (no analysis is left behind)."
                ),
                "requestBody": _json_body(
                    "AnalysisRequest", "the indicator and, optionally, plugins and max_age"
                ),
                "responses": {
                    "200": {"description": "the analysis", "content": _json(_ref("Analysis"))},
                    "400": _error_response(
                        "invalid body or indicator, unknown type, or no plugin fits",
                        "invalid_request",
                        "invalid_ioc_type",
                        "no_plugins_available",
                    ),
                    **_common("401", "413", "429", "503"),
                },
            }
        },
        "/api/v1/analysis/{id}": {
            "parameters": [id_param],
            "get": {
                "tags": ["analysis"],
                "summary": "The stored analysis, with every result that has arrived since the POST",
                "responses": {
                    "200": {"description": "the analysis", "content": _json(_ref("Analysis"))},
                    **_common("401", "404", "429", "503"),
                },
            },
        },
        "/api/v1/analysis/{id}/pending/{plugin}": {
            "parameters": [id_param, plugin_param],
            "get": {
                "tags": ["analysis"],
                "summary": "Poll a plugin the POST reported pending",
                "responses": {
                    "200": {
                        "description": "finished (successfully or not) and stored in the analysis",
                        "content": _json(
                            {
                                "type": "object",
                                "required": ["status", "result"],
                                "properties": {"status": {"const": "ready"}, "result": _ref("ToolResult")},
                            }
                        ),
                    },
                    "202": {
                        "description": "still running",
                        "content": _json(
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {"status": {"const": "pending"}},
                            }
                        ),
                    },
                    **_common("401", "404", "429", "503"),
                },
            },
        },
        "/api/actions/defang": _text_action(
            "Defang a text",
            "`://` to `[://]`, `.` to `[.]`, `@` to `[@]`, http(s) schemes to hxxp(s); idempotent.",
        ),
        "/api/actions/refang": _text_action(
            "Refang a text", "Reverses every common defang marker; text with nothing defanged is unchanged."
        ),
        "/api/actions/extract": {
            "post": {
                **_text_action("Extract indicators", "")["post"],
                "description": (
                    "The indicators in a text by type (ip, domain, url, hash, email, cve), refanged, "
                    "normalised, de-duplicated in order of first appearance; only globally routable IPs. "
                    "The request body is never logged."
                ),
                "responses": {
                    "200": {"description": "the indicators found", "content": _json(_ref("Indicators"))},
                    **_common("400", "401", "413", "429", "503"),
                },
            }
        },
    }


_DESCRIPTION = """\
IOC investigation over one authenticated REST call.

Every endpoint except `/healthz`, `/readyz` and `/api/v1/openapi.json` needs
`Authorization: Bearer <key>`. Every error is `{"error": code, "detail": text}` with a JSON content
type and nothing else. Any route answers `405 method_not_allowed` (with `Allow`) for a method it does
not document, and an unknown path answers `404 not_found`. A failure of the service itself is
`500 internal_error`, never a traceback. Clients ignore response fields they do not know; the service
ignores request fields it does not know.
"""


@functools.lru_cache(maxsize=1)
def _built() -> str:
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "SOCBuddy Analysis API",
            "version": "1",
            "description": _DESCRIPTION,
        },
        "tags": [
            {"name": "analysis"},
            {"name": "plugins"},
            {"name": "text actions"},
            {"name": "operations", "description": "probes and this document; no key needed"},
        ],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a service account's API key: sb_ followed by 32 letters and digits",
                }
            },
            "schemas": _schemas(),
            "responses": _responses(),
        },
    }
    return json.dumps(document, sort_keys=False)


def document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document (a fresh copy the caller may change)."""
    return json.loads(_built())


class OpenApiDocument:
    """GET /api/v1/openapi.json: the document, without authentication."""

    auth = False

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = _built().encode("utf-8")
