"""`Engine`: plan with a model under a grammar, run the steps as they decode, join, replan; over many turns."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from pydantic import BaseModel, ConfigDict, Field

from f1.conversation import Conversation
from f1.errors import F1Error, PlanError
from f1.joiner import Decision, Joiner
from f1.output import OutputFormat
from f1.plan import Plan, Step
from f1.plan.validate import prepare_validation
from f1.planner import (
    PLAN_EXAMPLES,
    ChatMessage,
    ModelBackend,
    PlanDone,
    PlanEvent,
    Planner,
    PlanRequest,
    StepDecoded,
    ToolChoice,
    Usage,
    forced_tool_name,
    resolve_model,
)
from f1.scheduler import Scheduler, StepRecord, Trace
from f1.tools import Tool, ToolRegistry, ToolSpec, check_unique

Task = str | Sequence[ChatMessage] | Conversation
Output = OutputFormat | type[BaseModel] | Mapping[str, Any]


class EngineConfig(BaseModel):
    """Knobs of an `Engine`; the defaults suit the small default planner on a CPU."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tools_in_prompt: int = Field(16, ge=1)
    max_replans: int = Field(1, ge=0)
    max_plan_tokens: int = Field(768, ge=16)
    max_answer_tokens: int = Field(256, ge=16)
    temperature: float = Field(0.0, ge=0.0)
    max_concurrency: int = Field(64, ge=1)
    few_shot: bool = True
    # A step whose tool name the planner gave a log-probability below this (it wanted a tool nobody offered, and
    # the grammar steered it onto one) ends the plan; None keeps every step. Local models report log-probs.
    min_tool_logprob: float | None = -6.0


@dataclass(slots=True)
class Round:
    """One plan, its execution and the joiner's decision. Times are seconds from the round's start."""

    plan: Plan
    trace: Trace
    decision: Decision | None
    plan_seconds: float
    execute_seconds: float
    join_seconds: float = 0.0

    @property
    def first_tool_start(self) -> float | None:
        starts = [record.started_at for record in self.trace.steps if record.started_at is not None]
        return min(starts) if starts else None


@dataclass(slots=True)
class Solution:
    """The answer with everything that led to it. With an `output` format, `answer` is its JSON text and `output`
    the validated value (an instance of the pydantic model asked for)."""

    answer: str
    rounds: list[Round] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    output: Any = None

    @property
    def plan(self) -> Plan:
        return self.rounds[-1].plan if self.rounds else Plan()

    @property
    def trace(self) -> Trace:
        return self.rounds[-1].trace if self.rounds else Trace()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the answer, each round's plan, per-step trace and timings, and usage."""
        return {
            "answer": self.answer,
            "seconds": self.seconds,
            "usage": {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "total_tokens": self.usage.total_tokens,
            },
            "rounds": [
                {
                    "plan": r.plan.model_dump(),
                    "trace": r.trace.model_dump(mode="json"),
                    "decision": r.decision.model_dump() if r.decision else None,
                    "timings": {
                        "plan": r.plan_seconds,
                        "execute": r.execute_seconds,
                        "join": r.join_seconds,
                        "first_tool_start": r.first_tool_start,
                    },
                }
                for r in self.rounds
            ],
        }


class Engine:
    """Plans, executes and answers. `tools` may mix executable tools, plain functions and spec-only `ToolSpec`s."""

    def __init__(
        self,
        tools: ToolRegistry | Iterable[Tool | ToolSpec | Callable[..., Any]] = (),
        *,
        model: str | ModelBackend = "default",
        config: EngineConfig | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self.registry = ToolRegistry()
        specs: list[ToolSpec] = []
        for item in tools.values() if isinstance(tools, ToolRegistry) else tools:
            if isinstance(item, ToolSpec):
                specs.append(item)
            else:
                specs.append(self.registry.add(item).spec)
        check_unique(specs)
        self.specs: dict[str, ToolSpec] = {spec.name: spec for spec in specs}
        self._model_spec = model
        self._model: ModelBackend | None = model if not isinstance(model, str) else None

    async def __aenter__(self) -> Engine:
        """Load the model now (not at the first request); leaving closes what it holds open."""
        await self.model.load()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.model.aclose()

    @property
    def model(self) -> ModelBackend:
        """The planner model, resolved (and for local models loaded) on first use."""
        if self._model is None:
            self._model = resolve_model(self._model_spec)
        return self._model

    @property
    def planner(self) -> Planner:
        c = self.config
        return Planner(
            self.model,
            max_plan_tokens=c.max_plan_tokens,
            max_answer_tokens=c.max_answer_tokens,
            temperature=c.temperature,
            examples=PLAN_EXAMPLES if c.few_shot else (),
            min_tool_logprob=c.min_tool_logprob,
        )

    def candidates(self, query: str, tools: Sequence[ToolSpec] | None = None) -> list[ToolSpec]:
        """The tools to offer for `query`: all of them, or the best `max_tools_in_prompt` by retrieval.
        The engine's own tools (`tools` None) keep their embeddings on disk; a caller's tool set only in memory."""
        pool = list(self.specs.values()) if tools is None else list(tools)
        if len(pool) <= self.config.max_tools_in_prompt:
            return pool
        from f1.planner import retriever_for

        return retriever_for(pool, persist=tools is None).search(query, k=self.config.max_tools_in_prompt)

    async def acandidates(self, query: str, tools: Sequence[ToolSpec] | None = None) -> list[ToolSpec]:
        """`candidates` in a worker thread, with the chosen tools' argument validators built there too: embedding
        a large tool set takes seconds of CPU, compiling a large schema a while. If the caller is cancelled, the
        work still finishes (and is cached) in its thread."""

        def offer() -> list[ToolSpec]:
            chosen = self.candidates(query, tools)
            prepare_validation(chosen)
            return chosen

        return await anyio.to_thread.run_sync(offer, abandon_on_cancel=True)

    async def aoffer(
        self, messages: Task, tools: Sequence[ToolSpec] | None = None, tool_choice: ToolChoice = "auto"
    ) -> list[ToolSpec]:
        """The tools the planner is shown for the conversation: `acandidates` for its latest user message, or the
        whole pool for a named tool_choice (PlanRequest.offered narrows it to that tool; no retrieval needed)."""
        if forced_tool_name(tool_choice):
            return list(self.specs.values()) if tools is None else list(tools)
        return await self.acandidates(_query(_history(messages)), tools)

    # Planning only --------------------------------------------------------------------------------------
    async def aplan_stream(
        self,
        messages: Task,
        *,
        tools: Sequence[ToolSpec] | None = None,
        tool_choice: ToolChoice = "auto",
        parallel_tool_calls: bool = True,
        constrained: bool = True,
        direct_answer: bool = True,
        output: Output | None = None,
    ) -> AsyncIterator[PlanEvent]:
        """Stream a plan for the conversation without running it (what the OpenAI endpoint's model mode needs);
        an empty plan comes with the model's direct answer unless `direct_answer` is false. With `output`, that
        answer is JSON matching its schema."""
        history = _history(messages)
        request = PlanRequest(
            tools=await self.aoffer(history, tools, tool_choice),
            tool_choice=tool_choice,
            parallel_tool_calls=parallel_tool_calls,
            constrained=constrained,
            direct_answer=direct_answer,
            output=None if output is None else OutputFormat.of(output),
        )
        async for event in self.planner.stream(history, request):
            yield event

    async def aplan(self, messages: Task, **kwargs: Any) -> Plan:
        """The plan for the conversation, not run (no direct answer is generated). Keyword arguments as for
        `aplan_stream`."""
        async for event in self.aplan_stream(messages, **kwargs, direct_answer=False):
            if isinstance(event, PlanDone):
                return event.plan
        raise PlanError("planning stream ended without a plan")

    # Plan, execute, join -----------------------------------------------------------------------------------
    async def asolve(
        self,
        task: Task,
        *,
        conversation: Conversation | None = None,
        on_step: Callable[[StepRecord], Any] | None = None,
        on_event: Callable[[PlanEvent], Any] | None = None,
        output: Output | None = None,
    ) -> Solution:
        """Answer `task`. With `conversation`, earlier turns are context and this turn is appended to it. With
        `output` (a pydantic model class, a JSON schema or an `OutputFormat`) the answer is decoded under its
        grammar, and `Solution.output` holds the validated value.

        A planner or joiner failure is raised as it is (an `F1Error`), with `partial` holding the rounds so far."""
        started = time.perf_counter()
        form = None if output is None else OutputFormat.of(output)
        if conversation is not None and isinstance(task, str):
            conversation.add_user(task)
            history = list(conversation.messages)
        else:
            history = _history(task)
        turn = sum(1 for message in history if message.role == "user")
        working = Conversation(history)
        solution = Solution(answer="")
        joiner = Joiner(self.model, max_tokens=self.config.max_answer_tokens, temperature=self.config.temperature)
        try:
            for round_number in range(self.config.max_replans + 1):
                round_, done = await self.aexecute(working.messages, on_step=on_step, on_event=on_event, output=form)
                solution.rounds.append(round_)
                solution.usage += done.usage
                if done.answer is not None:
                    solution.answer = done.answer
                    solution.output = None if form is None else form.parse(done.answer)
                    break
                join_started = time.perf_counter()
                may_replan = round_number < self.config.max_replans
                joined = await joiner.decide(working.messages, round_.plan, round_.trace, may_replan=may_replan)
                round_.decision, round_.join_seconds = joined.decision, time.perf_counter() - join_started
                solution.usage += joined.usage
                working.add_execution(round_.plan, round_.trace, turn=turn * 100 + round_number)
                if joined.decision.action == "finish":
                    solution.answer = joined.decision.answer
                    if form is not None:  # the joiner answers in prose: restate it in the output format
                        working.add_answer(solution.answer)
                        structured = await self.planner.complete_answer(working.messages, form)
                        solution.usage += structured.usage
                        solution.answer, solution.output = structured.text.strip(), structured.value
                    break
                working.add_user(f"Not done yet: {joined.decision.reason}. Plan the next tool calls.")
        except F1Error as exc:
            failed_round = exc.partial.rounds if exc.partial is not None else []  # set by aexecute
            solution.rounds += failed_round
            solution.seconds = time.perf_counter() - started
            exc.partial = solution
            raise
        if conversation is not None:
            for number, round_ in enumerate(solution.rounds):
                conversation.add_execution(round_.plan, round_.trace, turn=turn * 100 + number)
            conversation.add_answer(solution.answer)
        solution.seconds = time.perf_counter() - started
        return solution

    def solve(self, task: Task, **kwargs: Any) -> Solution:
        """Blocking `asolve`, in an event loop of its own (the model's connections close with it)."""

        async def solve_closing() -> Solution:
            async with self:
                return await self.asolve(task, **kwargs)

        return anyio.run(solve_closing)

    async def aexecute(
        self,
        task: Task,
        *,
        on_step: Callable[[StepRecord], Any] | None = None,
        on_event: Callable[[PlanEvent], Any] | None = None,
        output: Output | None = None,
    ) -> tuple[Round, PlanDone]:
        """One round without the joiner: decode a plan and run each step as soon as it closes, both at once. A
        direct answer (no step planned) follows `output` when given.

        If planning fails, the steps already decoded still run to the end; the planner's error is then raised (an
        `F1Error`, not an exception group) with `partial` holding this round: the steps decoded and their trace."""
        history = _history(task)
        started = time.perf_counter()
        send, receive = anyio.create_memory_object_stream[Step](max_buffer_size=math.inf)
        outcome: list[PlanDone] = []
        decoded: list[Step] = []
        failure: list[Exception] = []

        async def decode() -> None:
            try:
                async with send:
                    async for event in self.aplan_stream(history, output=output):
                        if on_event is not None:
                            on_event(event)
                        if isinstance(event, StepDecoded):
                            decoded.append(event.step)
                            send.send_nowait(event.step)
                        elif isinstance(event, PlanDone):
                            outcome.append(event)
            except Exception as exc:  # raised below, once the steps sent so far have run
                failure.append(exc)

        scheduler = Scheduler(self.registry, max_concurrency=self.config.max_concurrency)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(decode)
                trace = await scheduler.run(receive, on_event=on_step)
        except ExceptionGroup as group:
            raise _single(group) from None
        execute_seconds = time.perf_counter() - started
        if failure:
            error = failure[0]
            if isinstance(error, F1Error):
                plan = Plan.model_construct(steps=decoded)  # as decoded: the failure may be that it is invalid
                round_ = Round(plan=plan, trace=trace, decision=None, plan_seconds=execute_seconds, execute_seconds=execute_seconds)
                error.partial = Solution(answer="", rounds=[round_], seconds=execute_seconds)
            raise error
        done = outcome[0]
        return Round(plan=done.plan, trace=trace, decision=None, plan_seconds=done.seconds, execute_seconds=execute_seconds), done


def _single(group: ExceptionGroup) -> Exception:
    """The one exception of a task group that failed once (the usual case), else the group itself."""
    return group.exceptions[0] if len(group.exceptions) == 1 else group


def _history(task: Task) -> list[ChatMessage]:
    if isinstance(task, str):
        return [ChatMessage(role="user", content=task)]
    if isinstance(task, Conversation):
        return list(task.messages)
    return list(task)


def _query(history: Sequence[ChatMessage]) -> str:
    """The retrieval query: the latest user message."""
    for message in reversed(history):
        if message.role == "user" and message.content:
            return message.content
    return ""
