"""Whole completions with one repair round: for outputs used only once complete (the joiner's decision)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from f1.errors import ModelError
from f1.planner.backends.base import ModelBackend
from f1.planner.events import Usage
from f1.planner.messages import ChatMessage

if TYPE_CHECKING:
    from f1.decoding.grammar import Grammar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Completion(Generic[T]):
    """The parsed output, its raw text, and the tokens all attempts used."""

    value: T
    text: str
    usage: Usage


async def complete(
    backend: ModelBackend,
    messages: Sequence[ChatMessage],
    parse: Callable[[str], T],
    *,
    grammar: Grammar | None = None,
    max_tokens: int = 1024,
    temperature: float = 0.0,
) -> Completion[T]:
    """Generate, then `parse` the whole text. When `parse` raises, the error goes back to the model as a user
    message for one repair attempt; a second invalid reply is a `ModelError`."""
    usage = Usage()

    async def collect(history: Sequence[ChatMessage]) -> str:
        nonlocal usage
        parts = []
        async for chunk in backend.stream(history, grammar=grammar, max_tokens=max_tokens, temperature=temperature):
            usage += Usage(chunk.prompt_tokens, chunk.completion_tokens)
            parts.append(chunk.text)
        return "".join(parts)

    text = await collect(messages)
    try:
        return Completion(parse(text), text, usage)
    except Exception as exc:  # the caller's parser decides what is invalid
        repair = [
            ChatMessage(role="assistant", content=text),
            ChatMessage(role="user", content=f"That output is invalid: {exc}. Reply again with corrected output only."),
        ]
    text = await collect([*messages, *repair])
    try:
        return Completion(parse(text), text, usage)
    except Exception as exc:
        raise ModelError(f"model {backend.name!r} gave invalid output twice: {exc}; last output: {text[:200]!r}") from exc
