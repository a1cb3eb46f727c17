"""The one place the harness touches `f1.engine`: build Engines over one shared model backend.

An item that brings its own executable tools (BFCL multi-turn, ParallelQA) gets its own `Engine`, but every Engine
of a run shares the first one's model backend, so the model loads once per run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from f1.planner.backends.base import ModelBackend
from evals.core import EvalError


class EngineFactory:
    """Makes Engines for a run; `model` is "default", a path, "openai:URL#MODEL" or a `ModelBackend`."""

    def __init__(self, model: str | ModelBackend = "default", config: Any = None) -> None:
        self.model = model
        self.config = config
        self._backend: ModelBackend | None = model if isinstance(model, ModelBackend) else None
        self._planner: Any = None

    def engine(self, tools: Sequence[Any] = ()) -> Any:
        """An Engine over `tools` (a ToolRegistry or Tools/ToolSpecs) on the run's shared model."""
        from f1.engine import Engine, EngineConfig

        config = self.config if self.config is not None else EngineConfig()
        engine = Engine(tools=tools, model=self._backend or self.model, config=config)
        if self._backend is None:
            self._backend = backend_of(engine)
        return engine

    def planner(self) -> Any:
        """The run's tool-less Engine, for planning against per-item tool specs (`aplan(..., tools=specs)`)."""
        if self._planner is None:
            self._planner = self.engine(())
        return self._planner

    @property
    def backend(self) -> ModelBackend:
        """The run's model backend (loads it through a first Engine when needed)."""
        if self._backend is None:
            self.engine(())
        assert self._backend is not None
        return self._backend


def backend_of(engine: Any) -> ModelBackend:
    """The `ModelBackend` an Engine plans with."""
    for attribute in ("backend", "model", "planner_model"):
        value = getattr(engine, attribute, None)
        if isinstance(value, ModelBackend):
            return value
    raise EvalError("cannot find the Engine's model backend (expected an attribute 'backend' or 'model')")
