"""The generation loop for transformers causal LMs: KV cache, grammar mask, and fast-forward of forced tokens."""

from __future__ import annotations

import codecs
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from f1.decoding.engines.base import GrammarEngine, Matcher
    from f1.decoding.grammar import Grammar


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


def generate(
    model: Any,
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
) -> Iterator[str]:
    """Yield the completion of `prompt_ids` as text deltas (never splitting a UTF-8 character).

    Greedy at temperature 0, else sampling (seeded by `seed`). Under a grammar, tokens it forbids are masked and
    tokens it forces are appended in the same forward call as the sampled token before them (`fast_forward`).
    Stops at the grammar's end, at EOS, or after `max_new_tokens`. With `prefix_cache`, the keys and values of
    the longest prompt prefix seen before are reused (a shared system prompt is computed once). Forward calls run under
    `torch.inference_mode` (not the caller's code between deltas).
    """
    import torch

    from f1.decoding.engines import get_engine
    from f1.decoding.vocab import eos_ids, token_bytes

    stats = stats if stats is not None else GenerationStats()
    started = time.perf_counter()
    vocab_size = model.get_output_embeddings().weight.shape[0]
    pieces = token_bytes(tokenizer, vocab_size)
    stop_ids = set(eos_ids(tokenizer, model))
    matcher: Matcher | None = None
    if grammar is not None:
        chosen = get_engine(engine) if isinstance(engine, str) else engine
        matcher = chosen.matcher(tokenizer, grammar, vocab_size=vocab_size)
    generator = torch.Generator().manual_seed(seed) if seed is not None and temperature > 0 else None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    device = model.device
    kv, reused = prefix_cache.take(prompt_ids) if prefix_cache is not None else (None, 0)
    cache = {_cache_argument(model): kv if kv is not None else _new_cache(model)}
    fed: list[int] = list(prompt_ids[:reused])  # the tokens whose keys and values the cache holds

    def next_token(ids: list[int]) -> int:
        """One forward call over `ids` (extending the KV cache), then mask and sample."""
        with torch.inference_mode():
            stats.forward_calls += 1
            output = model(input_ids=torch.tensor([ids], device=device), use_cache=True, **cache)
            fed.extend(ids)
            logits = output.logits[0, -1].float()
            if matcher is not None:
                mask_started = time.perf_counter()
                matcher.mask_logits(logits)
                stats.mask_seconds += time.perf_counter() - mask_started
            return _sample(logits, temperature, generator)

    def advance(tokens: list[int], *, forced: bool) -> Iterator[str]:
        stats.tokens += len(tokens)
        stats.forced_tokens += len(tokens) if forced else 0
        yield from _emit(decoder, pieces, tokens)

    try:
        pending = list(prompt_ids[reused:])
        stats.prompt_tokens += len(prompt_ids)
        stats.cached_prompt_tokens += reused
        produced = 0
        if matcher is not None and fast_forward:
            forced = matcher.forced_tokens()[:max_new_tokens]
            if forced and matcher.consume(forced):
                pending += forced  # prefilled with the prompt
                produced += len(forced)
                yield from advance(forced, forced=True)
        while produced < max_new_tokens and not (matcher is not None and matcher.is_stopped()):
            token = next_token(pending)
            if token in stop_ids or (matcher is not None and not matcher.consume([token])):
                break  # EOS (only sampled where the grammar allows it), or a grammar dead end
            pending = [token]
            produced += 1
            yield from advance(pending, forced=False)
            if matcher is not None and fast_forward and not matcher.is_stopped():
                forced = matcher.forced_tokens()[: max_new_tokens - produced]
                if forced and matcher.consume(forced):
                    pending += forced  # forwarded together with the sampled token
                    produced += len(forced)
                    yield from advance(forced, forced=True)
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail
    finally:
        stats.seconds += time.perf_counter() - started
        if prefix_cache is not None:
            prefix_cache.put(fed, next(iter(cache.values())))


class PrefixCache:
    """KV caches of a model's recent generations, reused for the longest token prefix a new prompt shares with
    one of them (the system prompt, few-shot turns, earlier turns). Not thread-safe: one generation at a time."""

    def __init__(self, slots: int = 4, *, min_shared: int = 16) -> None:
        self.slots = slots
        self.min_shared = min_shared
        self._entries: list[tuple[list[int], Any]] = []  # most recent first

    def take(self, prompt_ids: Sequence[int]) -> tuple[Any, int]:
        """Remove and return the best cache, cropped to the shared prefix, and that prefix's length (or None, 0)."""
        best, shared = -1, 0
        for index, (ids, _) in enumerate(self._entries):
            length = _shared_prefix(ids, prompt_ids)
            if length > shared:
                best, shared = index, length
        shared = min(shared, len(prompt_ids) - 1)  # at least one token must be fed for the next logits
        if best < 0 or shared < self.min_shared:
            return None, 0
        _, kv = self._entries.pop(best)
        kv.crop(shared - kv.get_seq_length())  # transformers 5: a negative count of tokens to drop
        return kv, shared

    def put(self, ids: list[int], kv: Any) -> None:
        """Keep `kv`, which holds the keys and values of exactly `ids`."""
        if kv.get_seq_length() != len(ids):
            return  # interrupted inside a forward call: not reusable
        self._entries.insert(0, (ids, kv))
        del self._entries[self.slots :]


def _shared_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def _emit(decoder: codecs.IncrementalDecoder, pieces: list[bytes], tokens: list[int]) -> Iterator[str]:
    text = decoder.decode(b"".join(pieces[token] for token in tokens))
    if text:
        yield text


def _sample(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> int:
    import torch

    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1).cpu()
    # Exponential-race sampling: argmax(p / E) with E ~ Exp(1) draws from p (and is much faster than multinomial).
    race = torch.empty_like(probs).exponential_(1.0, generator=generator)
    return int(torch.argmax(probs / race))


def _cache_argument(model: Any) -> str:
    """The forward() keyword for the KV cache: ``cache`` in recent transformers, ``past_key_values`` before."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _new_cache(model: Any) -> Any:
    from transformers import DynamicCache

    try:
        return DynamicCache(config=model.config)
    except TypeError:  # older signature
        return DynamicCache()
