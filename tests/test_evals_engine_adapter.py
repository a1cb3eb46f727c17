"""The harness's side of the engine, on the real `Engine` and `EngineFactory` with scripted models: one model per
run, the tools each suite offers, and the plain model's output scored as far as it parses."""

from __future__ import annotations

import anyio
import pytest

from evals.engine_adapter import EngineFactory, RecordingBackend, loose_plan, plan_with
from evals.react import native_call
from evals.run import evaluate
from evals.suites.bfcl import BfclSuite, oracle_plan
from f1.engine import EngineConfig
from f1.errors import ModelError
from f1.planner.backends.scripted import ScriptedModel
from f1.planner.messages import ChatMessage
from f1.tools import ToolSpec

SEARCH = ToolSpec(name="search", description="d", parameters={"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]})


def test_bfcl_engine_and_baselines_share_one_model(tmp_path):
    items = BfclSuite("parallel").items(2)
    plans = [oracle_plan(item.data["answer"], item.data["functions"]) for item in items]
    native = ["\n".join(native_call(step.tool, dict(step.args)) for step in plan.steps) for plan in plans]
    replies = [*(plan.to_json() for plan in plans), native[0], "not a call", '[{"name": "spotify.play"', "[]"]
    model = ScriptedModel(replies)
    report = evaluate("bfcl:parallel", limit=2, baseline=True, model=model, out=tmp_path, progress=False)
    assert report["metrics"]["engine"]["accuracy"] == 1.0 and report["metrics"]["engine"]["format_validity"] == 1.0
    assert report["metrics"]["baseline-native"]["accuracy"] == 0.5 and report["metrics"]["baseline-native"]["format_validity"] == 1.0
    assert report["metrics"]["baseline-json"]["accuracy"] == 0.0 and report["metrics"]["baseline-json"]["format_validity"] == 0.5
    assert len(model.calls) == 6  # every predictor of the run asked this one model, once per item
    assert not [call for call in model.calls if "corrected JSON" in call[-1].content]  # no repair round for anyone


def test_every_engine_of_a_run_shares_the_factorys_backend():
    model = ScriptedModel([])
    factory = EngineFactory(model, EngineConfig(max_replans=0), tools_in_prompt=40)
    engines = [factory.engine([SEARCH]), factory.engine(()), factory.planner()]
    assert all(engine.model is factory.backend for engine in engines) and factory.backend.wrapped is model
    assert factory.planner() is engines[2]
    assert factory.config.max_tools_in_prompt == 40 and factory.config.max_replans == 0
    assert EngineFactory(model).config == EngineConfig()


def test_a_bad_model_spec_fails_when_the_run_starts(tmp_path):
    with pytest.raises(ModelError):
        EngineFactory(str(tmp_path / "no-such-model"))


def test_the_recording_backend_keeps_the_latest_text():
    async def main() -> str:
        backend = RecordingBackend(ScriptedModel(["first reply", "second"], chunk_size=3))
        async for _ in backend.stream([ChatMessage(role="user", content="q")]):
            pass
        async for _ in backend.stream([ChatMessage(role="user", content="q")]):
            pass
        return backend.last_text

    assert anyio.run(main) == "second"


def test_loose_plans_keep_what_the_output_says():
    plan = loose_plan('Sure! {"steps":[{"id":1,"tool":"nope","args":{"x":1}}]} done')
    assert plan is not None and plan.steps[0].tool == "nope"
    assert loose_plan('[{"id":1,"tool":"a","args":{}}]').steps[0].tool == "a"
    assert loose_plan("no JSON here") is None and loose_plan('{"steps": 3}') is None


def test_plan_with_scores_invalid_output_as_far_as_it_parses():
    async def main():
        invalid = '{"steps":[{"id":1,"tool":"search","args":{"q":5}}]}'  # q must be a string
        factory = EngineFactory(ScriptedModel([invalid, '{"steps":[{"id":1,"tool":"search","args":{"q":"x"}}]}']))
        messages = [ChatMessage(role="user", content="find x")]
        broken = await plan_with(factory, messages, [SEARCH], constrained=False)
        valid = await plan_with(factory, messages, [SEARCH], constrained=False)
        return broken, valid

    (plan, error), (good, no_error) = anyio.run(main)
    assert plan is not None and plan.steps[0].args == {"q": 5} and "q" in error
    assert good is not None and good.steps[0].args == {"q": "x"} and no_error is None
