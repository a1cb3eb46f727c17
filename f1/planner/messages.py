"""Chat messages in the OpenAI shape: the planner's input and a conversation's memory."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ToolCall(BaseModel):
    """A call the assistant made: `arguments` holds the decoded JSON object."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)

    def to_openai(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": json.dumps(self.arguments)}}


class ChatMessage(BaseModel):
    """One message. `tool` messages carry `tool_call_id`; assistant messages may carry `tool_calls`."""

    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    def result_text(self, max_chars: int | None = None) -> str:
        """A tool message as plain text, for prompts without a `tool` role: ``Result of NAME: CONTENT``, the content
        cut to `max_chars` (None: whole)."""
        content = self.content if max_chars is None else truncate(self.content, max_chars)
        return f"{RESULT_PREFIX}{self.name or self.tool_call_id or 'tool'}: {content}"


RESULT_PREFIX = "Result of "


def truncate(text: str, max_chars: int) -> str:
    """`text` cut to `max_chars` characters, saying how long it was."""
    return text if len(text) <= max_chars else f"{text[:max_chars]}... ({len(text)} chars)"
