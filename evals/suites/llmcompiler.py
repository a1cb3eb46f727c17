"""ParallelQA and Movie Recommendation (LLMCompiler, arXiv 2312.04511): latency against a ReAct loop, same model.

Each question needs several independent look-ups on a search tool, simulated offline (`evals.search_sim`: seeded
0.2-1 s a call, standing in for LLMCompiler's Wikipedia search). The same model answers twice, each side with its
own instance of the tool: through f1 (`Engine.asolve`: the planner streams a DAG, the scheduler runs independent
calls in parallel, the joiner answers) and through a ReAct loop in the model's native tool-call format
(`evals.react`). The report compares wall times (LLMCompiler reports 1.8x-3.7x lower latency than ReAct), answer
accuracy against the gold answers (the gold answer appears in the reply, case-insensitive; the pages are
synthetic, so both sides answer from what the model knows), tokens and searches on each side. Before the first
item both sides run once untimed, so neither pays for loading the model or filling its caches.

The oracle runs the same two sides with scripted models: f1 plans ParallelQA's `branch` searches (queries derived
from the question; the data names no entities) or one search per listed movie and answers with the gold answer;
ReAct makes the same searches one per turn. Only tool latency and f1's own scheduling are then timed.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from f1.plan import Plan, Step
from f1.planner.backends.scripted import ScriptedModel
from f1.tools import ToolRegistry
from evals.core import EvalError, Item, ItemResult, Prediction, as_fractions, data_file, share, window
from evals.engine_adapter import EngineFactory
from evals.react import PromptedChat, ReactAgent, ReactRun, ToolChat, chat_for, native_call
from evals.search_sim import SimulatedSearch

FILES = {"parallelqa": "parallelqa_dataset.json", "movie": "movie_recommendations_formatted.json"}


def movie_titles(question: str) -> list[str]:
    """The movies a Movie question lists after "similar to" (its first line)."""
    match = re.search(r"similar to (.+)", question.splitlines()[0] if question else "")
    return [title.strip() for title in match.group(1).split(",") if title.strip()] if match else []


class LatencySuite:
    """ParallelQA or Movie. `latency_scale` shrinks the simulated latency (tests use ~0.05)."""

    own_baseline = "a ReAct loop on the same model"
    main_metric = "speedup"

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
        self._warm = False

    def items(self, limit: int | None = None, offset: int = 0) -> list[Item]:
        try:
            records = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise EvalError(f"{self.path}: not JSON: {exc.msg}") from None
        for record in records:
            if not {"id", "question", "answer"} <= set(record):
                raise EvalError(f"{self.path}: a record needs id, question and answer (got {sorted(record)})")
        return [Item(id=str(record["id"]), data=record) for record in window(records, limit, offset)]

    def search(self) -> SimulatedSearch:
        """A fresh search tool: each side of each item gets its own, so its calls count that side's searches."""
        return SimulatedSearch(seed=self.seed, scale=self.latency_scale)

    def oracle_queries(self, item: Item) -> list[str]:
        question = item.data["question"]
        if self.kind == "movie":
            return [f"movie {title}" for title in movie_titles(question)] or [question]
        width = int(item.data.get("branch") or 1)
        return [f"{question} (fact {index} of {width})" for index in range(1, width + 1)]

    async def oracle(self, item: Item) -> Prediction:
        queries = self.oracle_queries(item)
        answer = str(item.data["answer"])
        plan = Plan(steps=[Step(id=i, tool="search", args={"query": query}) for i, query in enumerate(queries, 1)])
        planner = ScriptedModel([plan.to_json(), json.dumps({"action": "finish", "answer": answer})])
        react = PromptedChat(ScriptedModel([*(native_call("search", {"query": query}) for query in queries), answer]))
        return await self._compare(EngineFactory(planner).engine, react, item)

    async def predict(self, factory: Any, item: Item, *, constrained: bool) -> Prediction:
        if not constrained:
            raise EvalError(f"{self.name}: the baseline is {self.own_baseline}, always included")
        react = chat_for(factory.model)
        if not self._warm:  # untimed: loads the model, compiles the plan grammar, fills the prefix caches
            await self._compare(factory.engine, react, item)
            self._warm = True
        return await self._compare(factory.engine, react, item)

    async def _compare(self, make_engine: Any, react_chat: ToolChat, item: Item) -> Prediction:
        """Time f1 (an Engine from `make_engine(tools)`) and then the ReAct loop on the question, each with its own
        search tool."""
        question = item.data["question"]
        f1_search, react_search = self.search(), self.search()
        engine = make_engine([f1_search.tool()])
        started = time.perf_counter()
        solution = await engine.asolve(question)
        f1_seconds = time.perf_counter() - started
        react: ReactRun = await ReactAgent(react_chat, ToolRegistry([react_search.tool()])).run(question)
        return Prediction(
            plan=solution.plan,
            answer=solution.answer,
            seconds={"f1": f1_seconds, "react": react.seconds},
            details={
                "react_answer": react.answer,
                "react_stop": react.stop,
                "f1_searches": len(f1_search.calls),
                "react_searches": len(react_search.calls),
                "f1_tokens": solution.usage.total_tokens,
                "react_tokens": react.tokens,
            },
        )

    def score(self, item: Item, prediction: Prediction) -> dict[str, Any]:
        gold = str(item.data["answer"]).strip().lower()
        f1_s, react_s = prediction.seconds.get("f1"), prediction.seconds.get("react")
        timed = f1_s is not None and react_s is not None
        details = prediction.details
        return {
            "valid": timed,
            "format_valid": prediction.format_valid,
            "f1_s": f1_s,
            "react_s": react_s,
            "speedup": react_s / f1_s if timed and f1_s else None,
            "f1_correct": _contains(prediction.answer, gold),
            "react_correct": _contains(details.get("react_answer"), gold),
            "f1_searches": details.get("f1_searches", 0),
            "react_searches": details.get("react_searches", 0),
            "f1_tokens": details.get("f1_tokens", 0),
            "react_tokens": details.get("react_tokens", 0),
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

    def proportions(self, results: Sequence[ItemResult]) -> dict[str, tuple[int, int]]:
        """Answer accuracy on each side, over every item (an item that failed counts as wrong)."""
        return {"f1_answer_accuracy": share(results, "f1_correct"), "react_answer_accuracy": share(results, "react_correct")}

    def summarize(self, results: Sequence[ItemResult]) -> dict[str, float]:
        timed = [r.scores for r in results if r.scores["valid"]]
        accuracy = as_fractions(self.proportions(results))
        if not timed:
            return {"timed_items": 0.0, **accuracy}
        f1_total, react_total = sum(s["f1_s"] for s in timed), sum(s["react_s"] for s in timed)
        return {
            "timed_items": float(len(timed)),
            "f1_mean_s": f1_total / len(timed),
            "react_mean_s": react_total / len(timed),
            "speedup": react_total / f1_total if f1_total else 0.0,
            "speedup_median": statistics.median(s["speedup"] for s in timed if s["speedup"] is not None),
            **accuracy,
            "mean_f1_searches": statistics.fmean(s["f1_searches"] for s in timed),
            "mean_react_searches": statistics.fmean(s["react_searches"] for s in timed),
            "mean_f1_tokens": statistics.fmean(s["f1_tokens"] for s in timed),
            "mean_react_tokens": statistics.fmean(s["react_tokens"] for s in timed),
            "mean_plan_width": statistics.fmean(s["width"] for s in timed),
        }


def _contains(answer: Any, gold: str) -> bool:
    return isinstance(answer, str) and gold in answer.lower()
