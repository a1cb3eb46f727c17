"""Seal-Tools (fairyshine/Seal-Tools): tool selection and parameter filling over a 4,076-tool catalogue.

Two settings. `catalogue` (ours): the model sees the top-k candidates the planner's retrieval finds in the whole
catalogue for each query (`--top-k`); the report gives their retrieval recall. `candidates` (the paper's): the
model sees the item's candidate APIs, built by the rule of Seal-Tools' own `transform_format.py`: a single-call
item's gold API plus 4 other APIs drawn at random from the catalogue (seeded here), a multi-call item's gold APIs.

Scoring follows Seal-Tools' `calculate_score_ToolLearning`: format accuracy = items whose output parsed as JSON
calls (whether or not they fit the tools: the plain model's invalid output is scored too); each predicted call
counts as a correct tool when its api equals a gold call's api (the first gold call of that name, which is also the
call its parameters are compared with); a parameter is correct when its name is in that gold call and
``str(pred) == str(gold)``; P/R/F1 are micro-averaged over the split.

Nested calls: gold values ``"API_call_k"`` name output k of an earlier call, numbered across the calls in order,
each call taking as many numbers as its tool has response fields (checked on dev and test_in_domain). Our plan's
``"$j.field"`` is therefore ``API_call_<o_j + index of field in step j's tool responses>``, where o_j counts the
response fields of the tools of steps before j; a bare ``"$j"`` maps only when step j's tool has one response field.
"""

from __future__ import annotations

import json
import random
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
    f1_score,
    fraction,
    map_strings,
    share,
    window,
)
from evals.engine_adapter import EngineFactory, plan_with
from f1.errors import F1Error
from f1.plan import Plan, Step, parse_ref, validate_plan
from f1.planner import ChatMessage, ToolRetriever, retriever_for
from f1.tools import ToolSpec

SPLITS = ("dev", "test_in_domain")
SETTINGS = ("catalogue", "candidates")
DISTRACTORS = 4  # other APIs next to a single-call item's gold API in the paper's setting
API_CALL = "API_call_"
COUNTS = ("pred_apis", "gold_apis", "correct_apis", "pred_params", "gold_params", "correct_params", "gold_retrieved")


class SealSuite:
    """A Seal-Tools split (or any file of its format via `data`), with the catalogue next to it or the default one,
    in the `catalogue` setting (retrieval, ours) or the `candidates` setting (the paper's)."""

    main_metric = "param_f1"

    def __init__(
        self,
        split: str = "test_in_domain",
        *,
        data: Path | None = None,
        setting: str = "catalogue",
        top_k: int = 10,
        retrieval: str = "auto",
        seed: int = 0,
    ) -> None:
        if data is None and split not in SPLITS:
            raise EvalError(f"unknown Seal-Tools split {split!r}; splits: {', '.join(SPLITS)}")
        if setting not in SETTINGS:
            raise EvalError(f"unknown Seal-Tools setting {setting!r}; settings: {', '.join(SETTINGS)}")
        if top_k < 1:
            raise EvalError(f"--top-k must be at least 1, not {top_k}")
        self.path = data if data is not None else data_file("seal_tools", f"{split}.jsonl")
        if not self.path.is_file():
            raise EvalError(f"Seal-Tools data file {self.path} not found")
        self.split = split if data is None else self.path.name
        self.setting, self.seed = setting, seed
        self.name = f"seal-tools:{self.split}" + ("" if setting == "catalogue" else f":{setting}")
        self.top_k = top_k
        self.retrieval = retrieval
        self.rejected: dict[str, str] = {}

    @cached_property
    def catalogue(self) -> dict[str, dict[str, Any]]:
        """Raw catalogue entries by api name."""
        path = self.path.parent / "tool.jsonl"
        if not path.is_file():
            path = data_file("seal_tools", "tool.jsonl")
        return {entry["api_name"]: entry for entry in _read_jsonl(path)}

    @cached_property
    def specs(self) -> dict[str, ToolSpec]:
        """The catalogue as ToolSpecs; entries our spec rejects (e.g. names with spaces) are listed in `rejected`."""
        specs: dict[str, ToolSpec] = {}
        for name, entry in self.catalogue.items():
            try:
                specs[name] = ToolSpec.from_seal(entry, source="seal_tools/tool.jsonl")
            except F1Error as exc:
                self.rejected[name] = str(exc)
        return specs

    def report_extras(self, runs: Any) -> dict[str, Any]:
        """Catalogue entries that are not valid tool specs (the model can never call them)."""
        return {"rejected_tools": self.rejected}

    @cached_property
    def retriever(self) -> ToolRetriever:
        """The planner's own retrieval (MiniLM + BM25 hybrid by default) over the whole catalogue."""
        return retriever_for(list(self.specs.values()), method=self.retrieval, persist=True)  # type: ignore[arg-type]

    def items(self, limit: int | None = None, offset: int = 0) -> list[Item]:
        records = window(_read_jsonl(self.path), limit, offset)
        for record in records:
            if not {"id", "query", "calling"} <= set(record):
                raise EvalError(f"{self.path}: a record needs id, query and calling (got {sorted(record)})")
        return [Item(id=str(record["id"]), data=record) for record in records]

    def tools_in_prompt(self, items: Sequence[Item]) -> int:
        """The candidates are all offered: the engine's own retrieval must not narrow them again."""
        if self.setting == "catalogue":
            return self.top_k
        return max((len(self.candidates(item)) for item in items), default=1)

    def candidates(self, item: Item) -> list[ToolSpec]:
        """The tools the model sees for this item, in this suite's setting."""
        if self.setting == "catalogue":
            return self.retriever.search(item.data["query"], k=self.top_k)
        gold = list(dict.fromkeys(call["api"] for call in item.data["calling"]))
        if len(item.data["calling"]) == 1:
            others = sorted(name for name in self.catalogue if name not in gold)
            gold += random.Random(f"{self.seed}:{item.id}").sample(others, DISTRACTORS)
            random.Random(f"{self.seed}:{item.id}:order").shuffle(gold)
        return [self.specs[name] for name in gold if name in self.specs]

    def response_fields(self, api: str) -> list[str]:
        return list((self.catalogue.get(api) or {}).get("responses") or {})

    # predictions ----------------------------------------------------------------------------------------
    async def oracle(self, item: Item) -> Prediction:
        plan = self.gold_plan(item.data["calling"])
        return self._prediction(plan, [spec.name for spec in self.candidates(item)])

    async def predict(self, factory: EngineFactory, item: Item, *, constrained: bool) -> Prediction:
        candidates = self.candidates(item)
        names = [spec.name for spec in candidates]
        messages = [ChatMessage(role="user", content=item.data["query"])]
        plan, error = await plan_with(factory, messages, candidates, constrained=constrained)
        if plan is None:
            return Prediction(candidates=names, format_valid=False, error=error)
        return self._prediction(plan, names, error)

    def _prediction(self, plan: Plan, candidates: list[str], error: str | None = None) -> Prediction:
        try:
            validate_plan(plan, self.specs)
        except F1Error as exc:
            return Prediction(plan=plan, candidates=candidates, format_valid=False, error=error or f"schema: {exc}")
        return Prediction(plan=plan, candidates=candidates)

    # the API_call_k <-> $j.field mapping ----------------------------------------------------------------------
    def gold_plan(self, calling: Sequence[dict[str, Any]]) -> Plan:
        """Gold calls as our plan: ``"API_call_k"`` values become ``"$j.field"``."""
        outputs: dict[str, str] = {}
        steps = []
        for index, call in enumerate(calling, 1):
            args = {name: map_strings(value, lambda s: outputs.get(s, s)) for name, value in call["parameters"].items()}
            steps.append(Step(id=index, tool=call["api"], args=args))
            for output, field in zip(call.get("responses", []), self.response_fields(call["api"]), strict=False):
                outputs[output] = f"${index}.{field}"
        return Plan(steps=steps)

    def to_calling(self, plan: Plan) -> list[dict[str, Any]]:
        """Our plan as Seal-Tools' calling list: ``"$j.field"`` references become ``"API_call_k"``."""
        offsets: dict[int, int] = {}
        tools: dict[int, str] = {}
        calling = []
        next_output = 0
        for step in plan.steps:
            offsets[step.id], tools[step.id] = next_output, step.tool
            fields = self.response_fields(step.tool)

            def name_output(text: str) -> str:
                ref = parse_ref(text)
                if ref is None or ref.step not in offsets:
                    return text
                outputs = self.response_fields(tools[ref.step])
                if ref.path and ref.path[0] in outputs and len(ref.path) == 1:
                    return f"{API_CALL}{offsets[ref.step] + outputs.index(ref.path[0])}"
                if not ref.path and len(outputs) == 1:
                    return f"{API_CALL}{offsets[ref.step]}"
                return text

            args = {name: map_strings(value, name_output) for name, value in step.args.items()}
            calling.append({"api": step.tool, "parameters": args, "responses": [f"{API_CALL}{next_output + i}" for i in range(len(fields))]})
            next_output += len(fields)
        return calling

    # scoring ----------------------------------------------------------------------------------------------
    def score(self, item: Item, prediction: Prediction) -> dict[str, Any]:
        gold = item.data["calling"]
        counts = dict.fromkeys(COUNTS, 0)
        counts["gold_apis"] = len(gold)
        counts["gold_params"] = sum(len(call["parameters"]) for call in gold)
        counts["gold_retrieved"] = sum(call["api"] in (prediction.candidates or []) for call in gold)
        parsed = prediction.plan is not None
        if parsed:
            for call in self.to_calling(prediction.plan):
                counts["pred_apis"] += 1
                counts["pred_params"] += len(call["parameters"])
                match = next((g for g in gold if g["api"] == call["api"]), None)
                if match is None:
                    continue
                counts["correct_apis"] += 1
                counts["correct_params"] += sum(
                    name in match["parameters"] and str(value) == str(match["parameters"][name]) for name, value in call["parameters"].items()
                )
        exact = parsed and counts["correct_apis"] == counts["pred_apis"] == counts["gold_apis"] and counts["correct_params"] == counts["pred_params"] == counts["gold_params"]
        return {"parsed": parsed, "format_valid": prediction.format_valid, "valid": exact, **counts}

    def proportions(self, results: Sequence[ItemResult]) -> dict[str, tuple[int, int]]:
        return {
            "format_accuracy": share(results, "parsed"),
            "format_validity": share(results, "format_valid"),
            "exact_match": share(results, "valid"),
        }

    def summarize(self, results: Sequence[ItemResult]) -> dict[str, float]:
        total = {key: sum(r.scores[key] for r in results) for key in COUNTS}
        tool_p, tool_r = fraction(total["correct_apis"], total["pred_apis"]), fraction(total["correct_apis"], total["gold_apis"])
        param_p, param_r = fraction(total["correct_params"], total["pred_params"]), fraction(total["correct_params"], total["gold_params"])
        return as_fractions(self.proportions(results)) | {
            "tool_precision": tool_p,
            "tool_recall": tool_r,
            "tool_f1": f1_score(tool_p, tool_r),
            "param_precision": param_p,
            "param_recall": param_r,
            "param_f1": f1_score(param_p, param_r),
            "retrieval_recall": fraction(total["gold_retrieved"], total["gold_apis"]),
        }


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    records = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise EvalError(f"{path}:{number}: not JSON: {exc.msg}") from None
    return records
