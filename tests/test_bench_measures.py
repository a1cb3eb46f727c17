"""`f1 bench decode` and `f1 bench stream` measure what they name: fast-forward on vs off on the same output, and
the first tool starting while the plan still decodes (tiny random model / scripted model, no real model)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import anyio
import pytest

from f1.bench import decode, stream
from f1.planner import ScriptedModel


def test_decode_compares_fast_forward_on_and_off_on_the_same_output(tiny_dir: Path) -> None:
    parser = argparse.ArgumentParser()
    decode.add_arguments(parser)
    result = decode.run(parser.parse_args(["--model", str(tiny_dir), "--tasks", "2", "--max-new-tokens", "100"]))
    same = [row for row in result["table"] if row["same_output"]]
    assert same and result["different_outputs"] == 2 - len(same)
    for row in same:  # without fast-forward every token costs a forward call; with it the forced ones ride along
        assert row["no_ff_calls"] == row["tokens"] and row["ff_calls"] == row["tokens"] - row["forced"] and row["forced"] > 0
    ratio = sum(row["ff_calls"] for row in same) / sum(row["no_ff_calls"] for row in same)
    assert result["fast_forward_call_ratio"] == pytest.approx(ratio, abs=1e-3) and ratio < 1


def _plan(*steps: tuple[str, dict]) -> str:
    return json.dumps({"steps": [{"id": i, "tool": tool, "args": args} for i, (tool, args) in enumerate(steps, 1)]})


def test_stream_starts_the_first_tool_while_the_plan_decodes() -> None:
    """A scripted model decoding a 3-step plan over 40 ms chunks: the first step runs long before the plan ends."""
    cities = ("Paris", "Tokyo", "Lima")
    plan = _plan(*(("get_weather", {"city": city}) for city in cities))
    model = ScriptedModel(['{"steps":[]}', plan, plan], chunk_size=16, delay=0.04)
    result = anyio.run(stream.measure, model, [(stream.WEATHER, stream.WEATHER_TASKS[0]), (stream.WEATHER, stream.WEATHER_TASKS[1])])
    assert result["tasks"] == 2 and result["plans_with_3_or_more_steps"] == 2 and result["plans_with_fan_outs"] == 2
    assert result["first_tool_start_fraction"] < 0.5 and result["weather_first_tool_start_fraction"] < 0.5
    assert result["mixed_first_tool_start_fraction"] is None and result["pass"] is (result["first_tool_start_fraction"] <= 0.4)
    assert model.calls[0][-1].content == stream.WARM_UP  # one untimed warm-up for the tool set


def test_the_mixed_workload_covers_builtin_tools_and_bfcl_classes() -> None:
    tool_sets = {tool_set for tool_set, _ in stream.MIXED_TASKS}
    assert len(stream.MIXED_TASKS) >= 10 and {"builtin", "MathAPI", "TravelAPI"} <= tool_sets
    for tool_set in tool_sets:
        assert len(stream.tool_registry(tool_set)) >= 5
    chain = _plan(("add", {"a": 12.5, "b": 7.25}), ("square_root", {"number": "$1.result", "precision": 2}))
    model = ScriptedModel(['{"steps":[]}', chain], chunk_size=16)
    result = anyio.run(stream.measure, model, [("MathAPI", stream.MIXED_TASKS[7][1])])
    assert result["plans_with_chains"] == 1 and result["table"][0]["steps"] == 2
