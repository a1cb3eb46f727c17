"""A conversation: user, assistant and tool messages kept across turns (BFCL multi-turn shape)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from f1.plan import Plan
from f1.planner import ChatMessage, ToolCall
from f1.scheduler import Trace


class Conversation:
    """Messages in order. `Engine.asolve(task, conversation=...)` appends each turn's calls, results and answer."""

    def __init__(self, messages: Iterable[ChatMessage] = (), *, system: str | None = None) -> None:
        self.messages: list[ChatMessage] = []
        if system:
            self.messages.append(ChatMessage(role="system", content=system))
        self.messages.extend(messages)

    def add_user(self, content: str) -> None:
        self.messages.append(ChatMessage(role="user", content=content))

    def add_answer(self, content: str) -> None:
        self.messages.append(ChatMessage(role="assistant", content=content))

    def add_execution(self, plan: Plan, trace: Trace, *, turn: int) -> None:
        """Record a plan as assistant tool calls and each step's outcome as a tool message."""
        if not plan.steps:
            return
        calls = [ToolCall(id=call_id(turn, step.id), name=step.tool, arguments=_args(trace, step.id, step.args)) for step in plan.steps]
        self.messages.append(ChatMessage(role="assistant", tool_calls=calls))
        for step, call in zip(plan.steps, calls, strict=True):
            self.messages.append(ChatMessage(role="tool", tool_call_id=call.id, name=step.tool, content=trace.outcome(step.id)))

    def __len__(self) -> int:
        return len(self.messages)


def call_id(turn: int, step_id: int) -> str:
    return f"call_{turn}_{step_id}"


def _args(trace: Trace, step_id: int, planned: dict[str, Any]) -> dict[str, Any]:
    try:
        return trace.record(step_id).used_args
    except KeyError:
        return planned

