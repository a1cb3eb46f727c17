"""Benchmarks behind `f1 bench NAME`. Each module has `add_arguments(parser)` and `run(args) -> dict`.

A result dict holds summary numbers; an optional ``"table"`` entry (a list of row dicts) is printed as a table.
Nothing in the engine imports this package.
"""

from __future__ import annotations

from typing import Any


def print_report(result: dict[str, Any], *, title: str) -> None:
    """Print a benchmark result: its table (if any), then its summary numbers and targets."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    rows = result.get("table") or []
    if rows:
        table = Table(title=title)
        for column in rows[0]:
            table.add_column(str(column), justify="right")
        for row in rows:
            table.add_row(*(_fmt(value) for value in row.values()))
        console.print(table)
    summary = Table(title=None if rows else title, show_header=False)
    for key, value in result.items():
        if key != "table":
            summary.add_row(key, _fmt(value))
    console.print(summary)


def markdown_report(result: dict[str, Any]) -> str:
    """A benchmark result as Markdown: its table, then its scalar numbers as a two-column table."""
    lines: list[str] = []
    rows = result.get("table") or []
    if rows:
        lines += ["| " + " | ".join(map(str, rows[0])) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(_fmt(value) for value in row.values()) + " |" for row in rows]
        lines.append("")
    scalars = {k: v for k, v in result.items() if k != "table" and not isinstance(v, dict | list)}
    if scalars:
        lines += ["| measure | value |", "|---|---|"] + [f"| {k} | {_fmt(v)} |" for k, v in scalars.items()]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
