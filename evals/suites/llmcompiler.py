"""ParallelQA and Movie Recommendation (LLMCompiler, arXiv 2312.04511): latency, not correctness.

Each question needs several independent look-ups on a simulated search tool (`evals.search_sim`, seeded 0.2-1 s a
call). The same model answers twice: through f1 (plan a DAG, run independent calls in parallel, join) and through a
sequential ReAct loop (`evals.react`); the report compares wall times, as LLMCompiler's 1.8x-3.7x speedups do.
Answer accuracy (the gold answer appears in the reply, case-insensitive) is shown for information only: the pages
are synthetic.

The oracle replays the ideal plan: ParallelQA's `branch` parallel searches (queries derived from the question; the
data names no entities), Movie's one search per listed movie, executed as a DAG (`run_plan`) and, for the
sequential side, through the ReAct loop with a scripted model, so only tool latency is timed.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from f1.plan import Plan, Step, resolve
from f1.planner.backends.scripted import ScriptedModel
from f1.tools import ToolRegistry
from evals.core import EvalError, Item, ItemResult, Prediction, data_file, fraction
from evals.react import ReactAgent, call_tool, script_for
from evals.search_sim import SimulatedSearch

FILES = {"parallelqa": "parallelqa_dataset.json", "movie": "movie_recommendations_formatted.json"}


async def run_plan(plan: Plan, tools: ToolRegistry) -> dict[int, Any]:
    """Run a plan's steps as soon as their dependencies are done (the oracle's stand-in for f1's scheduler)."""
    results: dict[int, Any] = {}
    done = {step.id: anyio.Event() for step in plan.steps}

    async def run(step: Step) -> None:
        for dependency in step.dependencies:
            await done[dependency].wait()
        results[step.id] = await call_tool(tools[step.tool], resolve(step.args, results))
        done[step.id].set()

    async with anyio.create_task_group() as group:
        for step in plan.steps:
            group.start_soon(run, step)
    return results


def movie_titles(question: str) -> list[str]:
    """The movies a Movie question lists after "similar to" (its first line)."""
    match = re.search(r"similar to (.+)", question.splitlines()[0] if question else "")
    return [title.strip() for title in match.group(1).split(",") if title.strip()] if match else []


class LatencySuite:
    """ParallelQA or Movie. `latency_scale` shrinks the simulated latency (tests use ~0.05)."""

    own_baseline = "the sequential ReAct loop"

    def __init__(self, kind: str, *, data: Path | None = None, latency_scale: float = 1.0, seed: int = 0) -> None:
        if kind not in FILES:
            raise EvalError(f"unknown latency suite {kind!r}; suites: {', '.join(FILES)}")
        self.kind, self.name = kind, kind if data is None else f"{kind}:{data.name}"
        self.path = data if data is not None else data_file("llmcompiler", FILES[kind])
        if not self.path.is_file():
            raise EvalError(f"{kind} data file {self.path} not found")
        if latency_scale < 0:
            raise EvalError(f"--latency-scale must be >= 0, not {latency_scale}")
        self.latency_scale, self.seed = latency_scale, seed

    def items(self, limit: int | None = None) -> list[Item]:
        try:
            records = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise EvalError(f"{self.path}: not JSON: {exc.msg}") from None
        for record in records[:limit]:
            if not {"id", "question", "answer"} <= set(record):
                raise EvalError(f"{self.path}: a record needs id, question and answer (got {sorted(record)})")
        return [Item(id=str(record["id"]), data=record) for record in records[:limit]]

    def registry(self) -> ToolRegistry:
        return ToolRegistry([SimulatedSearch(seed=self.seed, scale=self.latency_scale).tool()])

    def oracle_queries(self, item: Item) -> list[str]:
        question = item.data["question"]
        if self.kind == "movie":
            return [f"movie {title}" for title in movie_titles(question)] or [question]
        width = int(item.data.get("branch") or 1)
        return [f"{question} (fact {index} of {width})" for index in range(1, width + 1)]

    async def oracle(self, item: Item) -> Prediction:
        queries = self.oracle_queries(item)
        plan = Plan(steps=[Step(id=i, tool="search", args={"query": query}) for i, query in enumerate(queries, 1)])
        start = time.perf_counter()
        await run_plan(plan, self.registry())
        dag = time.perf_counter() - start
        answer = str(item.data["answer"])
        script = ScriptedModel(script_for([("search", {"query": query}) for query in queries], answer))
        react = await ReactAgent(script, self.registry()).run(item.data["question"])
        return Prediction(
            plan=plan,
            answer=answer,
            seconds={"f1": dag, "react": react.seconds},
            details={"react_answer": react.answer, "react_calls": len(react.calls)},
        )

    async def predict(self, factory: Any, item: Item, *, constrained: bool) -> Prediction:
        if not constrained:
            raise EvalError(f"{self.name}: the baseline is {self.own_baseline}, always included")
        question = item.data["question"]
        engine = factory.engine(self.registry())
        start = time.perf_counter()
        solution = await engine.asolve(question)
        f1_seconds = time.perf_counter() - start
        react = await ReactAgent(factory.backend, self.registry()).run(question)
        return Prediction(
            plan=getattr(solution, "plan", None),
            answer=getattr(solution, "answer", None),
            seconds={"f1": f1_seconds, "react": react.seconds},
            details={"react_answer": react.answer, "react_calls": len(react.calls)},
            error=None if react.answer is not None else "the ReAct loop did not answer",
        )

    def score(self, item: Item, prediction: Prediction) -> dict[str, Any]:
        gold = str(item.data["answer"]).strip().lower()
        f1_s, react_s = prediction.seconds.get("f1"), prediction.seconds.get("react")
        timed = f1_s is not None and react_s is not None
        return {
            "valid": timed,
            "format_valid": prediction.format_valid,
            "f1_s": f1_s,
            "react_s": react_s,
            "speedup": react_s / f1_s if timed and f1_s else None,
            "f1_correct": _contains(prediction.answer, gold),
            "react_correct": _contains(prediction.details.get("react_answer"), gold),
            "react_calls": prediction.details.get("react_calls", 0),
            "width": len(prediction.plan.steps) if prediction.plan else 0,
        }

    def report_extras(self, runs: dict[str, Sequence[ItemResult]]) -> dict[str, Any]:
        """Per-item wall times, for the latency plot."""
        return {
            "per_item_seconds": {
                name: {side: [r.scores[f"{side}_s"] for r in results if r.scores["valid"]] for side in ("f1", "react")}
                for name, results in runs.items()
            }
        }

    def summarize(self, results: Sequence[ItemResult]) -> dict[str, float]:
        timed = [r.scores for r in results if r.scores["valid"]]
        if not timed:
            return {"timed_items": 0.0}
        f1_total, react_total = sum(s["f1_s"] for s in timed), sum(s["react_s"] for s in timed)
        return {
            "timed_items": float(len(timed)),
            "f1_mean_s": f1_total / len(timed),
            "react_mean_s": react_total / len(timed),
            "speedup": react_total / f1_total if f1_total else 0.0,
            "speedup_median": statistics.median(s["speedup"] for s in timed if s["speedup"] is not None),
            "mean_plan_width": statistics.fmean(s["width"] for s in timed),
            "mean_react_calls": statistics.fmean(s["react_calls"] for s in timed),
            "f1_answer_accuracy": fraction(sum(s["f1_correct"] for s in timed), len(timed)),
            "react_answer_accuracy": fraction(sum(s["react_correct"] for s in timed), len(timed)),
        }


def _contains(answer: Any, gold: str) -> bool:
    return isinstance(answer, str) and gold in answer.lower()
