"""Answer parts -> a `chat.completion` object, or `chat.completion.chunk` server-sent events as OpenAI streams them."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field

from f1 import __version__
from f1.planner import TextDelta, Usage
from f1.server.answers import CallPart, EndPart, Part
from f1.server.wire import (
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    ChunkDelta,
    CompletionUsage,
    ErrorBody,
    ErrorResponse,
    FinishReason,
    FunctionCall,
    FunctionDelta,
    ResponseMessage,
    ToolCallDelta,
    WireToolCall,
)

FINGERPRINT = f"fp_f1_{__version__}"
DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class Header:
    """What every object of one answer shares."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{secrets.token_urlsafe(21)}")
    created: int = field(default_factory=lambda: int(time.time()))


def wire_usage(usage: Usage) -> CompletionUsage:
    return CompletionUsage(
        prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens, total_tokens=usage.total_tokens
    )


async def completion(header: Header, parts: AsyncGenerator[Part, None]) -> ChatCompletion:
    """Collect the parts into one answer."""
    texts: list[str] = []
    calls: list[WireToolCall] = []
    end = EndPart("stop", Usage())
    async with aclosing(parts):
        async for part in parts:
            if isinstance(part, CallPart):
                calls.append(WireToolCall(id=part.id, function=FunctionCall(name=part.name, arguments=part.arguments)))
            elif isinstance(part, TextDelta):
                texts.append(part.text)
            else:
                end = part
    message = ResponseMessage(content="".join(texts) if texts or not calls else None, tool_calls=calls or None)
    return ChatCompletion(
        id=header.id,
        created=header.created,
        model=header.model,
        system_fingerprint=FINGERPRINT,
        choices=[Choice(message=message, finish_reason=end.finish_reason)],
        usage=wire_usage(end.usage),
        f1_trace=end.trace,
        f1_tools_shown=end.tools_shown,
    )


async def events(
    header: Header, parts: AsyncGenerator[Part, None], *, include_usage: bool, fragment: int
) -> AsyncGenerator[bytes, None]:
    """Server-sent events: a role chunk, then content or tool-call chunks (id and name first, arguments in
    `fragment`-character pieces), the finish chunk, the usage chunk if asked for, and ``[DONE]``."""

    def chunk(
        delta: ChunkDelta | None,
        *,
        finish_reason: FinishReason | None = None,
        usage: Usage | None = None,
        end: EndPart | None = None,
    ) -> bytes:
        body = ChatCompletionChunk(
            id=header.id,
            created=header.created,
            model=header.model,
            system_fingerprint=FINGERPRINT,
            choices=[] if delta is None else [ChunkChoice(delta=delta, finish_reason=finish_reason)],
            usage=None if usage is None else wire_usage(usage),
            f1_trace=None if end is None else end.trace,
            f1_tools_shown=None if end is None else end.tools_shown,
        )
        return b"data: " + body.model_dump_json(exclude_none=True).encode() + b"\n\n"

    def call_delta(call: CallPart, **function: str) -> ChunkDelta:
        return ChunkDelta(tool_calls=[ToolCallDelta(index=call.index, function=FunctionDelta(**function))])

    yield chunk(ChunkDelta(role="assistant", content=""))
    async with aclosing(parts):
        async for part in parts:
            if isinstance(part, TextDelta):
                if part.text:
                    yield chunk(ChunkDelta(content=part.text))
            elif isinstance(part, CallPart):
                opening = ToolCallDelta(
                    index=part.index, id=part.id, type="function", function=FunctionDelta(name=part.name, arguments="")
                )
                yield chunk(ChunkDelta(tool_calls=[opening]))
                for start in range(0, len(part.arguments), fragment):
                    yield chunk(call_delta(part, arguments=part.arguments[start : start + fragment]))
            else:
                yield chunk(ChunkDelta(), finish_reason=part.finish_reason, end=part)
                if include_usage:
                    yield chunk(None, usage=part.usage)
    yield DONE


def error_event(error: ErrorBody) -> bytes:
    """An error after the stream began: one event the SDK raises as an APIError."""
    return b"data: " + ErrorResponse(error=error).model_dump_json().encode() + b"\n\n"
