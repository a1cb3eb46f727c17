"""NESTFUL (IBM, arXiv 2409.03797): nested sequences of API calls, where ``"$var1.field$"`` is a field of call
``var1``'s output.

NESTFUL's scorer is not installed; these rules follow the paper's metrics (documented in docs/evals.md):
the final ``var_result`` entry assembles the answer and is not a call, so it is left out of every metric. Per item,
function-name F1 and argument F1 (on (function, argument, value) triples; parameter-name F1 too, as in the paper)
come from multiset overlap and are averaged over items; partial-sequence accuracy is the share of gold calls
matched exactly at their position; full-sequence accuracy needs every call equal, in order, with nothing extra;
dependency accuracy is, over all gold arguments that reference an earlier output, the share whose predicted call
at that position has the same name and the same reference.

References: our plan's ``"$j.path"`` is ``"$var<p>.path$"`` with p = the position (1-based) of step j in the plan;
digit path parts become ``[i]`` (``"$1.movies.0"`` <-> ``"$var1.movies[0]$"``). References embedded in longer strings
(a handful of gold values) have no plan form; they stay literal text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from f1.errors import F1Error, ToolSpecError
from f1.plan import Plan, Step, parse_ref, validate_plan
from f1.planner.messages import ChatMessage
from f1.tools import ToolSpec, normalize_schema
from f1.tools.spec import refuse_unread_keys
from evals.core import EvalError, Item, ItemResult, Prediction, data_file, f1_score, fraction

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


def _map_strings(value: Any, replace: Any) -> Any:
    if isinstance(value, str):
        return replace(value)
    if isinstance(value, list):
        return [_map_strings(entry, replace) for entry in value]
    if isinstance(value, dict):
        return {key: _map_strings(entry, replace) for key, entry in value.items()}
    return value


def gold_plan(output: Sequence[dict[str, Any]]) -> Plan:
    """The gold sequence (without var_result) as our plan."""
    steps: list[Step] = []
    ids: dict[str, int] = {}
    for call in output:
        if call["name"] == RESULT:
            continue
        step_id = len(steps) + 1
        args = _map_strings(call.get("arguments") or {}, lambda text: from_gold_ref(text, ids))
        steps.append(Step(id=step_id, tool=call["name"], args=args))
        ids[call.get("label") or f"var{step_id}"] = step_id
    return Plan(steps=steps)


def plan_to_nestful(plan: Plan) -> list[dict[str, Any]]:
    """Our plan as a NESTFUL output list (labels var1..varN by position)."""
    labels = {step.id: f"var{position}" for position, step in enumerate(plan.steps, 1)}
    return [
        {"name": step.tool, "arguments": _map_strings(step.args, lambda text: to_gold_ref(text, labels)), "label": labels[step.id]}
        for step in plan.steps
    ]


class NestfulSuite:
    """NESTFUL's glaive split (or any file of its format, with its spec file next to it: *-data.json / *-spec.json)."""

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

    def items(self, limit: int | None = None) -> list[Item]:
        records = _read_json(self.path)
        if not isinstance(records, list):
            raise EvalError(f"{self.path}: expected a list of samples")
        items = []
        for index, record in enumerate(records[:limit]):
            if not isinstance(record, dict) or not {"input", "output"} <= set(record):
                raise EvalError(f"{self.path}: sample {index} needs input and output")
            items.append(Item(id=str(record.get("sample_id", index)), data=record))
        return items

    def report_extras(self, runs: Any) -> dict[str, Any]:
        return {"rejected_tools": self.rejected}

    async def oracle(self, item: Item) -> Prediction:
        return self._prediction(gold_plan(item.data["output"]))

    async def predict(self, factory: Any, item: Item, *, constrained: bool) -> Prediction:
        try:
            plan = await factory.planner().aplan([ChatMessage(role="user", content=item.data["input"])], tools=self.tools(), constrained=constrained)
        except F1Error as exc:
            return Prediction(format_valid=False, error=str(exc))
        return self._prediction(plan)

    def _prediction(self, plan: Plan) -> Prediction:
        try:
            validate_plan(plan, self.specs)
        except F1Error as exc:
            return Prediction(plan=plan, format_valid=False, error=f"schema: {exc}")
        return Prediction(plan=plan)

    def score(self, item: Item, prediction: Prediction) -> dict[str, Any]:
        gold = [call for call in item.data["output"] if call["name"] != RESULT]
        pred = plan_to_nestful(prediction.plan) if prediction.plan is not None else []
        gold = _relabel(gold)
        same = [i < len(pred) and _same_call(pred[i], gold[i]) for i in range(len(gold))]
        dependencies = [(i, name, value) for i, call in enumerate(gold) for name, value in call["arguments"].items() if _has_ref(value)]
        deps_ok = sum(i < len(pred) and pred[i]["name"] == gold[i]["name"] and _canon(pred[i]["arguments"].get(name)) == _canon(value) for i, name, value in dependencies)
        return {
            "parsed": prediction.plan is not None,
            "format_valid": prediction.format_valid,
            "function_f1": _multiset_f1([c["name"] for c in pred], [c["name"] for c in gold]),
            "parameter_name_f1": _multiset_f1(_triples(pred, values=False), _triples(gold, values=False)),
            "argument_f1": _multiset_f1(_triples(pred), _triples(gold)),
            "partial_sequence": fraction(sum(same), len(gold)),
            "valid": all(same) and len(pred) == len(gold),
            "dependencies": len(dependencies),
            "dependencies_ok": deps_ok,
        }

    def summarize(self, results: Sequence[ItemResult]) -> dict[str, float]:
        n = len(results)

        def mean(key: str) -> float:
            return fraction(sum(float(r.scores[key]) for r in results), n)

        return {
            "format_accuracy": mean("parsed"),
            "format_validity": mean("format_valid"),
            "function_f1": mean("function_f1"),
            "parameter_name_f1": mean("parameter_name_f1"),
            "argument_f1": mean("argument_f1"),
            "partial_sequence_accuracy": mean("partial_sequence"),
            "full_sequence_accuracy": mean("valid"),
            "dependency_accuracy": fraction(sum(r.scores["dependencies_ok"] for r in results), sum(r.scores["dependencies"] for r in results)),
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

        out.append({"name": call["name"], "arguments": _map_strings(call.get("arguments") or {}, rename)})
        labels[call.get("label") or f"var{position}"] = f"var{position}"
    return out


def _has_ref(value: Any) -> bool:
    return "$var" in json.dumps(value)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _same_call(pred: dict[str, Any], gold: dict[str, Any]) -> bool:
    return pred["name"] == gold["name"] and _canon(pred["arguments"]) == _canon(gold["arguments"])


def _triples(calls: Sequence[dict[str, Any]], *, values: bool = True) -> list[tuple[str, ...]]:
    return [(c["name"], name, _canon(value)) if values else (c["name"], name) for c in calls for name, value in c["arguments"].items()]


def _multiset_f1(pred: Sequence[Any], gold: Sequence[Any]) -> float:
    if not pred and not gold:
        return 1.0
    overlap = sum((Counter(pred) & Counter(gold)).values())
    return f1_score(fraction(overlap, len(pred)), fraction(overlap, len(gold)))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EvalError(f"{path}: not JSON: {exc.msg} (line {exc.lineno})") from None
