"""The protocol every planner model implements: local transformers, a remote OpenAI-compatible server, a script."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from f1.planner.messages import ChatMessage

if TYPE_CHECKING:
    from f1.decoding.grammar import Grammar


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of generated text; token counts add up over a generation to its usage. `logprob`: the log-
    probability the model gave the text before any grammar mask, where the backend knows it."""

    text: str
    completion_tokens: int = 0
    prompt_tokens: int = 0
    logprob: float | None = None


@runtime_checkable
class ModelBackend(Protocol):
    """Streams a completion for chat messages, constrained by `grammar` when one is given. A backend subclasses
    this protocol, and so gets the lifecycle's no-op defaults: `load()` before the first request (a server calls it
    before it listens), `aclose()` when done (what it holds open: connections)."""

    name: str

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        grammar: Grammar | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
    ) -> AsyncIterator[Chunk]:
        """Yield the completion as it is generated. Must be cancellable (anyio) at any chunk."""
        ...

    async def load(self) -> None:
        """Make the first `stream` fast (load weights, ...); `stream` loads on its own when this was not called."""
        return None  # a body, so that subclasses inherit this default (an empty one would be abstract)

    async def aclose(self) -> None:
        """Release what the backend holds open; it may be used again afterwards (it reopens what it needs)."""
        return None
