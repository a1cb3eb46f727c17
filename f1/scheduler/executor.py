"""The event-driven DAG executor: a step runs the moment its last dependency finishes, even while steps still arrive.

Readiness is a counter per step (dependencies not yet finished); a finishing step decrements its dependents'
counters and hands those that reach zero to a pool of worker tasks through a memory object stream. Workers are
started lazily, at most `max_concurrency` of them, so a 10,000-step plan costs no more than 64 tasks.
See docs/scheduler.md for the design.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any

import anyio
import anyio.lowlevel

from f1.errors import PlanError, ReferenceResolutionError
from f1.plan import Plan, Step, resolve, validate_args, validate_step
from f1.scheduler.abandon import run_abandonable
from f1.scheduler.trace import ErrorKind, StepError, StepRecord, StepStatus, Trace
from f1.tools.registry import Tool
from f1.tools.spec import ToolSpec

StepSource = Plan | Iterable[Step] | AsyncIterable[Step]
EventHandler = Callable[[StepRecord], Any]

_YIELD_EVERY = 32
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})  # JSON as they are (floats when finite)
_FINAL = (StepStatus.ok, StepStatus.error, StepStatus.skipped, StepStatus.cancelled)


class Scheduler:
    """Runs plan steps on `tools`, in parallel where the references allow.

    `run` returns the `Trace`; `run_into` fills a `Trace` the caller holds, so that it stays reachable when the
    caller cancels the run (its unfinished records are then marked `cancelled`). One `Scheduler` may serve any
    number of runs at once: all run state lives in the run. Limits (`max_concurrency`, each tool's
    `policy.max_concurrency`) apply per run.
    """

    def __init__(self, tools: Mapping[str, Tool], *, max_concurrency: int = 64, validate: bool = True) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, not {max_concurrency}")
        self.tools = tools
        self.max_concurrency = max_concurrency
        self.validate = validate

    async def run(
        self,
        steps: StepSource,
        *,
        prior: Mapping[int, Any] | None = None,
        on_event: EventHandler | None = None,
    ) -> Trace:
        """Run every step `steps` yields (a plan, an iterable, or an async iterable still being decoded).

        `prior` holds results of earlier runs that references may point at. `on_event(record)` is called
        (synchronously; it must not block or raise) each time a record starts running or reaches a final status.
        """
        trace = Trace()
        await self.run_into(trace, steps, prior=prior, on_event=on_event)
        return trace

    async def run_into(
        self,
        trace: Trace,
        steps: StepSource,
        *,
        prior: Mapping[int, Any] | None = None,
        on_event: EventHandler | None = None,
    ) -> None:
        """Like `run`, recording into `trace` (which should be empty). If the step source raises, the running
        steps are cancelled and its exception propagates unchanged."""
        await _Run(self, trace, prior or {}, on_event).execute(steps)


async def run_plan(plan: StepSource, tools: Mapping[str, Tool], **options: Any) -> Trace:
    """Run a plan once: `Scheduler(tools, **options).run(plan)`."""
    return await Scheduler(tools, **options).run(plan)


class _Node:
    """A step inside a run: its record, its unfinished dependency count and the steps waiting for it."""

    __slots__ = ("step", "record", "deps", "pending", "dependents", "root")

    def __init__(self, step: Step, record: StepRecord) -> None:
        self.step = step
        self.record = record
        self.deps = step.dependencies
        self.pending = 0
        self.dependents: list[_Node] = []
        self.root: _Node = self  # the failed step that this step's failure or skip goes back to


class _Specs(Mapping[str, ToolSpec]):
    """The specs of a tool mapping, read through (no copy per run of a large catalogue)."""

    def __init__(self, tools: Mapping[str, Tool]) -> None:
        self.tools = tools

    def __getitem__(self, name: str) -> ToolSpec:
        return self.tools[name].spec

    def __contains__(self, name: object) -> bool:
        return name in self.tools

    def __iter__(self) -> Iterator[str]:
        return iter(self.tools)

    def __len__(self) -> int:
        return len(self.tools)


class _Run:
    """The state of one run."""

    def __init__(
        self, scheduler: Scheduler, trace: Trace, prior: Mapping[int, Any], on_event: EventHandler | None
    ) -> None:
        tools = scheduler.tools
        self.tools = tools
        self.validate = scheduler.validate
        self.specs = _Specs(tools)
        self.calls: dict[str, tuple[Callable[..., Any], bool, anyio.CapacityLimiter | None]] = {}
        self.blocked: dict[str, deque[_Node]] = {}
        self.trace = trace
        self.on_event = on_event
        self.results: dict[int, Any] = dict(prior)
        self.ids: set[int] = set(prior)  # ids a new step may reference: prior results and arrived steps
        self.nodes: dict[int, _Node] = {}
        self.unfinished = 0
        self.arriving = True
        self.max_workers = scheduler.max_concurrency
        self.workers = self.idle = self.queued = 0
        self.send, self.receive = anyio.create_memory_object_stream[_Node](math.inf)
        self.thread_limiter = anyio.CapacityLimiter(scheduler.max_concurrency)
        self.t0 = 0.0

    # the run ---------------------------------------------------------------------------------------------
    async def execute(self, steps: StepSource) -> None:
        self.trace.started = time.time()
        self.t0 = time.perf_counter()
        source_error: Exception | None = None
        try:
            async with anyio.create_task_group() as self.tg:
                try:
                    await self.feed(steps)
                except Exception as exc:  # the planner failed mid-plan: stop the run, re-raise below
                    source_error = exc
                    self.tg.cancel_scope.cancel()
        finally:
            self.send.close()
            self.receive.close()
            if self.unfinished:
                self.cancel_unfinished()
            self.trace.elapsed = time.perf_counter() - self.t0
        if source_error is not None:
            raise source_error

    async def feed(self, steps: StepSource) -> None:
        if isinstance(steps, Plan):
            steps = steps.steps
        if isinstance(steps, AsyncIterable):
            async for step in steps:
                self.arrive(step)
        else:
            for step in steps:
                self.arrive(step)
        self.arriving = False
        self.close_if_done()

    def close_if_done(self) -> None:
        if not self.arriving and not self.unfinished:
            self.send.close()  # the workers drain the stream and stop

    def cancel_unfinished(self) -> None:
        now = self.now()
        error = StepError(kind=ErrorKind.cancelled, message="the run was cancelled before this step finished")
        for record in self.trace.steps:
            if record.status not in _FINAL:
                record.update(status=StepStatus.cancelled, error=error, ended_at=now)
                self.emit(record)

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def emit(self, record: StepRecord) -> None:
        if self.on_event is not None:
            self.on_event(record)

    # arrival and readiness -------------------------------------------------------------------------------
    def arrive(self, step: Step) -> None:
        if not isinstance(step, Step):
            raise PlanError(f"the step source yielded {type(step).__name__}, not a Step")
        record = StepRecord(id=step.id, tool=step.tool, args=step.args, received_at=time.perf_counter() - self.t0)
        self.trace.steps.append(record)
        self.unfinished += 1
        node = _Node(step, record)
        reason = self.check(node)
        if step.id not in self.ids:
            self.ids.add(step.id)
            self.nodes[step.id] = node
        if reason is not None:
            self.fail(node, StepError(kind=ErrorKind.invalid_step, message=reason))
            return
        parents = [self.nodes[dep] for dep in node.deps if dep not in self.results]
        for parent in parents:
            if parent.record.status in _FINAL:  # finished, but without a result
                self.skip([(node, parent)])
                return
        for parent in parents:
            parent.dependents.append(node)
        node.pending = len(parents)
        if not parents:
            self.ready(node)

    def check(self, node: _Node) -> str | None:
        """Why this arriving step cannot run, or None. References must point at earlier steps or prior results."""
        step = node.step
        if step.id in self.ids:
            return f"duplicate step id {step.id}"
        if self.validate:
            try:
                validate_step(step, self.specs, earlier=self.ids, dependencies=node.deps)
            except PlanError as exc:
                return exc.reason
            return None
        if step.tool not in self.tools:
            return f"unknown tool {step.tool!r}"
        for dep in sorted(node.deps):
            if dep not in self.ids:
                return f"${dep} references a step that is not earlier; only earlier steps may be referenced"
        return None

    def callee(self, name: str) -> tuple[Callable[..., Any], bool, anyio.CapacityLimiter | None]:
        """A tool's function, whether it is async, and this run's limiter for it (looked up once per run)."""
        entry = self.calls.get(name)
        if entry is None:
            item = self.tools[name]
            limit = item.policy.max_concurrency
            entry = self.calls[name] = (item.fn, item.is_async, None if limit is None else anyio.CapacityLimiter(limit))
        return entry

    def ready(self, node: _Node, hold: list[_Node] | None = None) -> None:
        """Queue a step whose dependencies have all finished, unless its tool is at its concurrency limit.
        A worker that made it ready passes `hold`: the first such step stays with it, saving a task switch."""
        limiter = self.callee(node.step.tool)[2]
        if limiter is not None:
            try:
                limiter.acquire_on_behalf_of_nowait(node)
            except anyio.WouldBlock:
                self.blocked.setdefault(node.step.tool, deque()).append(node)
                return
        if hold is not None and not hold:
            hold.append(node)
            return
        self.send.send_nowait(node)
        self.queued += 1
        if self.queued > self.idle and self.workers < self.max_workers:
            self.workers += 1
            self.tg.start_soon(self.worker)

    def release_tool(self, node: _Node, hold: list[_Node]) -> None:
        limiter = self.callee(node.step.tool)[2]
        if limiter is None:
            return
        limiter.release_on_behalf_of(node)
        waiting = self.blocked.get(node.step.tool)
        if waiting:
            self.ready(waiting.popleft(), hold)

    # outcomes --------------------------------------------------------------------------------------------
    def succeed(self, node: _Node, result: Any, hold: list[_Node]) -> None:
        record = node.record
        record.update(result=result, status=StepStatus.ok, ended_at=time.perf_counter() - self.t0)
        self.results[node.step.id] = result
        if self.on_event is not None:
            self.on_event(record)
        self.unfinished -= 1
        for child in node.dependents:
            child.pending -= 1
            if not child.pending and child.record.status is None:
                self.ready(child, hold)
        self.close_if_done()

    def fail(self, node: _Node, error: StepError) -> None:
        node.record.update(status=StepStatus.error, error=error, ended_at=self.now())
        self.emit(node.record)
        self.unfinished -= 1
        self.skip([(child, node) for child in node.dependents])
        self.close_if_done()

    def skip(self, todo: list[tuple[_Node, _Node]]) -> None:
        """Mark steps `skipped` because a dependency failed, and their dependents in turn (iteratively)."""
        while todo:
            node, parent = todo.pop()
            record = node.record
            if record.status is not None:
                continue
            node.root = root = parent.root
            failed = f"failed ({root.record.error.kind if root.record.error else 'error'})"
            if root is parent:
                message = f"depends on step {parent.step.id}, which {failed}"
            else:
                message = f"depends on step {parent.step.id}, which was skipped because step {root.step.id} {failed}"
            error = StepError(kind=ErrorKind.dependency_failed, message=message)
            record.update(status=StepStatus.skipped, error=error, ended_at=self.now())
            self.emit(record)
            self.unfinished -= 1
            todo.extend((child, node) for child in node.dependents)

    # running a step --------------------------------------------------------------------------------------
    async def worker(self) -> None:
        receive = self.receive
        hold: list[_Node] = []  # a step this worker made ready and runs next
        done = 0
        while True:
            if hold:
                node = hold.pop()
            else:
                try:
                    node = receive.receive_nowait()
                except anyio.WouldBlock:
                    self.idle += 1
                    try:
                        node = await receive.receive()
                    except (anyio.EndOfStream, anyio.ClosedResourceError):
                        return
                    finally:
                        self.idle -= 1
                except (anyio.EndOfStream, anyio.ClosedResourceError):
                    return
                self.queued -= 1
            done += 1
            if not done % _YIELD_EVERY:  # tools that never await would otherwise hold the event loop
                await anyio.lowlevel.checkpoint()
            try:
                result = await self.call(node)
            except _Failed as failure:
                self.release_tool(node, hold)
                self.fail(node, failure.error)
            else:
                self.release_tool(node, hold)
                self.succeed(node, result, hold)

    async def call(self, node: _Node) -> Any:
        """Resolve, check, call (with timeout and retries) and check the result; raises `_Failed`."""
        step, record = node.step, node.record
        tool = self.tools[step.tool]
        record.update(status=StepStatus.running, started_at=time.perf_counter() - self.t0)
        if self.on_event is not None:
            self.on_event(record)
        try:
            args = resolve(step.args, self.results) if node.deps else step.args
        except ReferenceResolutionError as exc:
            raise _Failed(ErrorKind.reference, exc.reason) from None
        record.resolved_args = args
        if node.deps or not self.validate:  # otherwise validate_step has checked these very args on arrival
            try:
                validate_args(step.tool, args, tool.spec.parameters, step=step.id, allow_refs=False)
            except PlanError as exc:
                raise _Failed(ErrorKind.invalid_args, exc.reason) from None
        attempts = tool.policy.attempts
        for attempt in range(attempts):
            if attempt:
                await anyio.sleep(tool.policy.backoff * 2 ** (attempt - 1))
            record.attempts = attempt + 1
            try:
                result = await self.attempt(tool, args)
            except _Failed as failure:
                if attempt + 1 == attempts:
                    if attempts > 1:
                        failure.error.message += f" (after {attempts} attempts)"
                    raise
            else:
                return self.check_result(tool, step.id, result)

    async def attempt(self, tool: Tool, args: dict[str, Any]) -> Any:
        timeout = tool.policy.timeout
        if timeout is None:
            return await self.invoke(tool, args)
        with anyio.move_on_after(timeout):
            return await self.invoke(tool, args)
        raise _Failed(ErrorKind.timeout, f"{tool.name} did not finish within {timeout} s")

    async def invoke(self, tool: Tool, args: dict[str, Any]) -> Any:
        fn, is_async, _ = self.callee(tool.name)
        try:
            if is_async:
                return await fn(**args)
            return await run_abandonable(partial(fn, **args), self.thread_limiter)
        except Exception as exc:
            name = type(exc).__name__
            raise _Failed(ErrorKind.exception, f"{name}: {exc}", exception_type=name) from None

    @staticmethod
    def check_result(tool: Tool, step_id: int, result: Any) -> Any:
        if type(result) not in _JSON_SCALARS or (type(result) is float and not math.isfinite(result)):
            try:
                json.dumps(result, allow_nan=False)
            except (TypeError, ValueError, RecursionError) as exc:
                raise _Failed(ErrorKind.unserializable_result, f"result is not JSON: {exc}") from None
        schema = tool.spec.result_schema
        if schema is not None:
            try:
                validate_args(tool.name, result, schema, step=step_id, allow_refs=False)
            except PlanError as exc:
                raise _Failed(ErrorKind.invalid_result, f"result breaks the result schema: {exc.reason}") from None
        return result


class _Failed(Exception):
    """Raised inside a run when a step fails; carries the `StepError` to record."""

    def __init__(self, kind: ErrorKind, message: str, *, exception_type: str | None = None) -> None:
        super().__init__(message)
        self.error = StepError(kind=kind, message=message, exception_type=exception_type)
