"""Scheduler overhead per step (10,000-step DAG of no-op tools) and parallel speed-up on sleeping tools.

`us_per_step`: the best of `--repeat` runs of a layered DAG (random layer widths, each step referencing up to
three random steps of the layer before; fixed seed) of no-op async tools, run with validation on, divided by its
step count. `makespan_over_critical_path` and `speedup_over_sequential`: three layers of tools that sleep
`--sleep` seconds (`--width` parallel -> 1 join -> `--width` parallel); sequential is the same steps through the
same scheduler with max_concurrency=1.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import anyio

from f1.plan import Plan, Step
from f1.scheduler import Scheduler, Trace
from f1.tools import Tool, ToolSpec

TARGET_US_PER_STEP = 30.0
TARGET_MAKESPAN_RATIO = 1.05
TARGET_SPEEDUP_FRACTION = 0.95
_PARAMETERS = {
    "type": "object",
    "properties": {"inputs": {"type": "array"}, "layer": {"type": "integer"}},
    "required": ["layer"],
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=10_000, help="steps in the overhead DAG (default 10000)")
    parser.add_argument("--repeat", type=int, default=5, help="overhead runs; the best counts (default 5)")
    parser.add_argument("--width", type=int, default=8, help="parallel steps per layer of the sleep DAG (default 8)")
    parser.add_argument("--sleep", type=float, default=0.1, help="seconds each sleeping tool takes (default 0.1)")
    parser.add_argument("--seed", type=int, default=0)


def layered_dag(steps: int, *, seed: int, max_width: int = 64, max_deps: int = 3) -> Plan:
    """A DAG in layers of random width; each step references up to `max_deps` steps of the layer before."""
    rng = random.Random(seed)
    plan: list[Step] = []
    previous: list[int] = []
    layer = 0
    while len(plan) < steps:
        width = min(rng.randint(1, max_width), steps - len(plan))
        current = []
        for _ in range(width):
            step_id = len(plan) + 1
            refs = [f"${ref}" for ref in rng.sample(previous, min(len(previous), rng.randint(0, max_deps)))]
            plan.append(Step(id=step_id, tool="noop", args={"inputs": refs, "layer": layer}))
            current.append(step_id)
        previous, layer = current, layer + 1
    return Plan(steps=plan)


def sleep_dag(width: int) -> Plan:
    """`width` parallel sleeps -> one join -> `width` parallel sleeps."""
    first = [Step(id=i + 1, tool="sleep", args={"inputs": [], "layer": 0}) for i in range(width)]
    join = Step(id=width + 1, tool="sleep", args={"inputs": [f"${s.id}" for s in first], "layer": 1})
    last = [Step(id=width + 2 + i, tool="sleep", args={"inputs": [f"${join.id}"], "layer": 2}) for i in range(width)]
    return Plan(steps=[*first, join, *last])


def tools(sleep: float) -> dict[str, Tool]:
    async def noop(inputs: list[Any] | None = None, layer: int = 0) -> int:
        return layer

    async def sleeper(inputs: list[Any] | None = None, layer: int = 0) -> int:
        await anyio.sleep(sleep)
        return layer

    return {
        name: Tool(spec=ToolSpec(name=name, parameters=_PARAMETERS), fn=fn)
        for name, fn in (("noop", noop), ("sleep", sleeper))
    }


async def _timed(scheduler: Scheduler, plan: Plan) -> tuple[float, Trace]:
    start = time.perf_counter()
    trace = await scheduler.run(plan)
    elapsed = time.perf_counter() - start
    if not trace.ok:
        raise RuntimeError(f"benchmark plan failed: {next(iter(trace.errors.values()))}")
    return elapsed, trace


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    toolset = tools(args.sleep)
    dag = layered_dag(args.steps, seed=args.seed)
    rows = []
    for validate in (True, False):
        scheduler = Scheduler(toolset, validate=validate)
        times = [(await _timed(scheduler, dag))[0] for _ in range(args.repeat)]
        rows.append({"dag": f"{len(dag.steps)} no-op steps", "validate": validate,
                     "best_us_per_step": min(times) / len(dag.steps) * 1e6,
                     "median_us_per_step": sorted(times)[len(times) // 2] / len(dag.steps) * 1e6})
    sleepy = sleep_dag(args.width)
    critical = 3 * args.sleep
    makespan, _ = await _timed(Scheduler(toolset), sleepy)
    sequential, _ = await _timed(Scheduler(toolset, max_concurrency=1), sleepy)
    rows.append({"dag": f"{len(sleepy.steps)} steps of {args.sleep} s", "validate": True,
                 "parallel_s": makespan, "sequential_s": sequential, "critical_path_s": critical})
    us_per_step = rows[0]["best_us_per_step"]
    ratio = makespan / critical
    speedup = sequential / makespan
    # with a 1-wide join layer the ideal speed-up is (2 * width + 1) / 3, slightly under width for width > 1
    return {
        "us_per_step": us_per_step,
        "us_per_step_no_validation": rows[1]["best_us_per_step"],
        "makespan_s": makespan,
        "critical_path_s": critical,
        "makespan_over_critical_path": ratio,
        "sequential_s": sequential,
        "sequential_method": "same steps, same scheduler, max_concurrency=1",
        "speedup_over_sequential": speedup,
        "width": args.width,
        "target_us_per_step": TARGET_US_PER_STEP,
        "target_makespan_over_critical_path": TARGET_MAKESPAN_RATIO,
        "target_speedup": TARGET_SPEEDUP_FRACTION * args.width,
        "pass_us_per_step": us_per_step <= TARGET_US_PER_STEP,
        "pass_makespan": ratio <= TARGET_MAKESPAN_RATIO,
        "pass_speedup": speedup >= TARGET_SPEEDUP_FRACTION * args.width,
        "table": rows,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    return anyio.run(_measure, args)
