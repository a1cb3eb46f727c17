"""The plain baselines of `f1 eval --baseline` (evals.baselines): native tool calls and the JSON-array prompt, each
its own predictor, scored by BFCL's rules, with scripted models (no real model runs here)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from evals import baselines
from evals.baselines import (
    JSON_INSTRUCTIONS,
    JsonBaseline,
    NativeBaseline,
    Reply,
    baseline_styles,
    check_calls,
    parse_calls,
    parse_json_calls,
)
from evals.core import EvalError
from evals.react import native_call, parse_call
from evals.run import evaluate
from evals.suites.bfcl import BfclSuite, oracle_plan
from f1.cli import main
from f1.engine import EngineConfig
from f1.planner.backends.scripted import ScriptedModel
from f1.planner.messages import ChatMessage
from f1.tools import ToolSpec

pytest.importorskip("bfcl_eval")

PREDICTORS = ["engine", "baseline-native", "baseline-json"]
CD = ToolSpec(
    name="cd",
    description="Change directory.",
    parameters={
        "type": "object",
        "properties": {"folder": {"type": "string", "description": "where"}},
        "required": ["folder"],
    },
)


class RecordingModel(ScriptedModel):
    """A scripted model that also keeps the decoding options of every request."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(replies)
        self.options: list[tuple[Any, int, float]] = []

    async def stream(self, messages, *, grammar=None, max_tokens=1024, temperature=0.0):
        self.options.append((grammar, max_tokens, temperature))
        async for chunk in super().stream(messages, grammar=grammar, max_tokens=max_tokens, temperature=temperature):
            yield chunk


def _native(calls: list[tuple[str, dict[str, Any]]]) -> str:
    return "\n".join(native_call(name, args) for name, args in calls)


def _json(calls: list[tuple[str, dict[str, Any]]]) -> str:
    return json.dumps([{"name": name, "arguments": args} for name, args in calls])


def _gold_calls(item) -> list[tuple[str, dict[str, Any]]]:
    plan = oracle_plan(item.data["answer"], item.data["functions"])
    return [(step.tool, dict(step.args)) for step in plan.steps]


def _results(out: Path, predictor: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / f"results.{predictor}.jsonl").read_text().splitlines()]


# parsing ------------------------------------------------------------------------------------------------------
def test_native_replies_decode_every_call_block() -> None:
    two = _native([("a", {"x": 1}), ("b", {})])
    assert parse_calls(two) == ([("a", {"x": 1}), ("b", {})], None)
    assert parse_calls("Thinking...\n" + two + "\nDone.") == ([("a", {"x": 1}), ("b", {})], None)
    assert parse_calls("The weather is fine.") == ([], None)  # a text answer: no call, nothing wrong
    assert parse_calls('{"name": "a", "arguments": {"x": 2}}') == ([("a", {"x": 2})], None)  # bare, as Llama 3
    assert parse_calls('<tool_call>\n{"name": "a", "arguments": {"x": 3}}') == ([("a", {"x": 3})], None)  # cut off
    calls, error = parse_calls(native_call("a", {}) + '\n<tool_call>\n{"name": "b", "argu\n</tool_call>')
    assert calls == [("a", {})] and error == "tool-call block 2 of 2 does not decode"
    assert parse_calls("<tool_call>not json</tool_call>") == ([], "tool-call block 1 of 1 does not decode")
    assert parse_calls(native_call("", {})) == ([], "tool-call block 1 of 1 does not decode")  # no name, no call


def test_json_replies_decode_all_calls_or_none() -> None:
    assert parse_json_calls('[{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {}}]') == (
        [("a", {"x": 1}), ("b", {})],
        None,
    )
    assert parse_json_calls("[]") == ([], None)
    assert parse_json_calls('```json\n[{"name": "a", "parameters": {"x": 1}}]\n```') == ([("a", {"x": 1})], None)
    assert parse_json_calls('{"name": "a", "arguments": {}}') == ([("a", {})], None)  # one call, unwrapped
    assert parse_json_calls("I cannot help with that.") == ([], "no JSON array in the reply")
    assert parse_json_calls('[{"name": " ", "arguments": {}}]')[1] == parse_json_calls("[3]")[1]
    assert parse_json_calls('[{"name": "a"}, "b()"]') == (
        [],
        "entry 2 of the JSON reply is not a call (an object with a name and arguments)",
    )
    calls, error = parse_json_calls('[{"name": "a", "arguments": {"x": ')
    assert calls == [] and str(error).startswith("not JSON")


def test_calls_are_checked_against_the_offered_functions() -> None:
    assert check_calls([("cd", {"folder": "a"})], [CD]) is None
    assert check_calls([("cd", {"folder": "$1"})], [CD]) is None  # a value, not a reference
    assert check_calls([("rm", {})], [CD]) == "unknown function 'rm'"
    assert str(check_calls([("cd", {"folder": 3})], [CD])).startswith("schema: cd: folder")
    assert str(check_calls([("cd", {})], [CD])).startswith("schema:")


def test_baseline_choices() -> None:
    assert baseline_styles(True) == baseline_styles("both") == ["native", "json"]
    assert baseline_styles(False) == baseline_styles(None) == []
    assert baseline_styles("json") == ["json"]
    with pytest.raises(EvalError, match="native, json or both"):
        baseline_styles("xml")


# BFCL single-turn ----------------------------------------------------------------------------------------------
def test_each_baseline_is_its_own_predictor_greedy_without_grammar(tmp_path) -> None:
    """`--baseline` runs the engine and both baselines on the one model: the native prompt lists the tools with the
    <tool_call> syntax, the JSON prompt every full schema and the array format; no grammar, greedy, the engine's
    plan-token budget, one request per item (no repair round), separate results files and report columns."""
    item = BfclSuite("simple_python").items(1)[0]
    gold = _gold_calls(item)
    model = RecordingModel(
        [oracle_plan(item.data["answer"], item.data["functions"]).to_json(), _native(gold), _json(gold)]
    )
    report = evaluate("bfcl:simple_python", limit=1, baseline=True, model=model, out=tmp_path, progress=False)
    assert list(report["metrics"]) == PREDICTORS and all(
        report["metrics"][name]["accuracy"] == 1.0 for name in PREDICTORS
    )
    assert all(
        report["metrics"][name]["format_validity"] == report["metrics"][name]["parsed"] == 1.0 for name in PREDICTORS
    )
    assert all(report["metrics"][name]["seconds_per_item_s"] >= 0 for name in PREDICTORS)
    assert len(model.calls) == 3
    native_prompt, json_prompt = model.calls[1], model.calls[2]
    assert "<tool_call>" in native_prompt[0].content and '"calculate_triangle_area"' in native_prompt[0].content
    assert json_prompt[0].role == "system" and json_prompt[0].content.startswith(JSON_INSTRUCTIONS)
    described = item.data["functions"][0]["parameters"]["properties"]["base"]["description"]
    assert described in json_prompt[0].content  # the full schema, parameter descriptions included
    assert json_prompt[1:] == [ChatMessage(role="user", content=item.data["entry"]["question"][0][0]["content"])]
    plan_tokens = EngineConfig().max_plan_tokens
    assert model.options[1:] == [(None, plan_tokens, 0.0), (None, plan_tokens, 0.0)]
    assert {path.name for path in tmp_path.glob("results.*.jsonl")} == {f"results.{name}.jsonl" for name in PREDICTORS}
    assert "| metric | engine | baseline-native | baseline-json |" in (tmp_path / "report.md").read_text()


def test_one_baseline_only(tmp_path) -> None:
    item = BfclSuite("simple_python").items(1)[0]
    model = ScriptedModel(
        [oracle_plan(item.data["answer"], item.data["functions"]).to_json(), _json(_gold_calls(item))]
    )
    report = evaluate("bfcl:simple_python", limit=1, baseline="json", model=model, out=tmp_path, progress=False)
    assert list(report["metrics"]) == ["engine", "baseline-json"]


def test_a_call_to_an_unknown_function_on_an_irrelevance_item_fails(tmp_path) -> None:
    """BFCL: output that decodes to any call fails an irrelevance item, a function nobody offered too; [] and a
    text answer pass. The unknown name also makes the output invalid (it does not fit the tools)."""
    unknown = [("get_weather", {"city": "Madrid"})]
    replies = ['{"steps":[]}', '{"steps":[]}', _native(unknown), "I can't help with that.", _json(unknown), "[]"]
    report = evaluate(
        "bfcl:irrelevance", limit=2, baseline=True, model=ScriptedModel(replies), out=tmp_path, progress=False
    )
    for name in ("baseline-native", "baseline-json"):
        first, second = _results(tmp_path, name)
        assert first["scores"] == first["scores"] | {"valid": False, "error_type": "irrelevance_error:decoder_success"}
        assert first["prediction"]["plan"]["steps"][0]["tool"] == "get_weather"
        assert first["scores"]["parsed"] and not first["scores"]["format_valid"]
        assert first["prediction"]["error"] == "unknown function 'get_weather'"
        assert second["scores"]["valid"] and second["scores"]["format_valid"]
        assert report["proportions"][name]["accuracy"] == (1, 2)
    assert report["proportions"]["engine"]["accuracy"] == (2, 2)


def test_two_call_blocks_on_a_parallel_item_are_two_calls(tmp_path) -> None:
    items = BfclSuite("parallel").items(2)
    gold = [_gold_calls(item) for item in items]
    assert [len(calls) for calls in gold] == [2, 2]
    engine = [oracle_plan(item.data["answer"], item.data["functions"]).to_json() for item in items]
    native = [_native(gold[0]), _native(gold[1][:1])]  # the second reply makes only one of the two calls
    replies = [*engine, *native, _json(gold[0]), _json(gold[1])]
    report = evaluate(
        "bfcl:parallel", limit=2, baseline=True, model=ScriptedModel(replies), out=tmp_path, progress=False
    )
    assert report["proportions"]["baseline-native"]["accuracy"] == (1, 2)
    assert report["proportions"]["baseline-json"]["accuracy"] == (2, 2)
    first, second = _results(tmp_path, "baseline-native")
    assert [step["tool"] for step in first["prediction"]["plan"]["steps"]] == ["spotify.play", "spotify.play"]
    assert second["scores"]["error_type"].startswith("parallel_function_checker")


def test_unparseable_replies_are_invalid_and_score_zero(tmp_path) -> None:
    item = BfclSuite("simple_python").items(1)[0]
    engine = oracle_plan(item.data["answer"], item.data["functions"]).to_json()
    replies = [
        engine,
        '<tool_call>\n{"name": "calculate_triangle_area", "arguments": {"base": 10,\n</tool_call>',
        "The area is 25.",
    ]
    report = evaluate(
        "bfcl:simple_python", limit=1, baseline=True, model=ScriptedModel(replies), out=tmp_path, progress=False
    )
    for name in ("baseline-native", "baseline-json"):
        assert report["proportions"][name]["accuracy"] == (0, 1)
        assert report["proportions"][name]["parsed"] == report["proportions"][name]["format_validity"] == (0, 1)
        result = _results(tmp_path, name)[0]
        assert result["prediction"]["plan"] is None and result["scores"]["error_type"] == "ast_decoder:decoder_failed"
    assert _results(tmp_path, "baseline-json")[0]["prediction"]["details"]["replies"] == ["The area is 25."]
    assert report["baseline_comparison"]["accuracy"] == report["baseline_comparison"]["accuracy"] | {"difference": 1.0}


def test_a_text_answer_is_no_call_but_a_decoded_reply(tmp_path) -> None:
    """Native: a text answer where a call is due decodes (to no call) and fails the item; JSON: prose is off-format."""
    item = BfclSuite("simple_python").items(1)[0]
    replies = [oracle_plan(item.data["answer"], item.data["functions"]).to_json(), "The area is 25.", "The area is 25."]
    report = evaluate(
        "bfcl:simple_python", limit=1, baseline=True, model=ScriptedModel(replies), out=tmp_path, progress=False
    )
    native, plain_json = report["proportions"]["baseline-native"], report["proportions"]["baseline-json"]
    assert native["accuracy"] == (0, 1) and native["parsed"] == native["format_validity"] == (1, 1)
    assert plain_json["accuracy"] == (0, 1) and plain_json["parsed"] == (0, 1)


def test_scores_follow_the_parser(monkeypatch, tmp_path) -> None:
    """Mutation check: with a parser that keeps only the first call block, the parallel item fails."""
    item = BfclSuite("parallel").items(1)[0]
    engine = oracle_plan(item.data["answer"], item.data["functions"]).to_json()

    def first_only(text: str):
        call = parse_call(text)
        return ([] if call is None else [call]), None

    monkeypatch.setattr(baselines, "parse_calls", first_only)
    model = ScriptedModel([engine, _native(_gold_calls(item))])
    report = evaluate("bfcl:parallel", limit=1, baseline="native", model=model, out=tmp_path, progress=False)
    assert report["proportions"]["baseline-native"]["accuracy"] == (0, 1)


# BFCL multi-turn -----------------------------------------------------------------------------------------------
def _call_of(text: str, functions: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """A gold call string as (name, arguments), positional arguments named from the function doc."""
    call = ast.parse(text, mode="eval").body
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
    names = list(functions[call.func.id]["parameters"]["properties"])
    args = {names[i]: ast.literal_eval(arg) for i, arg in enumerate(call.args)}
    return call.func.id, args | {str(kw.arg): ast.literal_eval(kw.value) for kw in call.keywords}


def _turn_script(item, render, done: str) -> list[str]:
    """Per gold turn: one reply making all its calls, then `done`; a turn without calls: `done` alone."""
    entry = item.data["entry"]
    docs = {doc["name"]: doc for doc in [*entry["function"], *sum(entry.get("missed_function", {}).values(), [])]}
    script: list[str] = []
    for calls in item.data["answer"]:
        script += [render([_call_of(call, docs) for call in calls]), done] if calls else [done]
    return script


@pytest.mark.parametrize(("style", "render", "done"), [("native", _native, "All done."), ("json", _json, "[]")])
def test_multi_turn_loop_runs_on_bfcl_classes(style, render, done, tmp_path) -> None:
    """Item 0 (its gold repeats an answered call, which the engine's planner never plans again): each reply's calls
    run on BFCL's classes, the results go back as tool messages, and the gold state is reached."""
    suite = BfclSuite("multi_turn_base")
    item = suite.items(1)[0]
    script = _turn_script(item, render, done)
    model = ScriptedModel([json.dumps({"steps": []})] * len(item.data["answer"]) + script)
    report = evaluate("bfcl:multi_turn_base", limit=1, baseline=style, model=model, out=tmp_path, progress=False)
    name = f"baseline-{style}"
    assert report["metrics"][name]["accuracy"] == report["metrics"][name]["format_validity"] == 1.0
    assert report["metrics"]["engine"]["accuracy"] == 0.0
    result = _results(tmp_path, name)[0]
    assert [len(sum(rounds, [])) for rounds in result["prediction"]["turns"]] == [
        len(turn) for turn in item.data["answer"]
    ]
    second = model.calls[len(item.data["answer"]) + 1]  # the request after the first turn's calls
    results = [message for message in second if message.role == "tool"]
    assert len(results) == 3 and "Error" not in results[0].content
    if style == "native":
        assert [call.name for call in second[-4].tool_calls] == ["cd", "mkdir", "mv"]
    else:
        assert second[-4].role == "assistant" and second[-4].content == script[0]
    assert len(result["prediction"]["details"]["replies"]) == len(script)


def test_a_wrong_multi_turn_baseline_scores_zero_and_unknown_functions_never_run(tmp_path) -> None:
    item = BfclSuite("multi_turn_base").items(1)[0]
    script = _turn_script(item, _native, "All done.")
    script[0] = _native([("rm_rf", {"path": "/"}), ("cd", {"folder": "document"})])  # one unknown, then a real call
    model = ScriptedModel([json.dumps({"steps": []})] * 4 + script)
    report = evaluate("bfcl:multi_turn_base", limit=1, baseline="native", model=model, out=tmp_path, progress=False)
    assert report["metrics"]["baseline-native"]["accuracy"] == 0.0
    result = _results(tmp_path, "baseline-native")[0]
    assert result["prediction"]["turns"][0] == [["cd(folder='document')"]] and not result["prediction"]["format_valid"]
    assert result["prediction"]["error"] == "unknown function 'rm_rf'"
    tool_results = [message.content for message in model.calls[5] if message.role == "tool"]
    assert tool_results[0].startswith("Error: not an offered BFCL function: 'rm_rf'")


def test_holdout_functions_reach_the_baselines_from_their_turn_on(tmp_path) -> None:
    suite = BfclSuite("multi_turn_miss_func")
    item = suite.items(1)[0]
    held = {doc["name"] for docs in item.data["entry"]["missed_function"].values() for doc in docs}
    script = _turn_script(item, _json, "[]")
    model = ScriptedModel([json.dumps({"steps": []})] * len(item.data["answer"]) + script)
    report = evaluate("bfcl:multi_turn_miss_func", limit=1, baseline="json", model=model, out=tmp_path, progress=False)
    assert report["metrics"]["baseline-json"]["accuracy"] == 1.0
    prompts = [call[0].content for call in model.calls[len(item.data["answer"]) :]]
    assert all(f'"name": "{name}"' not in prompts[0] for name in held)
    assert all(f'"name": "{name}"' in prompts[-1] for name in held)
    users = [message.content for message in model.calls[-1] if message.role == "user"]
    assert users[3] == "I have updated some more functions you can choose from. What about now?"


# other suites, reports, CLI ------------------------------------------------------------------------------------
def test_seal_tools_gets_the_baselines_through_its_planning_path(tmp_path) -> None:
    """Seal-Tools plans through plan_with: the baselines stand in for the engine there. A call to a tool that is
    not among the candidates still counts as made (parsed) but not as valid format."""
    from evals.core import data_file
    from evals.suites.seal import SealSuite

    folder = tmp_path / "data"
    folder.mkdir()
    records = [json.loads(line) for line in data_file("seal_tools", "dev.jsonl").read_text().splitlines()][:1]
    needed = {call["api"] for record in records for call in record["calling"]}
    tools = [json.loads(line) for line in data_file("seal_tools", "tool.jsonl").read_text().splitlines()]
    catalogue = [t for t in tools if t["api_name"] in needed] + [t for t in tools if t["api_name"] not in needed][:10]
    (folder / "tool.jsonl").write_text("".join(json.dumps(t) + "\n" for t in catalogue))
    (folder / "split.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    suite = SealSuite(data=folder / "split.jsonl", setting="candidates")
    item = suite.items()[0]
    gold = [(call["api"], call["parameters"]) for call in item.data["calling"]]
    outside = next(name for name in suite.catalogue if name not in {spec.name for spec in suite.candidates(item)})
    replies = [suite.gold_plan(item.data["calling"]).to_json(), _native(gold), _json([(outside, {})])]
    out = tmp_path / "run"
    report = evaluate(
        "seal-tools:candidates",
        data=folder / "split.jsonl",
        baseline=True,
        model=ScriptedModel(replies),
        out=out,
        progress=False,
    )
    assert report["proportions"]["baseline-native"]["exact_match"] == (1, 1)
    assert report["proportions"]["baseline-native"]["format_validity"] == (1, 1)
    assert report["proportions"]["baseline-json"]["format_accuracy"] == (1, 1)  # the call parsed...
    assert report["proportions"]["baseline-json"]["format_validity"] == (0, 1)  # ...but named no candidate
    assert _results(out, "baseline-json")[0]["prediction"]["error"] == f"baseline-json: unknown function {outside!r}"


def test_latency_suites_keep_their_own_baseline(tmp_path) -> None:
    with pytest.raises(EvalError, match="--baseline does not apply"):
        evaluate("parallelqa", limit=1, baseline=True, model=ScriptedModel([]), out=tmp_path, progress=False)


def test_results_doc_gives_each_predictor_a_column_with_seconds(tmp_path) -> None:
    item = BfclSuite("simple_python").items(1)[0]
    gold = _gold_calls(item)
    replies = [oracle_plan(item.data["answer"], item.data["functions"]).to_json(), _native(gold), "no"]
    runs = tmp_path / "runs"
    evaluate(
        "bfcl:simple_python", limit=1, baseline=True, model=ScriptedModel(replies), out=runs / "simple", progress=False
    )
    doc = tmp_path / "results.md"
    assert main(["eval", "report", "--runs", str(runs), "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert "| suite | run | items | main metric | engine | baseline-native | baseline-json |" in text
    row = next(line for line in text.splitlines() if line.startswith("| bfcl:simple_python | `simple`"))
    assert row.count("1.000 [0.207, 1.000]") == 2 and "0.000 [0.000, 0.793]" in row and row.count(" s/item") == 3
    assert (
        "Engine vs the stronger plain baseline:" in text
        and "| accuracy | 1.000 [0.207, 1.000] | baseline-native:" in text
    )


def test_cli_baseline_choices(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["eval", "bfcl:simple_python", "--baseline", "xml", "--out", str(tmp_path)])
    assert exited.value.code == 2 and "invalid choice: 'xml'" in capsys.readouterr().err
    assert main(["eval", "bfcl:simple_python", "--oracle", "--baseline", "native", "--out", str(tmp_path)]) == 2
    assert "does not combine" in capsys.readouterr().err
    assert main(["eval", "bfcl:simple_python", "--oracle", "--limit", "2", "--out", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["oracle"]["accuracy"] == 1.0


def test_replies_keep_what_decoded() -> None:
    reply = Reply("x", [("a", {"v": "$1"})], decoded=False, error="block 2")
    assert reply.plan().steps[0].args == {"v": "$1"}
    native = NativeBaseline(ScriptedModel([]), max_tokens=8)
    assert native.record(Reply("Hi", [], True), [], number=3) == [ChatMessage(role="assistant", content="Hi")]
    recorded = JsonBaseline(ScriptedModel([]), max_tokens=8).record(reply, ["ok"], number=3)
    assert [message.role for message in recorded] == ["assistant", "tool"] and recorded[1].name == "a"


def test_the_model_sees_its_own_tool_format_in_both_histories() -> None:
    """With the real tokenizer (when the default model is converted here; no model runs): the native history is
    rendered by the chat template as the model was trained (<tools>, <tool_call> blocks, <tool_response>), the JSON
    baseline's as its own JSON text followed by the results."""
    from evals.react import template_ids
    from f1.planner.backends.local import prompt_ids
    from tests.test_decoding_grammar import test_tokenizer

    tokenizer = test_tokenizer()
    if "tool_call" not in (tokenizer.chat_template or ""):
        pytest.skip("the default model's tokenizer is not here (its template has the tool format)")
    question = [ChatMessage(role="user", content="Go to folder a, then list it.")]
    calls = [("cd", {"folder": "a"}), ("ls", {})]
    native = Reply(_native(calls), calls, True)
    history = [
        *question,
        *NativeBaseline(ScriptedModel([]), max_tokens=8).record(native, ["ok", "['x.txt']"], number=1),
    ]
    text = tokenizer.decode(template_ids(tokenizer, history, [CD]))
    assert "<tools>\n" + json.dumps(CD.to_openai()) + "\n</tools>" in text
    assert '<tool_call>\n{"name": "cd", "arguments": {"folder": "a"}}\n</tool_call>\n<tool_call>\n{"name": "ls"' in text
    assert "<tool_response>\nok\n</tool_response>\n<tool_response>\n['x.txt']\n</tool_response>" in text
    plain = Reply(_json(calls), calls, True)
    baseline = JsonBaseline(ScriptedModel([]), max_tokens=8)
    history = [*question, *baseline.record(plain, ["ok", "['x.txt']"], number=1)]
    text = tokenizer.decode(prompt_ids(tokenizer, baseline.prompt(history, [CD], multi_turn=True)))
    assert "<tools>" not in text and JSON_INSTRUCTIONS in text and '"description": "where"' in text
    assert "assistant\n" + _json(calls) + "<|im_end|>" in text and "<tool_response>\nok\n</tool_response>" in text
