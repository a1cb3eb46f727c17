"""Tool retrieval on Seal-Tools' 4,076-tool catalogue: recall@k of the gold tools, index build time, query latency.

Recall@k: the fraction of a query's gold tools (the ``api`` names in ``calling``) among the top k, averaged over
queries; ``all@k``: the fraction of queries with every gold tool in the top k. Data: the eval data folder
(`evals.core.evaldata_dir`), ``seal_tools/tool.jsonl`` and ``<split>.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.core import data_file
from f1.errors import ConfigError, ToolSpecError
from f1.tools.spec import ToolSpec

METHODS = ("bm25", "embedding", "hybrid")
KS = (5, 10, 20)
GOAL_RECALL_AT_10 = 0.95


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--split", choices=("dev", "test_in_domain"), default="dev", help="query set (default dev)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N queries")
    parser.add_argument(
        "--method", choices=METHODS, action="append", help="method to measure (repeatable; default all three)"
    )
    parser.add_argument(
        "--cold", action="store_true", help="build the embedding index in an empty cache (re-embeds every tool)"
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build each method's index over the catalogue, then search every query."""
    from f1.planner import ToolRetriever, clear_memory, default_encoder

    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit must be at least 1, not {args.limit}")
    data = seal_dir()
    specs, invalid, duplicates = load_catalogue(data / "tool.jsonl")
    queries = load_queries(data_file("seal_tools", f"{args.split}.jsonl"))[: args.limit]
    methods = args.method or list(METHODS)
    names = {spec.name for spec in specs}
    result: dict[str, Any] = {
        "split": args.split,
        "queries": len(queries),
        "tools": len(specs),
        "invalid_specs_skipped": len(invalid),
        "duplicate_names": len(duplicates),
        "gold_not_in_catalogue": sum(len(gold - names) for _, gold in queries),
    }
    if any(method != "bm25" for method in methods):
        started = time.perf_counter()
        default_encoder()
        result["model_load_s"] = time.perf_counter() - started
        result.update(_build_times(specs, cold=args.cold, clear_memory=clear_memory))
    rows: list[dict[str, Any]] = []
    for method in methods:
        started = time.perf_counter()
        retriever = ToolRetriever(specs, method=method, persist=True)
        result[f"{method}_build_s"] = time.perf_counter() - started
        recall, complete, latencies = _evaluate(retriever, queries)
        rows.extend({"method": method, "k": k, "recall": recall[k], "all_gold": complete[k]} for k in KS)
        result[f"{method}_ms_per_query"] = 1000 * statistics.fmean(latencies)
        result[f"{method}_p95_ms"] = 1000 * sorted(latencies)[int(0.95 * (len(latencies) - 1))]
    result["table"] = rows
    best = max((row for row in rows if row["k"] == 10), key=lambda row: row["recall"])
    result["best_method"] = best["method"]
    result["goal_recall@10"] = GOAL_RECALL_AT_10
    result["goal_met"] = best["recall"] >= GOAL_RECALL_AT_10
    return result


def seal_dir() -> Path:
    """Seal-Tools' folder in the eval data (`evals.core.evaldata_dir`); `EvalError` when its catalogue is missing."""
    return data_file("seal_tools", "tool.jsonl").parent


def load_catalogue(path: Path) -> tuple[list[ToolSpec], list[str], list[str]]:
    """The catalogue's specs (first of each name), the entries `ToolSpec` rejects, and the repeated names."""
    specs: dict[str, ToolSpec] = {}
    invalid: list[str] = []
    duplicates: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            spec = ToolSpec.from_seal(json.loads(line), source=f"{path}:{number}")
        except ToolSpecError as exc:
            invalid.append(str(exc))
            continue
        if spec.name in specs:
            duplicates.append(spec.name)
        else:
            specs[spec.name] = spec
    return list(specs.values()), invalid, duplicates


def load_queries(path: Path) -> list[tuple[str, set[str]]]:
    """(query, gold tool names) per line of a Seal-Tools split."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["query"], {call["api"] for call in row["calling"]}) for row in rows]


def _evaluate(
    retriever: Any, queries: list[tuple[str, set[str]]]
) -> tuple[dict[int, float], dict[int, float], list[float]]:
    """Mean recall@k and all-gold@k per k, and each query's search time in seconds."""
    recall = {k: 0.0 for k in KS}
    complete = {k: 0 for k in KS}
    latencies = []
    for query, gold in queries:
        started = time.perf_counter()
        names = [spec.name for spec in retriever.search(query, max(KS))]
        latencies.append(time.perf_counter() - started)
        for k in KS:
            found = len(gold & set(names[:k]))
            recall[k] += found / len(gold)
            complete[k] += found == len(gold)
    n = len(queries)
    return {k: recall[k] / n for k in KS}, {k: complete[k] / n for k in KS}, latencies


def _build_times(specs: list[ToolSpec], *, cold: bool, clear_memory: Any) -> dict[str, Any]:
    """Embedding-index build: first (cold when asked, else whatever the disk cache holds), from disk, from memory."""
    from f1.planner import ToolRetriever

    def build() -> tuple[float, str]:
        started = time.perf_counter()
        retriever = ToolRetriever(specs, method="embedding", persist=True)
        return time.perf_counter() - started, str(retriever.index_source)

    previous = os.environ.get("F1_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="f1-retrieval-bench-") as empty:
        if cold:
            os.environ["F1_CACHE_DIR"] = empty
        try:
            clear_memory()
            first_s, first_source = build()
            clear_memory()
            disk_s, _ = build()
            memory_s, _ = build()
        finally:
            if cold:
                if previous is None:
                    os.environ.pop("F1_CACHE_DIR", None)
                else:
                    os.environ["F1_CACHE_DIR"] = previous
    return {
        "index_first_build_s": first_s,
        "index_first_build_source": first_source,
        "index_from_disk_s": disk_s,
        "index_from_memory_s": memory_s,
    }
