"""`f1 eval SUITE`: run a public benchmark (BFCL, Seal-Tools, NESTFUL, ParallelQA/Movie) and write reports;
`f1 eval report`: regenerate the results tables of docs/results.md from stored run folders."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPORT = "report"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="run a benchmark suite (bfcl:<category>, seal-tools[:split][:candidates], nestful, parallelqa, movie), or "
        "'report' to regenerate docs/results.md's tables",
        description="Runs a benchmark suite with a progress bar, resuming from --out, and writes report.json, "
        "report.md and PNG plots there. `f1 eval report` rewrites the generated tables of --doc from the run "
        "folders under --runs.",
    )
    parser.add_argument(
        "suite",
        help="bfcl:<category|group> (e.g. bfcl:simple_python, bfcl:all), seal-tools[:dev|test_in_domain][:candidates], "
        "nestful, parallelqa, movie; or 'report'",
    )
    parser.add_argument("--limit", type=int, help="N items (per category for BFCL)")
    parser.add_argument("--offset", type=int, default=0, help="skip the first N items (per category for BFCL)")
    parser.add_argument("--model", default="default", help='planner model: "default", a path, or "openai:URL#MODEL"')
    parser.add_argument(
        "--data", type=Path, help="data file instead of the suite's default (Seal-Tools, NESTFUL, ParallelQA/Movie)"
    )
    parser.add_argument("--out", type=Path, help="results folder (default ./f1-eval/<suite>); rerun to resume")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument(
        "--baseline",
        nargs="?",
        const="both",
        choices=["native", "json", "both"],
        help="also run the plain model as people use it without f1, greedy, no grammar, no repair round: 'native' "
        "(its chat template with tools=, its <tool_call> output parsed), 'json' (full JSON schemas in the system "
        "message, a JSON array of calls asked for) or 'both' (the default when the flag has no value)",
    )
    parser.add_argument(
        "--oracle", action="store_true", help="replay the ground truth through the scorers (harness self-check)"
    )
    parser.add_argument(
        "--top-k",
        type=int,
        help="Seal-Tools (catalogue setting): retrieval candidates shown (default 10); BFCL: narrow each entry's "
        "functions to K by retrieval (default: show them all)",
    )
    parser.add_argument(
        "--retrieval",
        default="auto",
        choices=["auto", "hybrid", "embedding", "bm25"],
        help="Seal-Tools: retrieval method",
    )
    parser.add_argument(
        "--latency-scale", type=float, default=1.0, help="ParallelQA/Movie: multiply simulated search latency"
    )
    parser.add_argument(
        "--runs", type=Path, nargs="+", default=[Path("f1-eval")], help="report: folders holding run folders"
    )
    parser.add_argument("--doc", type=Path, default=Path("docs/results.md"), help="report: the document to update")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.suite == REPORT:
        return _report(args)
    from evals.report import metric_rows
    from evals.run import evaluate

    options: dict[str, object] = {}
    if args.suite.startswith("seal-tools"):
        options["top_k"] = 10 if args.top_k is None else args.top_k
        options["retrieval"] = args.retrieval
    if args.suite.startswith("bfcl"):
        options["top_k"] = args.top_k
    if args.suite in ("parallelqa", "movie"):
        options["latency_scale"] = args.latency_scale
    report = evaluate(
        args.suite,
        limit=args.limit,
        offset=args.offset,
        model=args.model,
        data=args.data,
        out=args.out,
        baseline=args.baseline,
        oracle=args.oracle,
        progress=not args.json,
        suite_options=options,
    )
    if args.json:
        print(json.dumps(report, default=str))
        return 0
    from rich.console import Console
    from rich.table import Table

    header, rows = metric_rows(report)
    table = Table(title=f"f1 eval {report['suite']}")
    for column in header:
        table.add_column(column, justify="left" if column == "metric" else "right")
    for row in rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    for name, row in report.get("baseline_comparison", {}).items():
        console.print(
            f"{name}: engine {row['engine']:.3f} vs {row['stronger_baseline']} {row['baseline']:.3f} "
            f"(the stronger baseline): {row['difference']:+.3f}"
        )
    for name, count in report["failure_counts"].items():
        if count:
            console.print(f"{name}: {count} failed or invalid items (see report.md)")
    console.print(f"reports: {', '.join(report['files'])}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from evals.results_doc import report_runs

    folders = report_runs(args.runs, args.doc)
    print(f"{args.doc}: tables regenerated from {len(folders)} run folders: {', '.join(map(str, folders))}")
    return 0
