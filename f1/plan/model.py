"""The plan: an ordered list of tool calls whose arguments may reference earlier results."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from f1.plan.refs import iter_refs


class Step(BaseModel):
    """One tool call. `args` values may be references (``"$1"``, ``"$1.path"``) at any depth."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int = Field(ge=1)
    tool: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)

    @property
    def dependencies(self) -> frozenset[int]:
        """Ids of the steps whose results this step's arguments reference."""
        return frozenset(ref.step for ref in iter_refs(self.args))


class Plan(BaseModel):
    """A DAG of steps, in the order they were written. An empty plan means: answer without tools."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: list[Step] = Field(default_factory=list)

    def step(self, step_id: int) -> Step:
        """The step with this id."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def to_json(self, **kwargs: Any) -> str:
        """Serialise; `f1.plan.parse_plan_json` reads it back."""
        return self.model_dump_json(**kwargs)
