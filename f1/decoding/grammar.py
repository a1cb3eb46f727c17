"""Grammars for constrained decoding. A `Grammar` carries a Lark grammar (llguidance syntax) for local decoding
and, where one exists, an equivalent JSON schema for remote servers' structured outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Grammar:
    """A named grammar. `key` identifies it for caching compiled forms."""

    name: str
    lark: str
    json_schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    @property
    def key(self) -> str:
        import hashlib

        return hashlib.sha256(self.lark.encode()).hexdigest()
