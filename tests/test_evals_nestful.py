"""NESTFUL: spec conversion, $varN.field$ <-> $N.field references, metrics, and an oracle run."""

from __future__ import annotations

import pytest

from evals.core import Prediction
from evals.run import evaluate
from evals.suites.nestful import NestfulSuite, from_gold_ref, gold_plan, plan_to_nestful, spec_from_nestful, to_gold_ref
from f1.plan import Plan, Step


def test_oracle_run(tmp_path):
    report = evaluate("nestful", limit=5, oracle=True, out=tmp_path, progress=False)
    metrics = report["metrics"]["oracle"]
    for key in ("function_f1", "argument_f1", "parameter_name_f1", "partial_sequence_accuracy", "full_sequence_accuracy", "dependency_accuracy"):
        assert metrics[key] == 1.0, key
    assert report["items"]["oracle"] == 5


def test_reference_forms():
    assert from_gold_ref("$var2.items[0]$", {"var2": 2}) == "$2.items.0"
    assert to_gold_ref("$2.items.0", {2: "var2"}) == "$var2.items[0]$"
    assert from_gold_ref("Meeting ID: $var1.id$", {"var1": 1}) == "Meeting ID: $var1.id$"  # embedded: stays text
    output = [
        {"name": "a", "arguments": {"x": 1}, "label": "var1"},
        {"name": "b", "arguments": {"y": "$var1.out$", "z": ["$var1$"]}, "label": "var2"},
        {"name": "var_result", "arguments": {"r": "$var2$"}},
    ]
    plan = gold_plan(output)
    assert plan.steps[1].args == {"y": "$1.out", "z": ["$1"]}
    assert plan_to_nestful(plan) == output[:2]


def test_step_ids_map_by_position():
    plan = Plan(steps=[Step(id=7, tool="a", args={}), Step(id=9, tool="b", args={"y": "$7.out"})])
    assert plan_to_nestful(plan)[1] == {"name": "b", "arguments": {"y": "$var1.out$"}, "label": "var2"}


def test_metrics_on_a_wrong_dependency():
    suite = NestfulSuite()
    item = next(item for item in suite.items() if any("$var" in str(c["arguments"]) for c in item.data["output"][:-1]))
    plan = gold_plan(item.data["output"])
    broken = Plan(steps=[s.model_copy(update={"args": {k: ("oops" if isinstance(v, str) and v.startswith("$") else v) for k, v in s.args.items()}}) for s in plan.steps])
    scores = suite.score(item, Prediction(plan=broken))
    assert scores["function_f1"] == 1.0
    assert scores["dependencies_ok"] == 0 < scores["dependencies"]
    assert not scores["valid"] and scores["argument_f1"] < 1.0
    empty = suite.score(item, Prediction(format_valid=False, error="bad"))
    assert empty["function_f1"] == 0.0 and empty["parsed"] is False


def test_spec_conversion():
    spec = spec_from_nestful(
        {
            "name": "get_file",
            "description": "d",
            "parameters": {"path": {"type": "string", "required": True}, "n": {"type": "integer", "required": False}},
            "output_parameters": {"file": {"type": "file", "description": "the file"}},
        }
    )
    assert spec.required == ["path"] and spec.parameters["properties"]["n"] == {"type": "integer"}
    assert spec.result_schema == {"type": "object", "properties": {"file": {"description": "the file (file)"}}}


def test_spec_file_must_sit_next_to_data(tmp_path):
    from evals.core import EvalError

    data = tmp_path / "x-data.json"
    data.write_text("[]")
    with pytest.raises(EvalError, match="spec file"):
        NestfulSuite(data=data)
