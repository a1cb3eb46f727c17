"""Streaming execution: when the first tool starts, as a fraction of the plan's decode time (default model).

Two workloads: `weather` (weather and time in several cities, 2 tools that take 0.2 s) and `mixed` (12 tasks over
the built-in math, unit and time tools and BFCL's MathAPI, TravelAPI and VehicleControlAPI classes; fan-outs of
independent calls and chains where a call takes an earlier result). Each tool set gets its own Engine, warmed up
once (model, grammar, prompt prefix). Target: the median fraction over plans of 3 or more steps <= 0.4.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from typing import Any

import anyio

WEATHER = "weather"
WEATHER_TASKS = [
    "What is the weather in Paris, in Tokyo and in New York?",
    "Get the weather for London, Berlin, Madrid and Rome.",
    "Tell me the current weather in Sydney, Cairo and Lima.",
    "Compare the weather in Oslo, Lisbon and Athens.",
    "How is the weather in Toronto, Chicago and Miami today?",
]
MIXED_TASKS: list[tuple[str, str]] = [  # (tool set, task): a built-in group set or a BFCL class
    ("builtin", "Convert 5 miles, 10 kilometres and 26.2 miles to metres."),
    ("builtin", "What is 17.5% of 2340, what is 2 to the power of 20, and what is 7921 divided by 89?"),
    ("builtin", "What time is it now in Tokyo, in London and in New York?"),
    ("builtin", "Add 90 minutes to 2024-03-10 09:30 in Paris, then tell me the weekday of the resulting date."),
    ("builtin", "How many days are there from 2024-01-01 to 2024-12-25, and from 2024-02-01 to 2024-03-01?"),
    ("builtin", "Convert 3 pm in Sydney to Los Angeles time and to Berlin time."),
    ("MathAPI", "Give the mean of 3, 5, 8 and 13, the standard deviation of 2, 4, 4, 4, 5, 5, 7, 9 and the largest of 17, 4 and 29."),
    ("MathAPI", "Add 12.5 and 7.25, then take the square root of the sum."),
    ("MathAPI", "Multiply 6 by 7, take the base-10 logarithm of the product, then round it to 2 digits."),
    ("TravelAPI", "What are the nearest airports to Rivermist, Stonebrook and Crescent Hollow?"),
    ("TravelAPI", "Find the zip codes of Rivermist and Stonebrook, then estimate the distance between them."),
    ("VehicleControlAPI", "Check the tire pressure, the fuel level and the outside temperature."),
]
WORKLOADS = {WEATHER: [(WEATHER, task) for task in WEATHER_TASKS], "mixed": MIXED_TASKS}
WARM_UP = "Hello!"  # shares the planner's prompt up to the task, not the task itself
TOOL_SECONDS = 0.2
TARGET = 0.4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="default", help="planner model (default: the shipped default)")
    parser.add_argument("--workload", choices=[*WORKLOADS, "all"], default="all", help="which tasks (default: all)")
    parser.add_argument("--tasks", type=int, help="at most this many tasks per workload (default: all of them)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    names = list(WORKLOADS) if args.workload == "all" else [args.workload]
    tasks = [task for name in names for task in WORKLOADS[name][: args.tasks]]
    return anyio.run(measure, args.model, tasks)


async def measure(model: Any, tasks: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Run each (tool set, task) once on `model` (a spec or a backend) after one untimed warm-up per tool set."""
    from f1.engine import Engine, EngineConfig

    config = EngineConfig(max_replans=0, max_tools_in_prompt=64)  # every tool of a set offered: no retrieval
    engines: dict[str, Engine] = {}
    rows = []
    for tool_set, task in tasks:
        if tool_set not in engines:
            engines[tool_set] = Engine(tool_registry(tool_set), model=model, config=config)
            await engines[tool_set].aplan(WARM_UP)  # loads the model, compiles the grammar, caches the prompt prefix
        round_, done = await engines[tool_set].aexecute(task)
        first = round_.first_tool_start
        steps = round_.plan.steps
        rows.append(
            {
                "workload": WEATHER if tool_set == WEATHER else "mixed",
                "tools": tool_set,
                "task": task[:40],
                "steps": len(steps),
                "chained": sum(bool(step.dependencies) for step in steps),
                "decode_s": round(done.seconds, 3),
                "first_tool_start_s": None if first is None else round(first, 3),
                "fraction": None if first is None else round(first / done.seconds, 3),
                "total_s": round(round_.execute_seconds, 3),
            }
        )
    eligible = [row for row in rows if row["steps"] >= 3 and row["fraction"] is not None]
    fraction = _median(row["fraction"] for row in eligible)
    by_workload = {
        f"{name}_first_tool_start_fraction": _median(row["fraction"] for row in eligible if row["workload"] == name)
        for name in WORKLOADS
    }
    return {
        "first_tool_start_fraction": fraction,
        **by_workload,
        "plans_with_3_or_more_steps": len(eligible),
        "plans_with_chains": sum(row["chained"] > 0 for row in rows),
        "plans_with_fan_outs": sum(row["steps"] - row["chained"] >= 2 for row in rows),
        "tasks": len(rows),
        "target": TARGET,
        "pass": fraction is not None and fraction <= TARGET,
        "table": rows,
    }


def _median(values: Any) -> float | None:
    listed = list(values)
    return statistics.median(listed) if listed else None


def tool_registry(tool_set: str) -> Any:
    """The tools of a workload's tool set: the weather pair, the built-in math/units/time tools, or a BFCL class."""
    from f1.tools import ToolRegistry, tool
    from f1.tools.bfcl_worlds import BfclWorld
    from f1.tools.builtin import builtin_tools

    if tool_set == "builtin":
        return builtin_tools(groups=("math", "units", "time"))
    if tool_set != WEATHER:
        return BfclWorld([tool_set]).tools

    @tool
    async def get_weather(city: str) -> dict[str, Any]:
        """Current weather in a city.

        Args:
            city: the city name, e.g. "Paris"
        """
        await anyio.sleep(TOOL_SECONDS)
        return {"city": city, "temperature_c": 10 + len(city), "conditions": "cloudy"}

    @tool
    async def get_time(city: str) -> str:
        """Current local time in a city.

        Args:
            city: the city name
        """
        await anyio.sleep(TOOL_SECONDS)
        return "12:00"

    return ToolRegistry([get_weather, get_time])
