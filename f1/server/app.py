"""The OpenAI-compatible Starlette app: /v1/chat/completions, /v1/models, /health and /openapi.json.

Safe by default: only JSON bodies are read (415 otherwise), requests from web pages (an `Origin` header) are refused
unless their origin is allowed, bodies must arrive in time, and compound mode runs only tools that write nothing
unless write tools are allowed.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import anyio
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from f1.errors import F1Error
from f1.server import answers
from f1.server.convert import to_messages, to_output, to_specs, to_tool_choice
from f1.server.errors import APIError, engine_error, from_validation, internal_error, shorten
from f1.server.openapi import openapi_schema
from f1.server.responses import Header, completion, error_event, events
from f1.server.wire import ChatCompletionRequest, Health, ModelCard, ModelList

if TYPE_CHECKING:
    from f1.engine import Engine

log = logging.getLogger("f1.server")
T = TypeVar("T")
ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#\s@]+", re.IGNORECASE)  # scheme://host[:port]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """How the server answers. `model_names`: names served for model mode besides the planner model's own;
    `compound_name`: the name that selects compound mode (served when the engine has tools it may run);
    `cors_origins`: web page origins whose requests are served (all others with an `Origin` header get a 403);
    `allow_write_tools`: compound mode may run tools whose policy is not `read_only`;
    `body_timeout`: seconds a request body may take to arrive (then 408)."""

    model_names: tuple[str, ...] = ()
    compound_name: str | None = "f1-compound"
    api_key: str | None = None
    max_body_bytes: int = 4 * 1024 * 1024
    argument_fragment: int = 16
    cors_origins: tuple[str, ...] = ()
    allow_write_tools: bool = False
    body_timeout: float = 30.0

    def __post_init__(self) -> None:
        for origin in self.cors_origins:
            if not ORIGIN.fullmatch(origin):
                raise F1Error(f"CORS origin {origin!r} is not an origin: scheme://host[:port] (https://example.com)")
        if not self.body_timeout > 0:
            raise F1Error(f"the body timeout must be positive, not {self.body_timeout}")


def create_app(engine: Engine, settings: ServerSettings | None = None) -> Starlette:
    """The app serving `engine`: model mode under the planner's names, compound mode under `compound_name`.

    One engine serves every request; its model backend serialises or batches generation itself.
    """
    settings = settings or ServerSettings()
    planner_names = tuple(dict.fromkeys((engine.model.name, *settings.model_names)))
    compound = engine if settings.allow_write_tools else _read_only(engine)
    compound_name = settings.compound_name if settings.compound_name and len(compound.registry) else None
    served = (*planner_names, *([compound_name] if compound_name else []))
    started = int(time.time())
    schema = openapi_schema(secured=settings.api_key is not None)

    async def answer_parts(chat: ChatCompletionRequest) -> AsyncGenerator[answers.Part, None]:
        """Check the request against the mode its model selects; the parts of the answer, not yet started."""
        messages = to_messages(chat.messages)
        output = await anyio.to_thread.run_sync(to_output, chat.response_format)  # builds a grammar: CPU work
        if chat.model == compound_name:
            if chat.tools:
                raise APIError(
                    f"Model {compound_name!r} runs the server's own tools; send 'tools' to a planner model "
                    f"({', '.join(planner_names)}) instead.",
                    param="tools",
                )
            to_tool_choice(chat.tool_choice, [])  # refuses `required` and named functions: no client tools here
            return answers.compound_answer(compound, messages, output)
        if chat.model in planner_names:
            specs = await anyio.to_thread.run_sync(to_specs, chat.tools)  # schema checks: CPU work
            return answers.model_answer(
                engine,
                messages,
                tools=specs,
                tool_choice=to_tool_choice(chat.tool_choice, specs),
                parallel_tool_calls=chat.parallel_tool_calls is not False,
                output=output,
            )
        raise APIError(
            f"The model `{shorten(chat.model, 100)}` does not exist. Served models: {', '.join(served)}.",
            status=404,
            param="model",
            code="model_not_found",
        )

    async def chat_completions(request: Request) -> Response:
        _authorize(request, settings.api_key)
        _require_json(request)
        body = await _read_body(request, settings.max_body_bytes, settings.body_timeout)
        try:
            chat = ChatCompletionRequest.model_validate_json(body)
        except ValidationError as exc:
            raise from_validation(exc) from None
        parts = await answer_parts(chat)
        header = Header(model=chat.model)
        if chat.stream:  # `stream_options` without `stream` is ignored, as OpenAI does
            include_usage = chat.stream_options is not None and chat.stream_options.include_usage
            return EventStream(_guarded(events(header, parts, include_usage=include_usage, fragment=settings.argument_fragment)))
        answer = await until_disconnect(request.receive, lambda: completion(header, parts))
        if answer is None:
            return Response(status_code=499)  # nobody is listening; never sent
        exclude = {"f1_trace"} if answer.f1_trace is None else None
        return Response(answer.model_dump_json(exclude=exclude), media_type="application/json")

    async def models(request: Request) -> Response:
        _authorize(request, settings.api_key)
        cards = ModelList(data=[ModelCard(id=name, created=started) for name in served])
        return Response(cards.model_dump_json(), media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(Health(models=list(served)).model_dump_json(), media_type="application/json")

    async def openapi(request: Request) -> Response:
        return JSONResponse(schema)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = "not_found" if exc.status_code == 404 else None
        return APIError(str(exc.detail), status=exc.status_code, code=code, headers=exc.headers).response()

    routes = [
        Route("/v1/chat/completions", _answering_errors(chat_completions), methods=["POST"]),
        Route("/v1/models", _answering_errors(models), methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(OriginGuard, allowed=settings.cors_origins)],
        exception_handlers={HTTPException: http_error},
    )
    app.state.served = served
    app.state.withheld_tools = sorted(set(engine.registry) - set(compound.registry))
    return app


def _read_only(engine: Engine) -> Engine:
    """`engine` with only its read-only tools: what compound mode may run unless writes are allowed."""
    from f1.engine import Engine

    readers = [tool for tool in engine.registry.values() if tool.policy.read_only]
    if len(readers) == len(engine.registry):
        return engine
    return Engine(readers, model=engine.model, config=engine.config)


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


async def _guarded(chunks: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
    """Stream errors after the response began as one OpenAI error event (the SDK raises it)."""
    try:
        async with aclosing(chunks):
            async for chunk in chunks:
                yield chunk
    except Exception as exc:
        yield error_event(_api_error(exc).body)


def _answering_errors(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ClientDisconnect:
            return Response(status_code=499)  # gone while sending its body; never sent
        except Exception as exc:
            return _api_error(exc).response()

    return answer


def _api_error(exc: Exception) -> APIError:
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, F1Error):
        log.warning("engine error: %s", exc)
        return engine_error(exc)
    log.exception("unexpected error while answering a request")
    return internal_error()


def _authorize(request: Request, api_key: str | None) -> None:
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


def _require_json(request: Request) -> None:
    """Only JSON bodies are read: web pages can send form and plain-text bodies to any site without asking (415)."""
    given = request.headers.get("content-type", "")
    if given.partition(";")[0].strip().lower() != "application/json":
        raise APIError(
            f"Unsupported Content-Type {shorten(given, 100)!r}: send the request body as application/json.",
            status=415,
            code="unsupported_media_type",
        )


async def _read_body(request: Request, limit: int, timeout: float) -> bytes:
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

