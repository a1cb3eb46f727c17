"""BM25 retrieval over a tool catalogue: the candidates a model sees when the catalogue is too large to show."""

from __future__ import annotations

import re
from collections.abc import Sequence

from f1.tools import ToolSpec

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Lowercased words, with camelCase and snake_case names split."""
    return _WORD.findall(_CAMEL.sub(" ", text).lower())


class Bm25Retriever:
    """Ranks tools by BM25 over name, description and parameter names."""

    def __init__(self, specs: Sequence[ToolSpec]) -> None:
        from rank_bm25 import BM25Okapi

        self.specs = list(specs)
        documents = [tokens(" ".join([s.name, s.description, *s.parameters.get("properties", {})])) for s in self.specs]
        self._index = BM25Okapi(documents)

    def top(self, query: str, k: int) -> list[ToolSpec]:
        """The `k` best tools for `query`, best first."""
        scores = self._index.get_scores(tokens(query))
        ranked = sorted(range(len(self.specs)), key=lambda i: -scores[i])
        return [self.specs[i] for i in ranked[:k]]
