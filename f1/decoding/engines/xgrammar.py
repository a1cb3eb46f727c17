"""The xgrammar engine (optional extra ``xgrammar``). It compiles the grammar's JSON schema, not its Lark.

JSON schemas are looser than the Lark plan grammar: step ids are not forced to 1, 2, 3... and a reference may
name any step (the scheduler's `validate_plan` catches later or unknown ones). The vocabulary comes from exact
token bytes (`f1.decoding.vocab.token_bytes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import xgrammar

from f1.decoding.engines.base import CachingEngine, apply_bitmask, schema_text
from f1.errors import GrammarError

if TYPE_CHECKING:
    import torch

    from f1.decoding.grammar import Grammar


class XGrammarMatcher:
    """One generation's state; fast-forward tokenizes xgrammar's jump-forward string."""

    def __init__(self, matcher: xgrammar.GrammarMatcher, tokenizer: Any, vocab_size: int) -> None:
        self._matcher = matcher
        self._tokenizer = tokenizer
        self._bitmask = xgrammar.allocate_token_bitmask(1, vocab_size)

    def mask_logits(self, logits: torch.Tensor) -> None:
        self._matcher.fill_next_token_bitmask(self._bitmask)
        apply_bitmask(logits, self._bitmask[0].numpy())

    def consume(self, tokens: Sequence[int]) -> bool:
        for token in tokens:
            if not self._matcher.accept_token(int(token)):
                return False
        return True

    def forced_tokens(self) -> list[int]:
        forced = self._matcher.find_jump_forward_string()
        if not forced:
            return []
        tokens = self._tokenizer.encode(forced, add_special_tokens=False)
        accepted = 0
        for token in tokens:
            if not self._matcher.accept_token(token):
                break
            accepted += 1
        self._matcher.rollback(accepted)
        return tokens[:accepted]

    def is_accepting(self) -> bool:
        return self._matcher.is_completed()

    def is_stopped(self) -> bool:
        return self._matcher.is_completed() or self._matcher.is_terminated()


class XGrammarEngine(CachingEngine):
    """Compiles `Grammar.json_schema` with compact separators; cached by (tokenizer, grammar key)."""

    name = "xgrammar"

    def compile(self, tokenizer: Any, grammar: Grammar, *, vocab_size: int | None = None) -> Any:
        """The compiled grammar; raises `F1Error` when the grammar has no JSON schema or it does not compile."""
        from f1.decoding.vocab import eos_ids, token_bytes

        size = vocab_size or len(tokenizer)
        schema = schema_text(grammar, self.name)

        def compiler() -> xgrammar.GrammarCompiler:
            info = xgrammar.TokenizerInfo(
                token_bytes(tokenizer, size), xgrammar.VocabType.RAW, vocab_size=size, stop_token_ids=eos_ids(tokenizer)
            )
            return xgrammar.GrammarCompiler(info)

        def build() -> Any:
            try:
                return self._vocabularies.get(tokenizer, size, "", compiler).compile_json_schema(
                    schema, any_whitespace=False, separators=(",", ":"), strict_mode=True
                )
            except (RuntimeError, ValueError) as exc:
                raise GrammarError(f"xgrammar cannot compile grammar {grammar.name!r}: {exc}") from None

        return self._grammars.get(tokenizer, size, grammar.key, build)

    def matcher(self, tokenizer: Any, grammar: Grammar, *, vocab_size: int | None = None) -> XGrammarMatcher:
        size = vocab_size or len(tokenizer)
        compiled = self.compile(tokenizer, grammar, vocab_size=size)
        return XGrammarMatcher(xgrammar.GrammarMatcher(compiled), tokenizer, size)
