"""What a planning stream yields: steps as soon as they close, direct-answer text, and the finished plan."""

from __future__ import annotations

from dataclasses import dataclass

from f1.plan import Plan, Step


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, OpenAI style."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)


@dataclass(frozen=True, slots=True)
class StepDecoded:
    """A step whose JSON object just closed; it can run now."""

    step: Step


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of a direct answer (no tools needed, or tools not allowed)."""

    text: str


@dataclass(frozen=True, slots=True)
class PlanDone:
    """The end of a planning stream: the whole plan, the direct answer if there was one, and token usage."""

    plan: Plan
    answer: str | None
    usage: Usage
    seconds: float


PlanEvent = StepDecoded | TextDelta | PlanDone
