"""The outlines engine (optional extra ``outlines``): outlines-core's regex automaton over the grammar's JSON schema.

Built directly on outlines-core with a vocabulary of exact token bytes (outlines 1.3.3's own conversion mangles
Qwen/Gemma ``▁``/byte tokens). Compiling a regex index is slow for large schemas (minutes to hours at 100+ tools):
use it for small tool sets only. Like xgrammar it sees the looser JSON schema (see `f1.decoding.engines.xgrammar`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import outlines_core
from outlines_core.json_schema import build_regex_from_schema

from f1.decoding.engines.base import CachingEngine, apply_bitmask, mask_words, schema_text
from f1.errors import GrammarError

if TYPE_CHECKING:
    import torch

    from f1.decoding.grammar import Grammar


class OutlinesMatcher:
    """One generation's automaton state (no fast-forward: the model is asked for every token)."""

    def __init__(self, guide: outlines_core.Guide, vocab_size: int) -> None:
        self._guide = guide
        self._words = mask_words(vocab_size)

    def mask_logits(self, logits: torch.Tensor) -> None:
        self._guide.write_mask_into(self._words.ctypes.data, self._words.size, 4)
        apply_bitmask(logits, self._words)

    def consume(self, tokens: Sequence[int]) -> bool:
        for token in tokens:
            if not self._guide.accepts_tokens([int(token)]):
                return False
            self._guide.advance(int(token), return_tokens=False)
        return True

    def forced_tokens(self) -> list[int]:
        return []

    def is_accepting(self) -> bool:
        return self._guide.is_finished()

    def is_stopped(self) -> bool:
        return self._guide.is_finished() and len(self._guide.get_tokens()) <= 1


class OutlinesEngine(CachingEngine):
    """Compiles `Grammar.json_schema` to a compact-JSON regex index; cached by (tokenizer, grammar key)."""

    name = "outlines"

    def compile(self, tokenizer: Any, grammar: Grammar, *, vocab_size: int | None = None) -> outlines_core.Index:
        """The regex index of the grammar's JSON schema."""
        from f1.decoding.vocab import eos_ids, token_bytes

        size = vocab_size or len(tokenizer)
        schema = schema_text(grammar, self.name)

        def vocabulary() -> outlines_core.Vocabulary:
            stop = eos_ids(tokenizer)
            special = set(tokenizer.all_special_ids) | set(stop)
            tokens: dict[bytes, list[int]] = {}
            for index, piece in enumerate(token_bytes(tokenizer, size)):
                if piece and index not in special:
                    tokens.setdefault(piece, []).append(index)
            return outlines_core.Vocabulary(stop[0], tokens)

        def build() -> outlines_core.Index:
            regex = build_regex_from_schema(schema, whitespace_pattern="")
            try:
                return outlines_core.Index(regex, self._vocabularies.get(tokenizer, size, "", vocabulary))
            except ValueError as exc:
                raise GrammarError(f"outlines-core cannot compile grammar {grammar.name!r}: {exc}") from None

        return self._grammars.get(tokenizer, size, grammar.key, build)

    def matcher(self, tokenizer: Any, grammar: Grammar, *, vocab_size: int | None = None) -> OutlinesMatcher:
        size = vocab_size or len(tokenizer)
        return OutlinesMatcher(outlines_core.Guide(self.compile(tokenizer, grammar, vocab_size=size)), size)
