"""Structured outputs: a final answer that is JSON matching a schema, enforced by the grammar while it decodes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from f1.decoding.grammar import Grammar, output_grammar
from f1.errors import ConfigError, GrammarError, ModelError
from f1.planner import ChatMessage
from f1.schemas import SchemaProblem, check_schema, schema_validator

ANY_OBJECT: dict[str, Any] = {"type": "object"}


@dataclass(frozen=True)
class OutputFormat:
    """The answer must be a JSON value matching `schema`; with `model` (the pydantic model the schema came from)
    `parse` returns an instance of it. Building one checks the schema: `F1Error` naming what cannot be used."""

    schema: dict[str, Any]
    name: str = "output"
    model: type[BaseModel] | None = None
    grammar: Grammar = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            check_schema(self.schema)
        except SchemaProblem as exc:
            raise GrammarError(f"the output schema is not usable: {exc}") from None
        object.__setattr__(self, "grammar", output_grammar(self.schema))

    @classmethod
    def of(cls, output: OutputFormat | type[BaseModel] | Mapping[str, Any]) -> OutputFormat:
        """From a pydantic model, a JSON schema, or an `OutputFormat` (returned as it is)."""
        if isinstance(output, OutputFormat):
            return output
        if isinstance(output, type) and issubclass(output, BaseModel):
            return cls(output.model_json_schema(), name=output.__name__, model=output)
        if isinstance(output, Mapping):
            return cls(dict(output))
        raise ConfigError(f"output must be a pydantic model class or a JSON schema, not {type(output).__name__}")

    def instruction(self) -> ChatMessage:
        """What the answering model is told (as the application's instruction): the schema to answer in."""
        schema = json.dumps(self.schema, separators=(",", ":"))
        return ChatMessage(role="system", content=f"Reply with JSON only, a value matching this JSON schema: {schema}")

    def parse(self, text: str) -> Any:
        """The answer's value (a `model` instance when there is one); `ModelError` when it does not match."""
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ModelError(f"the answer is not JSON ({exc}): {text[:200]!r}") from None
        problem = next(iter(schema_validator(self.schema).iter_errors(value)), None)
        if problem is not None:
            raise ModelError(f"the answer does not match the {self.name} schema: {problem.message[:300]}")
        if self.model is None:
            return value
        try:
            return self.model.model_validate(value)
        except ValidationError as exc:
            raise ModelError(f"the answer is not a valid {self.name}: {exc.errors()[0]['msg']}") from None
