"""The JSON endpoints' two ends: reading a request's JSON object, answering an error.

Every JSON endpoint refuses the same things the same way: a body over its
limit (before reading it when the declared length says so), another content
type, text that is not JSON (NaN and Infinity included, which JSON does not
allow), and anything but an object. Refusals are answered as {"error": ...}.
"""

import json
from typing import Any

from django.core.exceptions import BadRequest, RequestDataTooBig
from django.http import HttpRequest, JsonResponse

TOO_LARGE = "The request is too large."


class BadJsonBody(BadRequest):
    """The request's body is not a JSON object the endpoint can read; the message says why."""


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json_body(request: HttpRequest, *, max_bytes: int) -> dict[str, Any]:
    """The request's body as a JSON object of at most `max_bytes`, or BadJsonBody."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadJsonBody("The request's length is not a number.") from None
    if declared > max_bytes:  # refused before reading it
        raise BadJsonBody(TOO_LARGE)
    if request.content_type != "application/json":
        raise BadJsonBody("Send JSON, with Content-Type: application/json.")
    try:
        body = request.body
    except RequestDataTooBig:
        raise BadJsonBody(TOO_LARGE) from None
    if len(body) > max_bytes:
        raise BadJsonBody(TOO_LARGE)
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadJsonBody("The request is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadJsonBody("Send a JSON object.")
    return data


def json_error(message: str, status: int = 400, **extra: Any) -> JsonResponse:
    """A refusal a script can read: {"error": message, ...extra}."""
    return JsonResponse({"error": message, **extra}, status=status)
