"""ParallelQA / Movie: DAG execution vs a sequential ReAct loop, timed on the simulated search tool only."""

from __future__ import annotations

import json

import anyio
import pytest

from evals.react import ReactAgent, script_for
from evals.run import evaluate
from evals.search_sim import SimulatedSearch
from evals.suites.llmcompiler import movie_titles, run_plan
from f1.plan import Plan, Step
from f1.planner.backends.scripted import ScriptedModel
from f1.tools import ToolRegistry

SCALE = 0.05  # simulated latency 10-50 ms a call


@pytest.mark.parametrize("suite", ["parallelqa", "movie"])
def test_oracle_speedup_tracks_parallel_width(suite, tmp_path):
    report = evaluate(suite, limit=3, oracle=True, out=tmp_path, progress=False, suite_options={"latency_scale": SCALE})
    metrics = report["metrics"]["oracle"]
    assert metrics["timed_items"] == 3
    assert metrics["mean_react_calls"] == metrics["mean_plan_width"] >= 2
    assert 1.2 < metrics["speedup"] <= metrics["mean_plan_width"] + 0.5
    assert (tmp_path / "times.png").exists()


def test_simulated_search_is_deterministic():
    one, two = SimulatedSearch(seed=1), SimulatedSearch(seed=1)
    assert one.latency("x") == two.latency("x") and 0.2 <= one.latency("x") <= 1.0
    assert one.page("x") == two.page("x") != one.page("y")
    assert SimulatedSearch(seed=2).latency("x") != one.latency("x")


def test_react_runs_one_call_per_turn():
    search = SimulatedSearch(scale=0)
    model = ScriptedModel(script_for([("search", {"query": "a"}), ("search", {"query": "b"})], "done"))
    run = anyio.run(ReactAgent(model, ToolRegistry([search.tool()])).run, "q")
    assert run.answer == "done" and [args["query"] for _, args in run.calls] == ["a", "b"]
    assert search.calls == ["a", "b"]
    assert "Observation: " in model.calls[1][-1].content and "a: measured value" in model.calls[1][-1].content


def test_react_reports_bad_tool_calls_to_the_model():
    model = ScriptedModel([json.dumps({"tool": "nope", "args": {}}), "plain text answer"])
    run = anyio.run(ReactAgent(model, ToolRegistry([SimulatedSearch(scale=0).tool()])).run, "q")
    assert run.answer == "plain text answer" and run.calls == []
    assert "unknown tool 'nope'" in model.calls[1][-1].content


def test_run_plan_waits_for_dependencies():
    search = SimulatedSearch(scale=0)
    plan = Plan(steps=[Step(id=1, tool="search", args={"query": "a"}), Step(id=2, tool="search", args={"query": "$1"})])
    results = anyio.run(run_plan, plan, ToolRegistry([search.tool()]))
    assert search.calls == ["a", results[1]]


def test_movie_titles():
    question = "Find a movie similar to Heat, Alien, Up\nOptions:\nA\nB\n"
    assert movie_titles(question) == ["Heat", "Alien", "Up"]


def test_engine_side_with_scripted_model(tmp_path):
    """f1 via Engine.asolve vs ReAct on one ScriptedModel: timings come only from the simulated tool."""
    pytest.importorskip("f1.engine")
    plan = {"steps": [{"id": i, "tool": "search", "args": {"query": f"q{i}"}} for i in (1, 2, 3)]}
    replies = []
    for _ in range(2):
        replies += [json.dumps(plan), json.dumps({"action": "finish", "answer": "x"})]
        replies += script_for([("search", {"query": f"q{i}"}) for i in (1, 2, 3)], "x")
    report = evaluate("parallelqa", limit=2, model=ScriptedModel(replies), out=tmp_path, progress=False, suite_options={"latency_scale": SCALE})
    metrics = report["metrics"]["engine"]
    assert metrics["timed_items"] == 2 and metrics["speedup"] > 1.5

