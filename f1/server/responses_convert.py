"""Responses API request -> engine inputs: the conversation (a stored one continued, then this request's input
items), the tool choice and the output format, checked as OpenAI checks them; and a finished response's output as
input items to store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter

from f1.output import ANY_OBJECT, OutputFormat
from f1.planner import ChatMessage
from f1.server.convert import output_of, parse_arguments, plain_text
from f1.server.errors import APIError
from f1.server.responses_wire import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputItem,
    OutputFunctionCall,
    OutputItem,
    OutputMessage,
    ResponsesRequest,
    TextFormatJSONObject,
    TextFormatText,
)
from f1.server.wire import NamedFunction, NamedToolChoice, WireToolChoice

ITEMS: TypeAdapter[list[InputItem]] = TypeAdapter(list[InputItem])


def input_items(request: ResponsesRequest) -> list[InputItem]:
    """The request's input as items (a string is one user message)."""
    if isinstance(request.input, str):
        return ITEMS.validate_python([{"role": "user", "content": request.input}])
    return list(request.input)


def to_messages(stored: Sequence[InputItem], given: Sequence[InputItem], instructions: str | None) -> list[ChatMessage]:
    """The conversation: `instructions` first, then the stored items and the request's. Every call output must
    answer an earlier call, and every call must be answered (a 400 naming the item, as ``input.[2].call_id``)."""
    messages = [ChatMessage(role="system", content=instructions)] if instructions else []
    calls: dict[str, str] = {}  # call_id -> name of the calls not yet answered
    items = [*stored, *given]
    for index, item in enumerate(items):
        where = f"input.[{index - len(stored)}]"
        if isinstance(item, FunctionCallItem):
            call = parse_arguments(item.call_id, item.name, item.arguments, f"{where}.arguments")
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant" and last.tool_calls and not last.content:
                messages[-1] = last.model_copy(update={"tool_calls": [*last.tool_calls, call]})
            else:
                messages.append(ChatMessage(role="assistant", tool_calls=[call]))
            calls[item.call_id] = item.name
        elif isinstance(item, FunctionCallOutputItem):
            if item.call_id not in calls:
                raise APIError(
                    f"No function call with call_id {item.call_id!r} precedes this function_call_output (or it was "
                    "answered already).",
                    param=f"{where}.call_id",
                )
            name = calls.pop(item.call_id)
            messages.append(ChatMessage(role="tool", content=plain_text(item.output), tool_call_id=item.call_id, name=name))
        else:
            role = "system" if item.role == "developer" else item.role
            messages.append(ChatMessage(role=role, content=plain_text(item.content)))
    if calls:
        raise APIError(f"No tool output found for function call {', '.join(sorted(calls))}.", param="input")
    return messages


def to_tool_choice(choice: Any) -> WireToolChoice | None:
    """The chat form of a Responses tool choice (a named function is flat here)."""
    if choice is None or isinstance(choice, str):
        return choice  # type: ignore[no-any-return]
    return NamedToolChoice(type="function", function=NamedFunction(name=choice.name))


def to_output(request: ResponsesRequest) -> OutputFormat | None:
    """`text.format` as an output format (None: text)."""
    form = request.text.format if request.text is not None else None
    if form is None or isinstance(form, TextFormatText):
        return None
    if isinstance(form, TextFormatJSONObject):
        return OutputFormat(ANY_OBJECT, name="json_object")
    return output_of(form, param="text.format.schema")


def as_input(output: Sequence[OutputItem]) -> list[dict[str, Any]]:
    """A response's output items as the input items that continue its conversation."""
    items: list[dict[str, Any]] = []
    for item in output:
        if isinstance(item, OutputMessage):
            items.append({"type": "message", "role": "assistant", "content": "".join(part.text for part in item.content)})
        elif isinstance(item, OutputFunctionCall):
            items.append({"type": "function_call", "call_id": item.call_id, "name": item.name, "arguments": item.arguments})
    return items
