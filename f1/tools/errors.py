"""`ToolCallError`: a tool refused its input or its backend failed (HTTP status, MCP `isError`, a bad path...)."""

from __future__ import annotations

from f1.errors import F1Error


class ToolCallError(F1Error):
    """Raised by a tool at call time; the scheduler records it as the step's error. `status`: an HTTP status."""

    def __init__(self, reason: str, *, tool: str | None = None, status: int | None = None) -> None:
        self.reason = reason
        self.tool = tool
        self.status = status
        super().__init__(f"{tool}: {reason}" if tool else reason)
