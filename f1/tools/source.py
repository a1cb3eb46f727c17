"""The protocol every tool source implements (Python callables, OpenAPI, MCP, BFCL worlds...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from f1.tools.registry import Tool


@runtime_checkable
class ToolSource(Protocol):
    """Something that yields executable tools; it may need I/O (an MCP handshake, an OpenAPI fetch)."""

    async def load(self) -> Sequence[Tool]:
        """Return the tools this source offers."""
        ...
