"""The DAG scheduler: parallelism, order, limits, errors, retries, streaming and cancellation.

Ordering is asserted with events and recorded timestamps, never with wall-clock thresholds; the few bounds on
durations are lower bounds (a sleep is never shorter) or generous deadlines that only guard against hangs.
"""

from __future__ import annotations

import math
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from f1.errors import PlanError
from f1.plan import Plan, Step
from f1.scheduler import ErrorKind, Scheduler, StepRecord, StepStatus, Trace, run_plan
from f1.tools import Tool, ToolPolicy, ToolSpec, tool

pytestmark = pytest.mark.anyio
HANG_GUARD = 10  # seconds; only ever reached if the scheduler deadlocks



def steps(*items: tuple[int, str, dict[str, Any]]) -> list[Step]:
    return [Step(id=i, tool=name, args=args) for i, name, args in items]


@tool
async def add(a: int, b: int) -> int:
    """Add two integers."""
    await anyio.sleep(0)
    return a + b


@tool
async def person(name: str) -> dict:
    """A record with a nested list."""
    return {"name": name, "items": [{"label": f"{name}-0"}, {"label": f"{name}-1"}]}


@tool
def boom(x: int = 0) -> int:
    """Always fails."""
    raise ValueError(f"bad input {x}")


async def run(tools: list[Tool], plan: Any, **options: Any) -> Trace:
    with anyio.fail_after(HANG_GUARD):
        return await Scheduler({t.name: t for t in tools}, **options).run(plan)


class Gauge:
    """Counts calls in flight and remembers the most at once."""

    def __init__(self) -> None:
        self.now = self.peak = self.calls = 0

    async def hold(self, seconds: float = 0.02) -> None:
        self.now += 1
        self.calls += 1
        self.peak = max(self.peak, self.now)
        await anyio.sleep(seconds)
        self.now -= 1


# --- parallelism and order ---------------------------------------------------------------------------------
async def test_independent_steps_overlap() -> None:
    started = 0
    all_started = anyio.Event()

    @tool
    async def meet(n: int) -> int:
        """Returns only once all three calls are in flight (so they must overlap)."""
        nonlocal started
        started += 1
        if started == 3:
            all_started.set()
        await all_started.wait()
        return n

    trace = await run([meet], steps((1, "meet", {"n": 1}), (2, "meet", {"n": 2}), (3, "meet", {"n": 3})))
    assert trace.ok and trace.results == {1: 1, 2: 2, 3: 3}
    last_start = max(r.started_at for r in trace.steps)
    assert all(last_start < r.ended_at for r in trace.steps)


async def test_dependencies_run_in_order_and_refs_are_resolved() -> None:
    plan = Plan(
        steps=steps(
            (1, "add", {"a": 1, "b": 2}),
            (2, "add", {"a": "$1", "b": 10}),
            (3, "person", {"name": "ann"}),
            (4, "person", {"name": "$3.items.1.label"}),
        )
    )
    trace = await run([add, person], plan)
    assert trace.ok, trace.errors
    assert trace.results[2] == 13
    assert trace.record(4).resolved_args == {"name": "ann-1"}
    assert trace.record(4).args == {"name": "$3.items.1.label"}
    assert trace.record(2).started_at >= trace.record(1).ended_at
    assert trace.record(4).started_at >= trace.record(3).ended_at
    assert [r.id for r in trace.steps] == [1, 2, 3, 4]
    assert all(r.attempts == 1 and r.duration is not None for r in trace.steps)
    assert trace.elapsed > 0 and trace.started > 0


async def test_a_step_starts_when_its_last_dependency_finishes_not_when_a_layer_does() -> None:
    release_slow = anyio.Event()

    @tool
    async def slow() -> int:
        """Waits until step 3 has run."""
        await release_slow.wait()
        return 1

    @tool
    async def note(x: int = 0) -> int:
        """Lets the slow step go."""
        release_slow.set()
        return x

    # 3 depends only on the fast step 2; it must not wait for the unrelated slow step 1.
    trace = await run([slow, note], steps((1, "slow", {}), (2, "note", {}), (3, "note", {"x": "$2"})))
    assert trace.ok
    assert trace.record(3).ended_at <= trace.record(1).ended_at


async def test_plain_lists_plans_and_run_plan_are_accepted() -> None:
    items = steps((1, "add", {"a": 1, "b": 1}), (2, "add", {"a": "$1", "b": 1}))
    assert (await run([add], items)).results == {1: 2, 2: 3}
    assert (await run([add], Plan(steps=items))).results == {1: 2, 2: 3}
    assert (await run_plan(Plan(steps=items), {"add": add})).results == {1: 2, 2: 3}
    empty = await run([add], [])
    assert empty.ok and empty.steps == []


# --- concurrency limits ------------------------------------------------------------------------------------
async def test_per_tool_concurrency_limit() -> None:
    gauge = Gauge()

    @tool(max_concurrency=2)
    async def limited(n: int) -> int:
        """At most two at once."""
        await gauge.hold()
        return n

    trace = await run([limited], steps(*((i, "limited", {"n": i}) for i in range(1, 7))))
    assert trace.ok
    assert gauge.calls == 6 and gauge.peak == 2


async def test_global_concurrency_limit() -> None:
    gauge = Gauge()

    @tool
    async def free(n: int) -> int:
        """No limit of its own."""
        await gauge.hold()
        return n

    trace = await run([free], steps(*((i, "free", {"n": i}) for i in range(1, 9))), max_concurrency=3)
    assert trace.ok and gauge.calls == 8 and gauge.peak == 3


async def test_a_tool_at_its_limit_does_not_block_other_tools() -> None:
    release = anyio.Event()

    @tool(max_concurrency=1)
    async def single(n: int) -> int:
        """One at a time; waits until `other` has run."""
        await release.wait()
        return n

    @tool
    async def other() -> int:
        """Runs while `single` steps queue."""
        release.set()
        return 0

    plan = steps(*((i, "single", {"n": i}) for i in range(1, 5)), (5, "other", {}))
    trace = await run([single, other], plan, max_concurrency=2)
    assert trace.ok
    assert trace.record(5).started_at < trace.record(4).started_at


async def test_sync_tools_run_in_threads_in_parallel() -> None:
    barrier = threading.Barrier(2, timeout=HANG_GUARD)
    threads: set[int] = set()

    @tool
    def blocking(n: int) -> int:
        """A blocking function: both calls must be in flight at once to pass the barrier."""
        threads.add(threading.get_ident())
        barrier.wait()
        return n * 2

    trace = await run([blocking], steps((1, "blocking", {"n": 1}), (2, "blocking", {"n": 2})))
    assert trace.ok and trace.results == {1: 2, 2: 4}
    assert threading.get_ident() not in threads and len(threads) == 2


# --- errors --------------------------------------------------------------------------------------------------
async def test_exception_becomes_a_typed_error() -> None:
    trace = await run([boom], steps((1, "boom", {"x": 7})))
    record = trace.record(1)
    assert record.status is StepStatus.error and not trace.ok
    assert record.error is not None and record.error.kind is ErrorKind.exception
    assert record.error.exception_type == "ValueError"
    assert "bad input 7" in record.error.message
    assert record.attempts == 1


async def test_failure_skips_transitive_dependents_and_independent_steps_go_on() -> None:
    plan = steps(
        (1, "boom", {}),
        (2, "add", {"a": "$1", "b": 1}),
        (3, "add", {"a": "$2", "b": 1}),
        (4, "add", {"a": 1, "b": 1}),
        (5, "add", {"a": "$4", "b": "$3"}),
        (6, "add", {"a": "$4", "b": 1}),
    )
    trace = await run([boom, add], plan)
    statuses = {r.id: r.status for r in trace.steps}
    assert statuses == {1: "error", 2: "skipped", 3: "skipped", 4: "ok", 5: "skipped", 6: "ok"}
    for step_id in (2, 3, 5):
        error = trace.record(step_id).error
        assert error is not None and error.kind is ErrorKind.dependency_failed
        assert "step 1 failed" in error.message or "depends on step 1, which failed" in error.message
        assert trace.record(step_id).started_at is None and trace.record(step_id).attempts == 0
    assert "depends on step 2, which was skipped because step 1 failed (exception)" in trace.record(3).error.message
    assert trace.results == {4: 2, 6: 3}


async def test_a_long_failed_chain_is_skipped_without_recursion() -> None:
    chain = [Step(id=1, tool="boom", args={})] + [
        Step(id=i, tool="add", args={"a": f"${i - 1}", "b": 1}) for i in range(2, 3001)
    ]
    trace = await run([boom, add], chain)
    assert sum(r.status is StepStatus.skipped for r in trace.steps) == 2999


async def test_reference_to_a_missing_path() -> None:
    plan = steps((1, "person", {"name": "x"}), (2, "person", {"name": "$1.nope"}), (3, "person", {"name": "$2.name"}))
    trace = await run([person], plan)
    assert trace.record(1).status is StepStatus.ok
    assert trace.record(2).error.kind is ErrorKind.reference and "no key 'nope'" in trace.record(2).error.message
    assert trace.record(3).status is StepStatus.skipped


async def test_resolved_args_are_checked_against_the_schema() -> None:
    plan = steps((1, "person", {"name": "x"}), (2, "add", {"a": "$1.name", "b": 1}))
    calls = 0

    async def counting_add(a: int, b: int) -> int:
        nonlocal calls
        calls += 1
        return a + b

    strict = Tool(spec=add.spec, fn=counting_add, policy=ToolPolicy(retries=3, idempotent=True))
    trace = await run([person, strict], plan)
    error = trace.record(2).error
    assert error is not None and error.kind is ErrorKind.invalid_args
    assert "'x' is not of type 'integer'" in error.message
    assert trace.record(2).resolved_args == {"a": "x", "b": 1}
    assert calls == 0 and trace.record(2).attempts == 0  # invalid args are never retried


async def test_unserializable_and_schema_breaking_results() -> None:
    @tool
    async def opaque() -> Any:
        """Returns a Python object."""
        return object()

    @tool
    async def not_a_number() -> float:
        """Returns NaN, which JSON cannot hold."""
        return math.nan

    @tool
    async def liar() -> int:
        """Promises an int, returns a string."""
        return "seven"  # type: ignore[return-value]

    trace = await run([opaque, not_a_number, liar], steps((1, "opaque", {}), (2, "not_a_number", {}), (3, "liar", {})))
    assert trace.record(1).error.kind is ErrorKind.unserializable_result
    assert "not JSON" in trace.record(1).error.message
    assert trace.record(2).error.kind is ErrorKind.unserializable_result
    assert trace.record(3).error.kind is ErrorKind.invalid_result
    assert "'seven' is not of type 'integer'" in trace.record(3).error.message
    assert trace.results == {}


async def test_hanging_async_and_sync_tools_time_out() -> None:
    unblock = threading.Event()

    @tool(timeout=0.05)
    async def hangs() -> int:
        """Never returns."""
        await anyio.sleep_forever()
        return 0

    @tool(timeout=0.05)
    def hangs_in_a_thread() -> int:
        """Blocks its thread until the test ends."""
        unblock.wait(HANG_GUARD)
        return 0

    try:
        trace = await run([hangs, hangs_in_a_thread, add], steps(
            (1, "hangs", {}), (2, "hangs_in_a_thread", {}), (3, "add", {"a": "$1", "b": 1}), (4, "add", {"a": 1, "b": 1})
        ))
    finally:
        unblock.set()
    for step_id in (1, 2):
        error = trace.record(step_id).error
        assert error is not None and error.kind is ErrorKind.timeout and "0.05" in error.message
        assert trace.record(step_id).duration >= 0.05
    assert trace.record(3).status is StepStatus.skipped and trace.record(4).status is StepStatus.ok


# --- retries -----------------------------------------------------------------------------------------------
def flaky(failures: int, *, idempotent: bool, retries: int = 3, backoff: float = 0.0) -> tuple[Tool, list[float]]:
    """A tool that raises `failures` times, then succeeds; returns it and the times of its calls."""
    calls: list[float] = []

    async def call() -> str:
        calls.append(anyio.current_time())
        if len(calls) <= failures:
            raise ConnectionError(f"attempt {len(calls)} failed")
        return "done"

    policy = ToolPolicy(retries=retries, idempotent=idempotent, backoff=backoff)
    return Tool(spec=ToolSpec(name="flaky"), fn=call, policy=policy), calls


async def test_idempotent_tools_are_retried() -> None:
    flaky_tool, calls = flaky(2, idempotent=True)
    trace = await run([flaky_tool], steps((1, "flaky", {})))
    assert trace.ok and trace.results[1] == "done"
    assert len(calls) == 3 and trace.record(1).attempts == 3


async def test_non_idempotent_tools_are_not_retried() -> None:
    flaky_tool, calls = flaky(2, idempotent=False)
    trace = await run([flaky_tool], steps((1, "flaky", {})))
    assert len(calls) == 1 and trace.record(1).attempts == 1
    assert trace.record(1).error.kind is ErrorKind.exception
    assert trace.record(1).error.exception_type == "ConnectionError"


async def test_retries_run_out_and_say_so() -> None:
    flaky_tool, calls = flaky(10, idempotent=True, retries=2)
    trace = await run([flaky_tool], steps((1, "flaky", {})))
    assert len(calls) == 3 and trace.record(1).attempts == 3
    assert "attempt 3 failed" in trace.record(1).error.message and "after 3 attempts" in trace.record(1).error.message


async def test_backoff_grows_exponentially() -> None:
    flaky_tool, calls = flaky(3, idempotent=True, backoff=0.02)
    trace = await run([flaky_tool], steps((1, "flaky", {})))
    assert trace.ok and len(calls) == 4
    gaps = [later - earlier for earlier, later in zip(calls, calls[1:], strict=False)]
    for attempt, gap in enumerate(gaps):
        assert gap >= 0.02 * 2**attempt * 0.99  # lower bounds only: a loaded machine only makes gaps longer


async def test_timeouts_are_retried_for_idempotent_tools() -> None:
    calls = 0

    async def slow_then_fast() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            await anyio.sleep_forever()
        return calls

    policy = ToolPolicy(timeout=0.05, retries=1, idempotent=True, backoff=0.0)
    retried = Tool(spec=ToolSpec(name="retried"), fn=slow_then_fast, policy=policy)
    trace = await run([retried], steps((1, "retried", {})))
    assert trace.ok and trace.results[1] == 2 and trace.record(1).attempts == 2


# --- validation of arriving steps ----------------------------------------------------------------------------
async def test_invalid_steps_are_recorded_and_their_dependents_skipped() -> None:
    plan = steps(
        (1, "ad", {"a": 1, "b": 2}),  # unknown tool
        (2, "add", {"a": "$1", "b": 1}),
        (3, "add", {"a": "$9", "b": 1}),  # forward reference
        (4, "add", {"a": "one", "b": 1}),  # bad literal argument
        (5, "add", {"a": 1, "b": 1}),
        (5, "add", {"a": 2, "b": 2}),  # duplicate id
        (6, "add", {"a": "$6", "b": 1}),  # self reference
    )
    trace = await run([add], plan)
    assert [r.status for r in trace.steps] == ["error", "skipped", "error", "error", "ok", "error", "error"]
    messages = [r.error.message if r.error else "" for r in trace.steps]
    assert "unknown tool 'ad'" in messages[0] and "did you mean add" in messages[0]
    assert "depends on step 1" in messages[1]
    assert "$9" in messages[2] and "does not exist" in messages[2]
    assert "'one' is not of type 'integer'" in messages[3]
    assert "duplicate step id 5" in messages[5]
    assert "$6" in messages[6]
    assert all(r.error.kind is ErrorKind.invalid_step for r in trace.steps if r.status == "error")
    assert trace.record(5).result == 2  # the first step 5 keeps the id


async def test_an_invalid_streamed_step_fails_alone_and_later_dependents_are_skipped_on_arrival() -> None:
    async def planner() -> AsyncIterator[Step]:
        yield Step(id=1, tool="add", args={"a": 1, "b": 2})
        await anyio.sleep(0.01)
        yield Step(id=2, tool="add", args={"a": "$1", "b": "two"})  # breaks the schema: fails on arrival
        await anyio.sleep(0.01)
        yield Step(id=3, tool="add", args={"a": "$2", "b": 1})  # arrives after its dependency failed
        yield Step(id=4, tool="add", args={"a": "$1", "b": 1})

    with anyio.fail_after(HANG_GUARD):
        trace = await Scheduler({"add": add}).run(planner())
    assert [r.status for r in trace.steps] == ["ok", "error", "skipped", "ok"]
    assert trace.record(2).error.kind is ErrorKind.invalid_step and "'two' is not of type 'integer'" in trace.record(2).error.message
    assert trace.record(3).error.message == "depends on step 2, which failed (invalid_step)"
    assert trace.record(3).started_at is None
    assert trace.record(3).ended_at <= trace.record(4).received_at  # skipped on arrival, before step 4 came
    assert trace.results == {1: 3, 4: 4}


async def test_without_validation_structure_is_still_enforced_and_args_checked_before_calling() -> None:
    plan = steps((1, "nope", {}), (2, "add", {"a": "$3", "b": 1}), (3, "add", {"a": "one", "b": 1}), (4, "add", {"a": 1, "b": 2}))
    trace = await run([add], plan, validate=False)
    kinds = [r.error.kind if r.error else None for r in trace.steps]
    assert kinds == [ErrorKind.invalid_step, ErrorKind.invalid_step, ErrorKind.invalid_args, None]
    assert trace.results == {4: 3}


# --- streaming, prior results, events ------------------------------------------------------------------------
async def test_streamed_steps_start_before_the_stream_ends() -> None:
    first_started = anyio.Event()
    stream_ended = False

    async def planner() -> AsyncIterator[Step]:
        nonlocal stream_ended
        yield Step(id=1, tool="person", args={"name": "ann"})
        await first_started.wait()  # deadlocks (and hits the guard) unless step 1 starts while we stream
        await anyio.sleep(0.01)
        yield Step(id=2, tool="person", args={"name": "$1.items.0.label"})
        yield Step(id=3, tool="add", args={"a": 1, "b": 2})
        stream_ended = True

    def on_event(record: StepRecord) -> None:
        if record.id == 1 and record.status is StepStatus.running:
            assert not stream_ended
            first_started.set()

    with anyio.fail_after(HANG_GUARD):
        trace = await Scheduler({"person": person, "add": add}).run(planner(), on_event=on_event)
    assert trace.ok
    assert trace.record(1).ended_at <= trace.record(2).received_at  # step 1 was done before step 2 arrived
    assert trace.record(2).started_at >= trace.record(2).received_at
    assert trace.record(2).resolved_args == {"name": "ann-0"}


async def test_events_report_every_start_and_end() -> None:
    events: list[tuple[int, str]] = []
    trace = await Scheduler({"add": add, "boom": boom}).run(
        steps((1, "add", {"a": 1, "b": 1}), (2, "boom", {}), (3, "add", {"a": "$2", "b": 1})),
        on_event=lambda r: events.append((r.id, str(r.status))),
    )
    assert not trace.ok
    assert events.index((1, "running")) < events.index((1, "ok"))
    assert events.index((2, "running")) < events.index((2, "error")) < events.index((3, "skipped"))
    assert (3, "running") not in events and len(events) == 5


async def test_prior_results_can_be_referenced() -> None:
    prior = {1: {"items": [{"label": "from-before"}]}, 2: 40}
    plan = steps((3, "person", {"name": "$1.items.0.label"}), (4, "add", {"a": "$2", "b": 2}), (2, "add", {"a": 1, "b": 1}))
    with anyio.fail_after(HANG_GUARD):
        trace = await Scheduler({"person": person, "add": add}).run(plan, prior=prior)
    assert trace.record(3).resolved_args == {"name": "from-before"}
    assert trace.results[4] == 42
    assert trace.record(2).error.kind is ErrorKind.invalid_step  # an id taken by a prior result
    assert 1 not in trace.results  # prior results are not part of this run's trace


async def test_a_failing_step_source_cancels_the_run_and_raises_its_own_error() -> None:
    async def broken_planner() -> AsyncIterator[Step]:
        yield Step(id=1, tool="waits", args={})
        await started.wait()
        raise PlanError("the model stopped making sense", step=2)

    started = anyio.Event()

    @tool
    async def waits() -> int:
        """Waits forever."""
        started.set()
        await anyio.sleep_forever()
        return 0

    trace = Trace()
    with pytest.raises(PlanError, match="stopped making sense"), anyio.fail_after(HANG_GUARD):
        await Scheduler({"waits": waits}).run_into(trace, broken_planner())
    assert trace.record(1).status is StepStatus.cancelled


async def test_a_non_step_from_the_source_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match="yielded dict, not a Step"):
        await run([add], [{"id": 1, "tool": "add", "args": {}}])


# --- cancellation ----------------------------------------------------------------------------------------------
async def test_cancelling_the_run_cancels_running_steps_and_marks_every_unfinished_record() -> None:
    running = anyio.Event()
    cancelled_inside = anyio.Event()

    @tool
    async def forever(n: int = 0) -> int:
        """Runs until cancelled."""
        running.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled_inside.set()
        return n

    plan = steps((1, "add", {"a": 1, "b": 1}), (2, "forever", {"n": "$1"}), (3, "add", {"a": "$2", "b": 1}))
    trace = Trace()
    events: list[tuple[int, str]] = []
    with anyio.fail_after(HANG_GUARD):
        async with anyio.create_task_group() as group:

            async def cancel_when_running() -> None:
                await running.wait()
                group.cancel_scope.cancel()

            group.start_soon(cancel_when_running)
            await Scheduler({"add": add, "forever": forever}).run_into(
                trace, plan, on_event=lambda r: events.append((r.id, str(r.status)))
            )
    assert cancelled_inside.is_set()
    assert [r.status for r in trace.steps] == ["ok", "cancelled", "cancelled"]
    assert trace.record(2).error.kind is ErrorKind.cancelled and trace.record(2).ended_at is not None
    assert (2, "cancelled") in events and (3, "cancelled") in events
    assert trace.elapsed > 0


async def test_a_run_under_a_deadline_keeps_its_trace() -> None:
    @tool
    async def slow() -> int:
        """Slower than the deadline."""
        await anyio.sleep(HANG_GUARD)
        return 1

    trace = Trace()
    with anyio.move_on_after(0.05):
        await Scheduler({"slow": slow, "add": add}).run_into(trace, steps((1, "add", {"a": 1, "b": 2}), (2, "slow", {})))
    assert trace.record(1).status is StepStatus.ok and trace.record(2).status is StepStatus.cancelled


def test_scheduler_rejects_a_bad_limit() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        Scheduler({}, max_concurrency=0)


def test_the_scheduler_benchmark_runs_and_reports_its_numbers() -> None:
    import argparse

    from f1.bench import scheduler as bench

    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    result = bench.run(parser.parse_args(["--steps", "300", "--repeat", "1", "--width", "3", "--sleep", "0.01"]))
    for key in ("us_per_step", "cpu_us_per_step", "makespan_over_critical_path", "speedup_over_sequential", "width"):
        assert isinstance(result[key], int | float) and result[key] > 0
    assert {"pass_us_per_step", "pass_makespan", "pass_speedup"} <= set(result) and result["width"] == 3
    assert len(bench.layered_dag(300, seed=0).steps) == 300


# --- random DAGs ---------------------------------------------------------------------------------------------
@st.composite
def random_dags(draw: st.DrawFn) -> list[tuple[int, list[int], bool, int]]:
    """(id, dependencies, fails, awaits) per step; dependencies only on earlier steps."""
    dag: list[tuple[int, list[int], bool, int]] = []
    for step_id in range(1, draw(st.integers(1, 25)) + 1):
        earlier = list(range(1, step_id))
        deps = draw(st.lists(st.sampled_from(earlier), max_size=3, unique=True)) if earlier else []
        dag.append((step_id, deps, draw(st.booleans() if step_id % 4 else st.just(False)),
                    draw(st.integers(0, 2))))
    return dag


@given(random_dags(), st.integers(1, 4), st.booleans())
@settings(max_examples=40, deadline=None)
def test_random_dags_respect_order_limits_and_failure_propagation(
    dag: list[tuple[int, list[int], bool, int]], limit: int, streamed: bool
) -> None:
    gauge = Gauge()

    async def work(deps: list[Any], fails: bool, awaits: int) -> int:
        gauge.now += 1
        gauge.peak = max(gauge.peak, gauge.now)
        try:
            for _ in range(awaits):
                await anyio.sleep(0)
            if fails:
                raise RuntimeError("planned failure")
            return len(deps)
        finally:
            gauge.now -= 1

    worker = Tool(spec=ToolSpec(name="work"), fn=work)
    plan = [Step(id=i, tool="work", args={"deps": [f"${d}" for d in deps], "fails": fails, "awaits": awaits})
            for i, deps, fails, awaits in dag]

    async def source() -> AsyncIterator[Step]:
        for step in plan:
            await anyio.sleep(0)
            yield step

    async def main() -> Trace:
        with anyio.fail_after(HANG_GUARD):
            return await Scheduler({"work": worker}, max_concurrency=limit).run(source() if streamed else plan)

    trace = anyio.run(main)
    assert gauge.peak <= limit and [r.id for r in trace.steps] == [i for i, *_ in dag]
    for step_id, deps, fails, _ in dag:
        record = trace.record(step_id)
        parents = [trace.record(d) for d in deps]
        if any(p.status is not StepStatus.ok for p in parents):
            assert record.status is StepStatus.skipped and record.error.kind is ErrorKind.dependency_failed
            assert record.started_at is None
            continue
        assert record.status is (StepStatus.error if fails else StepStatus.ok)
        assert all(record.started_at >= p.ended_at for p in parents)
        if not fails:
            assert record.result == len(deps)
