"""The OpenAI-compatible Starlette app: /v1/chat/completions, /v1/responses, /v1/models, /health and /openapi.json.

Safe by default: only JSON bodies are read (415 otherwise), requests from web pages (an `Origin` header) are refused
unless their origin is allowed, bodies must arrive in time, and compound mode runs only tools that write nothing
unless write tools are allowed.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from f1.errors import ConfigError
from f1.server.convert import to_messages, to_output
from f1.server.errors import APIError
from f1.server.http import (
    AccessLog,
    EventStream,
    OriginGuard,
    answering_errors,
    authorize,
    guarded,
    read_request,
    until_disconnect,
)
from f1.server.modes import Modes
from f1.server.openapi import openapi_schema
from f1.server.responses import Header, completion, error_event, events
from f1.server.responses_endpoint import responses_routes
from f1.server.store import DEFAULT_MAX_RESPONSES, DEFAULT_TTL, ResponseStore, SQLiteResponseStore, default_store_path
from f1.server.wire import ChatCompletionRequest, Health, ModelCard, ModelList

if TYPE_CHECKING:
    from f1.engine import Engine

log = logging.getLogger("f1.server")
ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#\s@]+", re.IGNORECASE)  # scheme://host[:port]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """How the server answers. `model_names`: names served for model mode besides the planner model's own;
    `compound_name`: the name that selects compound mode (served when the engine has tools it may run);
    `cors_origins`: web page origins whose requests are served (all others with an `Origin` header get a 403);
    `allow_write_tools`: compound mode may run tools whose policy is not `read_only`;
    `body_timeout`: seconds a request body may take to arrive (then 408); `store_path`: the SQLite file of stored
    responses (None: `default_store_path()`), which keeps at most `store_max_responses`, each `store_ttl` seconds."""

    model_names: tuple[str, ...] = ()
    compound_name: str | None = "f1-compound"
    api_key: str | None = None
    max_body_bytes: int = 4 * 1024 * 1024
    argument_fragment: int = 16
    cors_origins: tuple[str, ...] = ()
    allow_write_tools: bool = False
    body_timeout: float = 30.0
    store_path: str | Path | None = None
    store_max_responses: int = DEFAULT_MAX_RESPONSES
    store_ttl: float = DEFAULT_TTL

    def __post_init__(self) -> None:
        for origin in self.cors_origins:
            if not ORIGIN.fullmatch(origin):
                raise ConfigError(f"CORS origin {origin!r} is not an origin: scheme://host[:port] (https://example.com)")
        if not self.body_timeout > 0:
            raise ConfigError(f"the body timeout must be positive, not {self.body_timeout}")


def create_app(engine: Engine, settings: ServerSettings | None = None, *, store: ResponseStore | None = None) -> Starlette:
    """The app serving `engine`: model mode under the planner's names, compound mode under `compound_name`.
    `store` keeps responses for `previous_response_id` (default: SQLite at `settings.store_path`).

    One engine serves every request; its model backend serialises or batches generation itself.
    """
    settings = settings or ServerSettings()
    modes = Modes(
        engine,
        model_names=settings.model_names,
        compound_name=settings.compound_name,
        allow_writes=settings.allow_write_tools,
    )
    if store is None:
        path = settings.store_path or default_store_path()
        store = SQLiteResponseStore(path, max_responses=settings.store_max_responses, ttl=settings.store_ttl)
    started = int(time.time())
    schema = openapi_schema(secured=settings.api_key is not None)

    async def chat_completions(request: Request) -> Response:
        chat = await read_request(
            request, ChatCompletionRequest, api_key=settings.api_key, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout
        )
        output = await anyio.to_thread.run_sync(to_output, chat.response_format)  # builds a grammar: CPU work
        answer = await modes.answer(
            chat.model,
            to_messages(chat.messages),
            tools=chat.tools,
            tool_choice=chat.tool_choice,
            parallel_tool_calls=chat.parallel_tool_calls,
            output=output,
        )
        AccessLog.note(request, chat.model, answer)
        header = Header(model=chat.model)
        if chat.stream:  # `stream_options` without `stream` is ignored, as OpenAI does
            include_usage = chat.stream_options is not None and chat.stream_options.include_usage
            chunks = events(header, answer.parts, include_usage=include_usage, fragment=settings.argument_fragment)
            return EventStream(guarded(chunks, lambda error: error_event(error.body)))
        whole = await until_disconnect(request.receive, lambda: completion(header, answer.parts))
        if whole is None:
            return Response(status_code=499)  # nobody is listening; never sent
        unset = {name for name in ("f1_trace", "f1_tools_shown") if getattr(whole, name) is None}
        return Response(whole.model_dump_json(exclude=unset), media_type="application/json")

    async def models(request: Request) -> Response:
        authorize(request, settings.api_key)
        cards = ModelList(data=[ModelCard(id=name, created=started) for name in modes.served])
        return Response(cards.model_dump_json(), media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(Health(models=list(modes.served)).model_dump_json(), media_type="application/json")

    async def openapi(request: Request) -> Response:
        return JSONResponse(schema)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = "not_found" if exc.status_code == 404 else None
        return APIError(str(exc.detail), status=exc.status_code, code=code, headers=exc.headers).response()

    routes = [
        Route("/v1/chat/completions", answering_errors(chat_completions), methods=["POST"]),
        *responses_routes(modes, settings, store),
        Route("/v1/models", answering_errors(models), methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """The model loads before the server listens, and closes what it holds open when the server stops."""
        log.info("loading %s", engine.model.name)
        async with engine:
            yield

    app = Starlette(
        routes=routes,
        middleware=[Middleware(AccessLog), Middleware(OriginGuard, allowed=settings.cors_origins)],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.served = modes.served
    app.state.withheld_tools = modes.withheld_tools
    app.state.store = store
    return app
