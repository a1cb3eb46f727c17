"""`ToolRetriever`: the tools most relevant to a task, by embeddings (MiniLM), BM25, or both fused.

Scoring: the query is split into sentences (a multi-step task usually asks for one tool per sentence) and each
is scored against every tool. Each method's scores are min-max normalised per sentence, methods are averaged
(hybrid), and a tool keeps its best score over the sentences, so every sentence brings its own tools.
See docs/retrieval.md for the measurements behind each choice.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np

from f1.cache import BoundedCache
from f1.errors import ConfigError, ModelError
from f1.planner.retrieval.bm25 import BM25Index
from f1.planner.retrieval.cache import Source, cached_embeddings, content_hash
from f1.planner.retrieval.encoder import Encoder, default_encoder
from f1.planner.retrieval.text import clauses, document, terms
from f1.tools.spec import ToolSpec

log = logging.getLogger(__name__)

Method = Literal["auto", "embedding", "bm25", "hybrid"]
BEST: Literal["hybrid"] = "hybrid"
DEFAULT_K = 16


class ToolRetriever:
    """Ranks a tool set against a query. Built once per tool set; see `retriever_for` for the shared one.

    ``method="auto"`` (the default) uses the best method (hybrid), falling back to BM25 with a logged warning
    when the embedding model cannot be loaded; naming ``"embedding"`` or ``"hybrid"`` raises `ModelError` then.
    Specs with a repeated name are dropped (the first is kept) and listed in `duplicates`. The embeddings are kept
    on disk only with `persist` (a named catalogue, not a tool set a client sent).
    """

    def __init__(
        self,
        specs: Sequence[ToolSpec],
        *,
        method: Method = "auto",
        encoder: Encoder | None = None,
        persist: bool = False,
    ) -> None:
        if method not in get_args(Method):
            raise ConfigError(f"unknown retrieval method {method!r}; choose one of {', '.join(get_args(Method))}")
        self.specs, self.duplicates = _dedupe(specs)
        self.method: Literal["embedding", "bm25", "hybrid"] = BEST if method == "auto" else method
        self.index_source: Source | None = None
        self._encoder: Encoder | None = None
        self._embeddings: np.ndarray | None = None
        self._bm25: BM25Index | None = None
        docs = [document(spec) for spec in self.specs]
        if self.method != "bm25" and self.specs:
            try:
                self._encoder = encoder or default_encoder()
            except ModelError as exc:
                if method != "auto":
                    raise
                log.warning("tool retrieval falls back to BM25: %s", exc)
                self.method = "bm25"
            else:
                key = content_hash([self._encoder.name, *docs])
                self._embeddings, self.index_source = cached_embeddings(
                    key, len(docs), lambda: self._encoder.encode(docs), persist=persist
                )
        if self.method != "embedding" and self.specs:
            self._bm25 = BM25Index([terms(doc) for doc in docs])

    @property
    def nbytes(self) -> int:
        """The memory this retriever keeps alive, measured object by object: its specs, embeddings and BM25 index
        (the shared encoder is not counted). About 3 MB for 1,000 small tools, half of it the index."""
        return _deep_size([self.specs, self._embeddings, self._bm25])

    def search(self, query: str, k: int = DEFAULT_K) -> list[ToolSpec]:
        """The `k` most relevant tools, best first."""
        return [spec for spec, _ in self.search_scored(query, k)]

    def search_scored(self, query: str, k: int = DEFAULT_K) -> list[tuple[ToolSpec, float]]:
        """The `k` most relevant tools with their scores, best first (ties keep catalogue order).

        Scores are relative to this query (the best tool of each sentence scores about 1), not a confidence."""
        if not query.strip():
            raise ConfigError("tool search needs a non-empty query")
        if k < 1:
            raise ConfigError(f"k must be at least 1, not {k}")
        if not self.specs:
            return []
        scores = self._scores(query)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(self.specs[i], float(scores[i])) for i in top]

    def _scores(self, query: str) -> np.ndarray:
        """Every tool's score for `query`, in catalogue order."""
        subqueries = clauses(query) or [query]
        per_method: list[np.ndarray] = []  # each (len(subqueries), len(specs))
        if self._embeddings is not None and self._encoder is not None:
            per_method.append(self._encoder.encode(subqueries) @ self._embeddings.T)
        if self._bm25 is not None:
            per_method.append(np.vstack([self._bm25.scores(terms(sub)) for sub in subqueries]))
        fused = np.mean([_minmax(scores) for scores in per_method], axis=0)
        return fused.max(axis=0)


def retriever_for(specs: Sequence[ToolSpec], *, method: Method = "auto", persist: bool = False) -> ToolRetriever:
    """The shared retriever for this tool set (memoised by the specs' content and the method, in a cache bounded
    by what its retrievers keep in memory). `persist`: as for `ToolRetriever`."""
    texts = [json.dumps(spec.model_dump(mode="json"), sort_keys=True) for spec in specs]
    key = (content_hash(texts), method)
    retriever = _memo.get(key)
    if retriever is None:
        retriever = ToolRetriever(specs, method=method, persist=persist)
        _memo.put(key, retriever, retriever.nbytes)
    return retriever


def select_tools(specs: Sequence[ToolSpec], query: str, *, limit: int = DEFAULT_K) -> list[ToolSpec]:
    """All of `specs` when they fit in `limit`, else the `limit` most relevant to `query`."""
    if len(specs) <= limit:
        return list(specs)
    return retriever_for(specs).search(query, limit)


_memo: BoundedCache[ToolRetriever] = BoundedCache(max_bytes=64 * 1024 * 1024, max_entries=8)


def _deep_size(roots: list[object]) -> int:
    """Bytes of `roots` and every object they reach (arrays with their data), each counted once."""
    seen: set[int] = set()
    stack = list(roots)
    total = 0
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, type):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        stack.extend(gc.get_referents(item))
    return total


def _dedupe(specs: Sequence[ToolSpec]) -> tuple[list[ToolSpec], list[str]]:
    kept: dict[str, ToolSpec] = {}
    duplicates: list[str] = []
    for spec in specs:
        if spec.name in kept:
            duplicates.append(spec.name)
        else:
            kept[spec.name] = spec
    if duplicates:
        log.warning(
            "tool retrieval ignores %d repeated tool name(s), keeping the first: %s", len(duplicates), duplicates[:5]
        )
    return list(kept.values()), duplicates


def _minmax(scores: np.ndarray) -> np.ndarray:
    low = scores.min(axis=1, keepdims=True)
    span = scores.max(axis=1, keepdims=True) - low
    return (scores - low) / np.where(span > 0, span, 1.0)
