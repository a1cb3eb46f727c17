"""Which numeric path a local model runs on, chosen by the hardware at hand.

| path | where | what |
|---|---|---|
| ``torch-cuda-bf16`` | a CUDA GPU | transformers in bf16, flash-attention when installed |
| ``onnx-int8`` | a CPU (known models) | onnxruntime, int8 weights and int8 compute (MatMulNBits) |
| ``onnx-int4`` | a CPU | onnxruntime, int4 weights with int8 compute: faster to decode, further from bf16 |
| ``torch-cpu-bf16`` | a CPU with native bf16 (AVX512-BF16 or AMX) | transformers in bf16 |
| ``torch-cpu-fp32`` | any CPU | transformers in fp32: emulated bf16 is 5x slower to prefill than fp32 |

`F1_NUMERIC_PATH` (or `LocalModel(numeric=...)`, `--numeric`) overrides the choice. `f1 bench model` measures
every path side by side.
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from pathlib import Path
from typing import Literal, get_args

from f1.errors import ModelError

NumericPath = Literal["torch-cuda-bf16", "onnx-int8", "onnx-int4", "torch-cpu-bf16", "torch-cpu-fp32"]
NUMERIC_PATHS: tuple[NumericPath, ...] = get_args(NumericPath)
NUMERIC_PATH_ENV = "F1_NUMERIC_PATH"


@cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16 in /proc/cpuinfo's flags)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    return "avx512_bf16" in flags or "amx_bf16" in flags


def onnx_available() -> bool:
    """Whether onnxruntime (to run) and its genai model builder (to export once) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnxruntime_genai"))


def available_paths() -> list[NumericPath]:
    """The paths this machine can run, fastest first."""
    import torch

    paths: list[NumericPath] = []
    if torch.cuda.is_available():
        paths.append("torch-cuda-bf16")
    if onnx_available():
        paths += ["onnx-int8", "onnx-int4"]
    if cpu_has_native_bf16():
        paths.append("torch-cpu-bf16")
    paths.append("torch-cpu-fp32")
    if "torch-cpu-bf16" not in paths:
        paths.append("torch-cpu-bf16")  # runs everywhere (emulated): the reference the others are checked against
    return paths


def choose_path(requested: str | None = None, *, known_model: bool = True) -> NumericPath:
    """The path to run: `requested` (or `$F1_NUMERIC_PATH`) when given, else the fastest this machine has.
    An ONNX path is chosen by default only for known models, whose export was checked against bf16."""
    requested = requested or os.environ.get(NUMERIC_PATH_ENV) or None
    if requested is not None:
        if requested not in NUMERIC_PATHS:
            raise ModelError(f"unknown numeric path {requested!r}; choose one of {', '.join(NUMERIC_PATHS)}")
        return requested  # type: ignore[return-value]
    for path in available_paths():
        if not path.startswith("onnx-") or known_model:
            return path
    return "torch-cpu-fp32"
