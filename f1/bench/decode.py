"""Constrained vs unconstrained plan decoding with the default model: forward calls, tok/s, validity.

Tasks are Seal-Tools multi-call queries, each offered its gold tools plus same-domain distractors (about 8 tools),
with the planner's prompt. Targets: forward_call_ratio (constrained / unconstrained) <= 0.77 through fast-forward,
and 100% of constrained plans valid (parse + validate_plan).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from f1.bench.grammar import evaldata_dir, seal_catalogue
from f1.errors import F1Error
from f1.tools.spec import ToolSpec

TARGETS = {"forward_call_ratio": 0.77, "valid_fraction": 1.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", type=int, default=5, help="how many Seal-Tools queries (default 5)")
    parser.add_argument("--tools", type=int, default=8, help="tools offered per task (default 8)")
    parser.add_argument("--max-new-tokens", type=int, default=1024, help="as the planner (default 1024)")
    parser.add_argument("--engine", default="llguidance", choices=["llguidance", "xgrammar", "outlines"])
    parser.add_argument("--model", default="default")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from f1.decoding.generate import GenerationStats, generate
    from f1.decoding.grammar import plan_grammar
    from f1.plan import parse_plan_json, validate_plan
    from f1.planner.backends.local import prompt_ids
    from f1.planner.messages import ChatMessage
    from f1.planner.prompt import plan_messages
    from f1.planner.weights import load_model

    loaded = load_model(args.model)
    rows = []
    totals = {"constrained": GenerationStats(), "unconstrained": GenerationStats()}
    valid = {"constrained": 0, "unconstrained": 0}
    for query, tools in seal_tasks(args.tasks, args.tools):
        ids = prompt_ids(loaded.tokenizer, plan_messages([ChatMessage(role="user", content=query)], tools))
        offered = {spec.name: spec for spec in tools}
        row: dict[str, Any] = {"query": query[:40], "tools": len(tools)}
        for mode, grammar in (("constrained", plan_grammar(tools)), ("unconstrained", None)):
            stats = GenerationStats()
            text = "".join(
                delta.text
                for delta in generate(loaded.model, loaded.tokenizer, ids, grammar=grammar, engine=args.engine,
                         max_new_tokens=args.max_new_tokens, stats=stats)
            )
            try:
                validate_plan(parse_plan_json(text), offered)
                ok = True
            except F1Error:
                ok = False
            valid[mode] += ok
            _add(totals[mode], stats)
            prefix = "c" if mode == "constrained" else "u"
            row |= {f"{prefix}_calls": stats.forward_calls, f"{prefix}_tokens": stats.tokens,
                    f"{prefix}_tok_s": round(stats.tokens / stats.seconds, 1), f"{prefix}_valid": ok}
        rows.append(row)
    constrained, unconstrained = totals["constrained"], totals["unconstrained"]
    return {
        "model": loaded.name,
        "engine": args.engine,
        "tasks": len(rows),
        "forward_call_ratio": round(constrained.forward_calls / unconstrained.forward_calls, 3),
        "constrained_forward_calls_per_token": round(constrained.forward_calls / constrained.tokens, 3),
        "forced_fraction": round(constrained.forced_tokens / constrained.tokens, 3),
        "constrained_tok_s": round(constrained.tokens / constrained.seconds, 2),
        "unconstrained_tok_s": round(unconstrained.tokens / unconstrained.seconds, 2),
        "mask_fraction_of_time": round(constrained.mask_seconds / constrained.seconds, 4),
        "constrained_valid": round(valid["constrained"] / len(rows), 3),
        "unconstrained_valid": round(valid["unconstrained"] / len(rows), 3),
        "targets": TARGETS,
        "table": rows,
    }


def seal_tasks(count: int, tools_per_task: int) -> list[tuple[str, list[ToolSpec]]]:
    """The first `count` multi-call Seal-Tools test queries whose gold tools are valid specs, with distractors."""
    catalogue = {spec.name: spec for spec in seal_catalogue()}
    field_of, members = _fields()
    tasks = []
    for line in (evaldata_dir() / "seal_tools" / "test_in_domain.jsonl").read_text().splitlines():
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
    for line in (evaldata_dir() / "seal_tools" / "tool.jsonl").read_text().splitlines():
        entry = json.loads(line)
        field_of[entry.get("api_name")] = entry.get("field", "")
        members.setdefault(entry.get("field", ""), []).append(entry.get("api_name"))
    return field_of, members


def _add(total: Any, stats: Any) -> None:
    for name in ("forward_calls", "tokens", "forced_tokens", "prompt_tokens", "seconds", "mask_seconds"):
        setattr(total, name, getattr(total, name) + getattr(stats, name))
