"""Tool retrieval for catalogues larger than a prompt holds: embeddings (bundled MiniLM), BM25, or both."""

from f1.planner.retrieval.cache import clear_memory
from f1.planner.retrieval.encoder import Encoder, SentenceEncoder, default_encoder
from f1.planner.retrieval.retriever import DEFAULT_K, Method, ToolRetriever, retriever_for, select_tools
from f1.planner.retrieval.text import document, split_name

__all__ = [
    "DEFAULT_K",
    "Encoder",
    "Method",
    "SentenceEncoder",
    "ToolRetriever",
    "clear_memory",
    "default_encoder",
    "document",
    "retriever_for",
    "select_tools",
    "split_name",
]
