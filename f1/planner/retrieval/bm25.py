"""Okapi BM25 as rank-bm25 defines it (same idf floor and term weights), scored through an inverted index.

rank-bm25 scores a query term by looking it up in every document (a Python loop over the corpus); precomputing
each term's weighted postings makes a query over thousands of tools a few numpy additions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np


class BM25Index:
    """BM25 scores of every document for a query, in document order."""

    def __init__(self, documents: Sequence[list[str]]) -> None:
        self.size = len(documents)
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if not any(documents):
            return  # rank-bm25 cannot build an index without a single term; nothing can match anyway
        from rank_bm25 import BM25Okapi

        model = BM25Okapi(list(documents))
        norm = model.k1 * (1 - model.b + model.b * np.asarray(model.doc_len, dtype=np.float64) / model.avgdl)
        by_term: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
        for doc, frequencies in enumerate(model.doc_freqs):
            for term, frequency in frequencies.items():
                by_term[term].append((doc, frequency))
        for term, pairs in by_term.items():
            docs = np.fromiter((doc for doc, _ in pairs), dtype=np.int64, count=len(pairs))
            tf = np.fromiter((frequency for _, frequency in pairs), dtype=np.float64, count=len(pairs))
            self._postings[term] = (docs, model.idf[term] * tf * (model.k1 + 1) / (tf + norm[docs]))

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """Every document's score; a repeated query term counts each time, as in rank-bm25."""
        out = np.zeros(self.size)
        for term in query:
            if term in self._postings:
                docs, weights = self._postings[term]
                out[docs] += weights
        return out
