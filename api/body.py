"""Read a request body as one JSON object, under the configured size limit."""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

import falcon

from shared.errors import InvalidRequest, PayloadTooLarge

# Python's int() reads no more digits than this by default (sys.get_int_max_str_digits); the bound is
# written here so that a body never costs the quadratic conversion of a longer number.
_MAX_INT_DIGITS = 4300
# Deeper nesting than the interpreter's recursion limit allows stops the decoder (RecursionError).
_TOO_DEEP = "the body nests arrays or objects too deep to be read"


class _Rejected(Exception):
    """A JSON value that the decoder's hooks refuse; the message is the response's detail."""


def _reject_constant(name: str) -> NoReturn:
    # Python's json reads NaN, Infinity and -Infinity; JSON (RFC 8259) has no such literals.
    raise _Rejected(f"the body is not valid JSON: {name} is not a JSON value")


def _parse_int(text: str) -> int:
    if len(text) - text.startswith("-") > _MAX_INT_DIGITS:
        raise _Rejected(f"a number in the body is too large (more than {_MAX_INT_DIGITS} digits)")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # "1e400": valid JSON, but beyond any float
        raise _Rejected("a number in the body is too large (beyond the range of a double)")
    return value


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
    body = _decode(raw)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


def _decode(raw: bytes) -> Any:
    """Return the JSON value of the body; 400 invalid_request, with a detail that says why, if none."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("the body is not valid UTF-8") from None
    try:
        value = json.loads(
            text, parse_constant=_reject_constant, parse_int=_parse_int, parse_float=_parse_float
        )
        # A \\ud800-style escape decodes to a lone surrogate: valid JSON, but not Unicode text.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except _Rejected as ex:
        raise InvalidRequest(str(ex)) from None
    except json.JSONDecodeError as ex:
        raise InvalidRequest(
            f"the body is not valid JSON ({ex.msg} at line {ex.lineno}, column {ex.colno})"
        ) from None
    except UnicodeEncodeError:
        raise InvalidRequest("the body holds a lone surrogate escape, which is not Unicode text") from None
    except RecursionError:
        raise InvalidRequest(_TOO_DEEP) from None
    except ValueError:
        raise InvalidRequest("the body is not valid JSON") from None
    return value


_JSON_TYPES = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    list: "array",
    dict: "object",
}


def string_field(body: dict[str, Any], name: str) -> str:
    """Return a required string field; 400 invalid_request when missing or not a string."""
    if name not in body:
        raise InvalidRequest(f"missing field {name!r}")
    value = body[name]
    if not isinstance(value, str):
        got = _JSON_TYPES.get(type(value), type(value).__name__)
        raise InvalidRequest(f"field {name!r} must be a string (got {got})")
    return value
