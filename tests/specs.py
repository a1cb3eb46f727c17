"""Tool specs that more than one test file plans against."""

from __future__ import annotations

from f1.tools import ToolSpec

ADD = ToolSpec(
    name="add",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
)
