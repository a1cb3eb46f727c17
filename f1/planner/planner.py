"""The planner: prompts a model for a plan under the plan grammar and streams each step out as it closes.

A call (tool and arguments) whose result is already in the conversation is never planned again: the plan ends
before it. When a tool is required and the plan's first step was such a repeat, the plan is decoded once more
without that tool, so the model must pick another one (clients that force a tool call every turn would loop)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio.to_thread

from f1.decoding.grammar import Grammar, plan_grammar
from f1.decoding.steps import StepStream
from f1.errors import PlanError
from f1.plan import Plan, Step, validate_plan
from f1.planner.backends.base import Chunk, ModelBackend
from f1.planner.complete import Completion, complete
from f1.planner.confidence import ToolNameScores
from f1.planner.events import PlanDone, PlanEvent, StepDecoded, TextDelta, Usage
from f1.planner.messages import ChatMessage
from f1.planner.prompt import PLAN_EXAMPLES, answer_messages, plan_messages
from f1.tools.spec import ToolSpec

if TYPE_CHECKING:
    from f1.output import OutputFormat

ToolChoice = Literal["auto", "none", "required"] | dict[str, Any]


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What to plan with: the tools offered and the OpenAI-style constraints on their use. `output`: the direct
    answer is JSON matching its schema (under its grammar)."""

    tools: Sequence[ToolSpec]
    tool_choice: ToolChoice = "auto"
    parallel_tool_calls: bool = True
    constrained: bool = True
    direct_answer: bool = True  # when no tool is called, also stream the model's answer in text
    output: OutputFormat | None = None

    def offered(self) -> list[ToolSpec]:
        """The tools the grammar may name (a named tool_choice narrows them to one)."""
        name = forced_tool_name(self.tool_choice)
        if name is None:
            return list(self.tools)
        chosen = [spec for spec in self.tools if spec.name == name]
        if not chosen:
            raise PlanError(f"tool_choice names {name!r}, which is not among the {len(self.tools)} tools offered")
        return chosen

    def grammar(self, tools: Sequence[ToolSpec] | None = None) -> Grammar | None:
        """The plan grammar these constraints call for over `tools` (default: `offered()`); None: unconstrained."""
        if not self.constrained:
            return None
        return plan_grammar(
            self.offered() if tools is None else tools,
            min_steps=1 if self.requires_a_call else 0,
            max_steps=None if self.parallel_tool_calls else 1,
        )

    @property
    def requires_a_call(self) -> bool:
        return self.tool_choice == "required" or forced_tool_name(self.tool_choice) is not None

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


@dataclass(slots=True)
class _Decoding:
    """What one decoding of a plan produced: its text and closed steps, whether the plan was cut short, and the
    tool of a first step that repeated an answered call."""

    stream: StepStream = field(default_factory=StepStream)
    emitted: list[Step] = field(default_factory=list)
    cut: bool = False
    repeated: str | None = None
    usage: Usage = field(default_factory=Usage)


def call_key(tool: str, args: Any) -> str:
    """What makes two calls the same: the tool and the arguments (key order aside)."""
    return json.dumps([tool, args], sort_keys=True, default=str)


def answered_calls(history: Sequence[ChatMessage]) -> set[str]:
    """The `call_key`s of the assistant's calls that a tool message in `history` answers."""
    answered = {message.tool_call_id for message in history if message.role == "tool"}
    return {
        call_key(call.name, call.arguments)
        for message in history
        for call in message.tool_calls
        if call.id in answered
    }


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
            answered = answered_calls(history)
            tools = request.offered()
            while True:
                offered = {spec.name: spec for spec in tools}
                messages = plan_messages(history, tools, examples=self.examples)
                grammar = await anyio.to_thread.run_sync(request.grammar, tools)  # CPU work: off the event loop
                abstains = grammar is not None and request.tool_choice == "auto"
                for attempt in (1, 2):
                    decoding = _Decoding()
                    async for step in self._decode(messages, grammar, answered, abstains, decoding):
                        yield StepDecoded(step)
                    usage += decoding.usage
                    stream = decoding.stream
                    # Grammar-constrained output only breaks off when it runs out of tokens: keep the closed steps
                    # (if a runaway first step used up the budget, none: the plan is empty rather than broken).
                    truncated = grammar is not None and not stream.is_complete
                    try:
                        plan = Plan(steps=decoding.emitted) if decoding.cut or truncated else self._finish(stream)
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
                others = [spec for spec in tools if spec.name != decoding.repeated]
                if plan.steps or decoding.repeated is None or not request.requires_a_call or not others:
                    break
                tools = others  # the required call repeated one already answered: the model must pick another tool
        answer: str | None = None
        if not plan.steps and request.direct_answer:
            parts: list[str] = []
            async for chunk in self.answer(history, request.output):
                usage += Usage(chunk.prompt_tokens, chunk.completion_tokens)
                parts.append(chunk.text)
                yield TextDelta(chunk.text)
            answer = "".join(parts).strip()
            if request.output is not None:
                request.output.parse(answer)  # a backend that is not grammar-exact may have missed the schema
        yield PlanDone(plan=plan, answer=answer, usage=usage, seconds=time.perf_counter() - started)

    def answer(self, history: Sequence[ChatMessage], output: OutputFormat | None = None) -> AsyncIterator[Chunk]:
        """The model's answer to the conversation without tools: text, or JSON matching `output` (its grammar)."""
        return self.model.stream(
            self._answer_input(history, output),
            grammar=None if output is None else output.grammar,
            max_tokens=self.max_answer_tokens,
            temperature=self.temperature,
        )

    async def complete_answer(self, history: Sequence[ChatMessage], output: OutputFormat) -> Completion[Any]:
        """The whole answer as `output`'s value (parsed; one repair round for backends that are not grammar-exact)."""
        return await complete(
            self.model,
            self._answer_input(history, output),
            output.parse,
            grammar=output.grammar,
            max_tokens=self.max_answer_tokens,
            temperature=self.temperature,
        )

    @staticmethod
    def _answer_input(history: Sequence[ChatMessage], output: OutputFormat | None) -> list[ChatMessage]:
        return answer_messages(history if output is None else [*history, output.instruction()])

    async def _decode(
        self,
        messages: Sequence[ChatMessage],
        grammar: Grammar | None,
        answered: set[str],
        abstains: bool,
        into: _Decoding,
    ) -> AsyncIterator[Step]:
        """Stream the plan's steps as they close; the plan ends before a step that repeats a call (of this plan or
        answered in the conversation) or whose tool name the model did not want. What happened goes `into`."""
        names = ToolNameScores()
        seen = set(answered)
        async with aclosing(
            self.model.stream(messages, grammar=grammar, max_tokens=self.max_plan_tokens, temperature=self.temperature)
        ) as chunks:
            async for chunk in chunks:
                into.usage += Usage(chunk.prompt_tokens, chunk.completion_tokens)
                names.feed(chunk)
                for step in into.stream.feed(chunk.text):
                    key = call_key(step.tool, step.args)
                    # Small models loop (the same call twice is never needed), or get steered onto a tool.
                    into.cut = key in seen or (abstains and self._unwanted(names.logprob(step, into.stream.text)))
                    if into.cut:
                        if key in answered and not into.emitted:
                            into.repeated = step.tool
                        return
                    seen.add(key)
                    into.emitted.append(step)
                    yield step

    def _unwanted(self, logprob: float | None) -> bool:
        return self.min_tool_logprob is not None and logprob is not None and logprob < self.min_tool_logprob

    @staticmethod
    def _finish(stream: StepStream) -> Plan:
        try:
            return stream.plan()
        except PlanError as exc:
            raise PlanError(f"model output is not a plan ({exc.reason}): {stream.text[:300]!r}") from None
