"""`f1 bench NAME`: runs a benchmark from `f1.bench` and prints a table, or one JSON object with `--json`."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark (table, or --json)")
    benches = parser.add_subparsers(dest="bench", metavar="NAME", required=True)
    import f1.bench

    for module in sorted(pkgutil.iter_modules(f1.bench.__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        bench = importlib.import_module(f"f1.bench.{module.name}")
        sub = benches.add_parser(module.name, help=(bench.__doc__ or "").strip().splitlines()[0])
        output = sub.add_mutually_exclusive_group()
        output.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
        output.add_argument("--markdown", action="store_true", help="print the table and numbers as Markdown (docs)")
        bench.add_arguments(sub)
        sub.set_defaults(handler=lambda args, bench=bench: _run(bench, args))


def _run(bench: Any, args: argparse.Namespace) -> int:
    result: dict[str, Any] = bench.run(args)
    if args.json:
        print(json.dumps(result, default=str))
    elif args.markdown:
        from f1.bench import markdown_report

        print(markdown_report(result))
    else:
        from f1.bench import print_report

        print_report(result, title=f"f1 bench {args.bench}")
    return 0
