"""BFCL: the unmodified BFCL checkers score our output; the oracle scores 100% on a few items per category."""

from __future__ import annotations

import ast
import json
import sys

import pytest

from evals.core import Item
from evals.run import evaluate
from evals.suites.bfcl import CHECKER_MODEL, BfclSuite, call_string, oracle_plan, oracle_value, plan_to_bfcl, specs_of
from f1.decoding.generate import generate
from f1.decoding.grammar import plan_grammar
from f1.decoding.steps import StepStream
from f1.plan import Plan, Step, parse_plan_json, validate_plan
from f1.planner import ScriptedModel
from tests.test_decoding_grammar import test_tokenizer

pytest.importorskip("bfcl_eval")

CATEGORIES = ["simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance", "live_simple", "multi_turn_base"]


def test_oracle_scores_every_category(tmp_path):
    report = evaluate(f"bfcl:{','.join(CATEGORIES)}", limit=3, oracle=True, out=tmp_path, progress=False)
    metrics = report["metrics"]["oracle"]
    assert report["items"]["oracle"] == 3 * len(CATEGORIES)
    assert metrics["accuracy"] == 1.0
    assert all(metrics[f"accuracy/{category}"] == 1.0 for category in CATEGORIES)
    assert (tmp_path / "report.md").read_text().count("| accuracy/") == len(CATEGORIES)
    assert (tmp_path / "metrics.png").stat().st_size > 1000
    stub = sys.modules["bfcl_eval.constants.model_config"]
    assert stub.MODEL_CONFIG_MAPPING[CHECKER_MODEL].underscore_to_dot is False


def test_checker_rejects_wrong_answers():
    suite = BfclSuite("simple_python")
    item = suite.items(1)[0]
    good = oracle_plan(item.data["answer"], item.data["functions"])
    assert suite.score(item, _prediction(good))["valid"]
    step = good.steps[0]
    wrong_value = Plan(steps=[Step(id=1, tool=step.tool, args={**step.args, "base": 11})])
    verdict = suite.score(item, _prediction(wrong_value))
    assert not verdict["valid"] and verdict["error_type"] == "value_error:others"
    assert not suite.score(item, _prediction(Plan()))["valid"]  # no call where one is due


def test_irrelevance_means_no_call():
    suite = BfclSuite("irrelevance")
    item = suite.items(1)[0]
    assert suite.score(item, _prediction(Plan()))["valid"]
    name = item.data["functions"][0]["name"]
    verdict = suite.score(item, _prediction(Plan(steps=[Step(id=1, tool=name, args={})])))
    assert verdict == verdict | {"valid": False, "error_type": "irrelevance_error:decoder_success"}


def test_oracle_values():
    assert oracle_value(["units", ""]) == (True, "units")
    assert oracle_value(["", 0]) == (False, None)
    assert oracle_value(["", 0], required=True) == (True, 0)
    assert oracle_value([{"size": ["large"], "milk": [""], "sugar": ["", "none"]}]) == (True, {"size": "large"})
    plan = oracle_plan([{"f": {"a": [1], "b": [""]}}, {"g": {"x": [[1, 2]]}}])
    assert plan_to_bfcl(plan) == [{"f": {"a": 1}}, {"g": {"x": [1, 2]}}]


def test_call_strings_are_literals_only():
    assert call_string("mv", {"source": "a'b.txt", "n": 2}, {"mv"}) == "mv(source=\"a'b.txt\",n=2)"
    with pytest.raises(Exception, match="not an executable"):
        call_string("__import__('os').system", {}, {"__import__('os').system"})
    with pytest.raises(Exception, match="not an offered BFCL function"):
        call_string("open", {"file": "x", "mode": "w"}, {"mv"})  # the plain model may name any function


def _plan_of(calls, functions):
    """Gold call strings as a plan JSON (positional arguments named from the function doc)."""
    steps = []
    for number, text in enumerate(calls, 1):
        call = ast.parse(text, mode="eval").body
        names = list(functions[call.func.id]["parameters"]["properties"])
        args = {names[i]: ast.literal_eval(arg) for i, arg in enumerate(call.args)}
        args |= {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
        steps.append(Step(id=number, tool=call.func.id, args=args))
    return Plan(steps=steps).to_json()


def _replay_script(entry, turns):
    """Planner replies that make each turn's calls in one plan, then an empty plan (turn over)."""
    docs = [*entry["function"], *sum(entry.get("missed_function", {}).values(), [])]
    functions = {doc["name"]: doc for doc in docs}
    script = []
    for calls in turns:
        script += [_plan_of(calls, functions), EMPTY] if calls else [EMPTY]
    return script


EMPTY = '{"steps":[]}'


def _offered(prompt_messages) -> set[str]:
    """The tool names listed in a planner prompt."""
    listing = prompt_messages[0].content.split("Tools:\n", 1)[1].splitlines()
    return {line[2:].split("(", 1)[0] for line in listing}


@pytest.mark.parametrize("category", ["multi_turn_base", "multi_turn_miss_func"])
def test_multi_turn_loop_executes_on_bfcl_classes(category, tmp_path):
    """BFCL's inference loop through the real Engine (scripted planner): every function of the entry offered,
    holdouts only from their turn on, calls run on BFCL's classes, results back in the conversation."""
    suite = BfclSuite(category)
    item = suite.items(1, offset=2)[0]  # item 0's gold repeats an answered call, which the planner never plans again
    entry = item.data["entry"]
    model = ScriptedModel(_replay_script(entry, item.data["answer"]))
    report = evaluate(f"bfcl:{category}", limit=1, offset=2, model=model, out=tmp_path, progress=False)
    assert report["metrics"]["engine"]["accuracy"] == 1.0 and report["metrics"]["engine"]["format_validity"] == 1.0
    result = json.loads((tmp_path / "results.engine.jsonl").read_text())
    turns = result["prediction"]["turns"]
    assert [[_name(c) for c in sum(rounds, [])] for rounds in turns] == [[_name(c) for c in turn] for turn in item.data["answer"]]
    assert len(model.calls[1]) > len(model.calls[0])  # tool results went back into the conversation
    assert _offered(model.calls[0]) == {doc["name"] for doc in entry["function"]} and len(entry["function"]) > 16
    for names in entry.get("missed_function", {}).values():  # holdout tools appear only later
        held = {doc["name"] for doc in names}
        assert not held & _offered(model.calls[0]) and held <= _offered(model.calls[-1])


def test_a_wrong_multi_turn_prediction_scores_zero(tmp_path):
    """The gold calls with the new folder misnamed ('tmp' for 'temp'): BFCL's checker finds the state wrong."""
    item = BfclSuite("multi_turn_base").items(1)[0]
    wrong = [[call.replace("'temp'", "'tmp'") for call in turn] for turn in item.data["answer"]]
    assert wrong != item.data["answer"]
    model = ScriptedModel(_replay_script(item.data["entry"], wrong))
    report = evaluate("bfcl:multi_turn_base", limit=1, model=model, out=tmp_path, progress=False)
    assert report["metrics"]["engine"]["accuracy"] == 0.0
    assert report["failures"]["engine"][0]["error_type"].startswith("multi_turn:")


def test_an_irrelevance_item_answered_with_a_call_fails(tmp_path):
    """Through the engine: a call where none is due fails, an empty plan passes."""
    items = BfclSuite("irrelevance").items(2)
    doc = items[0].data["functions"][0]
    call = Plan(steps=[Step(id=1, tool=doc["name"], args={"weight": 70.0, "height": 1.75})]).to_json()
    report = evaluate("bfcl:irrelevance", limit=2, model=ScriptedModel([call, EMPTY]), out=tmp_path, progress=False)
    assert report["proportions"]["engine"]["accuracy"] == (1, 2)
    assert report["failures"]["engine"][0] == report["failures"]["engine"][0] | {"id": items[0].id, "error_type": "irrelevance_error:decoder_success"}


def test_top_k_narrows_the_functions_by_retrieval(tmp_path):
    item = BfclSuite("multi_turn_base").items(1)[0]
    model = ScriptedModel([EMPTY] * len(item.data["answer"]))
    evaluate("bfcl:multi_turn_base", limit=1, model=model, out=tmp_path, progress=False, suite_options={"top_k": 5})
    assert len(_offered(model.calls[0])) == 5 < len(item.data["entry"]["function"])


def test_multi_turn_checker_catches_a_missing_call():
    suite = BfclSuite("multi_turn_base")
    item = suite.items(1)[0]
    turns = [[list(turn)] for turn in item.data["answer"]]
    turns[0] = [turns[0][0][:-1]]
    verdict = suite.score(item, _prediction(None, turns=turns))
    assert not verdict["valid"] and verdict["error_type"].startswith("multi_turn:")


def _name(call: str) -> str:
    return ast.parse(call, mode="eval").body.func.id


def _prediction(plan, turns=None):
    from evals.core import Prediction

    return Prediction(plan=plan, turns=turns)


def test_items_are_lazy_and_limited():
    items = BfclSuite("simple_python,multi_turn_base").items(2)
    assert [item.id for item in items] == ["simple_python_0", "simple_python_1", "multi_turn_base_0", "multi_turn_base_1"]
    assert all(isinstance(item, Item) for item in items)


def test_undecodable_output_is_no_call():
    from evals.core import Prediction

    suite = BfclSuite("irrelevance")
    item = suite.items(1)[0]
    assert suite.score(item, Prediction(format_valid=False, error="not JSON"))["valid"]  # as BFCL: no call


def test_plans_the_grammar_allows_fit_bfcl_schemas() -> None:
    """Random grammar-accepted plans (a tiny random model sampling under the mask) for every 8th distinct BFCL
    function validate against that function's schema: the grammar and the validator agree on real-world schemas."""
    import torch

    from tests.tiny_model import tiny_model

    functions: dict[str, dict] = {}
    for category in ("simple_python", "multiple", "parallel_multiple", "live_simple", "live_multiple", "irrelevance"):
        for item in BfclSuite(category).items():
            for function in item.data["entry"]["function"]:
                functions.setdefault(repr(sorted(function.items())), function)
    tokenizer = test_tokenizer()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, complete = tiny_model(len(tokenizer)), 0
        for seed, function in enumerate(list(functions.values())[::8]):
            specs = specs_of([function])
            grammar = plan_grammar(specs, min_steps=1, max_steps=1, max_string_length=4)
            prompt = tokenizer.encode("P", add_special_tokens=False)
            text = "".join(d.text for d in generate(model, tokenizer, prompt, grammar=grammar, max_new_tokens=400, temperature=1.0, seed=seed))
            stream = StepStream()
            stream.feed(text)
            if stream.is_complete:  # a random model may run out of tokens inside a deep object
                validate_plan(parse_plan_json(text), {spec.name: spec for spec in specs})
                complete += 1
    finally:
        torch.set_num_threads(threads)
    assert complete >= 0.95 * len(functions) // 8
