"""Answer parts -> a Responses API `response` object, and the stream of events that builds it:
``response.created``, ``response.in_progress``, per output item ``response.output_item.added``, its text or
arguments deltas and their ``.done`` events, ``response.output_item.done``, then ``response.completed``."""

from __future__ import annotations

import secrets
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import aclosing

from pydantic import BaseModel

from f1.planner import TextDelta
from f1.server.answers import CallPart, EndPart, Part
from f1.server.errors import APIError
from f1.server.responses_wire import (
    ContentPartEvent,
    ErrorEvent,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    OutputFunctionCall,
    OutputItemEvent,
    OutputMessage,
    OutputText,
    OutputTextDelta,
    OutputTextDone,
    Response,
    ResponseSnapshot,
    ResponseUsage,
)

Finished = Callable[[Response], Awaitable[None]]


def response_id() -> str:
    return f"resp_{secrets.token_urlsafe(24)}"


class ResponseBuilder:
    """Turns answer parts into the events of one response; `response` is the object they build (in progress
    until the end part). Arguments are streamed in `fragment`-character deltas."""

    def __init__(self, response: Response, *, fragment: int) -> None:
        self.response = response
        self.fragment = fragment
        self._sequence = 0
        self._message: OutputMessage | None = None  # the text item being written

    def start(self) -> Iterator[BaseModel]:
        yield ResponseSnapshot(type="response.created", sequence_number=self._next(), response=self.response.model_copy())
        yield ResponseSnapshot(type="response.in_progress", sequence_number=self._next(), response=self.response.model_copy())

    def feed(self, part: Part) -> Iterator[BaseModel]:
        if isinstance(part, TextDelta):
            yield from self._text(part.text)
        elif isinstance(part, CallPart):
            yield from self._call(part)
        else:
            yield from self._end(part)

    def completed(self) -> ResponseSnapshot:
        """The last event: the finished response."""
        return ResponseSnapshot(type="response.completed", sequence_number=self._next(), response=self.response)

    def error(self, error: APIError) -> bytes:
        """The event of an error after the stream began."""
        body = error.body
        return sse(ErrorEvent(sequence_number=self._next(), code=body.code, message=body.message, param=body.param))

    def _next(self) -> int:
        self._sequence += 1
        return self._sequence - 1

    def _text(self, text: str) -> Iterator[BaseModel]:
        if self._message is None:
            self._message = OutputMessage(id=f"msg_{secrets.token_urlsafe(18)}", status="in_progress", content=[])
            yield OutputItemEvent(type="response.output_item.added", sequence_number=self._next(), output_index=self._index, item=self._message.model_copy())
            self._message.content.append(OutputText(text=""))
            yield ContentPartEvent(
                type="response.content_part.added", sequence_number=self._next(), item_id=self._message.id, output_index=self._index, content_index=0,
                part=OutputText(text=""),
            )  # fmt: skip
        if text:
            self._message.content[0].text += text
            yield OutputTextDelta(
                sequence_number=self._next(), item_id=self._message.id, output_index=self._index, content_index=0,
                delta=text,
            )  # fmt: skip

    def _close_message(self) -> Iterator[BaseModel]:
        message, self._message = self._message, None
        if message is None:
            return
        index, part = self._index, message.content[0]
        yield OutputTextDone(
            sequence_number=self._next(), item_id=message.id, output_index=index, content_index=0, text=part.text
        )
        yield ContentPartEvent(type="response.content_part.done", sequence_number=self._next(), item_id=message.id, output_index=index, content_index=0, part=part)
        message.status = "completed"
        self.response.output.append(message)
        yield OutputItemEvent(type="response.output_item.done", sequence_number=self._next(), output_index=index, item=message)

    def _call(self, part: CallPart) -> Iterator[BaseModel]:
        yield from self._close_message()
        item = OutputFunctionCall(
            id=f"fc_{secrets.token_urlsafe(18)}", call_id=part.id, name=part.name, arguments="", status="in_progress"
        )
        index = self._index
        yield OutputItemEvent(type="response.output_item.added", sequence_number=self._next(), output_index=index, item=item.model_copy())
        for start in range(0, len(part.arguments), self.fragment):
            delta = part.arguments[start : start + self.fragment]
            yield FunctionCallArgumentsDelta(sequence_number=self._next(), item_id=item.id, output_index=index, delta=delta)
        yield FunctionCallArgumentsDone(
            sequence_number=self._next(), item_id=item.id, output_index=index, name=part.name, arguments=part.arguments
        )
        item.arguments, item.status = part.arguments, "completed"
        self.response.output.append(item)
        yield OutputItemEvent(type="response.output_item.done", sequence_number=self._next(), output_index=index, item=item)

    def _end(self, end: EndPart) -> Iterator[BaseModel]:
        if not self.response.output and self._message is None:
            yield from self._text("")  # an empty answer is still a message
        yield from self._close_message()
        usage = end.usage
        self.response.usage = ResponseUsage(
            input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens, total_tokens=usage.total_tokens
        )
        self.response.status = "completed"
        self.response.f1_trace = end.trace
        self.response.f1_tools_shown = end.tools_shown

    @property
    def _index(self) -> int:
        return len(self.response.output)


async def whole(builder: ResponseBuilder, parts: AsyncGenerator[Part, None], finished: Finished) -> Response:
    """The finished response (passed to `finished`, e.g. to store it, before it is returned)."""
    async with aclosing(parts):
        async for part in parts:
            for _ in builder.feed(part):
                pass
    await finished(builder.response)
    return builder.response


async def events(builder: ResponseBuilder, parts: AsyncGenerator[Part, None], finished: Finished) -> AsyncGenerator[bytes, None]:
    """The response's server-sent events; `finished` runs before ``response.completed`` is sent."""
    for event in builder.start():
        yield sse(event)
    async with aclosing(parts):
        async for part in parts:
            for event in builder.feed(part):
                yield sse(event)
    await finished(builder.response)
    yield sse(builder.completed())


def sse(event: BaseModel) -> bytes:
    """One server-sent event named by its type, as OpenAI sends them."""
    kind = getattr(event, "type")
    return f"event: {kind}\ndata: ".encode() + event.model_dump_json(exclude_none=True).encode() + b"\n\n"
