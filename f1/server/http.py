"""HTTP plumbing shared by the endpoints: the origin guard, bearer auth, JSON bodies read within limits, server-sent
event streams that stop when the client leaves, and errors answered in OpenAI's shape."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection
from contextlib import aclosing
from typing import TYPE_CHECKING, TypeVar

import anyio
from pydantic import BaseModel, ValidationError
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from f1.errors import F1Error
from f1.server.errors import APIError, engine_error, from_validation, internal_error, shorten

if TYPE_CHECKING:
    from f1.server.modes import Answer

log = logging.getLogger("f1.server")
access_log = logging.getLogger("f1.server.access")
T = TypeVar("T")


class AccessLog:
    """One INFO line per request on the `f1.server.access` logger, once its answer is sent: method, path, status,
    milliseconds, and for answers the model and the tools offered/shown (``tools=40/16``: retrieval kept 16)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app fails before it answers, the server answers 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            milliseconds = (time.perf_counter() - started) * 1000
            line = f"{scope['method']} {scope['path']} {status} {milliseconds:.1f}ms"
            answer = scope.get("state", {}).get("f1_access")
            if answer is not None:
                model, offered, shown = answer
                tools = "-" if offered is None else f"{offered}/{shown}"
                line += f" model={shorten(model, 100)} tools={tools}"
            access_log.info(line)

    @staticmethod
    def note(request: Request, model: str, answer: Answer) -> None:
        """What the line of `request` tells of its answer."""
        request.state.f1_access = (model, answer.tools_offered, answer.tools_shown)


class OriginGuard:
    """Browsers name the page's origin in an `Origin` header: such requests are refused (403) unless the origin is
    allowed; allowed origins get CORS headers and their preflight answered. Requests without it pass as they are."""

    def __init__(self, app: ASGIApp, allowed: Collection[str]) -> None:
        self.app = app
        self.allowed = frozenset(origin.lower() for origin in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else Headers()
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if origin.lower() not in self.allowed:
            refusal = APIError(
                f"Requests from web pages of origin {shorten(origin, 100)!r} are not allowed "
                "(the server allows origins it is started with: f1 serve --cors-origin ORIGIN).",
                status=403,
                code="origin_not_allowed",
            )
            await refusal.response()(scope, receive, send)
            return
        readable = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            preflight = {
                **readable,
                "Access-Control-Allow-Methods": "GET, POST",
                "Access-Control-Allow-Headers": headers.get("access-control-request-headers", ""),
                "Access-Control-Max-Age": "600",
            }
            await Response(status_code=204, headers=preflight)(scope, receive, send)
            return
        extra = [(name.lower().encode(), value.encode()) for name, value in readable.items()]

        async def send_readable(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_readable)


class EventStream(Response):
    """A server-sent event stream that stops (cancelling its source) as soon as the client disconnects."""

    media_type = "text/event-stream"

    def __init__(self, body: AsyncGenerator[bytes, None]) -> None:
        self.body_iterator = body
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stream() -> bool:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async with aclosing(self.body_iterator) as chunks:
                async for chunk in chunks:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            return True

        # The last message ends the response, and the server then reports a disconnect: sent after the watch.
        if await until_disconnect(receive, stream):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def until_disconnect(receive: Receive, work: Callable[[], Awaitable[T]]) -> T | None:
    """Run `work`; if the client disconnects first, cancel it and return None. The request body must be read.
    The work's own exception comes out as it is, not wrapped in an exception group."""
    outcome: list[T] = []
    failure: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            log.info("client disconnected; cancelling its request")
            group.cancel_scope.cancel()

        group.start_soon(watch)
        try:
            outcome.append(await work())
        except Exception as exc:
            failure.append(exc)
        group.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return outcome[0] if outcome else None


async def guarded(
    chunks: AsyncGenerator[bytes, None], error_event: Callable[[APIError], bytes]
) -> AsyncGenerator[bytes, None]:
    """Stream errors after the response began as one `error_event` (each API words its own)."""
    try:
        async with aclosing(chunks):
            async for chunk in chunks:
                yield chunk
    except Exception as exc:
        yield error_event(api_error(exc))


def answering_errors(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ClientDisconnect:
            return Response(status_code=499)  # gone while sending its body; never sent
        except Exception as exc:
            return api_error(exc).response()

    return answer


def api_error(exc: Exception) -> APIError:
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, F1Error):
        log.warning("engine error: %s", exc)
        return engine_error(exc)
    log.exception("unexpected error while answering a request")
    return internal_error()


def authorize(request: Request, api_key: str | None) -> None:
    if api_key is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise APIError(
            "You didn't provide an API key. Send it in the Authorization header as 'Bearer YOUR_KEY'.",
            status=401,
            code="missing_api_key",
        )
    if not hmac.compare_digest(given.strip().encode(), api_key.encode()):
        raise APIError("Incorrect API key provided.", status=401, code="invalid_api_key")


def require_json(request: Request) -> None:
    """Only JSON bodies are read: web pages can send form and plain-text bodies to any site without asking (415)."""
    given = request.headers.get("content-type", "")
    if given.partition(";")[0].strip().lower() != "application/json":
        raise APIError(
            f"Unsupported Content-Type {shorten(given, 100)!r}: send the request body as application/json.",
            status=415,
            code="unsupported_media_type",
        )


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The body, refused with 413 past `limit` bytes (by its Content-Length, and by counting what arrives) and
    with 408 when it takes longer than `timeout` seconds to arrive."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise APIError("Invalid Content-Length header.", code="invalid_content_length")
        if int(declared) > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        with anyio.fail_after(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise APIError(
            f"The request body did not arrive within {timeout:g} s.",
            status=408,
            code="request_timeout",
            headers={"Connection": "close"},
        ) from None
    return b"".join(chunks)


def _too_large(limit: int) -> APIError:
    return APIError(f"Request body too large: the limit is {limit} bytes.", status=413, code="request_too_large")



RequestModel = TypeVar("RequestModel", bound=BaseModel)


async def read_request(
    request: Request, model: type[RequestModel], *, api_key: str | None, max_bytes: int, timeout: float
) -> RequestModel:
    """An authorised JSON body, validated as `model` (401, 415, 413, 408 or 400 otherwise)."""
    authorize(request, api_key)
    require_json(request)
    body = await read_body(request, max_bytes, timeout)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise from_validation(exc) from None
