"""Seal-Tools: the API_call_k <-> $j.field mapping, the official P/R/F1 counting, and an oracle run."""

from __future__ import annotations

import json

import pytest

from evals.core import Prediction, data_file
from evals.run import evaluate
from evals.suites import load_suite
from evals.suites.seal import SealSuite
from f1.plan import Plan, Step


@pytest.fixture(scope="module")
def small_split(tmp_path_factory):
    """Three dev items (one easy, two nested) with a 40-tool catalogue next to them."""
    folder = tmp_path_factory.mktemp("seal")
    records = [json.loads(line) for line in data_file("seal_tools", "dev.jsonl").read_text().splitlines()]
    nested = [r for r in records if "API_call_" in json.dumps([c["parameters"] for c in r["calling"]])]
    chosen = [records[0], *nested[:2]]
    needed = {call["api"] for record in chosen for call in record["calling"]}
    tools = [json.loads(line) for line in data_file("seal_tools", "tool.jsonl").read_text().splitlines()]
    catalogue = [t for t in tools if t["api_name"] in needed] + [t for t in tools if t["api_name"] not in needed][:40]
    (folder / "tool.jsonl").write_text("".join(json.dumps(t) + "\n" for t in catalogue))
    (folder / "split.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chosen))
    return folder / "split.jsonl"


def test_oracle_run(small_split, tmp_path):
    report = evaluate("seal-tools", data=small_split, oracle=True, out=tmp_path, progress=False, suite_options={"top_k": 5, "retrieval": "bm25"})
    metrics = report["metrics"]["oracle"]
    assert report["items"]["oracle"] == 3
    for key in ("format_accuracy", "tool_precision", "tool_recall", "tool_f1", "param_precision", "param_recall", "param_f1", "exact_match"):
        assert metrics[key] == 1.0, key
    assert 0 < metrics["retrieval_recall"] <= 1


def test_nested_outputs_map_both_ways(small_split):
    suite = SealSuite(data=small_split, retrieval="bm25")
    item = next(item for item in suite.items() if "API_call_" in json.dumps([c["parameters"] for c in item.data["calling"]]))
    plan = suite.gold_plan(item.data["calling"])
    refs = [value for step in plan.steps for value in step.args.values() if isinstance(value, str) and value.startswith("$")]
    assert refs and all(value.split(".")[1] in suite.response_fields(plan.step(int(value[1:].split(".")[0])).tool) for value in refs)
    assert suite.to_calling(plan) == [{**call, "parameters": call["parameters"]} for call in item.data["calling"]]


def test_counting_follows_the_official_rules(small_split):
    suite = SealSuite(data=small_split, retrieval="bm25")
    item = suite.items(1)[0]
    gold = item.data["calling"][0]
    extra = Step(id=2, tool="noSuchTool", args={"x": 1})
    half = {name: value for name, value in list(gold["parameters"].items())[:1]}
    plan = Plan(steps=[Step(id=1, tool=gold["api"], args=half | {"bogus": "1"}), extra])
    scores = suite.score(item, Prediction(plan=plan, candidates=[gold["api"]]))
    assert scores | {"pred_apis": 2, "correct_apis": 1, "gold_apis": 1} == scores
    assert scores["pred_params"] == 3 and scores["correct_params"] == 1 and not scores["valid"]
    assert scores["gold_retrieved"] == 1
    numbers = suite.score(item, Prediction(plan=Plan(steps=[Step(id=1, tool=gold["api"], args={k: str(v) for k, v in gold["parameters"].items()})])))
    assert numbers["correct_params"] == len(gold["parameters"])  # compared as strings


def test_unparsed_output_counts_as_format_error(small_split):
    suite = SealSuite(data=small_split, retrieval="bm25")
    item = suite.items(1)[0]
    scores = suite.score(item, Prediction(format_valid=False, error="not JSON"))
    assert scores["parsed"] is False and scores["pred_apis"] == 0 and scores["gold_apis"] == 1


def test_unknown_split_is_a_clear_error():
    from evals.core import EvalError

    with pytest.raises(EvalError, match="unknown Seal-Tools split"):
        SealSuite("train")


def test_the_papers_setting_offers_the_items_candidate_apis(small_split):
    suite = load_suite("seal-tools:candidates", data=small_split)
    assert suite.setting == "candidates" and suite.name == "seal-tools:split.jsonl:candidates"
    single, nested = suite.items()[0], suite.items()[1]
    offered = [spec.name for spec in suite.candidates(single)]
    assert len(offered) == 5 and single.data["calling"][0]["api"] in offered  # the gold API and 4 drawn at random
    assert offered == [spec.name for spec in suite.candidates(single)]  # seeded
    assert offered != [spec.name for spec in SealSuite(data=small_split, setting="candidates", seed=1).candidates(single)]
    assert [spec.name for spec in suite.candidates(nested)] == list(dict.fromkeys(c["api"] for c in nested.data["calling"]))
    assert load_suite("seal-tools:dev:candidates").split == "dev" and load_suite("seal-tools:dev").setting == "catalogue"


def test_format_accuracy_counts_every_output_that_parses(small_split, tmp_path):
    """Through the real Engine (scripted model) and the plain baselines: the plain model's JSON naming an unknown
    tool still parsed (the official script scores it), text did not; the grammar-constrained engine's plans all
    parse and fit."""
    from f1.planner.backends.scripted import ScriptedModel

    suite = SealSuite(data=small_split, setting="candidates")
    gold = [suite.gold_plan(item.data["calling"]).to_json() for item in suite.items()]
    unknown = '[{"name": "noSuchTool", "arguments": {"x": 1}}]'
    first = suite.items()[0].data["calling"][0]
    native = f'<tool_call>\n{json.dumps({"name": first["api"], "arguments": first["parameters"]})}\n</tool_call>'
    replies = [*gold, native, "I cannot.", "I cannot.", unknown, "I cannot.", "[]"]
    report = evaluate("seal-tools:candidates", data=small_split, baseline=True, model=ScriptedModel(replies), out=tmp_path, progress=False)
    engine, plain = report["proportions"]["engine"], report["proportions"]["baseline-json"]
    assert engine["format_accuracy"] == engine["format_validity"] == engine["exact_match"] == (3, 3)
    assert plain["format_accuracy"] == (2, 3) and plain["format_validity"] == (1, 3)
    assert report["proportions"]["baseline-native"]["exact_match"] == (1, 3)
    first = json.loads((tmp_path / "results.baseline-json.jsonl").read_text().splitlines()[0])["scores"]
    assert first["parsed"] and first["pred_apis"] == 1 and first["correct_apis"] == 0 and first["pred_params"] == 1


def test_every_retrieved_candidate_is_offered(small_split, tmp_path):
    """--top-k above the engine's default of 16: all 20 candidates reach the planner's prompt."""
    from f1.planner.backends.scripted import ScriptedModel

    model = ScriptedModel(['{"steps":[]}'])
    evaluate("seal-tools", data=small_split, limit=1, model=model, out=tmp_path, progress=False, suite_options={"top_k": 20, "retrieval": "bm25"})
    tool_lines = model.calls[0][0].content.split("Tools:\n", 1)[1].splitlines()
    assert len(tool_lines) == 20 and all(line.startswith("- ") for line in tool_lines)
