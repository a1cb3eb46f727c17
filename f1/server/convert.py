"""Wire request -> engine inputs: chat messages, tool specs, the tool choice and the output format, checked as
OpenAI checks them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from f1.cache import BoundedCache
from f1.errors import F1Error, ToolSpecError
from f1.output import ANY_OBJECT, OutputFormat
from f1.planner import ChatMessage, ToolCall
from f1.server.errors import APIError
from f1.server.responses_wire import FunctionTool, InputText
from f1.server.wire import (
    AssistantMessage,
    JSONObjectResponseFormat,
    JSONSchemaFormat,
    Message,
    ResponseFormat,
    TextContentPart,
    ToolMessage,
    WireTool,
    WireToolChoice,
)
from f1.tools.spec import ToolSpec


def to_messages(wire: Sequence[Message]) -> list[ChatMessage]:
    """Convert the conversation. Tool results must answer a call of the assistant message before them."""
    messages: list[ChatMessage] = []
    calls: dict[str, str] = {}  # tool_call_id -> tool name, of the last assistant message with tool calls
    for index, message in enumerate(wire):
        where = f"messages.[{index}]"
        if isinstance(message, ToolMessage):
            if message.tool_call_id not in calls:
                raise APIError(
                    f"Invalid parameter: a message with role 'tool' must answer a preceding assistant tool call; "
                    f"no call has id {message.tool_call_id!r}.",
                    param=f"{where}.tool_call_id",
                )
            name = calls.pop(message.tool_call_id)
            messages.append(ChatMessage(role="tool", content=plain_text(message.content), tool_call_id=message.tool_call_id, name=name))
            continue
        _check_answered(calls, where)
        if isinstance(message, AssistantMessage):
            tool_calls = [
                parse_arguments(call.id, call.function.name, call.function.arguments, f"{where}.tool_calls.[{i}].function.arguments")
                for i, call in enumerate(message.tool_calls or [])
            ]
            calls = {call.id: call.name for call in tool_calls}
            content = plain_text(message.content) if message.content is not None else ""
            messages.append(ChatMessage(role="assistant", content=content, tool_calls=tool_calls, name=message.name))
        else:
            role = "system" if message.role == "developer" else message.role
            messages.append(ChatMessage(role=role, content=plain_text(message.content), name=message.name))
    _check_answered(calls, "messages")
    return messages


def _check_answered(calls: dict[str, str], where: str) -> None:
    if calls:
        raise APIError(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
            f"'tool_call_id'. Missing: {', '.join(sorted(calls))}.",
            param=where,
        )


def to_specs(tools: Sequence[WireTool | FunctionTool] | None) -> list[ToolSpec]:
    """Read the request's tools (chat's or the Responses API's flat form); a malformed one (e.g. parameters that
    are no JSON schema) is a 400."""
    specs: list[ToolSpec] = []
    for index, entry in enumerate(tools or []):
        try:
            specs.append(_spec(entry.model_dump_json(exclude_none=True)))
        except ToolSpecError as exc:
            raise APIError(f"Invalid tools.[{index}]: {exc}", param="tools", code="invalid_tool") from None
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        duplicate = next(name for name in names if names.count(name) > 1)
        raise APIError(f"Invalid 'tools': duplicate function name {duplicate!r}.", param="tools", code="invalid_tool")
    return specs


def _spec(entry: str) -> ToolSpec:
    """Clients resend the same tools every turn: check each schema once (checking costs ~1 ms a tool)."""
    return _SPECS.get_or_build(entry, lambda: ToolSpec.from_openai(json.loads(entry)))


_SPECS: BoundedCache[ToolSpec] = BoundedCache(max_bytes=4 * 1024 * 1024)


def to_tool_choice(choice: WireToolChoice | None, specs: Sequence[ToolSpec]) -> str | dict[str, Any]:
    """The tool choice the engine enforces; `required` or a named function need tools, and a known name."""
    if choice is None or choice == "auto":
        return "auto" if specs else "none"
    if choice == "none":
        return "none"
    if not specs:
        raise APIError(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            param="tool_choice",
        )
    if choice == "required":
        return "required"
    if choice.function.name not in {spec.name for spec in specs}:
        raise APIError(
            f"Invalid value for 'tool_choice': no function named {choice.function.name!r} was specified in 'tools'.",
            param="tool_choice",
        )
    return {"type": "function", "function": {"name": choice.function.name}}


def to_output(form: ResponseFormat | None) -> OutputFormat | None:
    """The output format the answer must follow (None: text). A schema the grammar cannot enforce is a 400 naming
    the keyword."""
    if form is None or form.type == "text":
        return None
    if isinstance(form, JSONObjectResponseFormat):
        return OutputFormat(ANY_OBJECT, name="json_object")
    return output_of(form.json_schema, param="response_format.json_schema.schema")


def output_of(form: JSONSchemaFormat, *, param: str) -> OutputFormat:
    """The output format of a named JSON schema; a 400 naming the problem (an unsupported keyword, ...) at `param`."""
    try:
        return OutputFormat(form.schema_, name=form.name)
    except F1Error as exc:
        raise APIError(f"Invalid '{param}': {exc}.", param=param, code="invalid_response_format") from None


def parse_arguments(call_id: str, name: str, arguments: str, param: str) -> ToolCall:
    """A call of the conversation; its `arguments` (at `param` in the request) must be a JSON object."""
    try:
        decoded = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError as exc:
        raise APIError(f"Invalid JSON in '{param}': {exc}.", param=param) from None
    if not isinstance(decoded, dict):
        raise APIError(f"'{param}' must be a JSON object.", param=param)
    return ToolCall(id=call_id, name=name, arguments=decoded)


def plain_text(content: str | Sequence[TextContentPart | InputText]) -> str:
    """A message's text: the string, or its text parts joined."""
    return content if isinstance(content, str) else "".join(part.text for part in content)
