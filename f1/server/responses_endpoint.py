"""The Responses API routes: POST /v1/responses (whole or streamed), GET and DELETE /v1/responses/{id}.

A response is stored (unless the request says `store: false`) with its conversation, which a later request
continues by naming it as `previous_response_id`; an unknown id is a 404."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from f1.server.errors import APIError
from f1.server.http import (
    AccessLog,
    EventStream,
    answering_errors,
    authorize,
    guarded,
    read_request,
    until_disconnect,
)
from f1.server.modes import Modes
from f1.server.responses_convert import ITEMS, as_input, input_items, to_messages, to_output, to_tool_choice
from f1.server.responses_render import ResponseBuilder, events, response_id, whole
from f1.server.responses_wire import DeletedResponse, ResponsesRequest, TextConfig
from f1.server.responses_wire import Response as ResponseObject
from f1.server.store import ResponseStore, StoredResponse

if TYPE_CHECKING:
    from f1.server.app import ServerSettings


def responses_routes(modes: Modes, settings: ServerSettings, store: ResponseStore) -> list[Route]:
    """The routes of the Responses API, answering through `modes` and keeping responses in `store`."""

    async def create(request: Request) -> Response:
        wanted = await read_request(
            request, ResponsesRequest, api_key=settings.api_key, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout
        )
        earlier = await _earlier(store, wanted.previous_response_id)
        given = input_items(wanted)
        messages = to_messages(ITEMS.validate_python(earlier), given, wanted.instructions)
        output = await anyio.to_thread.run_sync(to_output, wanted)  # builds a grammar: CPU work
        answer = await modes.answer(
            wanted.model,
            messages,
            tools=wanted.tools,
            tool_choice=to_tool_choice(wanted.tool_choice),
            parallel_tool_calls=wanted.parallel_tool_calls,
            output=output,
        )
        AccessLog.note(request, wanted.model, answer)
        builder = ResponseBuilder(_started(wanted), fragment=settings.argument_fragment)

        async def finished(response: ResponseObject) -> None:
            if response.store:
                items = [*earlier, *(item.model_dump(mode="json", exclude_none=True) for item in given)]
                kept = StoredResponse(_json(response), [*items, *as_input(response.output)])
                await store.put(response.id, kept)

        if wanted.stream:
            return EventStream(guarded(events(builder, answer.parts, finished), builder.error))
        done = await until_disconnect(request.receive, lambda: whole(builder, answer.parts, finished))
        if done is None:
            return Response(status_code=499)  # nobody is listening; never sent
        return Response(done.model_dump_json(exclude=_unset_extensions(done)), media_type="application/json")

    async def retrieve(request: Request) -> Response:
        authorize(request, settings.api_key)
        stored = await _stored(store, request.path_params["response_id"], param=None)
        response = ResponseObject.model_validate(stored.response)
        return Response(response.model_dump_json(exclude=_unset_extensions(response)), media_type="application/json")

    async def delete(request: Request) -> Response:
        authorize(request, settings.api_key)
        response_id = request.path_params["response_id"]
        if not await store.delete(response_id):
            raise _not_found(response_id, param=None)
        return Response(DeletedResponse(id=response_id).model_dump_json(), media_type="application/json")

    return [
        Route("/v1/responses", answering_errors(create), methods=["POST"]),
        Route("/v1/responses/{response_id}", answering_errors(retrieve), methods=["GET"]),
        Route("/v1/responses/{response_id}", answering_errors(delete), methods=["DELETE"]),
    ]


def _started(wanted: ResponsesRequest) -> ResponseObject:
    """The response in progress: what every event of it shares, echoing the request."""
    return ResponseObject(
        id=response_id(),
        created_at=int(time.time()),
        status="in_progress",
        model=wanted.model,
        output=[],
        instructions=wanted.instructions,
        tools=wanted.tools or [],
        tool_choice=wanted.tool_choice or "auto",
        parallel_tool_calls=wanted.parallel_tool_calls is not False,
        text=wanted.text or TextConfig(),
        previous_response_id=wanted.previous_response_id,
        store=wanted.store is not False,
        temperature=wanted.temperature,
        top_p=wanted.top_p,
        max_output_tokens=wanted.max_output_tokens,
        metadata=wanted.metadata or {},
    )


async def _earlier(store: ResponseStore, previous: str | None) -> list[dict[str, object]]:
    """The conversation a `previous_response_id` continues (none without one)."""
    if previous is None:
        return []
    return (await _stored(store, previous, param="previous_response_id")).items


async def _stored(store: ResponseStore, response_id: str, *, param: str | None) -> StoredResponse:
    stored = await store.get(response_id)
    if stored is None:
        raise _not_found(response_id, param=param)
    return stored


def _not_found(response_id: str, *, param: str | None) -> APIError:
    what = "Previous response" if param else "Response"
    return APIError(
        f"{what} with id {response_id[:200]!r} not found (never stored, deleted, or expired).",
        status=404,
        param=param,
        code="previous_response_not_found" if param else "response_not_found",
    )


def _json(response: ResponseObject) -> dict[str, object]:
    return response.model_dump(mode="json", exclude=_unset_extensions(response))


def _unset_extensions(response: ResponseObject) -> set[str]:
    """f1's own fields that are unset, left out of the JSON."""
    return {name for name in ("f1_trace", "f1_tools_shown") if getattr(response, name) is None}
