"""The harness: resume from results.jsonl, torn lines, folder/suite checks, data location, reports and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from evals.core import EvalError, Item, ItemResult, Prediction, as_fractions, evaldata_dir, share, window
from evals.report import build_report, render_markdown
from evals.runner import check_run, load_results, results_path, run_predictor
from evals.suites import load_suite
from f1.cli import main


class _Suite:
    name = "toy"
    main_metric = "accuracy"

    def __init__(self, n: int) -> None:
        self._items = [Item(id=str(i), data={"x": i}) for i in range(n)]

    def items(self, limit=None, offset=0):
        return window(self._items, limit, offset)

    def score(self, item, prediction):
        return {"valid": prediction.answer == str(item.data["x"])}

    def proportions(self, results):
        return {"accuracy": share(results, "valid")}

    def summarize(self, results):
        return as_fractions(self.proportions(results))


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
    report = build_report(suite, {"counting": results})
    assert report["failure_counts"] == {"counting": 1} and "RuntimeError: boom" in render_markdown(report)
    assert report["proportions"] == {"counting": {"accuracy": (2, 3)}} and report["main_metric"] == "accuracy"
    assert "| accuracy | 0.667 [0.208, 0.939] |" in render_markdown(report)  # the Wilson interval of 2 of 3


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
    assert report["metrics"]["oracle"]["percentage_times_full_score"] == 1.0
    assert {Path(f).name for f in report["files"]} >= {"report.json", "report.md", "metrics.png"}
    assert main(["eval", "nestful", "--oracle", "--baseline", "--out", str(tmp_path)]) == 2
    assert "does not combine" in capsys.readouterr().err
    assert main(["eval", "movie", "--oracle", "--out", str(tmp_path)]) == 2  # folder holds nestful


def test_offset_skips_items_and_limit_counts_after_it(tmp_path):
    suite = load_suite("nestful")
    assert [item.id for item in suite.items(2, offset=3)] == [item.id for item in suite.items()[3:5]]
    report = main(["eval", "nestful", "--oracle", "--offset", "160", "--out", str(tmp_path), "--json"])
    assert report == 0 and json.loads((tmp_path / "report.json").read_text())["items"] == {"oracle": 9}  # 169 items
    assert main(["eval", "nestful", "--oracle", "--offset", "-1", "--out", str(tmp_path)]) == 2


def test_wilson_interval():
    from evals.stats import wilson_interval

    assert wilson_interval(30, 50) == pytest.approx((0.4618, 0.7239), abs=1e-4)  # the textbook values
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def _run_folder(root: Path, name: str, suite: str, metrics: dict, proportions: dict, items: dict) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"suite": suite}))
    report = {"suite": suite, "main_metric": "accuracy", "items": items, "metrics": metrics, "proportions": proportions,
              "failures": {}, "failure_counts": {}}  # fmt: skip
    (folder / "report.json").write_text(json.dumps(report))
    return folder


def test_eval_report_rewrites_only_the_generated_part(tmp_path, capsys):
    runs = tmp_path / "runs"
    _run_folder(runs, "simple", "bfcl:simple_python", {"engine": {"accuracy": 0.6}, "baseline": {"accuracy": 0.52}},
                {"engine": {"accuracy": [30, 50]}, "baseline": {"accuracy": [26, 50]}}, {"engine": 50, "baseline": 50})  # fmt: skip
    _run_folder(runs, "nested/irr", "bfcl:irrelevance", {"oracle": {"accuracy": 1.0, "f1": 0.25}},
                {"oracle": {"accuracy": [5, 5]}}, {"oracle": 5})  # fmt: skip
    doc = tmp_path / "results.md"
    doc.write_text("# Results\n\nProse before.\n")
    assert main(["eval", "report", "--runs", str(runs), "--doc", str(doc)]) == 0
    first = doc.read_text()
    assert first.startswith("# Results\n\nProse before.\n\n<!-- generated by f1 eval report")
    assert "| bfcl:simple_python | `simple` | engine 50, baseline 50 | accuracy | 0.600 [0.462, 0.724] | 0.520 [0.385, 0.652] |  |" in first
    assert "| bfcl:irrelevance | `irr` | oracle 5 | accuracy |  |  | 1.000 [0.566, 1.000] |" in first
    assert "| f1 | 0.250 |" in first  # not a share of items: no interval
    doc.write_text(first.replace("Prose before.", "Prose edited.") + "\nProse after.\n")
    _run_folder(runs, "z-new", "nestful", {"engine": {"accuracy": 0.5}}, {"engine": {"accuracy": [1, 2]}}, {"engine": 2})
    assert main(["eval", "report", "--runs", str(runs), "--doc", str(doc)]) == 0
    second = doc.read_text()
    assert "Prose edited." in second and second.endswith("\nProse after.\n") and second.count("<!-- generated by f1 eval report") == 1
    assert "| nestful | `z-new` | engine 2 | accuracy | 0.500 [0.095, 0.905] |" in second
    (runs / "broken").mkdir()
    (runs / "broken" / "run.json").write_text("{}")
    assert main(["eval", "report", "--runs", str(runs), "--doc", str(doc)]) == 2
    assert "has no report.json" in capsys.readouterr().err
