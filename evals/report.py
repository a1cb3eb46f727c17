"""Reports of a run: report.json (everything), report.md (tables), PNG plots (matplotlib, Agg backend)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.core import ItemResult, Suite
from evals.stats import wilson_interval

MAX_LISTED = 500


SECONDS_PER_ITEM = "seconds_per_item_s"
ENGINE = "engine"
BASELINE_PREFIX = "baseline"


def build_report(suite: Suite, runs: Mapping[str, Sequence[ItemResult]]) -> dict[str, Any]:
    """The report: metrics per predictor (with the shares of items behind the accuracies, and the mean wall time
    of an item, `seconds_per_item_s`), per predictor the items that failed (with the benchmark's error), and the
    engine against the stronger plain baseline (`baseline_comparison`) when both ran."""
    failures = {name: _failures(results) for name, results in runs.items()}
    report: dict[str, Any] = {
        "suite": suite.name,
        "main_metric": suite.main_metric,
        "items": {name: len(results) for name, results in runs.items()},
        "metrics": {name: suite.summarize(results) | _seconds(results) for name, results in runs.items()},
        "proportions": {name: suite.proportions(results) for name, results in runs.items()},
        "failures": {name: listed[:MAX_LISTED] for name, listed in failures.items()},
        "failure_counts": {name: len(listed) for name, listed in failures.items()},
    }
    comparison = baseline_comparison(report)
    if comparison:
        report["baseline_comparison"] = comparison
    return report


def _seconds(results: Sequence[ItemResult]) -> dict[str, float]:
    return {SECONDS_PER_ITEM: sum(result.seconds for result in results) / len(results)} if results else {}


def baseline_comparison(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """For the main metric (and its per-category parts, `accuracy/<category>`): the engine's value, the stronger
    plain baseline's (the predictors named baseline*), and the difference, engine minus baseline."""
    metrics: Mapping[str, Mapping[str, float]] = report["metrics"]
    baselines = [name for name in metrics if name.startswith(BASELINE_PREFIX)]
    if ENGINE not in metrics or not baselines:
        return {}
    main = report["main_metric"]
    out: dict[str, dict[str, Any]] = {}
    for name, value in metrics[ENGINE].items():
        if name != main and not name.startswith(f"{main}/"):
            continue
        scored = [
            (metrics[baseline][name], baseline) for baseline in baselines if metrics[baseline].get(name) is not None
        ]
        if value is None or not scored:
            continue
        best, stronger = max(scored, key=lambda pair: pair[0])
        out[name] = {"engine": value, "stronger_baseline": stronger, "baseline": best, "difference": value - best}
    return out


def _failures(results: Sequence[ItemResult]) -> list[dict[str, Any]]:
    out = []
    for result in results:
        failed = result.scores.get("valid") is False or not result.prediction.format_valid or result.prediction.error
        if failed:
            entry = {
                "id": result.id,
                "valid": result.scores.get("valid"),
                "format_valid": result.prediction.format_valid,
            }
            for key in ("error_type", "error"):
                if result.scores.get(key):
                    entry[key] = _short(result.scores[key])
            if result.prediction.error:
                entry["prediction_error"] = _short(result.prediction.error)
            out.append(entry)
    return out


def _short(value: Any, limit: int = 400) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def write_report(out: Path, report: Mapping[str, Any]) -> list[Path]:
    """Write report.json, report.md and the plots; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "report.json"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    md_path = out / "report.md"
    md_path.write_text(render_markdown(report), encoding="utf-8")
    return [json_path, md_path, *write_plots(out, report)]


def metric_rows(report: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the metrics table: one row per metric, one column per predictor; a share of items comes
    with its 95% Wilson interval."""
    predictors = list(report["metrics"])
    names = list(dict.fromkeys(name for summary in report["metrics"].values() for name in summary))
    rows = [[name, *(metric_cell(report, predictor, name) for predictor in predictors)] for name in names]
    return ["metric", *predictors], rows


def metric_cell(report: Mapping[str, Any], predictor: str, name: str) -> str:
    """A metric's value, and for a share of items its 95% interval: ``0.600 [0.462, 0.724]``."""
    share = report.get("proportions", {}).get(predictor, {}).get(name)
    value = _fmt(report["metrics"][predictor].get(name))
    if share is None:
        return value
    low, high = wilson_interval(*share)
    return f"{value} [{low:.3f}, {high:.3f}]"


def render_markdown(report: Mapping[str, Any]) -> str:
    header, rows = metric_rows(report)
    lines = [f"# {report['suite']}", "", f"Items: {', '.join(f'{k} {v}' for k, v in report['items'].items())}", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += comparison_lines(report)
    for name, listed in report["failures"].items():
        if not listed:
            continue
        count = report["failure_counts"][name]
        lines += ["", f"## {name}: {count} failed or invalid items", "", "| id | error type | error |", "|---|---|---|"]
        for entry in listed:
            error = entry.get("error") or entry.get("prediction_error") or ""
            lines.append(f"| {entry['id']} | {entry.get('error_type', '')} | {_cell(error)} |")
        if count > len(listed):
            lines.append(f"| ... | | {count - len(listed)} more in report.json's results files |")
    for key, value in report.items():
        if key not in _SHOWN and value:
            lines += ["", f"## {key}", "", "```", json.dumps(value, indent=2, default=str)[:4000], "```"]
    return "\n".join(lines) + "\n"


def comparison_lines(report: Mapping[str, Any], heading: str = "## engine vs the stronger plain baseline") -> list[str]:
    """The `baseline_comparison` as a table (none without one), each value with its 95% interval."""
    comparison = report.get("baseline_comparison")
    if not comparison:
        return []
    lines = ["", heading, "", "| metric | engine | stronger baseline | difference |", "|---|---|---|---|"]
    for name, row in comparison.items():
        stronger = row["stronger_baseline"]
        engine, baseline = metric_cell(report, ENGINE, name), metric_cell(report, stronger, name)
        lines.append(f"| {name} | {engine} | {stronger}: {baseline} | {row['difference']:+.3f} |")
    return lines


_SHOWN = (
    "suite",
    "main_metric",
    "items",
    "metrics",
    "proportions",
    "failures",
    "failure_counts",
    "per_item_seconds",
    "baseline_comparison",
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:200]


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def write_plots(out: Path, report: Mapping[str, Any]) -> list[Path]:
    """Bar charts: fraction metrics (0..1) and time metrics (names ending in `_s`), predictors side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    metrics: Mapping[str, Mapping[str, float]] = report["metrics"]
    names = list(dict.fromkeys(name for summary in metrics.values() for name in summary))
    groups = {
        "metrics.png": [
            n
            for n in names
            if not n.endswith("_s")
            and not n.startswith("num_")
            and all(0 <= (m.get(n) or 0) <= 1 for m in metrics.values())
        ],  # scores: fractions, not counts (NESTFUL's official num_* metrics)
        "times.png": [n for n in names if n.endswith("_s")],
    }
    for filename, chosen in groups.items():
        if not chosen:
            continue
        figure, axes = plt.subplots(figsize=(max(6, 0.6 * len(chosen) * max(1, len(metrics))), 4.5))
        width = 0.8 / max(1, len(metrics))
        for index, (predictor, summary) in enumerate(metrics.items()):
            positions = [i + index * width for i in range(len(chosen))]
            axes.bar(positions, [summary.get(n) or 0 for n in chosen], width=width, label=predictor)
        axes.set_xticks([i + width * (len(metrics) - 1) / 2 for i in range(len(chosen))])
        axes.set_xticklabels(chosen, rotation=35, ha="right", fontsize=8)
        axes.set_title(f"{report['suite']}: {'seconds' if filename == 'times.png' else 'scores'}")
        axes.legend()
        figure.tight_layout()
        path = out / filename
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    per_item = report.get("per_item_seconds")
    if per_item:
        written.append(_latency_plot(out, report["suite"], per_item, plt))
    return written


def _latency_plot(out: Path, suite: str, per_item: Mapping[str, Mapping[str, list[float]]], plt: Any) -> Path:
    """Per-item wall time, f1 vs the sequential loop, items sorted by the loop's time."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for predictor, sides in per_item.items():
        order = sorted(range(len(sides["react"])), key=lambda i: sides["react"][i])
        for side, style in (("react", "--"), ("f1", "-")):
            axes.plot(
                [sides[side][i] for i in order], style, label=f"{predictor}: {'f1 DAG' if side == 'f1' else 'ReAct'}"
            )
    axes.set_xlabel("item (sorted by ReAct time)")
    axes.set_ylabel("seconds")
    axes.set_title(f"{suite}: wall time per item")
    axes.legend()
    figure.tight_layout()
    path = out / "latency.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
