"""Scheduler overhead per step (10,000-step DAG of no-op tools) and parallel speed-up on sleeping tools.

`us_per_step`: the best of `--repeat` runs (wall clock; `cpu_us_per_step` is the process CPU time, steadier on a
shared machine) of a layered DAG of no-op async tools with validation on, divided by its step count. The DAG has
layers of random width (1-64) whose steps each reference up to three random steps of the layer before (fixed seed).

`makespan_over_critical_path` and `speedup_over_sequential`: three layers of tools that sleep `--sleep` seconds
(`--width` parallel -> 1 join -> `--width` parallel; critical path 3 sleeps), best of 3 runs. Sequential means
the same steps through the same scheduler with max_concurrency=1 (one run). With a one-step join layer the ideal
speed-up is (2 width + 1) / 3, not width, so the DAG's target is 0.95 x that ideal; `layer_speedup` (one layer of
`width` sleeps, ideal = width) is held to 0.95 x width.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
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


async def _overhead(scheduler: Scheduler, dag: Plan, repeat: int) -> dict[str, Any]:
    walls, cpus = [], []
    for _ in range(repeat):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        trace = await scheduler.run(dag)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        _check(trace)
    per_step = 1e6 / len(dag.steps)
    return {"us_per_step": min(walls) * per_step, "median_us_per_step": statistics.median(walls) * per_step,
            "cpu_us_per_step": min(cpus) * per_step}


async def _makespan(scheduler: Scheduler, plan: Plan, repeat: int = 1) -> float:
    """The best of `repeat` wall-clock runs."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        _check(await scheduler.run(plan))
        best = min(best, time.perf_counter() - start)
    return best


def _check(trace: Trace) -> None:
    if not trace.ok:
        raise RuntimeError(f"benchmark plan failed: {next(iter(trace.errors.values()))}")


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    toolset = tools(args.sleep)
    dag = layered_dag(args.steps, seed=args.seed)
    empty = {"us_per_step": "-", "median_us_per_step": "-", "cpu_us_per_step": "-", "parallel_s": "-", "sequential_s": "-"}
    rows = []
    for validate in (True, False):
        timing = await _overhead(Scheduler(toolset, validate=validate), dag, args.repeat)
        rows.append({"benchmark": f"{len(dag.steps)} no-op steps, validate={validate}", **empty, **timing})
    sleepy, layer = sleep_dag(args.width), Plan(steps=sleep_dag(args.width).steps[: args.width])
    parallel, sequential = Scheduler(toolset), Scheduler(toolset, max_concurrency=1)
    makespan, serial = await _makespan(parallel, sleepy, 3), await _makespan(sequential, sleepy)
    layer_makespan, layer_serial = await _makespan(parallel, layer, 3), await _makespan(sequential, layer)
    rows.append({"benchmark": f"{len(sleepy.steps)} sleeps in 3 layers", **empty, "parallel_s": makespan, "sequential_s": serial})
    rows.append({"benchmark": f"{args.width} sleeps in 1 layer", **empty, "parallel_s": layer_makespan, "sequential_s": layer_serial})
    critical = 3 * args.sleep
    ideal = len(sleepy.steps) / 3
    us_per_step, ratio = rows[0]["us_per_step"], makespan / critical
    speedup, layer_speedup = serial / makespan, layer_serial / layer_makespan
    return {
        "us_per_step": us_per_step,
        "cpu_us_per_step": rows[0]["cpu_us_per_step"],
        "us_per_step_without_validation": rows[1]["us_per_step"],
        "makespan_s": makespan,
        "critical_path_s": critical,
        "makespan_over_critical_path": ratio,
        "sequential_s": serial,
        "sequential_method": "same steps, same scheduler, max_concurrency=1",
        "speedup_over_sequential": speedup,
        "ideal_speedup": ideal,
        "layer_speedup": layer_speedup,
        "width": args.width,
        "target_us_per_step": TARGET_US_PER_STEP,
        "target_makespan_over_critical_path": TARGET_MAKESPAN_RATIO,
        "target_speedup": TARGET_SPEEDUP_FRACTION * ideal,
        "target_layer_speedup": TARGET_SPEEDUP_FRACTION * args.width,
        "pass_us_per_step": us_per_step <= TARGET_US_PER_STEP,
        "pass_makespan": ratio <= TARGET_MAKESPAN_RATIO,
        "pass_speedup": speedup >= TARGET_SPEEDUP_FRACTION * ideal,
        "pass_layer_speedup": layer_speedup >= TARGET_SPEEDUP_FRACTION * args.width,
        "table": rows,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    return anyio.run(_measure, args)
