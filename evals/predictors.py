"""Predictors: the engine (grammar-constrained), the plain model (`--baseline`), and the ground truth (`--oracle`)."""

from __future__ import annotations

from evals.core import Item, Prediction, Suite
from evals.engine_adapter import EngineFactory


class EnginePredictor:
    """f1's engine on the suite's items; `constrained=False` is the baseline: same prompt, no grammar, JSON parse."""

    def __init__(self, suite: Suite, factory: EngineFactory, *, constrained: bool = True) -> None:
        self.suite = suite
        self.factory = factory
        self.constrained = constrained
        self.name = "engine" if constrained else "baseline"

    async def predict(self, item: Item) -> Prediction:
        return await self.suite.predict(self.factory, item, constrained=self.constrained)


class OraclePredictor:
    """The benchmark's own ground truth in our output format: checks the harness, must score (almost) 100%."""

    name = "oracle"

    def __init__(self, suite: Suite) -> None:
        self.suite = suite

    async def predict(self, item: Item) -> Prediction:
        return await self.suite.oracle(item)
