"""What the engine answers a chat request with, as a stream of parts both response shapes are built from.

Model mode returns the plan's first layer (steps that reference no result) as tool calls for the client to run;
the steps that need those results are planned again once the client sends them back. Compound mode runs the
whole plan on the server and answers in text.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from f1.output import OutputFormat
from f1.planner import ChatMessage, PlanDone, StepDecoded, TextDelta, Usage
from f1.tools.spec import ToolSpec

if TYPE_CHECKING:
    from f1.engine import Engine


@dataclass(frozen=True, slots=True)
class CallPart:
    """A tool call for the client: `arguments` is the JSON text of the step's args."""

    index: int
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class EndPart:
    """The last part: why generation stopped, token usage, (compound mode) the run's trace, and (model mode, when
    retrieval narrowed the client's tools) the names of the tools the planner was shown."""

    finish_reason: Literal["stop", "tool_calls"]
    usage: Usage
    trace: dict[str, Any] | None = None
    tools_shown: list[str] | None = None


Part = CallPart | TextDelta | EndPart  # TextDelta: a piece of the answer's text


def call_id() -> str:
    """A fresh tool call id, OpenAI style."""
    return f"call_{secrets.token_urlsafe(18)}"


async def model_answer(
    engine: Engine,
    messages: Sequence[ChatMessage],
    *,
    tools: Sequence[ToolSpec],
    tool_choice: str | dict[str, Any],
    parallel_tool_calls: bool,
    output: OutputFormat | None = None,
    tools_shown: list[str] | None = None,
) -> AsyncGenerator[Part, None]:
    """Plan without running: each independent step as a call as soon as it decodes, else the direct answer (in
    `output`'s format when given). `tools_shown` rides along on the end part."""
    calls = 0
    async with aclosing(
        engine.aplan_stream(
            messages, tools=tools, tool_choice=tool_choice, parallel_tool_calls=parallel_tool_calls, output=output
        )
    ) as events:
        async for event in events:
            if isinstance(event, StepDecoded):
                if not event.step.dependencies:
                    yield CallPart(calls, call_id(), event.step.tool, json.dumps(event.step.args, ensure_ascii=False))
                    calls += 1
            elif isinstance(event, TextDelta):
                yield event
            elif isinstance(event, PlanDone):
                yield EndPart("tool_calls" if calls else "stop", event.usage, tools_shown=tools_shown)


async def compound_answer(
    engine: Engine, messages: Sequence[ChatMessage], output: OutputFormat | None = None
) -> AsyncGenerator[Part, None]:
    """Plan, run and join on the server; the answer is text (in `output`'s format when given) and the trace rides
    along."""
    solution = await engine.asolve(messages, output=output)
    yield TextDelta(solution.answer)
    report = solution.to_dict()
    report.pop("answer")
    yield EndPart("stop", solution.usage, report)
