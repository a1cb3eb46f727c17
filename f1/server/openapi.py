"""The OpenAPI document of the server, generated from the wire models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from f1 import __version__
from f1.server.responses_wire import DeletedResponse, Response, ResponsesRequest, ResponseStreamEvent
from f1.server.wire import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ErrorResponse, Health, ModelList


def openapi_schema(*, secured: bool) -> dict[str, Any]:
    """OpenAPI 3.1 for /v1/chat/completions, /v1/responses, /v1/models and /health. `secured`: bearer auth on /v1."""
    models: list[tuple[type[BaseModel], str]] = [(ChatCompletionRequest, "validation"), (ResponsesRequest, "validation")]
    shapes = (ChatCompletion, ChatCompletionChunk, Response, ResponseStreamEvent, DeletedResponse, ErrorResponse)
    models += [(model, "serialization") for model in (*shapes, ModelList, Health)]
    _, schemas = models_json_schema(models, ref_template="#/components/schemas/{model}")

    def ref(model: type[BaseModel]) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    errors = {
        status: {"description": description, "content": {"application/json": {"schema": ref(ErrorResponse)}}}
        for status, description in (("4XX", "Invalid request (OpenAI error shape)"), ("5XX", "Server error"))
    }
    security = [{"bearer": []}] if secured else []
    response_id = [{"name": "response_id", "in": "path", "required": True, "schema": {"type": "string"}}]

    def operation(
        name: str, answer: type[BaseModel], described: str, stream: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """An /v1 operation that answers `answer` as JSON (and, with `stream`, as server-sent events), or an error."""
        content: dict[str, Any] = {"application/json": {"schema": ref(answer)}}
        if stream is not None:
            content["text/event-stream"] = {"schema": stream}
        ok = {"200": {"description": described, "content": content}}
        return {"operationId": name, **fields, "security": security, "responses": {**ok, **errors}}

    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "f1 OpenAI-compatible API", "version": __version__},
        "paths": {
            "/v1/chat/completions": {
                "post": operation(
                    "createChatCompletion",
                    ChatCompletion,
                    "The answer; with stream=true, server-sent chat.completion.chunk events",
                    sse_event(ref(ChatCompletionChunk), ref(ErrorResponse)),
                    summary="Plan tool calls (model mode) or answer with server-side tools (compound mode)",
                    requestBody={"required": True, "content": {"application/json": {"schema": ref(ChatCompletionRequest)}}},
                )
            },
            "/v1/responses": {
                "post": operation(
                    "createResponse",
                    Response,
                    "The response; with stream=true, server-sent response.* events",
                    sse_event(ref(ResponseStreamEvent), None),
                    summary="The Responses API: plan tool calls (model mode) or answer with server-side tools (compound)",
                    requestBody={"required": True, "content": {"application/json": {"schema": ref(ResponsesRequest)}}},
                )
            },
            "/v1/responses/{response_id}": {
                "get": operation("getResponse", Response, "A stored response", parameters=response_id),
                "delete": operation("deleteResponse", DeletedResponse, "Deleted", parameters=response_id),
            },
            "/v1/models": {"get": operation("listModels", ModelList, "Served models")},
            "/health": {
                "get": {
                    "operationId": "health",
                    "responses": {"200": {"description": "Ready", "content": {"application/json": {"schema": ref(Health)}}}},
                }
            },
        },
        "components": {"schemas": schemas["$defs"]},
    }
    if secured:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    return document


def sse_event(event: dict[str, Any], error: dict[str, Any] | None) -> dict[str, Any]:
    """The schema of one server-sent event of a stream (before 3.2, OpenAPI describes a stream by its events, as
    parsed: `data`, `event`, ...). Chat streams end with ``[DONE]`` and send an `error` object on failure; the
    Responses API names each event and sends errors as its own `error` event."""
    data: dict[str, Any] = {"type": "string", "contentMediaType": "application/json"}
    if error is None:
        data["contentSchema"] = event
        described = "`data` is a response event as JSON, `event` its type"
    else:
        data = {"anyOf": [{"const": "[DONE]"}, {**data, "contentSchema": {"anyOf": [event, error]}}]}
        described = ("`data` is a chat.completion.chunk as JSON (an error object if the answer fails after the stream "
                     "began); the last event's is `[DONE]`")  # fmt: skip
    return {
        "type": "object",
        "description": f"{described}.",
        "properties": {"data": data, "event": {"type": "string"}},
        "required": ["data"],
    }
