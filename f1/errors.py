"""The exception hierarchy: every error f1 raises on bad input is an `F1Error`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from f1.engine import Solution


class F1Error(Exception):
    """Base class of every error f1 raises on purpose. When the engine fails part-way (the planner or the joiner),
    `partial` holds what it had done: every round so far, with the trace of the steps that ran."""

    partial: Solution | None = None


class ToolSpecError(F1Error):
    """A tool specification is malformed; names the source, the tool and the reason."""

    def __init__(self, reason: str, *, tool: str | None = None, source: str | None = None) -> None:
        self.reason = reason
        self.tool = tool
        self.source = source
        where = ", ".join(part for part in (f"file {source}" if source else "", f"tool {tool!r}" if tool else "") if part)
        super().__init__(f"{where}: {reason}" if where else reason)


class PlanError(F1Error):
    """A plan cannot be parsed or is invalid for the tools it runs against."""

    def __init__(self, reason: str, *, step: int | None = None) -> None:
        self.reason = reason
        self.step = step
        super().__init__(f"step {step}: {reason}" if step is not None else reason)


class ReferenceResolutionError(PlanError):
    """A `$k.path` reference cannot be resolved against the results at hand."""


class ModelError(F1Error):
    """A planner model cannot be loaded, or produced output that cannot be used."""
