"""The OpenAI Responses API wire format (POST /v1/responses) as pydantic models: requests, input and output items,
response objects and stream events. Single source of truth for parsing, writing and the OpenAPI schema; requests
ignore unknown fields, as the chat models do."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, Field, RootModel, Tag

from f1.server.wire import ErrorBody, FunctionDefinition, JSONSchemaFormat, Lenient

# Requests ---------------------------------------------------------------------------------------------------


class InputText(Lenient):
    """A text part of a message (what f1 reads of a message's content)."""

    type: Literal["input_text", "output_text"]
    text: str


ItemContent = str | list[InputText]


class MessageItem(Lenient):
    """A message; `type` may be left out (EasyInputMessage)."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: ItemContent


class FunctionCallItem(Lenient):
    """A call the model made earlier (from a previous response's output)."""

    type: Literal["function_call"]
    call_id: str = Field(min_length=1)
    name: str
    arguments: str = Field(description="The call's arguments: a JSON object, as a string")


class FunctionCallOutputItem(Lenient):
    """The result of a call, sent back by the client."""

    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1)
    output: ItemContent


def _item_type(value: Any) -> str:
    kind = value.get("type", "message") if isinstance(value, dict) else getattr(value, "type", "message")
    return kind if kind in ITEM_TYPES else "message"  # an unknown type fails as a message, naming `type`


InputItem = Annotated[
    Annotated[MessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")],
    Discriminator(_item_type),
]
ITEM_TYPES = frozenset({"message", "function_call", "function_call_output"})


class _FunctionType(BaseModel):
    type: Literal["function"]


class FunctionTool(FunctionDefinition, _FunctionType):
    """A function tool: chat's function definition with its `type` beside it (flat, unlike chat's tools). Its
    `type` comes first (pydantic takes the bases' fields last base first), so a bad one is the error reported."""


class NamedFunctionChoice(Lenient):
    type: Literal["function"]
    name: str


ResponsesToolChoice = Literal["auto", "none", "required"] | NamedFunctionChoice


class TextFormatText(Lenient):
    type: Literal["text"]


class TextFormatJSONObject(Lenient):
    type: Literal["json_object"]


class TextFormatJSONSchema(JSONSchemaFormat):
    type: Literal["json_schema"]


TextFormat = Annotated[TextFormatText | TextFormatJSONObject | TextFormatJSONSchema, Field(discriminator="type")]


class TextConfig(Lenient):
    format: TextFormat = Field(default_factory=lambda: TextFormatText(type="text"))


class ResponsesRequest(Lenient):
    """POST /v1/responses. Sampling fields are accepted for compatibility; the engine decodes greedily."""

    model: str
    input: str | list[InputItem]
    instructions: str | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: ResponsesToolChoice | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    stream: bool | None = False
    previous_response_id: str | None = Field(default=None, max_length=200)
    store: bool | None = True
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    metadata: dict[str, str] | None = None
    user: str | None = None


REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    ResponsesRequest, InputText, MessageItem, FunctionCallItem, FunctionCallOutputItem, FunctionTool,
    NamedFunctionChoice, TextConfig, TextFormatJSONSchema,
)  # fmt: skip


# Responses --------------------------------------------------------------------------------------------------


class OutputText(BaseModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[Any] = Field(default_factory=list)
    logprobs: list[Any] = Field(default_factory=list)


ItemStatus = Literal["in_progress", "completed"]


class OutputMessage(BaseModel):
    type: Literal["message"] = "message"
    id: str
    status: ItemStatus
    role: Literal["assistant"] = "assistant"
    content: list[OutputText]


class OutputFunctionCall(BaseModel):
    type: Literal["function_call"] = "function_call"
    id: str
    call_id: str
    name: str
    arguments: str
    status: ItemStatus


OutputItem = Annotated[OutputMessage | OutputFunctionCall, Field(discriminator="type")]


class InputTokensDetails(BaseModel):
    cached_tokens: int = 0


class OutputTokensDetails(BaseModel):
    reasoning_tokens: int = 0


class ResponseUsage(BaseModel):
    input_tokens: int
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    output_tokens: int
    output_tokens_details: OutputTokensDetails = Field(default_factory=OutputTokensDetails)
    total_tokens: int


class Response(BaseModel):
    """A response object. Compound answers add `f1_trace`; model-mode answers whose tools retrieval narrowed add
    `f1_tools_shown` (the tools the planner saw). OpenAI clients ignore both."""

    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: Literal["in_progress", "completed", "failed"]
    model: str
    output: list[OutputItem]
    usage: ResponseUsage | None = None
    error: ErrorBody | None = None
    incomplete_details: None = None
    instructions: str | None = None
    tools: list[FunctionTool] = Field(default_factory=list)
    tool_choice: ResponsesToolChoice = "auto"
    parallel_tool_calls: bool = True
    text: TextConfig = Field(default_factory=TextConfig)
    previous_response_id: str | None = None
    store: bool = True
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    f1_trace: dict[str, Any] | None = None
    f1_tools_shown: list[str] | None = None


class DeletedResponse(BaseModel):
    id: str
    object: Literal["response.deleted"] = "response.deleted"
    deleted: Literal[True] = True


# Stream events ----------------------------------------------------------------------------------------------


class _Event(BaseModel):
    sequence_number: int


class ResponseSnapshot(_Event):
    """The response as it stands: just created, in progress, or completed (the last event)."""

    type: Literal["response.created", "response.in_progress", "response.completed"]
    response: Response


class OutputItemEvent(_Event):
    type: Literal["response.output_item.added", "response.output_item.done"]
    output_index: int
    item: OutputItem


class _ItemEvent(_Event):
    """An event about one output item."""

    item_id: str
    output_index: int


class _ContentEvent(_ItemEvent):
    """An event about one content part of an output item."""

    content_index: int


class _TextEvent(_ContentEvent):
    logprobs: list[Any] = Field(default_factory=list)


class ContentPartEvent(_ContentEvent):
    type: Literal["response.content_part.added", "response.content_part.done"]
    part: OutputText


class OutputTextDelta(_TextEvent):
    type: Literal["response.output_text.delta"] = "response.output_text.delta"
    delta: str


class OutputTextDone(_TextEvent):
    type: Literal["response.output_text.done"] = "response.output_text.done"
    text: str


class FunctionCallArgumentsDelta(_ItemEvent):
    """A piece of a call's arguments, as they stream (`ResponseBuilder` cuts them into fragments)."""

    type: Literal["response.function_call_arguments.delta"] = "response.function_call_arguments.delta"
    delta: str


class FunctionCallArgumentsDone(_ItemEvent):
    type: Literal["response.function_call_arguments.done"] = "response.function_call_arguments.done"
    name: str
    arguments: str


class ErrorEvent(_Event):
    """An error after the stream began (the Agents SDK raises it; the openai SDK yields it as an event)."""

    type: Literal["error"] = "error"
    code: str | None = None
    message: str
    param: str | None = None


ResponseEvent = Annotated[
    ResponseSnapshot | OutputItemEvent | ContentPartEvent | OutputTextDelta | OutputTextDone | FunctionCallArgumentsDelta
    | FunctionCallArgumentsDone | ErrorEvent,
    Field(discriminator="type"),
]


class ResponseStreamEvent(RootModel[ResponseEvent]):
    """The data of one server-sent event of a streamed response (for the OpenAPI document)."""
