"""Each eval suite end to end on a few items with the real default model (marked `model`: CI runs them).

They check the harness, not the model: the engine's output is always well-formed, every report file is written,
and the metrics each suite promises are there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evals.core import evaldata_dir
from evals.run import evaluate

pytestmark = pytest.mark.model


def run(suite: str, out: Path, **kwargs: Any) -> dict[str, Any]:
    report = evaluate(suite, out=out, progress=False, **kwargs)
    assert {Path(path).name for path in report["files"]} >= {"report.json", "report.md", "metrics.png"}
    assert all(Path(path).stat().st_size > 0 for path in report["files"])
    return report["metrics"]


def needs_evaldata(*parts: str) -> None:
    if not evaldata_dir().joinpath(*parts).exists():
        pytest.skip(f"eval data {'/'.join(parts)} is not beside the repository")


def test_bfcl_single_turn_engine_and_baseline(tmp_path: Path) -> None:
    metrics = run("bfcl:simple_python", tmp_path, limit=3, baseline=True)
    assert set(metrics) == {"engine", "baseline"}
    assert metrics["engine"]["format_validity"] == 1.0
    assert 0.0 <= metrics["baseline"]["accuracy"] <= 1.0


def test_bfcl_multi_turn(tmp_path: Path) -> None:
    metrics = run("bfcl:multi_turn_base", tmp_path, limit=1)
    assert metrics["engine"]["format_validity"] == 1.0 and "accuracy" in metrics["engine"]


def test_seal_tools_with_retrieval_from_the_whole_catalogue(tmp_path: Path) -> None:
    needs_evaldata("seal_tools")
    metrics = run("seal-tools:test_in_domain", tmp_path, limit=3)["engine"]
    assert metrics["format_validity"] == 1.0
    assert {"tool_f1", "param_f1", "retrieval_recall"} <= set(metrics)


def test_nestful(tmp_path: Path) -> None:
    needs_evaldata("nestful")
    metrics = run("nestful", tmp_path, limit=3)["engine"]
    assert metrics["format_validity"] == 1.0
    assert {"function_f1", "argument_f1", "full_sequence_accuracy", "dependency_accuracy"} <= set(metrics)


def test_parallelqa_latency(tmp_path: Path) -> None:
    needs_evaldata("llmcompiler")
    metrics = run("parallelqa", tmp_path, limit=3, suite_options={"latency_scale": 0.2})["engine"]
    assert metrics["timed_items"] >= 1 and metrics["f1_mean_s"] > 0 and metrics["react_mean_s"] > 0
