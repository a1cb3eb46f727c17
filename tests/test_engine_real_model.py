"""The engine with the real default planner (Qwen2.5-Coder-0.5B-Instruct): parallel steps, a dependent step, no tool."""

from __future__ import annotations

from typing import Any

import pytest

from f1.engine import Engine, EngineConfig
from f1.scheduler import StepStatus
from f1.tools import tool

pytestmark = pytest.mark.model


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Get the current weather in a city.

    Args:
        city: the city name, e.g. "Paris"
    """
    return {"city": city, "temperature_c": 10 + len(city) % 7, "conditions": "cloudy"}


@tool
def add(a: float, b: float) -> float:
    """Add two numbers a + b."""
    return a + b


@tool
def multiply(a: float, b: float) -> float:
    """Multiply two numbers a * b."""
    return a * b


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine([get_weather, add, multiply], config=EngineConfig(max_replans=0))


def test_two_cities_give_two_parallel_steps_that_both_run(engine: Engine) -> None:
    solution = engine.solve("What is the weather in Paris and in Tokyo?")
    steps = solution.plan.steps
    cities = {step.args.get("city") for step in steps if step.tool == "get_weather"}
    assert {"Paris", "Tokyo"} <= cities
    assert all(not step.dependencies for step in steps)  # independent: the scheduler may run them together
    assert all(record.status is StepStatus.ok for record in solution.trace.steps)
    assert solution.answer


def test_arithmetic_chain_gives_a_dependent_step(engine: Engine) -> None:
    solution = engine.solve("Add 3 and 4, then multiply the result by 5.")
    steps = solution.plan.steps
    assert any(step.dependencies for step in steps), solution.plan
    assert 35 in solution.trace.results.values()


def test_a_greeting_needs_no_tool(engine: Engine) -> None:
    solution = engine.solve("Hello! How are you today?")
    assert solution.plan.steps == []
    assert solution.answer
