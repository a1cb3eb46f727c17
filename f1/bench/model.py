"""Numeric paths side by side: prefill and decode tok/s, greedy plan agreement with bf16, cold-start latency.

Every path this machine can run (`f1.planner.numeric.available_paths`) is loaded in this one process and measured on
the same planner prompt (the README task over the built-in tools): prefill tok/s over the whole prompt, decode tok/s
over 48 greedy tokens. Each path then plans `AGREEMENT_TASKS` greedily under the plan grammar; plans are compared
with the reference path's (`torch-cpu-bf16`). Last, the README task runs in fresh `f1 run --json` processes on the
default path, with an empty and with a warm disk prefix cache: seconds to the first plan token and to the first tool.
Targets: prefill >= 5x and decode >= 1.5x the bf16 reference (a CPU without native bf16); the first plan token,
counted from the model's load, with the disk cache <= 15% of without (the fraction from the process start is shown
beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

README_TASK = "Convert 26.2 miles to kilometers and 100 fahrenheit to celsius."
REFERENCE = "torch-cpu-bf16"
DECODE_TOKENS = 48
TARGETS = {"prefill_speedup": 5.0, "decode_speedup": 1.5, "cached_first_token_fraction": 0.15}
AGREEMENT_TASKS = [
    README_TASK,
    "What is 17% of 2,340?",
    "What time is it in Tokyo?",
    "What time is it in Paris and in New York?",
    "Convert 5 pounds to kilograms.",
    "How many days are there between 2024-01-15 and 2024-03-01?",
    "Which day of the week was 1999-12-31?",
    "Add 90 minutes to 2025-06-01T10:00.",
    "What is (3 + 4) * 5?",
    "Convert 3 liters to gallons and 10 feet to meters.",
    "If it is 09:30 in London, what time is it in Sydney?",
    "Fetch https://example.com/data.json",
    "What is the square root of 1764, and what is 2 to the power of 10?",
    "Convert 60 miles per hour to kilometers per hour.",
    "What is the date 45 days after 2024-02-10?",
    "Hello! How are you today?",
    "What is the time in Berlin, and how many hours is that from UTC?",
    "Compute 1234 * 5678, then add 100 to the result.",
    "What weekday is 2030-01-01, and how many days from 2026-12-01 until then?",
    "Convert 100 kilometers to miles, and 0 celsius to kelvin.",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="default", help="planner model (default: the shipped default)")
    parser.add_argument("--paths", nargs="*", help="numeric paths to measure (default: all this machine has)")
    parser.add_argument("--tasks", type=int, default=len(AGREEMENT_TASKS), help="plans compared per path")
    parser.add_argument("--no-cold", action="store_true", help="skip the fresh-process runs")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from f1.planner import available_paths, choose_path

    paths = args.paths or available_paths()
    if REFERENCE not in paths:
        paths.append(REFERENCE)
    rows = [_measure(args.model, path, AGREEMENT_TASKS[: args.tasks]) for path in paths]
    reference = next(row for row in rows if row["path"] == REFERENCE)
    plans = {row["path"]: row.pop("plans") for row in rows}
    result: dict[str, Any] = {"table": rows}
    for row in rows:
        row["prefill_speedup"] = round(row["prefill_tok_s"] / reference["prefill_tok_s"], 2)
        row["decode_speedup"] = round(row["decode_tok_s"] / reference["decode_tok_s"], 2)
        same = [a == b for a, b in zip(plans[row["path"]], plans[REFERENCE], strict=True)]
        row["plans_equal_reference"] = f"{sum(same)}/{len(same)}"
        result[f"differences_{row['path']}"] = [
            {"task": task, "plan": mine, "reference": theirs}
            for task, mine, theirs, equal in zip(AGREEMENT_TASKS, plans[row["path"]], plans[REFERENCE], same)
            if not equal
        ] or None
    default = choose_path(known_model=True)
    result["default_path"] = default
    chosen = next(row for row in rows if row["path"] == default)
    result["prefill_speedup"], result["decode_speedup"] = chosen["prefill_speedup"], chosen["decode_speedup"]
    if not args.no_cold:
        result.update(_cold_starts(args.model))
    result["targets"] = TARGETS
    return result


def _measure(model: str, path: str, tasks: list[str]) -> dict[str, Any]:
    """Load `model` on `path`; time a full prefill and a greedy decode; plan every task greedily."""
    from f1.decoding.generate import PrefixCache, generate
    from f1.decoding.grammar import plan_grammar
    from f1.planner import ChatMessage, load_model, plan_messages, prompt_ids
    from f1.tools.catalog import load_tools, specs_of

    loaded = load_model(model, path)
    tools = specs_of(load_tools("builtin"))
    lm, tokenizer = loaded.model, loaded.tokenizer
    ids = prompt_ids(tokenizer, plan_messages([ChatMessage(role="user", content=README_TASK)], tools))
    cache = lm.new_cache()
    started = time.perf_counter()
    logits = lm.forward(ids, cache, 1)
    prefill = time.perf_counter() - started
    token = int(logits[-1].argmax())
    started = time.perf_counter()
    for _ in range(DECODE_TOKENS):
        token = int(lm.forward([token], cache, 1)[-1].argmax())
    decode = time.perf_counter() - started
    grammar, prefixes, plans = plan_grammar(tools), PrefixCache(), []
    started = time.perf_counter()
    for task in tasks:
        task_ids = prompt_ids(tokenizer, plan_messages([ChatMessage(role="user", content=task)], tools))
        deltas = generate(lm, tokenizer, task_ids, grammar=grammar, max_new_tokens=256, prefix_cache=prefixes)
        plans.append("".join(delta.text for delta in deltas))
    return {
        "path": path,
        "load_s": round(loaded.load_seconds, 2),
        "prompt_tokens": len(ids),
        "prefill_tok_s": round(len(ids) / prefill, 1),
        "decode_tok_s": round(DECODE_TOKENS / decode, 1),
        "plan_s_per_task": round((time.perf_counter() - started) / max(len(tasks), 1), 2),
        "plans": plans,
    }


def _cold_starts(model: str) -> dict[str, Any]:
    """The README task in fresh processes on the default path: without, then with, the disk prefix cache."""
    with tempfile.TemporaryDirectory(prefix="f1-prefix-") as empty:
        runs = [_fresh_process(model, {"F1_PREFIX_CACHE_DIR": empty}) for _ in range(2)]
    out = {
        f"{label}.{key}": value
        for label, run in zip(("fresh_no_disk_cache", "fresh_disk_cache"), runs, strict=True)
        for key, value in run.items()
    }
    after_load = [run["first_plan_token_s"] - run["model_loaded_s"] for run in runs]
    out["cached_first_token_fraction"] = round(after_load[1] / after_load[0], 3)  # of the time after the model loads
    out["cached_first_token_fraction_from_start"] = round(runs[1]["first_plan_token_s"] / runs[0]["first_plan_token_s"], 3)
    return out


def _fresh_process(model: str, env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", f"from f1.bench.model import solve_timed; solve_timed({model!r})"],
        capture_output=True, text=True, env={**os.environ, **env},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"fresh-process run failed: {done.stderr[-2000:]}")
    return {"wall_s": round(time.perf_counter() - started, 2), **json.loads(done.stdout.strip().splitlines()[-1])}


def solve_timed(model: str) -> None:
    """In a fresh process: solve the README task and print one JSON line of seconds since this call for the model
    loaded, the first plan token and the first tool start (the child of `_fresh_process`)."""
    import anyio

    from f1.engine import Engine
    from f1.planner import LocalModel
    from f1.tools.catalog import load_tools

    started = time.perf_counter()
    local = LocalModel(model)
    marks: dict[str, float] = {}

    class Timed:
        name = local.name

        async def stream(self, *args: Any, **kwargs: Any) -> Any:
            async for chunk in local.stream(*args, **kwargs):
                marks.setdefault("first_plan_token_s", time.perf_counter() - started)
                yield chunk

    def on_step(record: Any) -> None:
        if record.started_at is not None:
            marks.setdefault("first_tool_start_s", time.perf_counter() - started)

    anyio.run(local.loaded)
    marks["model_loaded_s"] = time.perf_counter() - started
    solution = Engine(load_tools("builtin"), model=Timed()).solve(README_TASK, on_step=on_step)
    marks["solved_s"] = time.perf_counter() - started
    result = {key: round(value, 2) for key, value in marks.items()}
    print(json.dumps({"path": local.numeric, **result, "answer": solution.answer[:100]}))
