"""A simulated web search: deterministic offline pages with seeded, realistic latency (0.2-1 s per call).

Latency and page depend only on (seed, query), so the engine and the ReAct loop pay the same for the same call.
"""

from __future__ import annotations

import hashlib
import random

import anyio

from f1.tools import Tool, ToolPolicy, ToolSpec

SEARCH_SPEC = ToolSpec(
    name="search",
    description="Search the web; returns a short page of facts about the query.",
    parameters={"type": "object", "properties": {"query": {"type": "string", "description": "what to look up"}}, "required": ["query"]},
)


class SimulatedSearch:
    """`await search(query=...)` sleeps a seeded 0.2-1 s (times `scale`) and returns a canned page."""

    def __init__(self, *, seed: int = 0, scale: float = 1.0, low: float = 0.2, high: float = 1.0) -> None:
        if scale < 0 or not 0 <= low <= high:
            raise ValueError(f"bad latency settings: scale={scale}, low={low}, high={high}")
        self.seed, self.scale, self.low, self.high = seed, scale, low, high
        self.calls: list[str] = []

    def _rng(self, query: str) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}\0{query.strip().lower()}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def latency(self, query: str) -> float:
        return self._rng(query).uniform(self.low, self.high) * self.scale

    def page(self, query: str) -> str:
        rng = self._rng(query)
        rng.random()  # the latency draw
        return f"{query.strip()}: measured value {rng.randint(1, 10_000)} (source: simulated encyclopedia, record {rng.randint(1, 999)})."

    async def __call__(self, query: str) -> str:
        self.calls.append(query)
        await anyio.sleep(self.latency(query))
        return self.page(query)

    def tool(self) -> Tool:
        return Tool(spec=SEARCH_SPEC, fn=self, policy=ToolPolicy(idempotent=True))
