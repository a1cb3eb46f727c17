"""Fast-forward on vs off, on the same constrained plan decoding (default model): forward calls, validity.

Tasks are Seal-Tools multi-call queries, each offered its gold tools plus same-domain distractors (about 8 tools),
with the planner's prompt. Each is decoded three times, greedily: under the plan grammar with fast-forward (forced
tokens appended in the same forward call as the token before them), under the grammar without it, and without a
grammar. The headline, `fast_forward_call_ratio`, divides the forward calls with fast-forward by those without, over
the tasks whose two constrained outputs are the same text (greedy decoding makes them so unless the model prefers
another tokenization of forced text; other tasks are counted in `different_outputs`). Unconstrained decoding is
there for validity only: its outputs differ, so its forward calls are not compared. Targets:
fast_forward_call_ratio <= 0.77 and every constrained plan valid (parse + validate_plan).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from f1.bench.grammar import seal_catalogue
from f1.bench.retrieval import seal_dir
from f1.errors import F1Error
from f1.plan import parse_plan_json, validate_plan
from f1.tools.spec import ToolSpec

TARGETS = {"fast_forward_call_ratio": 0.77, "constrained_valid": 1.0}
MODES = ("fast_forward", "no_fast_forward", "unconstrained")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", type=int, default=5, help="how many Seal-Tools queries (default 5)")
    parser.add_argument("--tools", type=int, default=8, help="tools offered per task (default 8)")
    parser.add_argument("--max-new-tokens", type=int, default=1024, help="as the planner (default 1024)")
    parser.add_argument("--engine", default="llguidance", choices=["llguidance", "xgrammar", "outlines"])
    parser.add_argument("--model", default="default")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from f1.decoding.generate import GenerationStats, generate
    from f1.decoding.grammar import plan_grammar
    from f1.planner import ChatMessage, load_model, plan_messages, prompt_ids

    loaded = load_model(args.model)
    rows = []
    same = {mode: GenerationStats() for mode in MODES[:2]}  # totals over tasks with equal constrained outputs
    valid = dict.fromkeys(MODES, 0)
    speed = {mode: GenerationStats() for mode in MODES}
    for query, tools in seal_tasks(args.tasks, args.tools):
        ids = prompt_ids(loaded.tokenizer, plan_messages([ChatMessage(role="user", content=query)], tools))
        offered = {spec.name: spec for spec in tools}
        grammar = plan_grammar(tools)
        row: dict[str, Any] = {"query": query[:40], "tools": len(tools)}
        texts, stats, ok = {}, {}, {}
        for mode in MODES:
            stats[mode] = GenerationStats()
            deltas = generate(loaded.model, loaded.tokenizer, ids, grammar=None if mode == "unconstrained" else grammar,
                              engine=args.engine, max_new_tokens=args.max_new_tokens, stats=stats[mode],
                              fast_forward=mode == "fast_forward")  # fmt: skip
            texts[mode] = "".join(delta.text for delta in deltas)
            ok[mode] = _valid(texts[mode], offered)
            valid[mode] += ok[mode]
            _add(speed[mode], stats[mode])
        equal = texts["fast_forward"] == texts["no_fast_forward"]
        if equal:
            for mode in same:
                _add(same[mode], stats[mode])
        on, off = stats["fast_forward"], stats["no_fast_forward"]
        rows.append(row | {"ff_calls": on.forward_calls, "no_ff_calls": off.forward_calls, "tokens": on.tokens,
                           "forced": on.forced_tokens, "same_output": equal, "valid": ok["fast_forward"],
                           "unconstrained_valid": ok["unconstrained"]})  # fmt: skip
    on, off = same["fast_forward"], same["no_fast_forward"]
    return {
        "model": loaded.name,
        "engine": args.engine,
        "tasks": len(rows),
        "fast_forward_call_ratio": round(on.forward_calls / off.forward_calls, 3) if off.forward_calls else None,
        "different_outputs": sum(not row["same_output"] for row in rows),
        "forced_fraction": round(on.forced_tokens / on.tokens, 3) if on.tokens else None,
        "fast_forward_tok_s": _rate(speed["fast_forward"]),
        "no_fast_forward_tok_s": _rate(speed["no_fast_forward"]),
        "unconstrained_tok_s": _rate(speed["unconstrained"]),
        "mask_fraction_of_time": round(speed["fast_forward"].mask_seconds / speed["fast_forward"].seconds, 4),
        "constrained_valid": round(valid["fast_forward"] / len(rows), 3),
        "unconstrained_valid": round(valid["unconstrained"] / len(rows), 3),
        "targets": TARGETS,
        "table": rows,
    }


def _valid(text: str, offered: dict[str, ToolSpec]) -> bool:
    try:
        validate_plan(parse_plan_json(text), offered)
    except F1Error:
        return False
    return True


def _rate(stats: Any) -> float:
    return round(stats.tokens / stats.seconds, 2) if stats.seconds else 0.0


def seal_tasks(count: int, tools_per_task: int) -> list[tuple[str, list[ToolSpec]]]:
    """The first `count` multi-call Seal-Tools test queries whose gold tools are valid specs, with distractors."""
    catalogue = {spec.name: spec for spec in seal_catalogue()}
    field_of, members = _fields()
    tasks = []
    for line in (seal_dir() / "test_in_domain.jsonl").read_text().splitlines():
        item = json.loads(line)
        gold = list(dict.fromkeys(call["api"] for call in item["calling"]))
        if len(item["calling"]) < 2 or not all(name in catalogue for name in gold):
            continue
        related = [name for name in members.get(field_of.get(gold[0]), []) if name in catalogue and name not in gold]
        order = list(catalogue)
        start = order.index(gold[0])
        neighbours = [name for name in order[start:] + order[:start] if name not in gold and name not in related]
        names = (gold + related + neighbours)[:tools_per_task]
        tasks.append((item["query"], [catalogue[name] for name in sorted(names)]))
        if len(tasks) == count:
            break
    return tasks


def _fields() -> tuple[dict[str, str], dict[str, list[str]]]:
    """Seal-Tools' domains: tool name -> field, and field -> tool names."""
    field_of: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    for line in (seal_dir() / "tool.jsonl").read_text().splitlines():
        entry = json.loads(line)
        field_of[entry.get("api_name")] = entry.get("field", "")
        members.setdefault(entry.get("field", ""), []).append(entry.get("api_name"))
    return field_of, members


def _add(total: Any, stats: Any) -> None:
    for name in ("forward_calls", "tokens", "forced_tokens", "prompt_tokens", "seconds", "mask_seconds"):
        setattr(total, name, getattr(total, name) + getattr(stats, name))
