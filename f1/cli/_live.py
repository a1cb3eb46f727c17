"""A terminal view of a run: the plan as it decodes, then each step's bar on a shared timeline (rich)."""

from __future__ import annotations

import json
import time
from types import TracebackType
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from f1.planner import PlanEvent, StepDecoded, TextDelta
from f1.scheduler.trace import StepRecord, StepStatus

_STYLE = {StepStatus.ok: "green", StepStatus.error: "red", StepStatus.skipped: "yellow", StepStatus.cancelled: "magenta"}
BAR_WIDTH = 40


class LiveRun:
    """Context manager fed by `Engine.asolve`'s callbacks; redraws a few times a second."""

    def __init__(self, task: str) -> None:
        self.task = task
        self.console = Console()
        self.steps: dict[int, StepRecord] = {}
        self.decoded: list[str] = []
        self.text = ""
        self.started = time.perf_counter()
        self._live = Live(self._render(), console=self.console, refresh_per_second=8, transient=False)

    def __enter__(self) -> LiveRun:
        self._live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._live.update(self._render())
        self._live.__exit__(kind, exc, tb)

    def on_event(self, event: PlanEvent) -> None:
        if isinstance(event, StepDecoded):
            step = event.step
            self.decoded.append(f"${step.id} = {step.tool}({json.dumps(step.args)})  [{time.perf_counter() - self.started:.2f}s]")
        elif isinstance(event, TextDelta):
            self.text += event.text
        self._live.update(self._render())

    def on_step(self, record: StepRecord) -> None:
        self.steps[record.id] = record.model_copy()
        self._live.update(self._render())

    def print_answer(self, solution: Any) -> None:
        self.console.print(Text("Answer: ", style="bold") + Text(solution.answer))
        self.console.print(Text(f"{solution.seconds:.2f}s, {solution.usage.total_tokens} tokens", style="dim"))

    def _render(self) -> Group:
        table = Table(title=f"Plan for: {self.task}", show_header=True, expand=False)
        table.add_column("step")
        table.add_column("timeline", no_wrap=True)
        table.add_column("status")
        end = max([r.ended_at or r.started_at or 0.0 for r in self.steps.values()] + [1e-3])
        for line in self.decoded:
            step_id = int(line[1 : line.index(" ")])
            record = self.steps.get(step_id)
            table.add_row(line, _bar(record, end), _status(record))
        parts: list[Any] = [table]
        if self.text:
            parts.append(Text(self.text))
        return Group(*parts)


def _bar(record: StepRecord | None, end: float) -> Text:
    if record is None or record.started_at is None:
        return Text("")
    start = int(record.started_at / end * BAR_WIDTH)
    stop = max(start + 1, int((record.ended_at or end) / end * BAR_WIDTH))
    style = _STYLE.get(record.status, "cyan") if record.status else "cyan"
    return Text(" " * start + "█" * (stop - start), style=style)


def _status(record: StepRecord | None) -> Text:
    if record is None:
        return Text("queued", style="dim")
    if record.status is None:
        return Text("running", style="cyan")
    detail = f" {record.error.kind}" if record.error else f" {record.duration:.2f}s" if record.duration else ""
    return Text(f"{record.status}{detail}", style=_STYLE.get(record.status, ""))
