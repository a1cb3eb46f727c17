"""NESTFUL (IBM, arXiv 2409.03797): nested sequences of API calls, where ``"$var1.field$"`` is a field of call
``var1``'s output.

Scored by a port of NESTFUL's official scorer (`evals.suites.nestful_scorer`, under the official metric names:
f1_intent, f1_slot, accuracy_combined = partial match, percentage_times_full_score = full match). Ours, under
their own names: `format_validity` (the plan fits the tools' schemas) and `dependency_accuracy` (over all gold
arguments that reference an earlier output, the share whose predicted call at that position has the same name and
the same reference). The model sees every tool of the spec file, as NESTFUL intends (no retrieval).

References: our plan's ``"$j.path"`` is ``"$var<p>.path$"`` with p = the position (1-based) of step j in the plan;
digit path parts become ``[i]`` (``"$1.movies.0"`` <-> ``"$var1.movies[0]$"``). References embedded in longer strings
(a handful of gold values) have no plan form; they stay literal text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from evals.core import (
    EvalError,
    Item,
    ItemResult,
    Prediction,
    as_fractions,
    data_file,
    fraction,
    map_strings,
    share,
    window,
)
from evals.engine_adapter import EngineFactory, plan_with
from evals.suites.nestful_scorer import ItemScore, calculate_scores, score_item
from f1.errors import F1Error, ToolSpecError
from f1.plan import Plan, Step, parse_ref, validate_plan
from f1.planner import ChatMessage
from f1.tools import ToolSpec, normalize_schema
from f1.tools.spec import refuse_unread_keys

RESULT = "var_result"
_GOLD_REF = re.compile(r"^\$(var\d+)((?:\.[A-Za-z0-9_\-]+|\[\d+\])*)\$$")
_JSON_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}


_INPUTS = ("query_parameters", "arguments", "parameters")  # NESTFUL's splits name the inputs differently
_KEYS = frozenset({"name", "description", *_INPUTS, "output_parameters"})
_VALUES = ("allowed_values", "possible_values")  # enumerations of inputs and of outputs


def spec_from_nestful(data: dict[str, Any], *, source: str | None = None) -> ToolSpec:
    """A NESTFUL tool spec: `name`, `description`, inputs under `query_parameters`, `arguments` or `parameters`
    (``{name: {type, description, required, allowed_values}}``), `output_parameters` (with `possible_values`).
    Non-empty allowed/possible values become `enum`; anything it cannot read is a `ToolSpecError`, never dropped."""
    name = data.get("name")
    tool = name if isinstance(name, str) else None
    inputs = ", ".join(repr(key) for key in _INPUTS)
    refuse_unread_keys(data, _KEYS, form="a NESTFUL tool", inputs=f"one of {inputs}", tool=name, source=source)
    given = [key for key in _INPUTS if data.get(key) is not None]
    if len(given) > 1:
        raise ToolSpecError(f"inputs given twice, under {given[0]!r} and {given[1]!r}", tool=tool, source=source)
    parameters = _properties(data, given[0] if given else "parameters", tool, source)
    required = [param for param, prop in parameters.items() if prop.pop("required", False)]
    outputs = _properties(data, "output_parameters", tool, source)
    for prop in outputs.values():
        prop.pop("required", None)
    return ToolSpec.from_any(
        {
            "name": name,
            "description": data.get("description", ""),
            "parameters": {"type": "object", "properties": parameters, "required": required},
            "result_schema": {"type": "object", "properties": outputs} if outputs else None,
        },
        source=source,
    )


def _properties(data: dict[str, Any], key: str, tool: str | None, source: str | None) -> dict[str, dict[str, Any]]:
    """The JSON schemas of the entries under `key` (their `required` flag kept aside for the caller)."""
    entries = data.get(key) or {}
    if not isinstance(entries, dict):
        raise ToolSpecError(f"{key!r} must be an object of parameters, not {type(entries).__name__}", tool=tool, source=source)
    return {param: _property(prop, f"{key}.{param}", tool, source) for param, prop in entries.items()}


def _property(prop: Any, where: str, tool: str | None, source: str | None) -> dict[str, Any]:
    if not isinstance(prop, dict):
        raise ToolSpecError(f"{where} must be an object, not {type(prop).__name__}", tool=tool, source=source)
    if not isinstance(prop.get("required", False), bool):
        raise ToolSpecError(f"{where}.required must be true or false, not {prop['required']!r}", tool=tool, source=source)
    out = normalize_schema({key: value for key, value in prop.items() if key not in _VALUES})
    if isinstance(out.get("type"), str) and out["type"] not in _JSON_TYPES:  # e.g. "file": keep it as a description
        out["description"] = f"{out.get('description', '')} ({out.pop('type')})".strip()
    for key in _VALUES:
        values = prop.get(key)
        if values is not None and not isinstance(values, list):
            raise ToolSpecError(f"{where}.{key} must be a list, not {type(values).__name__}", tool=tool, source=source)
        if values:
            out["enum"] = values
    return out


def to_gold_ref(text: str, labels: dict[int, str]) -> str:
    """``"$j.a.0"`` -> ``"$var<p>.a[0]$"``; other strings unchanged."""
    ref = parse_ref(text)
    if ref is None or ref.step not in labels:
        return text
    path = "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in ref.path)
    return f"${labels[ref.step]}{path}$"


def from_gold_ref(text: str, steps: dict[str, int]) -> str:
    """``"$var<p>.a[0]$"`` -> ``"$j.a.0"`` (j = the step labelled var<p>); other strings unchanged."""
    match = _GOLD_REF.match(text)
    if match is None or match.group(1) not in steps:
        return text
    path = re.sub(r"\[(\d+)\]", r".\1", match.group(2))
    return f"${steps[match.group(1)]}{path}"


def gold_plan(output: Sequence[dict[str, Any]]) -> Plan:
    """The gold sequence (without var_result) as our plan."""
    steps: list[Step] = []
    ids: dict[str, int] = {}
    for call in output:
        if call["name"] == RESULT:
            continue
        step_id = len(steps) + 1
        args = map_strings(call.get("arguments") or {}, lambda text: from_gold_ref(text, ids))
        steps.append(Step(id=step_id, tool=call["name"], args=args))
        ids[call.get("label") or f"var{step_id}"] = step_id
    return Plan(steps=steps)


def plan_to_nestful(plan: Plan) -> list[dict[str, Any]]:
    """Our plan as a NESTFUL output list (labels var1..varN by position)."""
    labels = {step.id: f"var{position}" for position, step in enumerate(plan.steps, 1)}
    return [
        {"name": step.tool, "arguments": map_strings(step.args, lambda text: to_gold_ref(text, labels)), "label": labels[step.id]}
        for step in plan.steps
    ]


class NestfulSuite:
    """NESTFUL's glaive split (or any file of its format, with its spec file next to it: *-data.json / *-spec.json)."""

    main_metric = "f1_intent"

    def __init__(self, *, data: Path | None = None) -> None:
        self.path = data if data is not None else data_file("nestful", "non-executable-glaive-data.json")
        if not self.path.is_file():
            raise EvalError(f"NESTFUL data file {self.path} not found")
        spec_path = self.path.with_name(self.path.name.replace("-data", "-spec"))
        if spec_path == self.path or not spec_path.is_file():
            raise EvalError(f"NESTFUL spec file {spec_path} not found (expected next to the data file)")
        self.spec_path = spec_path
        self.name = "nestful" if data is None else f"nestful:{self.path.name}"
        self.rejected: dict[str, str] = {}

    @cached_property
    def specs(self) -> dict[str, ToolSpec]:
        """The spec file's tools by name (the glaive file repeats 5 names, identically: 64 distinct tools)."""
        specs: dict[str, ToolSpec] = {}
        for entry in _read_json(self.spec_path):
            try:
                spec = spec_from_nestful(entry, source=self.spec_path.name)
            except F1Error as exc:
                self.rejected[str(entry.get("name"))] = str(exc)
                continue
            if spec.name in specs and specs[spec.name] != spec:
                self.rejected[spec.name] = "a second, different definition of this name (the first is kept)"
            specs.setdefault(spec.name, spec)
        return specs

    def tools(self) -> list[ToolSpec]:
        return list(self.specs.values())

    def tools_in_prompt(self, items: Sequence[Item]) -> int:
        """Every tool of the spec file is offered (NESTFUL's setting): no retrieval narrows them."""
        return len(self.specs)

    def items(self, limit: int | None = None, offset: int = 0) -> list[Item]:
        records = _read_json(self.path)
        if not isinstance(records, list):
            raise EvalError(f"{self.path}: expected a list of samples")
        items = []
        for index, record in enumerate(records):
            if not isinstance(record, dict) or not {"input", "output"} <= set(record):
                raise EvalError(f"{self.path}: sample {index} needs input and output")
            items.append(Item(id=str(record.get("sample_id", index)), data=record))
        return window(items, limit, offset)

    def report_extras(self, runs: Any) -> dict[str, Any]:
        return {"rejected_tools": self.rejected}

    async def oracle(self, item: Item) -> Prediction:
        return self._prediction(gold_plan(item.data["output"]))

    async def predict(self, factory: EngineFactory, item: Item, *, constrained: bool) -> Prediction:
        messages = [ChatMessage(role="user", content=item.data["input"])]
        plan, error = await plan_with(factory, messages, self.tools(), constrained=constrained)
        if plan is None:
            return Prediction(format_valid=False, error=error)
        return self._prediction(plan, error)

    def _prediction(self, plan: Plan, error: str | None = None) -> Prediction:
        try:
            validate_plan(plan, self.specs)
        except F1Error as exc:
            return Prediction(plan=plan, format_valid=False, error=error or f"schema: {exc}")
        return Prediction(plan=plan)

    def score(self, item: Item, prediction: Prediction) -> dict[str, Any]:
        output = item.data["output"]
        predicted = plan_to_nestful(prediction.plan) if prediction.plan is not None else None
        official = score_item(predicted, output)
        gold = _relabel([call for call in output if call["name"] != RESULT])
        pred = predicted or []
        dependencies = [(i, name, value) for i, call in enumerate(gold) for name, value in call["arguments"].items() if _has_ref(value)]
        deps_ok = sum(i < len(pred) and pred[i]["name"] == gold[i]["name"] and _canon(pred[i]["arguments"].get(name)) == _canon(value) for i, name, value in dependencies)
        return {
            "official": official.model_dump(),
            "format_valid": prediction.format_valid,
            "valid": official.accuracy_combined == 1,
            "dependencies": len(dependencies),
            "dependencies_ok": deps_ok,
        }

    def proportions(self, results: Sequence[ItemResult]) -> dict[str, tuple[int, int]]:
        return {"percentage_times_full_score": share(results, "valid"), "format_validity": share(results, "format_valid")}

    def summarize(self, results: Sequence[ItemResult]) -> dict[str, float]:
        official = calculate_scores([ItemScore.model_validate(r.scores["official"]) for r in results])
        dependencies = sum(r.scores["dependencies"] for r in results)
        return official | as_fractions(self.proportions(results)) | {
            "dependency_accuracy": fraction(sum(r.scores["dependencies_ok"] for r in results), dependencies)
        }


def _relabel(calls: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gold labels renumbered by position, a reference meaning the latest earlier call of that label (two gold
    samples skip or repeat a label)."""
    labels: dict[str, str] = {}
    out = []
    for position, call in enumerate(calls, 1):
        seen = dict(labels)

        def rename(text: str, seen: dict[str, str] = seen) -> str:
            return re.sub(r"\$(var\d+)", lambda m: "$" + seen.get(m.group(1), m.group(1)), text)

        out.append({"name": call["name"], "arguments": map_strings(call.get("arguments") or {}, rename)})
        labels[call.get("label") or f"var{position}"] = f"var{position}"
    return out


def _has_ref(value: Any) -> bool:
    return "$var" in json.dumps(value)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EvalError(f"{path}: not JSON: {exc.msg} (line {exc.lineno})") from None
