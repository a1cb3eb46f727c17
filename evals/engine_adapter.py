"""The one place the harness touches `f1.engine`: Engines over one shared model backend, and planning with them.

An item that brings its own executable tools (BFCL multi-turn, ParallelQA) gets its own `Engine`, but every Engine
of a run shares one model backend, so the model loads once per run. The backend is wrapped in a `RecordingBackend`:
when the plain model's output fails validation, the harness still scores what it wrote, as the benchmarks' own
scripts do with every output that parses.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from f1.errors import F1Error
from f1.plan import Plan, plan_from_data
from f1.planner import ChatMessage, Chunk, ModelBackend, resolve_model
from f1.tools import ToolSpec

if TYPE_CHECKING:
    from f1.decoding.grammar import Grammar
    from f1.engine import Engine, EngineConfig


class RecordingBackend(ModelBackend):
    """A model backend that keeps the text of its latest generation (`last_text`)."""

    def __init__(self, wrapped: ModelBackend) -> None:
        self.wrapped = wrapped
        self.name = wrapped.name
        self.last_text = ""

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        grammar: Grammar | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
    ) -> AsyncIterator[Chunk]:
        self.last_text = ""
        async for chunk in self.wrapped.stream(messages, grammar=grammar, max_tokens=max_tokens, temperature=temperature):
            self.last_text += chunk.text
            yield chunk

    async def load(self) -> None:
        await self.wrapped.load()

    async def aclose(self) -> None:
        await self.wrapped.aclose()


class EngineFactory:
    """Makes Engines for a run. `model` is "default", a path, "openai:URL#MODEL" or a `ModelBackend` (a bad spec
    fails here); `tools_in_prompt` sets how many tools an Engine offers before it narrows them by retrieval.
    `async with` it for the run: the model loads on entering and closes what it holds open on leaving."""

    def __init__(
        self, model: str | ModelBackend = "default", config: EngineConfig | None = None, *, tools_in_prompt: int | None = None
    ) -> None:
        from f1.engine import EngineConfig

        base = config if config is not None else EngineConfig()
        self.config = base if tools_in_prompt is None else base.model_copy(update={"max_tools_in_prompt": tools_in_prompt})
        self.model = resolve_model(model)
        self.backend = RecordingBackend(self.model)
        self._planner: Engine | None = None

    async def __aenter__(self) -> EngineFactory:
        await self.backend.load()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.backend.aclose()

    def engine(self, tools: Sequence[Any] = ()) -> Engine:
        """An Engine over `tools` (a ToolRegistry or Tools/ToolSpecs) on the run's shared model."""
        from f1.engine import Engine

        return Engine(tools=tools, model=self.backend, config=self.config)

    def planner(self) -> Engine:
        """The run's tool-less Engine, for planning against per-item tool specs (`aplan(..., tools=specs)`)."""
        if self._planner is None:
            self._planner = self.engine(())
        return self._planner


async def plan_with(
    factory: EngineFactory, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec], *, constrained: bool
) -> tuple[Plan | None, str | None]:
    """The plan for `messages` and the error, if any. When the engine refuses the model's output (the plain model's
    JSON does not fit the tools), the plan is what that output says as far as it parses (no tool or schema checks;
    None when it does not parse), so the benchmark scores it as its own script would."""
    try:
        return await factory.planner().aplan(list(messages), tools=list(tools), constrained=constrained), None
    except F1Error as exc:
        return loose_plan(factory.backend.last_text), str(exc)


def loose_plan(text: str) -> Plan | None:
    """The first JSON object or list in `text` read as a plan's shape only (ids, tool names, argument objects), or
    None when there is none."""
    starts = [index for index in (text.find("{"), text.find("[")) if index >= 0]
    if not starts:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(text[min(starts) :])
        return plan_from_data(data)
    except (ValueError, F1Error):
        return None
