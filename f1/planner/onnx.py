"""The ONNX CPU path: a transformers directory exported once to int4 ONNX, run with onnxruntime as a `CausalLM`.

The export is onnxruntime-genai's model builder (int4 or int8 MatMulNBits weights, asymmetric, blocks of 32, int8
compute), run in a child process into a temporary directory and renamed into place with a marker naming its source. At run
time plain onnxruntime runs the graph, so the generation loop keeps what it has on every path: its own grammar
mask, forced tokens fed in the same call, the log-probabilities of any rows, and a KV cache it can crop and store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from f1.errors import ModelError
from f1.planner.markers import read_json_object

if TYPE_CHECKING:
    import numpy as np
    import torch

MARKER = "f1-onnx.json"
Precision = Literal["int4", "int8"]
BUILDER_OPTIONS = ("is_symmetric=false", "accuracy_level=4", "block_size=32")
PREFILL_CHUNK = 256  # tokens per forward call while prefilling: bounds the logits buffer (chunk x vocab floats)


def export_onnx(source: Path, target: Path, precision: Precision, *, source_marker: dict[str, Any]) -> Path:
    """`target`, holding the ONNX export of the transformers directory `source` (done once, atomically)."""
    marker = {"source": str(source), "made_from": source_marker, "precision": precision, "options": list(BUILDER_OPTIONS)}
    existing = read_json_object(target / MARKER)
    if all(existing.get(key) == value for key, value in marker.items()):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".onnx-"))
    started = time.perf_counter()
    command = [
        sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(source), "-o", str(tmp / "model"),
        "-p", precision, "-e", "cpu", "-c", str(tmp / "cache"), "--extra_options", *BUILDER_OPTIONS,
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-5:])
            raise ModelError(f"cannot export {source} to ONNX (onnxruntime-genai builder): {tail}")
        out = tmp / "model"
        (out / MARKER).write_text(json.dumps({**marker, "export_seconds": round(time.perf_counter() - started, 1)}))
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class OnnxCache:
    """Keys and values as numpy arrays, one (1, kv_heads, tokens, head_size) array per layer and kind."""

    def __init__(self, arrays: list[np.ndarray]) -> None:
        self._arrays = arrays

    def get_seq_length(self) -> int:
        return int(self._arrays[0].shape[2]) if self._arrays else 0

    def crop(self, tokens_to_remove: int) -> None:
        self._arrays = self.prefix_arrays(self.get_seq_length() + min(tokens_to_remove, 0))

    def arrays(self) -> list[np.ndarray]:
        return self._arrays

    def prefix_arrays(self, length: int) -> list[np.ndarray]:
        return [array[:, :, :length] for array in self._arrays]

    def replace(self, arrays: list[np.ndarray]) -> None:
        self._arrays = arrays


class OnnxLM:
    """An onnxruntime session over an onnxruntime-genai export, driven token by token by the generation loop."""

    def __init__(self, directory: Path, *, threads: int | None = None) -> None:
        import onnxruntime

        self.directory = directory
        marker = read_json_object(directory / MARKER)
        self.path = f"onnx-{marker.get('precision', 'int4')}"
        marker.pop("export_seconds", None)
        self.identity = json.dumps(marker, sort_keys=True)  # what the export was made from, and how
        config = read_json_object(directory / "genai_config.json").get("model", {})
        decoder = config.get("decoder", {})
        try:
            self.vocab_size = int(config["vocab_size"])
            layers = int(decoder["num_hidden_layers"])
            self._kv_shape = (1, int(decoder["num_key_value_heads"]), 0, int(decoder["head_size"]))
            names = decoder["inputs"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{directory}: not an onnxruntime-genai export (genai_config.json: {exc})") from exc
        eos = config.get("eos_token_id")
        self.eos_token_ids: tuple[int, ...] = tuple(eos) if isinstance(eos, list) else (eos,) if eos else ()
        kinds = [(names["past_key_names"], "present.%d.key"), (names["past_value_names"], "present.%d.value")]
        self._past = [past % layer for layer in range(layers) for past, _ in kinds]
        self._present = [present % layer for layer in range(layers) for _, present in kinds]
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(
                str(directory / decoder.get("filename", "model.onnx")), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph kinds
            raise ModelError(f"cannot load ONNX model from {directory}: {exc}") from exc

    def new_cache(self) -> OnnxCache:
        import numpy as np

        return OnnxCache([np.zeros(self._kv_shape, np.float32) for _ in self._past])

    def cache_from_arrays(self, arrays: list[np.ndarray]) -> OnnxCache:
        """A cache holding `arrays` (as `OnnxCache.prefix_arrays` gave them)."""
        batch, heads, _, head_size = self._kv_shape
        if len(arrays) != len(self._past) or any(
            a.ndim != 4 or (a.shape[0], a.shape[1], a.shape[3]) != (batch, heads, head_size) for a in arrays
        ):
            raise ValueError("arrays do not fit this model's KV cache")
        return OnnxCache(list(arrays))

    def forward(self, ids: Sequence[int], cache: OnnxCache, rows: int) -> torch.Tensor:  # type: ignore[override]
        import numpy as np
        import torch

        ids = list(ids)
        logits: Any = None
        for start in range(0, len(ids), PREFILL_CHUNK):
            chunk = ids[start : start + PREFILL_CHUNK]
            total = cache.get_seq_length() + len(chunk)
            feed = {
                "input_ids": np.asarray([chunk], dtype=np.int64),
                "attention_mask": np.ones((1, total), dtype=np.int64),
                **dict(zip(self._past, cache.arrays(), strict=True)),
            }
            outputs = self._session.run(["logits", *self._present], feed)
            cache.replace(outputs[1:])
            logits = outputs[0][0] if logits is None or len(chunk) >= rows else np.concatenate([logits, outputs[0][0]])
        return torch.from_numpy(np.ascontiguousarray(logits[-rows:], dtype=np.float32))
