"""The generation loop for transformers causal LMs: KV cache, grammar mask, and fast-forward of forced tokens."""

from __future__ import annotations

import codecs
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from f1.decoding.runtime import PortableCache

if TYPE_CHECKING:
    import torch

    from f1.decoding.engines.base import GrammarEngine, Matcher
    from f1.decoding.grammar import Grammar
    from f1.decoding.prefix_store import DiskPrefixStore
    from f1.decoding.runtime import CausalLM


@dataclass
class GenerationStats:
    """What one generation cost. `tokens` counts every generated token, `forced_tokens` those the grammar forced."""

    forward_calls: int = 0
    tokens: int = 0
    forced_tokens: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    seconds: float = 0.0
    mask_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Delta:
    """Generated text and the log-probability the model itself (before any grammar mask) gave its tokens."""

    text: str
    logprob: float


def generate(
    model: CausalLM | Any,
    tokenizer: Any,
    prompt_ids: Sequence[int],
    *,
    grammar: Grammar | None,
    engine: str | GrammarEngine = "llguidance",
    max_new_tokens: int = 512,
    temperature: float = 0.0,
    seed: int | None = None,
    stats: GenerationStats | None = None,
    fast_forward: bool = True,
    prefix_cache: PrefixCache | None = None,
    stable_prefix: int = 0,
) -> Iterator[Delta]:
    """Yield the completion of `prompt_ids` as `Delta`s (text never splitting a UTF-8 character).

    Greedy at temperature 0, else sampling (seeded by `seed`). Under a grammar, tokens it forbids are masked and
    tokens it forces are appended in the same forward call as the sampled token before them (`fast_forward`).
    Stops at the grammar's end, at EOS, or after `max_new_tokens`. With `prefix_cache`, the keys and values of
    the longest prompt prefix seen before are reused (a shared system prompt is computed once); its first
    `stable_prefix` prompt tokens are what later prompts will share (the cache may keep them on disk). `model` is a
    `CausalLM` or a transformers model. A forced block is yielded after the forward
    call that scores it (its log-probability comes from that call's logits), so it arrives one call later.
    """
    import torch

    from f1.decoding.engines import get_engine
    from f1.decoding.runtime import as_causal_lm
    from f1.decoding.vocab import eos_ids, token_bytes

    lm = as_causal_lm(model)
    stats = stats if stats is not None else GenerationStats()
    started = time.perf_counter()
    pieces = token_bytes(tokenizer, lm.vocab_size)
    stop_ids = set(eos_ids(tokenizer, lm.eos_token_ids))
    matcher: Matcher | None = None
    if grammar is not None:
        chosen = get_engine(engine) if isinstance(engine, str) else engine
        matcher = chosen.matcher(tokenizer, grammar, vocab_size=lm.vocab_size)
    generator = torch.Generator().manual_seed(seed) if seed is not None and temperature > 0 else None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    kv, reused = prefix_cache.take(prompt_ids) if prefix_cache is not None else (None, 0)
    cache = kv if kv is not None else lm.new_cache()
    fed: list[int] = list(prompt_ids[:reused])  # the tokens whose keys and values the cache holds

    def next_token(ids: list[int], unscored: int) -> tuple[list[float], int, float]:
        """One forward call over `ids` (extending the KV cache): the log-probabilities of its last `unscored`
        tokens, then the masked, sampled next token and its own (unmasked) log-probability."""
        with torch.inference_mode():
            stats.forward_calls += 1
            output = lm.forward(ids, cache, unscored + 1)
            fed.extend(ids)
            logprobs = torch.log_softmax(output, dim=-1)
            scored = [float(logprobs[row, token]) for row, token in enumerate(ids[len(ids) - unscored :])]
            logits = output[-1]  # masked in place: the log-probabilities above are unmasked
            if matcher is not None:
                mask_started = time.perf_counter()
                matcher.mask_logits(logits)
                stats.mask_seconds += time.perf_counter() - mask_started
            token = _sample(logits, temperature, generator)
            return scored, token, float(logprobs[-1, token])

    logprob = 0.0  # of tokens whose text is not complete yet

    def advance(tokens: list[int], logprobs: list[float], *, forced: bool) -> Iterator[Delta]:
        nonlocal logprob
        stats.tokens += len(tokens)
        stats.forced_tokens += len(tokens) if forced else 0
        logprob += sum(logprobs)
        text = decoder.decode(b"".join(pieces[token] for token in tokens))
        if text:
            yield Delta(text, logprob)
            logprob = 0.0

    try:
        pending = list(prompt_ids[reused:])
        stats.prompt_tokens += len(prompt_ids)
        stats.cached_prompt_tokens += reused
        produced = 0
        deferred: list[int] = []  # forced tokens fed with `pending`, yielded once scored
        while produced < max_new_tokens and not (matcher is not None and matcher.is_stopped()):
            if matcher is not None and fast_forward:
                forced = matcher.forced_tokens()[: max_new_tokens - produced]
                if forced and matcher.consume(forced):
                    pending += forced  # forwarded with the prompt, or with the sampled token before them
                    produced += len(forced)
                    deferred = forced
                    if matcher.is_stopped() or produced >= max_new_tokens:
                        break
            scored, token, token_logprob = next_token(pending, len(deferred))
            yield from advance(deferred, scored, forced=True)
            deferred = []
            if token in stop_ids or (matcher is not None and not matcher.consume([token])):
                break  # EOS (only sampled where the grammar allows it), or a grammar dead end
            pending = [token]
            produced += 1
            yield from advance(pending, [token_logprob], forced=False)
        yield from advance(deferred, [], forced=True)  # the grammar's last forced tokens: never scored (0)
        tail = decoder.decode(b"", final=True)
        if tail:
            yield Delta(tail, logprob)
    finally:
        stats.seconds += time.perf_counter() - started
        if prefix_cache is not None:
            prefix_cache.put(fed, cache, stable=stable_prefix)


def prepare_vocabulary(tokenizer: Any, vocab_size: int, engine: str | GrammarEngine = "llguidance") -> None:
    """Build what every generation with this tokenizer needs once (its token bytes, the grammar engine's view of
    its vocabulary), so that it can overlap a model's loading instead of delaying the first token."""
    from f1.decoding.engines import get_engine
    from f1.decoding.grammar import text_grammar
    from f1.decoding.vocab import token_bytes

    token_bytes(tokenizer, vocab_size)
    (get_engine(engine) if isinstance(engine, str) else engine).compile(tokenizer, text_grammar(), vocab_size=vocab_size)


class PrefixCache:
    """KV caches of a model's recent generations, reused for the longest token prefix a new prompt shares with
    one of them (the system prompt, few-shot turns, earlier turns). With a `store`, the stable prefix of each
    prompt (what the caller says will recur, e.g. instructions and few-shot turns) is also kept on disk for later
    processes, and read back when it is longer than anything in memory. Not thread-safe: one generation at a time."""

    def __init__(self, slots: int = 4, *, min_shared: int = 16, store: DiskPrefixStore | None = None) -> None:
        self.slots = slots
        self.min_shared = min_shared
        self.store = store
        self._entries: list[tuple[list[int], Any]] = []  # most recent first

    def take(self, prompt_ids: Sequence[int]) -> tuple[Any, int]:
        """Remove and return the best cache, cropped to the shared prefix, and that prefix's length (or None, 0)."""
        best, shared = -1, 0
        for index, (ids, _) in enumerate(self._entries):
            length = _shared_prefix(ids, prompt_ids)
            if length > shared:
                best, shared = index, length
        limit = len(prompt_ids) - 1  # at least one token must be fed for the next logits
        if self.store is not None:
            path, stored = self.store.longest(prompt_ids[:limit])
            if path is not None and stored > min(shared, limit) and stored >= self.min_shared:
                kv = self.store.load(path)
                if kv is not None:
                    return kv, stored
        shared = min(shared, limit)
        if best < 0 or shared < self.min_shared:
            return None, 0
        _, kv = self._entries.pop(best)
        kv.crop(shared - kv.get_seq_length())
        return kv, shared

    def put(self, ids: list[int], kv: Any, *, stable: int = 0) -> None:
        """Keep `kv`, which holds the keys and values of exactly `ids`; its first `stable` tokens also on disk."""
        if kv.get_seq_length() != len(ids):
            return  # interrupted inside a forward call: not reusable
        if self.store is not None and self.min_shared <= stable <= len(ids) and isinstance(kv, PortableCache):
            self.store.save(ids[:stable], kv.prefix_arrays(stable))
        self._entries.insert(0, (ids, kv))
        del self._entries[self.slots :]


def _shared_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def _sample(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> int:
    import torch

    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1).cpu()
    # Exponential-race sampling: argmax(p / E) with E ~ Exp(1) draws from p (and is much faster than multinomial).
    race = torch.empty_like(probs).exponential_(1.0, generator=generator)
    return int(torch.argmax(probs / race))
