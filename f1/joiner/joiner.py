"""The joiner: reads a plan's results and decides, under a grammar, to finish with an answer or to replan."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from f1.decoding.grammar import joiner_grammar
from f1.plan import Plan
from f1.planner import ChatMessage, ModelBackend, Usage, complete, join_messages
from f1.scheduler.trace import Trace


class Decision(BaseModel):
    """`finish` with the answer, or `replan` with the reason more calls are needed."""

    action: Literal["finish", "replan"]
    answer: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Joined:
    decision: Decision
    usage: Usage


class Joiner:
    """Asks the model for a `Decision` about a finished plan."""

    def __init__(self, model: ModelBackend, *, max_tokens: int = 256, temperature: float = 0.0) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature

    async def decide(self, history: Sequence[ChatMessage], plan: Plan, trace: Trace, *, may_replan: bool) -> Joined:
        """The decision; when no replan is allowed, the grammar admits only `finish`."""
        done = await complete(
            self.model,
            join_messages(history, plan, trace),
            Decision.model_validate_json,
            grammar=joiner_grammar(allow_replan=may_replan),
            max_tokens=self.max_tokens,
            temperature=self.temperature,
        )
        decision = done.value
        if decision.action == "replan" and not may_replan:
            decision = Decision(action="finish", answer=decision.reason)
        return Joined(decision, done.usage)
