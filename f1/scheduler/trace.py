"""What a run leaves behind: per step the resolved args, the result or a typed error, times and attempts."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class StepStatus(StrEnum):
    """Where a step is. `running` while its tool runs; the rest are final. `skipped`: a dependency failed;
    `cancelled`: the run was cancelled first. A record that has arrived but not started has status None."""

    running = "running"
    ok = "ok"
    error = "error"
    skipped = "skipped"
    cancelled = "cancelled"


class ErrorKind(StrEnum):
    """Why a step has no result."""

    invalid_step = "invalid_step"  # unknown tool, bad reference, args that break the schema before running
    invalid_args = "invalid_args"  # resolved args break the tool's schema
    reference = "reference"  # a `$k.path` does not exist in the result
    timeout = "timeout"
    exception = "exception"  # the tool raised
    invalid_result = "invalid_result"  # the result breaks the tool's result schema
    unserializable_result = "unserializable_result"  # the result is not JSON
    dependency_failed = "dependency_failed"
    cancelled = "cancelled"


class StepError(BaseModel):
    """A typed, recorded error: `kind` for programs, `message` for people (and the joiner)."""

    kind: ErrorKind
    message: str
    exception_type: str | None = None


class StepRecord(BaseModel):
    """One step of one run. Times are seconds since the run started."""

    id: int
    tool: str
    args: dict[str, Any]
    resolved_args: dict[str, Any] | None = None
    status: StepStatus | None = None
    result: Any = None
    error: StepError | None = None
    received_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    attempts: int = 0

    def update(self, **changes: Any) -> None:
        """Set several fields at once, unvalidated (as plain assignment does), in one step: the scheduler's hot path."""
        self.__dict__.update(changes)
        self.__pydantic_fields_set__.update(changes)

    @property
    def used_args(self) -> dict[str, Any]:
        """The arguments the tool got: resolved where references were resolved, else as planned."""
        return self.resolved_args if self.resolved_args is not None else self.args

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    def outcome(self) -> str:
        """What the step came to, as text for a model: its result as JSON, else its error and status."""
        if self.status is StepStatus.ok:
            return json.dumps(self.result, default=str)
        message = self.error.message if self.error else str(self.status)
        return json.dumps({"error": message, "status": str(self.status)})


class Trace(BaseModel):
    """Every step of a run, in the order the steps arrived. `started` is wall-clock epoch seconds."""

    started: float = 0.0
    elapsed: float = 0.0
    steps: list[StepRecord] = Field(default_factory=list)

    @property
    def results(self) -> dict[int, Any]:
        """Results of the steps that succeeded, by step id."""
        return {record.id: record.result for record in self.steps if record.status is StepStatus.ok}

    @property
    def ok(self) -> bool:
        return all(record.status is StepStatus.ok for record in self.steps)

    @property
    def errors(self) -> dict[int, StepError]:
        """The error of every step that has one, by step id."""
        return {record.id: record.error for record in self.steps if record.error is not None}

    def outcome(self, step_id: int) -> str:
        """`StepRecord.outcome` of step `step_id`; an error for a step that never arrived."""
        try:
            return self.record(step_id).outcome()
        except KeyError:
            return json.dumps({"error": "not run"})

    def record(self, step_id: int) -> StepRecord:
        for record in self.steps:
            if record.id == step_id:
                return record
        raise KeyError(step_id)
