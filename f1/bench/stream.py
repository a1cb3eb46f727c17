"""Streaming execution: when the first tool starts, as a fraction of the plan's decode time (default model)."""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import anyio

TASKS = [
    "What is the weather in Paris, in Tokyo and in New York?",
    "Get the weather for London, Berlin, Madrid and Rome.",
    "Tell me the current weather in Sydney, Cairo and Lima.",
    "Compare the weather in Oslo, Lisbon and Athens.",
    "How is the weather in Toronto, Chicago and Miami today?",
]
TOOL_SECONDS = 0.2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="default", help="planner model (default: the shipped default)")
    parser.add_argument("--tasks", type=int, default=len(TASKS), help=f"how many of the {len(TASKS)} tasks to run")


def run(args: argparse.Namespace) -> dict[str, Any]:
    return anyio.run(_measure, args.model, args.tasks)


async def _measure(model: str, count: int) -> dict[str, Any]:
    from f1.engine import Engine, EngineConfig
    from f1.tools import tool

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

    engine = Engine([get_weather, get_time], model=model, config=EngineConfig(max_replans=0))
    await engine.aplan("What time is it in Lima?")  # warm-up: loads the model, compiles the grammar, caches the prompt prefix
    rows = []
    for task in TASKS[:count]:
        round_, done = await engine.aexecute(task)
        first = round_.first_tool_start
        rows.append(
            {
                "task": task[:40],
                "steps": len(round_.plan.steps),
                "decode_s": round(done.seconds, 3),
                "first_tool_start_s": None if first is None else round(first, 3),
                "fraction": None if first is None else round(first / done.seconds, 3),
                "total_s": round(round_.execute_seconds, 3),
            }
        )
    eligible = [row["fraction"] for row in rows if row["steps"] >= 3 and row["fraction"] is not None]
    fraction = statistics.median(eligible) if eligible else None
    return {
        "first_tool_start_fraction": fraction,
        "plans_with_3_or_more_steps": len(eligible),
        "tasks": len(rows),
        "target": 0.4,
        "pass": fraction is not None and fraction <= 0.4,
        "table": rows,
    }
