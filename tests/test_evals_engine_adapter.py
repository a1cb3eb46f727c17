"""The engine side of the harness, against a stand-in `f1.engine` with the agreed API (until the real one lands)."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass

import pytest

from evals.engine_adapter import EngineFactory
from evals.run import evaluate
from evals.suites.bfcl import BfclSuite, oracle_plan
from evals.suites.llmcompiler import run_plan
from f1.plan import parse_plan_json
from f1.planner.backends.scripted import ScriptedModel


@dataclass
class _Config:
    pass


class _Engine:
    """Plans by parsing the model's JSON; solves by running the plan, answering with the last result."""

    made: list[_Engine] = []

    def __init__(self, tools, model, config):
        self.tools, self.model, self.config = tools, model, config
        self.plans: list[tuple[int, bool]] = []
        _Engine.made.append(self)

    async def aplan(self, messages, *, tools=None, tool_choice="auto", constrained=True):
        text = "".join([chunk.text async for chunk in self.model.stream(messages)])
        self.plans.append((len(tools or ()), constrained))
        return parse_plan_json(text)

    async def asolve(self, task):
        plan = await self.aplan([], tools=list(self.tools.specs.values()))
        results = await run_plan(plan, self.tools)
        return types.SimpleNamespace(answer=str(results[max(results)]), plan=plan)


@pytest.fixture
def fake_engine(monkeypatch):
    module = types.ModuleType("f1.engine")
    module.Engine, module.EngineConfig = _Engine, _Config
    monkeypatch.setitem(sys.modules, "f1.engine", module)
    _Engine.made.clear()
    return _Engine


def test_bfcl_engine_and_baseline_share_one_model(fake_engine, tmp_path):
    items = BfclSuite("parallel").items(2)
    plans = [oracle_plan(item.data["answer"], item.data["functions"]).to_json() for item in items]
    model = ScriptedModel([*plans, plans[0], "not json"])
    report = evaluate("bfcl:parallel", limit=2, baseline=True, model=model, out=tmp_path, progress=False)
    assert report["metrics"]["engine"]["accuracy"] == 1.0 and report["metrics"]["engine"]["format_validity"] == 1.0
    assert report["metrics"]["baseline"]["accuracy"] == 0.5 and report["metrics"]["baseline"]["format_validity"] == 0.5
    assert len(fake_engine.made) == 1  # one planner Engine for the whole run
    assert [c for _, c in fake_engine.made[0].plans] == [True, True, False, False]


def test_latency_engines_reuse_the_backend(fake_engine, tmp_path):
    plan = json.dumps({"steps": [{"id": i, "tool": "search", "args": {"query": f"q{i}"}} for i in (1, 2, 3)]})
    react = [json.dumps({"tool": "search", "args": {"query": f"q{i}"}}) for i in (1, 2, 3)] + [json.dumps({"answer": "x"})]
    model = ScriptedModel([plan, *react] * 2)
    report = evaluate("movie", limit=2, model=model, out=tmp_path, progress=False, suite_options={"latency_scale": 0.05})
    metrics = report["metrics"]["engine"]
    assert metrics["timed_items"] == 2 and metrics["mean_plan_width"] == 3 and metrics["mean_react_calls"] == 3
    assert metrics["speedup"] > 1.5
    assert len(fake_engine.made) == 3 and all(engine.model is model for engine in fake_engine.made)  # run + 2 items


def test_factory_finds_the_backend_of_a_named_model(fake_engine):
    factory = EngineFactory("default")
    with pytest.raises(Exception, match="model backend"):
        factory.backend  # the stand-in keeps "default" as a string: no backend to share
    model = ScriptedModel([])
    assert EngineFactory(model).backend is model


def test_nestful_plans_against_the_whole_spec_file(fake_engine, tmp_path):
    from evals.suites.nestful import NestfulSuite, gold_plan

    items = NestfulSuite().items(2)
    model = ScriptedModel([gold_plan(item.data["output"]).to_json() for item in items])
    report = evaluate("nestful", limit=2, model=model, out=tmp_path, progress=False)
    assert report["metrics"]["engine"]["full_sequence_accuracy"] == 1.0
    assert fake_engine.made[0].plans == [(64, True), (64, True)]  # 70 entries, 5 names repeated
