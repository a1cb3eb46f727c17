"""`evaluate`: load a suite, run the chosen predictors with resume, summarize, write the reports."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio

from evals.baselines import baseline_styles
from evals.core import EvalError, Predictor, Suite
from evals.engine_adapter import EngineFactory
from evals.predictors import EnginePredictor, OraclePredictor, baseline_predictor
from evals.report import build_report, write_report
from evals.runner import check_run, run_predictor
from evals.suites import load_suite


def default_out(suite: str) -> Path:
    """Where a suite's results go without --out: ./f1-eval/<suite>, so rerunning the command resumes."""
    return Path("f1-eval") / re.sub(r"[^A-Za-z0-9_.-]+", "_", suite)


def predictors_for(
    suite: Suite, *, oracle: bool, baseline: bool | str | None, factory: EngineFactory | None
) -> list[Predictor]:
    """The oracle alone, or the engine and the plain baselines `baseline` asks for (`baseline_styles`)."""
    styles = baseline_styles(baseline)
    if oracle:
        if styles:
            raise EvalError("--oracle replays the ground truth; it does not combine with --baseline")
        return [OraclePredictor(suite)]
    if factory is None:
        raise EvalError("running the engine needs a model")
    own = getattr(suite, "own_baseline", None)
    if styles and own:
        raise EvalError(f"{suite.name} always compares with {own}; --baseline does not apply")
    return [EnginePredictor(suite, factory), *(baseline_predictor(suite, factory, style) for style in styles)]


async def aevaluate(
    suite_name: str,
    *,
    limit: int | None = None,
    offset: int = 0,
    model: Any = "default",
    data: Path | None = None,
    out: Path | None = None,
    baseline: bool | str | None = False,
    oracle: bool = False,
    progress: bool = True,
    suite_options: dict[str, Any] | None = None,
    engine_config: Any = None,
) -> dict[str, Any]:
    """Run a suite and write its reports; returns the report (also in `out`/report.json). `baseline`: True or
    "both" adds both plain baselines next to the engine, "native" or "json" one of them (`evals.baselines`)."""
    if limit is not None and limit < 1:
        raise EvalError(f"--limit must be at least 1, not {limit}")
    if offset < 0:
        raise EvalError(f"--offset must be at least 0, not {offset}")
    baseline_styles(baseline)  # a bad choice fails before anything loads
    suite = load_suite(suite_name, data=data, **(suite_options or {}))
    out = out or default_out(suite_name)
    check_run(out, suite.name)
    items = suite.items(limit, offset)
    if not items:
        raise EvalError(f"{suite.name}: no items")
    tools_in_prompt = getattr(suite, "tools_in_prompt", lambda items: None)(items)
    factory = None if oracle else EngineFactory(model, engine_config, tools_in_prompt=tools_in_prompt)
    predictors = predictors_for(suite, oracle=oracle, baseline=baseline, factory=factory)
    runs = {}
    async with AsyncExitStack() as stack:
        if factory is not None:  # the model loads once for every predictor, and closes what it holds at the end
            await stack.enter_async_context(factory)
        for predictor in predictors:
            runs[predictor.name] = await run_predictor(suite, predictor, items, out, progress=progress)
    report = build_report(suite, runs)
    report.update(getattr(suite, "report_extras", lambda runs: {})(runs))
    report["files"] = [str(path) for path in write_report(out, report)]
    return report


def evaluate(suite_name: str, **kwargs: Any) -> dict[str, Any]:
    """Synchronous `aevaluate`."""
    return anyio.run(lambda: aevaluate(suite_name, **kwargs))
