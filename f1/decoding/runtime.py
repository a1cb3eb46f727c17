"""What the generation loop needs from a causal language model: one forward call over new tokens with a KV cache.

`CausalLM` is the protocol; `TorchLM` wraps a transformers model (CUDA, or a CPU path chosen by
`f1.planner.numeric`); `f1.planner.onnx.OnnxLM` runs an int4 ONNX export with onnxruntime. A KV cache is opaque to
the loop: it only asks its length and crops it (the `PrefixCache` reuses a shared prompt prefix).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import torch


@runtime_checkable
class KVCache(Protocol):
    """Keys and values of the tokens fed so far."""

    def get_seq_length(self) -> int:
        """How many tokens it holds."""
        ...

    def crop(self, tokens_to_remove: int) -> None:
        """Drop `-tokens_to_remove` tokens from the end (a count <= 0, as transformers 5's `DynamicCache`)."""
        ...


@runtime_checkable
class CausalLM(Protocol):
    """A causal LM as the generation loop drives it. `path` names its numeric path (e.g. ``"onnx-int4"``);
    `eos_token_ids` are the ids its generation config ends on (besides the tokenizer's EOS)."""

    vocab_size: int
    path: str
    eos_token_ids: tuple[int, ...]

    def new_cache(self) -> KVCache:
        """An empty KV cache."""
        ...

    def forward(self, ids: Sequence[int], cache: KVCache, rows: int) -> torch.Tensor:
        """Feed `ids` after the tokens in `cache` (which grows by them); the float32 logits of the last `rows`
        positions, shape ``(rows, vocab_size)``."""
        ...


@runtime_checkable
class PortableCache(Protocol):
    """A KV cache that can be written out as arrays and read back (for the on-disk prefix store)."""

    def prefix_arrays(self, length: int) -> list[np.ndarray]:
        """Its tensors cut to the first `length` tokens, in the order its runtime's `cache_from_arrays` takes."""
        ...


class TorchLM:
    """A transformers causal LM (any device or dtype) behind `CausalLM`."""

    def __init__(self, model: Any, *, path: str | None = None) -> None:
        self.model = model
        self.vocab_size = int(model.get_output_embeddings().weight.shape[0])
        self.path = path or f"torch-{model.device.type}-{str(model.dtype).removeprefix('torch.')}"
        self.eos_token_ids = _ids(getattr(getattr(model, "generation_config", None), "eos_token_id", None))
        parameters = inspect.signature(model.forward).parameters
        # ``cache`` in recent transformers, ``past_key_values`` before; ``logits_to_keep`` limits the LM head.
        self._cache_argument = "cache" if "cache" in parameters else "past_key_values"
        self._keeps_rows = "logits_to_keep" in parameters

    def new_cache(self) -> KVCache:
        from transformers import DynamicCache

        try:
            return DynamicCache(config=self.model.config)  # type: ignore[no-any-return]
        except TypeError:  # older signature
            return DynamicCache()  # type: ignore[no-any-return]

    def forward(self, ids: Sequence[int], cache: KVCache, rows: int) -> torch.Tensor:
        import torch

        keep = {"logits_to_keep": rows} if self._keeps_rows else {}
        with torch.inference_mode():
            output = self.model(
                input_ids=torch.tensor([list(ids)], device=self.model.device),
                use_cache=True,
                **{self._cache_argument: cache},
                **keep,
            )
            return output.logits[0, -rows:].float()


def as_causal_lm(model: Any) -> CausalLM:
    """`model` itself when it is a `CausalLM`, else a transformers model wrapped in `TorchLM`."""
    return model if isinstance(model, CausalLM) else TorchLM(model)


def _ids(value: int | Sequence[int] | None) -> tuple[int, ...]:
    """A config's token id field (one id, a list of ids or none) as a tuple."""
    if value is None:
        return ()
    return (value,) if isinstance(value, int) else tuple(value)
