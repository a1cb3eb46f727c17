"""Predictors: the engine (grammar-constrained), the plain baselines (`--baseline`: `evals.baselines`), and the
ground truth (`--oracle`)."""

from __future__ import annotations

from evals.baselines import BaselinePredictor, make_baseline
from evals.core import Item, Prediction, Suite
from evals.engine_adapter import EngineFactory


class EnginePredictor:
    """f1's engine on the suite's items: the planner's prompt, decoded under the plan grammar."""

    name = "engine"

    def __init__(self, suite: Suite, factory: EngineFactory) -> None:
        self.suite = suite
        self.factory = factory

    async def predict(self, item: Item) -> Prediction:
        return await self.suite.predict(self.factory, item, constrained=True)


def baseline_predictor(suite: Suite, factory: EngineFactory, style: str) -> BaselinePredictor:
    """The plain model (`style`: "native" or "json") on the run's model, with the engine's token budget for a plan."""
    return BaselinePredictor(suite, make_baseline(style, factory.model, max_tokens=factory.config.max_plan_tokens))


class OraclePredictor:
    """The benchmark's own ground truth in our output format: checks the harness, must score (almost) 100%."""

    name = "oracle"

    def __init__(self, suite: Suite) -> None:
        self.suite = suite

    async def predict(self, item: Item) -> Prediction:
        return await self.suite.oracle(item)
