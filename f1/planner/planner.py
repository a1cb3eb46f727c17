"""The planner: prompts a model for a plan under the plan grammar and streams each step out as it closes."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Literal

import anyio.to_thread

from f1.decoding.grammar import Grammar, plan_grammar
from f1.decoding.steps import StepStream
from f1.errors import PlanError
from f1.plan import Plan, Step, validate_plan
from f1.planner.backends.base import ModelBackend
from f1.planner.confidence import ToolNameScores
from f1.planner.events import PlanDone, PlanEvent, StepDecoded, TextDelta, Usage
from f1.planner.messages import ChatMessage
from f1.planner.prompt import PLAN_EXAMPLES, answer_messages, plan_messages
from f1.tools.spec import ToolSpec

ToolChoice = Literal["auto", "none", "required"] | dict[str, Any]


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What to plan with: the tools offered and the OpenAI-style constraints on their use."""

    tools: Sequence[ToolSpec]
    tool_choice: ToolChoice = "auto"
    parallel_tool_calls: bool = True
    constrained: bool = True
    direct_answer: bool = True  # when no tool is called, also stream the model's answer in text

    def offered(self) -> list[ToolSpec]:
        """The tools the grammar may name (a named tool_choice narrows them to one)."""
        name = forced_tool_name(self.tool_choice)
        if name is None:
            return list(self.tools)
        chosen = [spec for spec in self.tools if spec.name == name]
        if not chosen:
            raise PlanError(f"tool_choice names {name!r}, which is not among the {len(self.tools)} tools offered")
        return chosen

    def grammar(self) -> Grammar | None:
        """The plan grammar these constraints call for (None: unconstrained baseline)."""
        if not self.constrained:
            return None
        at_least_one = self.tool_choice == "required" or forced_tool_name(self.tool_choice) is not None
        return plan_grammar(
            self.offered(), min_steps=1 if at_least_one else 0, max_steps=None if self.parallel_tool_calls else 1
        )

    @property
    def uses_tools(self) -> bool:
        return bool(self.tools) and self.tool_choice != "none"


def forced_tool_name(tool_choice: ToolChoice) -> str | None:
    """The tool name of an OpenAI named tool_choice, else None."""
    if isinstance(tool_choice, dict):
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str):
            raise PlanError(f"tool_choice must be 'auto', 'none', 'required' or a named function, not {tool_choice!r}")
        return name
    if tool_choice not in ("auto", "none", "required"):
        raise PlanError(f"tool_choice must be 'auto', 'none', 'required' or a named function, not {tool_choice!r}")
    return None


class Planner:
    """Turns a conversation and a tool set into a stream of `PlanEvent`s.

    With `min_tool_logprob`, under the grammar and `tool_choice="auto"`, a step whose tool name the model itself
    gave a lower log-probability (it wanted a tool nobody offered) ends the plan before that step.
    """

    def __init__(
        self,
        model: ModelBackend,
        *,
        max_plan_tokens: int = 1024,
        max_answer_tokens: int = 256,
        temperature: float = 0.0,
        examples: Sequence[tuple[str, str]] = PLAN_EXAMPLES,
        min_tool_logprob: float | None = None,
    ) -> None:
        self.model = model
        self.min_tool_logprob = min_tool_logprob
        self.examples = examples
        self.max_plan_tokens = max_plan_tokens
        self.max_answer_tokens = max_answer_tokens
        self.temperature = temperature

    async def stream(self, history: Sequence[ChatMessage], request: PlanRequest) -> AsyncIterator[PlanEvent]:
        """Yield each step as soon as the model closes it, a direct answer if no tool is used (and the request asks
        for one), then `PlanDone`."""
        started = time.perf_counter()
        usage = Usage()
        plan = Plan()
        if request.uses_tools:
            offered = {spec.name: spec for spec in request.offered()}
            messages = plan_messages(history, list(offered.values()), examples=self.examples)
            grammar = await anyio.to_thread.run_sync(request.grammar)  # CPU work: off the event loop
            abstains = grammar is not None and request.tool_choice == "auto"
            for attempt in (1, 2):
                stream = StepStream()
                names = ToolNameScores()
                emitted: list[Step] = []
                seen: set[str] = set()
                cut = False
                async with aclosing(
                    self.model.stream(messages, grammar=grammar, max_tokens=self.max_plan_tokens, temperature=self.temperature)
                ) as chunks:
                    async for chunk in chunks:
                        usage += Usage(chunk.prompt_tokens, chunk.completion_tokens)
                        names.feed(chunk)
                        for step in stream.feed(chunk.text):
                            key = json.dumps([step.tool, step.args], sort_keys=True)
                            # Small models loop (the same call twice is never needed), or get steered onto a tool.
                            cut = key in seen or (abstains and self._unwanted(names.logprob(step, stream.text)))
                            if cut:
                                break
                            seen.add(key)
                            emitted.append(step)
                            yield StepDecoded(step)
                        if cut:
                            break
                # Grammar-constrained output only breaks off when it runs out of tokens: keep the closed steps (if a
                # runaway first step used up the budget, none: the plan is empty rather than broken).
                truncated = grammar is not None and not stream.is_complete
                try:
                    plan = Plan(steps=emitted) if cut or truncated else self._finish(stream)
                    validate_plan(plan, offered)
                    break
                except PlanError as exc:
                    if attempt == 2 or stream.steps_emitted:
                        raise
                    # One repair round for backends whose output is not grammar-exact (remote, unconstrained).
                    messages = [
                        *messages,
                        ChatMessage(role="assistant", content=stream.text),
                        ChatMessage(role="user", content=f"That reply is invalid: {exc}. Reply with the corrected JSON only."),
                    ]
        answer: str | None = None
        if not plan.steps and request.direct_answer:
            parts: list[str] = []
            async for chunk in self.model.stream(
                answer_messages(history), max_tokens=self.max_answer_tokens, temperature=self.temperature
            ):
                usage += Usage(chunk.prompt_tokens, chunk.completion_tokens)
                parts.append(chunk.text)
                yield TextDelta(chunk.text)
            answer = "".join(parts).strip()
        yield PlanDone(plan=plan, answer=answer, usage=usage, seconds=time.perf_counter() - started)

    def _unwanted(self, logprob: float | None) -> bool:
        return self.min_tool_logprob is not None and logprob is not None and logprob < self.min_tool_logprob

    @staticmethod
    def _finish(stream: StepStream) -> Plan:
        try:
            return stream.plan()
        except PlanError as exc:
            raise PlanError(f"model output is not a plan ({exc.reason}): {stream.text[:300]!r}") from None
