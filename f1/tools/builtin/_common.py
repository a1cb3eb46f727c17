"""Helpers the built-in tools share: examples, and the byte cap with its truncation marker."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from typing_extensions import NotRequired, TypedDict

from f1.tools.registry import Tool

MAX_RESULT_BYTES = 200_000  # the default cap on one result of the SQLite, HTTP and file tools


class Capped(TypedDict):
    """The marker every capped result carries: `truncated`, and a `note` when something was cut or skipped."""

    truncated: bool
    note: NotRequired[str]


def marker(*notes: str, truncated: bool) -> Capped:
    """The truncation marker for a result; empty notes are dropped."""
    capped = Capped(truncated=truncated)
    text = "; ".join(note for note in notes if note)
    if text:
        capped["note"] = text
    return capped


def json_size(value: Any) -> int:
    """The bytes `value` takes as compact UTF-8 JSON: what it costs in a trace and in a prompt."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8", "replace"))


class ByteBudget:
    """The bytes a result may still take. `fits(item)` counts an item that fits; the first that doesn't is
    refused and `note` says where the result was cut."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.exceeded = False

    def fits(self, item: Any) -> bool:
        size = json_size(item)
        if self.used + size > self.limit:
            self.exceeded = True
            return False
        self.used += size
        return True

    @property
    def note(self) -> str:
        return f"cut at {self.limit:,} bytes (the result cap)" if self.exceeded else ""


def with_examples(*examples: dict[str, Any]) -> Callable[[Tool], Tool]:
    """Decorate a `Tool` (above `@tool`) with example arguments for its spec."""

    def wrap(item: Tool) -> Tool:
        spec = item.spec.model_copy(update={"examples": [*item.spec.examples, *examples]})
        return replace(item, spec=spec)

    return wrap
