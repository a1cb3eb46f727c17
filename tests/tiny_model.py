"""Helpers for model tests: a tiny random Qwen2 model and a byte-level tokenizer, both built locally."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_config(vocab_size: int) -> Any:
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=4096,
        eos_token_id=256,
        pad_token_id=257,
    )


def tiny_model(vocab_size: int) -> Any:
    import torch
    from transformers import Qwen2ForCausalLM

    torch.manual_seed(0)
    return Qwen2ForCausalLM(tiny_config(vocab_size)).to(torch.bfloat16).eval()


def byte_tokenizer() -> Any:
    """A byte-level BPE tokenizer without merges (one token per byte) plus Qwen's chat special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {char: i for i, char in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    backend = Tokenizer(models.BPE(vocab, []))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def save_tiny_dir(path: Path) -> Path:
    """A transformers directory (config, safetensors, tokenizer) of a tiny random model."""
    tokenizer = byte_tokenizer()
    tiny_model(len(tokenizer)).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def fake_attention(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand in for f1.decoding.attention until the decoding branch provides it."""
    try:
        import f1.decoding.attention  # noqa: F401
    except ImportError:
        monkeypatch.setitem(sys.modules, "f1.decoding.attention", SimpleNamespace(choose_attention=lambda: "sdpa"))


def fake_generate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand in for f1.decoding.generate (greedy, unconstrained) until the decoding branch provides it."""
    try:
        import f1.decoding.generate  # noqa: F401
    except ImportError:
        monkeypatch.setitem(sys.modules, "f1.decoding.generate", SimpleNamespace(GenerationStats=_Stats, generate=_greedy))


class _Stats:
    def __init__(self) -> None:
        self.tokens = self.forward_calls = self.prompt_tokens = 0


def _greedy(model: Any, tokenizer: Any, prompt_ids: list[int], *, grammar: Any, engine: str, max_new_tokens: int,
            temperature: float, stats: _Stats, seed: int | None = None) -> Any:
    import torch

    ids = torch.tensor([prompt_ids])
    stats.prompt_tokens = len(prompt_ids)
    with torch.inference_mode():
        for _ in range(max_new_tokens):
            token = int(model(ids).logits[0, -1].argmax())
            stats.forward_calls += 1
            if token == tokenizer.eos_token_id:
                return
            stats.tokens += 1
            ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
            yield tokenizer.decode([token])
