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
) -> Iterator[str]:
    """Yield the completion of `prompt_ids` as text deltas (never splitting a UTF-8 character).

    Greedy at temperature 0, else sampling (seeded by `seed`). Under a grammar, tokens it forbids are masked and
    tokens it forces are appended in the same forward call as the sampled token before them (`fast_forward`).
    Stops at the grammar's end, at EOS, or after `max_new_tokens`. Forward calls run under
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
    cache = {_cache_argument(model): _new_cache(model)}

    def next_token(ids: list[int]) -> int:
        """One forward call over `ids` (extending the KV cache), then mask and sample."""
        with torch.inference_mode():
            stats.forward_calls += 1
            output = model(input_ids=torch.tensor([ids], device=device), use_cache=True, **cache)
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
        pending = list(prompt_ids)
        stats.prompt_tokens += len(pending)
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
