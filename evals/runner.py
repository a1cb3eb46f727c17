"""Run a predictor over a suite: one JSONL line per finished item, so an interrupted run resumes where it stopped."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from evals.core import EvalError, Item, ItemResult, Prediction, Predictor, Suite


def results_path(out: Path, predictor: str) -> Path:
    return out / f"results.{predictor}.jsonl"


def load_results(path: Path) -> dict[str, ItemResult]:
    """Results already written. A torn last line (a killed run) is dropped from the file and its item redone."""
    if not path.exists():
        return {}
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    done: dict[str, ItemResult] = {}
    for number, line in enumerate(lines, 1):
        try:
            result = ItemResult.model_validate_json(line)
        except ValidationError as exc:
            if number < len(lines):
                raise EvalError(f"{path}:{number}: not a result line ({exc.errors()[0]['msg']})") from None
            path.write_text("".join(kept + "\n" for kept in lines[:-1]), encoding="utf-8")
            break
        done[result.id] = result
    return done


def check_run(out: Path, suite: str) -> None:
    """Refuse to mix two suites' results in one folder; remember which suite this folder holds."""
    out.mkdir(parents=True, exist_ok=True)
    marker = out / "run.json"
    if marker.exists():
        previous = json.loads(marker.read_text(encoding="utf-8")).get("suite")
        if previous != suite:
            raise EvalError(f"{out} holds results of {previous!r}, not {suite!r}: pick another --out")
    else:
        marker.write_text(json.dumps({"suite": suite}) + "\n", encoding="utf-8")


async def run_predictor(
    suite: Suite, predictor: Predictor, items: Sequence[Item], out: Path, *, progress: bool = True
) -> list[ItemResult]:
    """Score every item not done yet, appending each result as it finishes; return all results in item order."""
    path = results_path(out, predictor.name)
    done = load_results(path)
    todo = [item for item in items if item.id not in done]
    with path.open("a", encoding="utf-8") as sink, _progress(progress, f"{suite.name} [{predictor.name}]", len(items)) as bar:
        bar.advance(len(items) - len(todo))
        for item in todo:
            result = await _run_one(suite, predictor, item)
            sink.write(result.model_dump_json() + "\n")
            sink.flush()
            done[item.id] = result
            bar.advance(1)
    return [done[item.id] for item in items]


async def _run_one(suite: Suite, predictor: Predictor, item: Item) -> ItemResult:
    start = time.perf_counter()
    try:
        prediction = await predictor.predict(item)
    except Exception as exc:  # one failing item must not end a long run; the error is recorded and counted
        prediction = Prediction(format_valid=False, error=f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - start
    try:
        scores = suite.score(item, prediction)
    except Exception as exc:
        raise EvalError(f"{suite.name}: scoring item {item.id} failed: {type(exc).__name__}: {exc}") from exc
    return ItemResult(id=item.id, prediction=prediction, scores=scores, seconds=seconds)


class _Bar:
    def __init__(self, progress: object | None, task: object | None) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: int) -> None:
        if self._progress is not None and n:
            self._progress.advance(self._task, n)  # type: ignore[attr-defined]


class _progress:
    """A rich progress bar, or nothing (tests, --json)."""

    def __init__(self, enabled: bool, label: str, total: int) -> None:
        self.enabled, self.label, self.total = enabled, label, total
        self._progress = None

    def __enter__(self) -> _Bar:
        if not self.enabled:
            return _Bar(None, None)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        self._progress.start()
        return _Bar(self._progress, self._progress.add_task(self.label, total=self.total))

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
