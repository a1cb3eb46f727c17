"""Errors as OpenAI returns them: a status and ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from starlette.responses import Response

from f1.errors import F1Error, UpstreamError
from f1.server import responses_wire
from f1.server.wire import FORMAT_TYPES, REQUEST_FIELDS, ROLES, ErrorBody, ErrorResponse

INVALID_REQUEST = "invalid_request_error"
FIELDS = REQUEST_FIELDS | {
    info.alias or name for model in responses_wire.REQUEST_MODELS for name, info in model.model_fields.items()
}  # every request field of both APIs: what an error's `param` names
SERVER_ERROR = "server_error"
ENGINE_STATUS = {UpstreamError.code: 502}  # an engine error's HTTP status by its code; the others are 500s
MAX_MESSAGE_CHARS = 1000  # what an error message may quote of a request is cut to fit

_URL_CREDENTIALS = re.compile(r"://[^\s/?#@]*@")  # linear: each scan stops at the next "/"


class APIError(F1Error):
    """A request the server answers with an OpenAI-shaped error."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = INVALID_REQUEST,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = {**({"WWW-Authenticate": "Bearer"} if status == 401 else {}), **(headers or {})}
        self.body = ErrorBody(message=shorten(message, MAX_MESSAGE_CHARS), type=type, param=param, code=code)

    def response(self) -> Response:
        return Response(
            ErrorResponse(error=self.body).model_dump_json(),
            status_code=self.status,
            headers=self.headers,
            media_type="application/json",
        )


def shorten(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with a note of how many more there were (error messages quote input)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def redact(message: str) -> str:
    """`message` with the credentials of its URLs (`user:password@`) left out."""
    return _URL_CREDENTIALS.sub("://", message)


def from_validation(exc: ValidationError) -> APIError:
    """The problem of a request that failed validation, naming the field as OpenAI does (``messages.[0].content``)."""
    problem = max(exc.errors(include_url=False), key=lambda error: len(error["loc"]))  # the deepest union branch
    if problem["type"] == "json_invalid":
        return APIError(
            f"We could not parse the JSON body of your request ({problem['msg']}). The body must be a JSON object.",
            code="invalid_json",
        )
    if not problem["loc"]:
        return APIError("The body of your request must be a JSON object.", code="invalid_json")
    where = _param(problem["loc"])
    if problem["type"] == "missing":
        return APIError(f"Missing required parameter: '{where}'.", param=where, code="missing_required_parameter")
    return APIError(f"Invalid value for '{where}': {problem['msg']}.", param=where, code="invalid_value")


def engine_error(exc: F1Error) -> APIError:
    """A deliberate engine failure (the model's output unusable, ...), answered with its stable `code` and the
    status `ENGINE_STATUS` gives it (500 by default); the message says what went wrong, without credentials and
    without what an upstream model server replied (the server log keeps both)."""
    message = f"{exc.summary} (the upstream reply is in the server log)" if isinstance(exc, UpstreamError) else str(exc)
    return APIError(redact(message), status=ENGINE_STATUS.get(exc.code, 500), type=SERVER_ERROR, code=exc.code)


def internal_error() -> APIError:
    """What a client sees of an unexpected failure (the traceback stays in the server log)."""
    return APIError(
        "The server had an error while processing your request. The server log has the details.",
        status=500,
        type=SERVER_ERROR,
    )


def _param(loc: Sequence[Any]) -> str:
    """Field names and indexes only: pydantic's locations also name union branches (``str``, a message role, a
    response format's type)."""
    parts: list[str] = []
    for previous, part in zip((None, *loc), loc, strict=False):
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in FIELDS and not _union_tag(previous, part):
            parts.append(part)
    return ".".join(parts)


def _union_tag(previous: Any, part: str) -> bool:
    """Whether `part`, after `previous` in a location, names the branch of a tagged union rather than a field."""
    return (isinstance(previous, int) and part in ROLES) or (previous in ("response_format", "format") and part in FORMAT_TYPES)
