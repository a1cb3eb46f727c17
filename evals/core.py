"""The harness's vocabulary: items, predictions, scored results, and the `Suite` and `Predictor` protocols."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from f1.errors import F1Error
from f1.plan import Plan

if TYPE_CHECKING:
    from evals.engine_adapter import EngineFactory


class EvalError(F1Error):
    """Bad eval input: an unknown suite, missing data, a results folder from another run."""


@dataclass(frozen=True)
class Item:
    """One benchmark item: its id and the suite's raw record(s)."""

    id: str
    data: dict[str, Any] = field(repr=False)


class Prediction(BaseModel):
    """What a predictor produced for one item. Suites read the fields they need.

    `plan`: single-turn calls (an empty plan = no call); `turns`: multi-turn calls per turn, per model round, as
    call strings; `seconds`: named wall times (latency suites); `format_valid`: the output parsed and fit the tools'
    schemas; `candidates`: tool names the model was shown (retrieval recall); `details`: anything else a suite keeps.
    """

    plan: Plan | None = None
    turns: list[list[list[str]]] | None = None
    answer: str | None = None
    seconds: dict[str, float] = Field(default_factory=dict)
    candidates: list[str] | None = None
    format_valid: bool = True
    error: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ItemResult(BaseModel):
    """One finished item, one line of results.jsonl: the prediction and its scores."""

    id: str
    prediction: Prediction
    scores: dict[str, Any]
    seconds: float = 0.0


class Suite(Protocol):
    """A benchmark: items, the tools an item offers, ground truth, and the benchmark's own scoring."""

    name: str
    main_metric: str  # the metric results tables lead with

    def items(self, limit: int | None = None, offset: int = 0) -> list[Item]:
        """`limit` items (all with None) after the first `offset`, in the benchmark's order (per category where the
        benchmark has categories)."""
        ...

    async def oracle(self, item: Item) -> Prediction:
        """The ground truth, turned into our output format (the harness's self-check)."""
        ...

    async def predict(self, factory: EngineFactory, item: Item, *, constrained: bool) -> Prediction:
        """Run the engine (or, unconstrained, the plain model) on one item, with Engines `factory` makes."""
        ...

    def score(self, item: Item, prediction: Prediction) -> dict[str, Any]:
        """The benchmark's per-item scores."""
        ...

    def proportions(self, results: Sequence[ItemResult]) -> dict[str, tuple[int, int]]:
        """The metrics that are shares of items, as (items that pass, items): reports put a 95% interval next to
        them. `summarize` reports each as a fraction."""
        ...

    def summarize(self, results: Sequence[ItemResult]) -> dict[str, float]:
        """Aggregate metrics over scored items (fractions in [0, 1], or seconds in names ending `_s`)."""
        ...

    # Optional: `report_extras(runs) -> dict`, merged into the report (e.g. rejected tools, per-item times);
    # `tools_in_prompt(items) -> int | None`, how many tools the engine offers at most without retrieval (None:
    # the engine's default).


class Predictor(Protocol):
    """Produces a prediction for one item."""

    name: str

    async def predict(self, item: Item) -> Prediction: ...


def evaldata_dir() -> Path:
    """The third-party eval data: $F1_EVALDATA, else shared/evaldata in the checkout, or beside it or a folder above
    it (checkouts nested deeper, such as git worktrees)."""
    env = os.environ.get("F1_EVALDATA")
    root = Path(__file__).resolve().parents[1]
    candidates = [Path(env)] if env else [folder / "shared" / "evaldata" for folder in (root, *root.parents)]
    path = next((candidate for candidate in candidates if candidate.is_dir()), None)
    if path is None:
        where = candidates[0] if env else root.parent / "shared" / "evaldata"
        raise EvalError(f"eval data folder {where} not found: set F1_EVALDATA or put the data in ../shared/evaldata")
    return path


def data_file(*parts: str) -> Path:
    """A file inside the eval data folder, with a clear error when it is missing."""
    path = evaldata_dir().joinpath(*parts)
    if not path.is_file():
        raise EvalError(f"eval data file {path} not found")
    return path


def window(records: Sequence[Any], limit: int | None, offset: int) -> list[Any]:
    """`limit` records after the first `offset` (--offset/--limit)."""
    return list(records[offset : None if limit is None else offset + limit])


def share(results: Sequence[ItemResult], key: str) -> tuple[int, int]:
    """(items whose score `key` is true, items)."""
    return sum(bool(result.scores[key]) for result in results), len(results)


def as_fractions(proportions: dict[str, tuple[int, int]]) -> dict[str, float]:
    """Each (passed, items) as a fraction."""
    return {name: fraction(passed, items) for name, (passed, items) in proportions.items()}


def fraction(numerator: float, denominator: float) -> float:
    """numerator / denominator, 0.0 for an empty denominator."""
    return numerator / denominator if denominator else 0.0


def f1_score(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def map_strings(value: Any, replace: Callable[[str], Any]) -> Any:
    """A JSON value with every string in it, at any depth, replaced by `replace(string)`."""
    if isinstance(value, str):
        return replace(value)
    if isinstance(value, list):
        return [map_strings(entry, replace) for entry in value]
    if isinstance(value, dict):
        return {key: map_strings(entry, replace) for key, entry in value.items()}
    return value
