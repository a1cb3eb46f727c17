"""The default engine: llguidance (Earley parser + lazy lexer; Lark grammars with embedded JSON schemas)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from f1.decoding.engines.base import CachingEngine, apply_bitmask, mask_words
from f1.errors import GrammarError, ModelError

if TYPE_CHECKING:
    import llguidance
    import torch

    from f1.decoding.grammar import Grammar


class LLGuidanceMatcher:
    """One generation's parser state; masks are computed into a reused buffer."""

    def __init__(self, matcher: llguidance.LLMatcher, vocab_size: int) -> None:
        self._matcher = matcher
        self._words = mask_words(vocab_size)

    def mask_logits(self, logits: torch.Tensor) -> None:
        self._matcher.unsafe_compute_mask_ptr(self._words.ctypes.data, self._words.nbytes)
        apply_bitmask(logits, self._words)

    def consume(self, tokens: Sequence[int]) -> bool:
        tokens = list(tokens)
        accepted = self._matcher.validate_tokens(tokens)
        if accepted:
            self._matcher.consume_tokens(tokens[:accepted])
        return accepted == len(tokens)

    def forced_tokens(self) -> list[int]:
        return list(self._matcher.compute_ff_tokens())

    def is_accepting(self) -> bool:
        return self._matcher.is_accepting()

    def is_stopped(self) -> bool:
        return self._matcher.is_stopped()


class LLGuidanceEngine(CachingEngine):
    """Compiles a grammar once per (tokenizer, grammar key); each matcher is a cheap copy of the compiled one."""

    name = "llguidance"

    def tokenizer(self, tokenizer: Any, vocab_size: int | None = None) -> llguidance.LLTokenizer:
        """llguidance's view of a Hugging Face fast tokenizer (about a second to build; cached)."""
        import llguidance.hf

        from f1.decoding.vocab import eos_ids

        size = vocab_size or len(tokenizer)

        def build() -> llguidance.LLTokenizer:
            try:
                return llguidance.hf.from_tokenizer(tokenizer, n_vocab=size, eos_token=eos_ids(tokenizer))
            except ValueError as exc:
                raise ModelError(f"llguidance needs a fast (Rust) Hugging Face tokenizer: {exc}") from None

        return self._vocabularies.get(tokenizer, size, "", build)

    def compile(self, tokenizer: Any, grammar: Grammar, *, vocab_size: int | None = None) -> llguidance.LLMatcher:
        """The compiled grammar (a pristine matcher); raises `F1Error` if the grammar is invalid."""
        import llguidance

        size = vocab_size or len(tokenizer)

        def build() -> llguidance.LLMatcher:
            matcher = llguidance.LLMatcher(self.tokenizer(tokenizer, size), grammar.lark, log_level=0)
            if matcher.is_error():
                raise GrammarError(f"grammar {grammar.name!r} does not compile: {matcher.get_error()}")
            return matcher

        return self._grammars.get(tokenizer, size, grammar.key, build)

    def matcher(self, tokenizer: Any, grammar: Grammar, *, vocab_size: int | None = None) -> LLGuidanceMatcher:
        size = vocab_size or len(tokenizer)
        return LLGuidanceMatcher(self.compile(tokenizer, grammar, vocab_size=size).deep_copy(), size)
