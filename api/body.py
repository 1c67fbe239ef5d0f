"""Read a request body as one JSON object, under the configured size limit."""

from __future__ import annotations

import json
from typing import Any

import falcon

from shared.errors import InvalidRequest, PayloadTooLarge


def read_json_object(req: falcon.Request, max_bytes: int) -> dict[str, Any]:
    """Return the body as a dict; 413 over ``max_bytes``, 400 for anything but a JSON object."""
    length = req.content_length
    if length is not None and length > max_bytes:
        raise PayloadTooLarge(f"the request body is {length} bytes; the limit is {max_bytes}")
    raw = req.bounded_stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the request body exceeds the limit of {max_bytes} bytes")
    media_type = (req.content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise InvalidRequest("the body must be a JSON object sent with Content-Type: application/json")
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidRequest("the body is not valid UTF-8") from None
    except (ValueError, RecursionError):
        raise InvalidRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    try:
        # A \\ud800-style escape decodes to a lone surrogate: valid JSON, but not Unicode text.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest("the body holds a lone surrogate escape, which is not Unicode text") from None
    return body


def string_field(body: dict[str, Any], name: str) -> str:
    """Return a required string field; 400 invalid_request when missing or not a string."""
    value = body.get(name)
    if value is None:
        raise InvalidRequest(f"missing field {name!r}")
    if not isinstance(value, str):
        raise InvalidRequest(f"field {name!r} must be a string")
    return value
