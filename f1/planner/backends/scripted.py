"""A model that replies from a script: for tests, benchmarks of everything but the model, and demos."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import anyio

from f1.errors import ModelError
from f1.planner.backends.base import Chunk, ModelBackend
from f1.planner.messages import ChatMessage

if TYPE_CHECKING:
    from f1.decoding.grammar import Grammar

Reply = str | Callable[[Sequence[ChatMessage]], str]


class ScriptedModel(ModelBackend):
    """Replies with the next scripted text (or the text a function makes of the messages), in small chunks.

    `delay` seconds pass between chunks, to mimic decoding time.
    """

    name = "scripted"

    def __init__(self, replies: Iterable[Reply], *, chunk_size: int = 8, delay: float = 0.0) -> None:
        self._replies = list(replies)
        self._next = 0
        self.chunk_size = chunk_size
        self.delay = delay
        self.calls: list[list[ChatMessage]] = []

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        grammar: Grammar | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
    ) -> AsyncIterator[Chunk]:
        if self._next >= len(self._replies):
            raise ModelError(f"scripted model has no reply left (script had {len(self._replies)})")
        reply = self._replies[self._next]
        self._next += 1
        self.calls.append(list(messages))
        text = reply(messages) if callable(reply) else reply
        prompt_tokens = sum(len(m.content.split()) for m in messages)
        for start in range(0, len(text), self.chunk_size):
            if self.delay:
                await anyio.sleep(self.delay)
            yield Chunk(text[start : start + self.chunk_size], completion_tokens=1, prompt_tokens=prompt_tokens if start == 0 else 0)
