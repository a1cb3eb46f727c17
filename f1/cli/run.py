"""`f1 run "TASK"`: solve one task; shows the plan as it decodes and a live step timeline on a terminal."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from f1.cli import DefaultsHelp, bounded_int, non_empty

TOOLS_HELP = (
    "builtin[:GROUPS] | bfcl:CLASS | mcp+stdio:'COMMAND ARGS' | mcp+http://URL | openapi:PATH_OR_URL | "
    "a sources file (.toml/.yaml) | a spec file or folder | a Python file or module"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="solve a task with tools", formatter_class=DefaultsHelp)
    parser.add_argument("task", type=non_empty, help="the task, in words")
    parser.add_argument("--tools", default="builtin", help=TOOLS_HELP)
    parser.add_argument("--model", default="default", help="default | a model name | a path | openai:BASE_URL#MODEL")
    parser.add_argument("--json", action="store_true", help="print the answer, plans, per-step trace and timings as JSON")
    parser.add_argument("--max-replans", type=bounded_int(0), default=None, help="joiner replans allowed (default: engine's)")
    parser.add_argument(
        "--max-tools", type=bounded_int(1), default=None, help="tools offered to the planner after retrieval (default: 16)"
    )
    parser.add_argument(
        "--numeric", default=None, help="a local model's numeric path (default: the fastest here; see `f1 models list`)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from f1.engine import Engine, EngineConfig
    from f1.planner import NUMERIC_PATH_ENV, LocalModel, choose_path
    from f1.tools.catalog import load_tools

    overrides: dict[str, Any] = {}
    if args.max_replans is not None:
        overrides["max_replans"] = args.max_replans
    if args.max_tools is not None:
        overrides["max_tools_in_prompt"] = args.max_tools
    if args.numeric is not None:
        os.environ[NUMERIC_PATH_ENV] = choose_path(args.numeric)  # checked before anything loads; read by local models
    engine = Engine(load_tools(args.tools), model=args.model, config=EngineConfig(**overrides))
    if args.json or not sys.stdout.isatty():
        solution = engine.solve(args.task)
        model = {"name": engine.model.name, "numeric": engine.model.numeric if isinstance(engine.model, LocalModel) else None}
        print(json.dumps({**solution.to_dict(), "model": model}, default=str) if args.json else solution.answer)
        return 0
    from f1.cli._live import LiveRun

    with LiveRun(args.task) as live:
        solution = engine.solve(args.task, on_step=live.on_step, on_event=live.on_event)
    live.print_answer(solution)
    return 0
