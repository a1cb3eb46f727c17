"""How much the model itself wanted the tool the grammar let it name: the unmasked log-probability of the name.

The grammar only lets the planner name offered tools, so a model that "wants" a tool nobody offered is steered onto
the nearest offered name. Backends that report log-probabilities (`Chunk.logprob`) expose this: a name the model
gave a tiny probability was forced on it, and the step is better left out.
"""

from __future__ import annotations

import json
import re

from f1.plan import Step
from f1.planner.backends.base import Chunk


class ToolNameScores:
    """Follows where a plan's chunks lie in its text and their log-probabilities; `logprob(step, text)` is the
    log-probability of the tokens spelling the step's tool name (the chunks overlapping it: a fast-forwarded chunk
    may add a few near-certain structural tokens), or None when the backend reports none. Steps are asked for in
    order."""

    def __init__(self) -> None:
        self._chunks: list[tuple[int, int, float | None]] = []  # start, end, logprob
        self._length = 0
        self._cursor = 0  # where the previous step's tool name ended

    def feed(self, chunk: Chunk) -> None:
        """Note the next chunk of the plan."""
        self._chunks.append((self._length, self._length + len(chunk.text), chunk.logprob))
        self._length += len(chunk.text)

    def logprob(self, step: Step, text: str) -> float | None:
        """The log-probability of `step`'s tool name, the next one in `text` (the chunks fed so far, joined)."""
        name = json.dumps(step.tool)
        found = re.compile(r'"tool"\s*:\s*' + re.escape(name)).search(text, self._cursor)
        if found is None:
            return None
        self._cursor = found.end()
        start, end = found.end() - len(name) + 1, found.end() - 1  # inside the quotes
        overlapping = [logprob for first, last, logprob in self._chunks if first < end and last > start]
        if not overlapping or None in overlapping:
            return None
        return sum(logprob for logprob in overlapping if logprob is not None)
