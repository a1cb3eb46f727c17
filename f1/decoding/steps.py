"""`StepStream`: reports each plan step as soon as its JSON object closes, from text deltas of any backend."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from f1.errors import PlanError
from f1.plan.model import Plan, Step
from f1.plan.validate import parse_plan_json, plan_from_data, validate_step

if TYPE_CHECKING:
    from f1.tools.spec import ToolSpec


class StepStream:
    """An incremental scanner over plan JSON (``{"steps":[...]}`` or a bare list of steps); it tracks strings
    (with escapes) and nesting, so quotes and braces inside argument strings are handled.

    `feed(delta)` returns the steps completed by that delta; `plan()` parses the whole text into the final
    `Plan`. With `tools`, each step is validated as it completes (known tool, schema, only earlier references),
    raising `PlanError` at the first bad step.
    """

    def __init__(self, tools: Mapping[str, ToolSpec] | None = None) -> None:
        self._tools = tools
        self._text: list[str] = []
        self._buffer = ""  # text of the step object being read
        self._depth = 0  # nesting of {} and [] outside strings
        self._steps_depth: int | None = None  # depth inside the steps list
        self._in_string = False
        self._escaped = False
        self._ids: list[int] = []

    @property
    def steps_emitted(self) -> int:
        """How many steps were reported so far."""
        return len(self._ids)

    @property
    def is_complete(self) -> bool:
        """Whether the text fed so far closes its outermost JSON value."""
        return self._depth == 0 and not self._in_string and bool(self.text.strip())

    @property
    def text(self) -> str:
        """Everything fed so far."""
        return "".join(self._text)

    def feed(self, delta: str) -> list[Step]:
        """Scan `delta`; return the steps whose objects it closed, in order."""
        self._text.append(delta)
        done: list[Step] = []
        for char in delta:
            inside_step = self._steps_depth is not None and self._depth > self._steps_depth
            if inside_step:
                self._buffer += char
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                elif char == "\\":
                    self._escaped = True
                elif char == '"':
                    self._in_string = False
                continue
            if char == '"':
                self._in_string = True
            elif char in "{[":
                if self._steps_depth is None and char == "[" and self._depth <= 1:
                    self._steps_depth = self._depth + 1
                self._depth += 1
                if self._steps_depth is not None and self._depth == self._steps_depth + 1:
                    self._buffer = char
            elif char in "}]":
                self._depth -= 1
                if self._steps_depth is not None and self._depth == self._steps_depth and char == "}":
                    done.append(self._step(self._buffer))
                    self._buffer = ""
        return done

    def plan(self) -> Plan:
        """The whole plan, parsed (and checked against the streamed steps)."""
        return parse_plan_json(self.text)

    def _step(self, text: str) -> Step:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanError(f"step is not valid JSON: {exc}", step=len(self._ids) + 1) from None
        step = plan_from_data({"steps": [data]}).steps[0]
        if self._tools is not None:
            validate_step(step, self._tools, earlier=self._ids)
        self._ids.append(step.id)
        return step


def stream_steps(deltas: Iterable[str], tools: Mapping[str, ToolSpec] | None = None) -> Iterator[Step]:
    """Yield steps from text deltas as their objects close."""
    stream = StepStream(tools)
    for delta in deltas:
        yield from stream.feed(delta)
