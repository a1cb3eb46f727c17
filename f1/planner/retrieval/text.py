"""The text retrieval sees: a tool as words (name split into words, description, parameter names), a query as
clauses, and both as BM25 terms."""

from __future__ import annotations

import re
from typing import Any

from f1.tools.spec import ToolSpec

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=\S)")
_STOPWORDS = frozenset(
    "a an and are as at be by can do for from i in into is it its me my of on or our please that the their them "
    "then this to was we with would you your".split()
)


def split_name(name: str) -> list[str]:
    """``getHealthWorkforce`` / ``get_health_workforce`` / ``HTTPServer2`` -> lower-case words."""
    return [word.lower() for word in _WORD.findall(name)]


def document(spec: ToolSpec) -> str:
    """What a tool is indexed by: its name, description, and parameters and result fields (names as words,
    with their descriptions)."""
    text = " ".join(split_name(spec.name)) + (f": {spec.description.strip()}" if spec.description.strip() else "")
    parameters = _fields(spec.parameters)
    results = _fields(spec.result_schema or {})
    return text + (f" Parameters: {parameters}" if parameters else "") + (f" Returns: {results}" if results else "")


def terms(text: str) -> list[str]:
    """BM25 terms: words (identifiers split), lower-case, stop words dropped, plural ``s`` stripped."""
    words = (word for token in _TOKEN.findall(text) for word in split_name(token))
    return [_stem(word) for word in words if word not in _STOPWORDS]


def clauses(query: str) -> list[str]:
    """The query's sentences; a multi-step task usually asks for one tool per sentence."""
    return [part.strip() for part in _SENTENCE_END.split(query) if part.strip()]


def _fields(schema: dict[str, Any]) -> str:
    return "; ".join(
        " ".join(split_name(name)) + (f": {prop['description']}" if prop.get("description") else "")
        for name, prop in schema.get("properties", {}).items()
    )


def _stem(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
