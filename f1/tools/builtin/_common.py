"""Helpers the built-in tools share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from f1.tools.registry import Tool


def with_examples(*examples: dict[str, Any]) -> Callable[[Tool], Tool]:
    """Decorate a `Tool` (above `@tool`) with example arguments for its spec."""

    def wrap(item: Tool) -> Tool:
        spec = item.spec.model_copy(update={"examples": [*item.spec.examples, *examples]})
        return replace(item, spec=spec)

    return wrap
