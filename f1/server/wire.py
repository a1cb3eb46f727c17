"""The OpenAI chat-completions wire format as pydantic models: requests, responses, stream chunks, errors.

These models are the single source of truth for parsing requests, writing responses and the OpenAPI schema.
Request models ignore unknown fields (clients send many optional ones); response models write exactly what
the OpenAI SDK reads.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Requests ---------------------------------------------------------------------------------------------------


class Lenient(BaseModel):
    """A request model: unknown fields are ignored (clients send many optional ones)."""

    model_config = ConfigDict(extra="ignore")


class TextContentPart(Lenient):
    """A text content part (the only kind of part f1 reads)."""

    type: Literal["text"]
    text: str


Content = str | list[TextContentPart]


class FunctionCall(Lenient):
    name: str
    arguments: str = Field(description="The call's arguments: a JSON object, as a string")


class WireToolCall(Lenient):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(Lenient):
    role: Literal["system", "developer"]
    content: Content
    name: str | None = None


class UserMessage(Lenient):
    role: Literal["user"]
    content: Content
    name: str | None = None


class AssistantMessage(Lenient):
    role: Literal["assistant"]
    content: Content | None = None
    tool_calls: list[WireToolCall] | None = None
    name: str | None = None


class ToolMessage(Lenient):
    role: Literal["tool"]
    content: Content
    tool_call_id: str


Message = Annotated[SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")]


class FunctionDefinition(BaseModel):
    """Unknown keys are kept for the tool importer, which refuses one holding an object or a list (a client's
    `"params": {...}` would otherwise vanish, and the tool accept anything)."""

    model_config = ConfigDict(extra="allow")

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class WireTool(Lenient):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(Lenient):
    name: str


class NamedToolChoice(Lenient):
    type: Literal["function"]
    function: NamedFunction


WireToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


class StreamOptions(Lenient):
    include_usage: bool = False


class JSONSchemaFormat(Lenient):
    """A named JSON schema the answer must match (strict or not, the grammar enforces it exactly)."""

    model_config = ConfigDict(serialize_by_alias=True)  # `schema` on the wire both ways (a BaseModel attribute name)

    name: str = Field(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class JSONSchemaResponseFormat(Lenient):
    type: Literal["json_schema"]
    json_schema: JSONSchemaFormat


class JSONObjectResponseFormat(Lenient):
    type: Literal["json_object"]


class TextResponseFormat(Lenient):
    type: Literal["text"]


ResponseFormat = Annotated[
    TextResponseFormat | JSONObjectResponseFormat | JSONSchemaResponseFormat, Field(discriminator="type")
]


class ChatCompletionRequest(Lenient):
    """POST /v1/chat/completions. Sampling fields are accepted for compatibility; the engine decodes greedily."""

    model: str
    messages: list[Message] = Field(min_length=1)
    tools: list[WireTool] | None = None
    tool_choice: WireToolChoice | None = None
    parallel_tool_calls: bool | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    response_format: ResponseFormat | None = None
    n: int | None = Field(default=None, ge=1, le=1, description="Only 1 is supported")
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = None


REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    ChatCompletionRequest, SystemMessage, UserMessage, AssistantMessage, ToolMessage, TextContentPart, WireToolCall,
    FunctionCall, WireTool, FunctionDefinition, NamedToolChoice, StreamOptions, JSONSchemaResponseFormat,
    JSONSchemaFormat,
)  # fmt: skip
REQUEST_FIELDS = frozenset(info.alias or name for model in REQUEST_MODELS for name, info in model.model_fields.items())
ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})  # the tags of `Message`
FORMAT_TYPES = frozenset({"text", "json_object", "json_schema"})  # the tags of `ResponseFormat`


# Responses --------------------------------------------------------------------------------------------------


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: None = None
    tool_calls: list[WireToolCall] | None = None


FinishReason = Literal["stop", "length", "tool_calls"]


class Choice(BaseModel):
    index: int = 0
    message: ResponseMessage
    finish_reason: FinishReason
    logprobs: None = None


class ChatCompletion(BaseModel):
    """A whole answer. Compound answers add `f1_trace` (the run's trace); model-mode answers whose tools retrieval
    narrowed add `f1_tools_shown` (the tools the planner saw). OpenAI clients ignore both."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    system_fingerprint: str
    choices: list[Choice]
    usage: CompletionUsage
    f1_trace: dict[str, Any] | None = None
    f1_tools_shown: list[str] | None = None


class FunctionDelta(BaseModel):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(BaseModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionDelta


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    finish_reason: FinishReason | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """One server-sent event of a streamed answer. The usage chunk (last, optional) has no choices."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    system_fingerprint: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    f1_trace: dict[str, Any] | None = None
    f1_tools_shown: list[str] | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "f1"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    models: list[str]


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
