"""The harness: resume from results.jsonl, torn lines, folder/suite checks, data location, reports and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from evals.core import EvalError, Item, ItemResult, Prediction, evaldata_dir
from evals.report import build_report, render_markdown
from evals.runner import check_run, load_results, results_path, run_predictor
from evals.suites import load_suite
from f1.cli import main


class _Suite:
    name = "toy"

    def __init__(self, n: int) -> None:
        self._items = [Item(id=str(i), data={"x": i}) for i in range(n)]

    def items(self, limit=None):
        return self._items[:limit]

    def score(self, item, prediction):
        return {"valid": prediction.answer == str(item.data["x"])}

    def summarize(self, results):
        return {"accuracy": sum(r.scores["valid"] for r in results) / len(results)}


class _Counting:
    name = "counting"

    def __init__(self, fail_on: str | None = None) -> None:
        self.seen: list[str] = []
        self.fail_on = fail_on

    async def predict(self, item):
        self.seen.append(item.id)
        if item.id == self.fail_on:
            raise RuntimeError("boom")
        return Prediction(answer=str(item.data["x"]))


def test_resume_skips_done_items(tmp_path):
    suite, first = _Suite(5), _Counting()
    anyio.run(lambda: run_predictor(suite, first, suite.items(3), tmp_path, progress=False))
    second = _Counting()
    results = anyio.run(lambda: run_predictor(suite, second, suite.items(), tmp_path, progress=False))
    assert first.seen == ["0", "1", "2"] and second.seen == ["3", "4"]
    assert [r.id for r in results] == ["0", "1", "2", "3", "4"] and all(r.scores["valid"] for r in results)
    assert len(results_path(tmp_path, "counting").read_text().splitlines()) == 5


def test_a_torn_last_line_is_redone(tmp_path):
    path = results_path(tmp_path, "counting")
    good = ItemResult(id="0", prediction=Prediction(answer="0"), scores={"valid": True}).model_dump_json()
    path.write_text(good + "\n" + good[:20])
    assert list(load_results(path)) == ["0"]
    assert path.read_text() == good + "\n"
    path.write_text(good[:20] + "\n" + good + "\n")
    with pytest.raises(EvalError, match="not a result line"):
        load_results(path)


def test_a_failing_item_is_recorded_not_fatal(tmp_path):
    suite = _Suite(3)
    results = anyio.run(lambda: run_predictor(suite, _Counting(fail_on="1"), suite.items(), tmp_path, progress=False))
    assert [r.scores["valid"] for r in results] == [True, False, True]
    assert results[1].prediction.error == "RuntimeError: boom" and not results[1].prediction.format_valid
    report = build_report("toy", {"counting": suite.summarize(results)}, {"counting": results})
    assert report["failure_counts"] == {"counting": 1} and "RuntimeError: boom" in render_markdown(report)


def test_one_folder_holds_one_suite(tmp_path):
    check_run(tmp_path, "nestful")
    check_run(tmp_path, "nestful")
    with pytest.raises(EvalError, match="holds results of 'nestful'"):
        check_run(tmp_path, "movie")


def test_data_location(monkeypatch, tmp_path):
    monkeypatch.setenv("F1_EVALDATA", str(tmp_path / "missing"))
    with pytest.raises(EvalError, match="F1_EVALDATA"):
        evaldata_dir()
    monkeypatch.setenv("F1_EVALDATA", str(tmp_path))
    assert evaldata_dir() == tmp_path
    with pytest.raises(EvalError, match="not found"):
        load_suite("nestful")


def test_unknown_suites_and_categories():
    with pytest.raises(EvalError, match="unknown suite"):
        load_suite("gsm8k")
    with pytest.raises(EvalError, match="unknown BFCL category"):
        load_suite("bfcl:nope")


def test_cli_json_and_errors(tmp_path, capsys):
    assert main(["eval", "nestful", "--oracle", "--limit", "3", "--out", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metrics"]["oracle"]["full_sequence_accuracy"] == 1.0
    assert {Path(f).name for f in report["files"]} >= {"report.json", "report.md", "metrics.png"}
    assert main(["eval", "nestful", "--oracle", "--baseline", "--out", str(tmp_path)]) == 2
    assert "does not combine" in capsys.readouterr().err
    assert main(["eval", "movie", "--oracle", "--out", str(tmp_path)]) == 2  # folder holds nestful
