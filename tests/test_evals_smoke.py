"""A real-model smoke test of the harness (slow: loads the default model)."""

from __future__ import annotations

import pytest

from evals.run import evaluate


@pytest.mark.slow
def test_real_model_smoke(tmp_path):
    """The default model through the Engine on 3 BFCL items, engine and baseline (needs f1.engine and the model)."""
    pytest.importorskip("f1.engine")
    report = evaluate("bfcl:simple_python", limit=3, baseline=True, out=tmp_path, progress=False)
    assert report["metrics"]["engine"]["format_validity"] == 1.0
    assert set(report["metrics"]) == {"engine", "baseline"}
