"""A ReAct-style sequential agent on any `ModelBackend`: one tool call per model turn, then the observation.

It is the latency baseline LLMCompiler compares against: same model, same tools, but every call waits for the
model's next turn, so independent look-ups run one after another.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from f1.errors import ModelError
from f1.planner.backends.base import ModelBackend
from f1.planner.messages import ChatMessage
from f1.tools import Tool, ToolRegistry

INSTRUCTIONS = """Answer the user's question using the tools below, one call at a time.
Reply with JSON only: {"tool": "<name>", "args": {...}} to call a tool, and you will see its result;
or {"answer": "<final answer>"} when you know the answer.

Tools:
"""


@dataclass
class ReactRun:
    """What the loop did: the answer (None when it ran out of turns), the calls it made, and its wall time."""

    answer: str | None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    seconds: float = 0.0


def tool_line(tool: Tool) -> str:
    properties = tool.spec.parameters.get("properties", {})
    args = ", ".join(f"{name}: {prop.get('type', 'any')}" for name, prop in properties.items())
    return f"- {tool.name}({args}) - {tool.spec.description}"


async def call_tool(tool: Tool, args: dict[str, Any]) -> Any:
    """Run a tool, in a worker thread when it is synchronous."""
    if tool.is_async:
        return await tool(**args)
    return await anyio.to_thread.run_sync(lambda: tool(**args))


class ReactAgent:
    """The loop: model turn -> one tool call -> observation, until the model answers or `max_turns` pass."""

    def __init__(self, backend: ModelBackend, tools: ToolRegistry, *, max_turns: int = 12, max_tokens: int = 256) -> None:
        self.backend, self.tools, self.max_turns, self.max_tokens = backend, tools, max_turns, max_tokens

    def messages(self, question: str) -> list[ChatMessage]:
        system = INSTRUCTIONS + "\n".join(tool_line(tool) for tool in self.tools.values())
        return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=question)]

    async def run(self, question: str) -> ReactRun:
        start = time.perf_counter()
        messages = self.messages(question)
        run = ReactRun(answer=None)
        for _ in range(self.max_turns):
            text = "".join([chunk.text async for chunk in self.backend.stream(messages, max_tokens=self.max_tokens)])
            messages.append(ChatMessage(role="assistant", content=text))
            action = _parse(text)
            if "answer" in action:
                run.answer = str(action["answer"])
                break
            name, args = action.get("tool"), action.get("args") or {}
            if name not in self.tools or not isinstance(args, dict):
                observation = f"Error: unknown tool {name!r} or bad args; tools: {', '.join(self.tools)}"
            else:
                run.calls.append((name, args))
                try:
                    observation = json.dumps(await call_tool(self.tools[name], args), default=str)
                except Exception as exc:  # a failing tool is an observation for the model, as in ReAct
                    observation = f"Error: {type(exc).__name__}: {exc}"
            messages.append(ChatMessage(role="user", content=f"Observation: {observation}"))
        run.seconds = time.perf_counter() - start
        return run


def _parse(text: str) -> dict[str, Any]:
    """The first JSON object in the reply; a reply without one is taken as the answer."""
    start = text.find("{")
    if start >= 0:
        try:
            value, _ = json.JSONDecoder().raw_decode(text[start:])
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value
    if not text.strip():
        raise ModelError("the model replied with nothing")
    return {"answer": text.strip()}


def script_for(calls: Sequence[tuple[str, dict[str, Any]]], answer: str) -> list[str]:
    """ReAct replies making `calls` one per turn, then answering (for scripted models)."""
    return [json.dumps({"tool": name, "args": args}) for name, args in calls] + [json.dumps({"answer": answer})]
