"""The protocol every grammar engine implements, and the compiled-grammar cache they share."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from f1.errors import GrammarError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from f1.decoding.grammar import Grammar


@runtime_checkable
class Matcher(Protocol):
    """The state of one constrained generation."""

    def mask_logits(self, logits: torch.Tensor) -> None:
        """Set the logits (1-D, the model's vocabulary) of tokens the grammar forbids next to -inf, in place."""
        ...

    def consume(self, tokens: Sequence[int]) -> bool:
        """Advance over `tokens`; False (and nothing consumed after the first bad one) when one is not allowed."""
        ...

    def forced_tokens(self) -> list[int]:
        """Tokens the grammar forces next (fast-forward); empty when the model has a choice."""
        ...

    def is_accepting(self) -> bool:
        """Whether the text so far is complete (EOS would be allowed)."""
        ...

    def is_stopped(self) -> bool:
        """Whether nothing but EOS may follow."""
        ...


@runtime_checkable
class GrammarEngine(Protocol):
    """Compiles grammars for a tokenizer (cached by `Grammar.key`) and makes matchers."""

    name: str

    def compile(self, tokenizer: Any, grammar: Grammar, *, vocab_size: int | None = None) -> Any:
        """The compiled form of `grammar` (cached); raises `F1Error` when it does not compile."""
        ...

    def matcher(self, tokenizer: Any, grammar: Grammar, *, vocab_size: int | None = None) -> Matcher:
        """A fresh matcher at the start of `grammar`; `vocab_size` is the model's logits width."""
        ...

    def clear_cache(self) -> None:
        """Forget compiled grammars (the tokenizer's vocabulary stays)."""
        ...


class CompileCache:
    """A small LRU of compiled grammars keyed by (tokenizer, vocabulary size, grammar key); thread-safe."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[tuple[int, int, str], tuple[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tokenizer: Any, vocab_size: int, key: str, build: Callable[[], Any]) -> Any:
        """The compiled value for this key; `build()` makes it on a miss."""
        cache_key = (id(tokenizer), vocab_size, key)
        with self._lock:
            hit = self._items.get(cache_key)
            if hit is not None and hit[0] is tokenizer:
                self._items.move_to_end(cache_key)
                return hit[1]
        value = build()
        with self._lock:
            self._items[cache_key] = (tokenizer, value)  # the tokenizer is kept alive, so its id stays unique
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class CachingEngine:
    """The caches an engine keeps: per-tokenizer vocabularies (slow to build, kept), and compiled grammars."""

    def __init__(self) -> None:
        self._vocabularies = CompileCache(size=8)
        self._grammars = CompileCache()

    def clear_cache(self) -> None:
        """Forget compiled grammars (the tokenizer's vocabulary stays)."""
        self._grammars.clear()


def mask_words(vocab_size: int) -> np.ndarray:
    """A zeroed bitmask buffer for `vocab_size` tokens: int32 words, bit j of word i for token 32*i + j."""
    import numpy as np

    return np.zeros((vocab_size + 31) // 32, dtype=np.int32)


def schema_text(grammar: Grammar, engine: str) -> str:
    """The grammar's JSON schema as text, for the engines that compile only that; `GrammarError` without one."""
    if grammar.json_schema is None:
        raise GrammarError(f"the {engine} engine needs a JSON schema; grammar {grammar.name!r} has none")
    return json.dumps(grammar.json_schema)


def apply_bitmask(logits: torch.Tensor, words: np.ndarray) -> None:
    """Mask `logits` in place by a bitmask of int32 words (bit j of word i allows token 32*i + j)."""
    import numpy as np
    import torch

    allowed = np.unpackbits(words.view(np.uint8), bitorder="little")[: logits.shape[-1]].view(np.bool_)
    forbidden = torch.from_numpy(~allowed)
    if logits.device.type != "cpu":
        forbidden = forbidden.to(logits.device, non_blocking=True)
    logits.masked_fill_(forbidden, float("-inf"))
