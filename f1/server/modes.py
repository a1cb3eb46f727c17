"""Which engine answers a request, by its model name: the planner's names select model mode (f1 plans, the client
runs the tools), the compound name compound mode (f1 runs its read-only tools, or all with `allow_writes`).
Both APIs (chat completions, responses) answer through `Modes.answer`."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio.to_thread

from f1.output import OutputFormat
from f1.planner import ChatMessage
from f1.server import answers
from f1.server.convert import to_specs, to_tool_choice
from f1.server.errors import APIError, shorten
from f1.server.responses_wire import FunctionTool
from f1.server.wire import WireTool, WireToolChoice

if TYPE_CHECKING:
    from f1.engine import Engine


@dataclass(frozen=True, slots=True)
class Answer:
    """The parts of an answer (not yet started), and what the access log tells of its tools: how many the client
    offered and, when retrieval narrowed them, how many the planner was shown."""

    parts: AsyncGenerator[answers.Part, None]
    tools_offered: int | None = None
    tools_shown: int | None = None


class Modes:
    """The served model names and the engine behind each."""

    def __init__(
        self, engine: Engine, *, model_names: Sequence[str], compound_name: str | None, allow_writes: bool
    ) -> None:
        self.engine = engine
        self.compound = engine if allow_writes else _read_only(engine)
        self.planner_names = tuple(dict.fromkeys((engine.model.name, *model_names)))
        self.compound_name = compound_name if compound_name and len(self.compound.registry) else None
        self.served = (*self.planner_names, *([self.compound_name] if self.compound_name else []))
        self.withheld_tools = sorted(set(engine.registry) - set(self.compound.registry))

    async def answer(
        self,
        model: str,
        messages: list[ChatMessage],
        *,
        tools: Sequence[WireTool | FunctionTool] | None,
        tool_choice: WireToolChoice | None,
        parallel_tool_calls: bool | None,
        output: OutputFormat | None,
    ) -> Answer:
        """Check the request against the mode its model selects (a 400 or 404 naming the problem)."""
        if model == self.compound_name:
            if tools:
                raise APIError(
                    f"Model {self.compound_name!r} runs the server's own tools; send 'tools' to a planner model "
                    f"({', '.join(self.planner_names)}) instead.",
                    param="tools",
                )
            to_tool_choice(tool_choice, [])  # refuses `required` and named functions: no client tools here
            return Answer(answers.compound_answer(self.compound, messages, output))
        if model in self.planner_names:
            specs = await anyio.to_thread.run_sync(to_specs, tools)  # schema checks: CPU work
            choice = to_tool_choice(tool_choice, specs)
            shown = specs
            if len(specs) > self.engine.config.max_tools_in_prompt:  # retrieval narrows them: say which it kept
                shown = await self.engine.aoffer(messages, specs, choice)
            narrowed = [spec.name for spec in shown] if len(shown) < len(specs) else None
            parts = answers.model_answer(
                self.engine,
                messages,
                tools=shown,
                tool_choice=choice,
                parallel_tool_calls=parallel_tool_calls is not False,
                output=output,
                tools_shown=narrowed,
            )
            return Answer(parts, tools_offered=len(specs), tools_shown=len(shown))
        raise APIError(
            f"The model `{shorten(model, 100)}` does not exist. Served models: {', '.join(self.served)}.",
            status=404,
            param="model",
            code="model_not_found",
        )


def _read_only(engine: Engine) -> Engine:
    """`engine` with only its read-only tools: what compound mode may run unless writes are allowed."""
    from f1.engine import Engine

    readers = [tool for tool in engine.registry.values() if tool.policy.read_only]
    if len(readers) == len(engine.registry):
        return engine
    return Engine(readers, model=engine.model, config=engine.config)
