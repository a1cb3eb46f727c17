"""Document embeddings cached by content hash: in memory for the process, on disk across runs.

Disk: ``$F1_CACHE_DIR/retrieval/<hash>.npy`` (default ``~/.cache/f1``). A cache that cannot be read or written is
skipped with a logged warning; the embeddings are then computed again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

import numpy as np

log = logging.getLogger(__name__)

Source = Literal["built", "memory", "disk"]
MEMORY_ENTRIES = 8

_memory: OrderedDict[str, np.ndarray] = OrderedDict()
_lock = threading.Lock()


def cache_dir() -> Path:
    """Where embeddings are kept between runs."""
    root = os.environ.get("F1_CACHE_DIR")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "f1") / "retrieval"


def content_hash(parts: Iterable[str]) -> str:
    """A sha256 over `parts` (separated, so ``["ab", "c"]`` and ``["a", "bc"]`` differ)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def cached_embeddings(key: str, rows: int, build: Callable[[], np.ndarray]) -> tuple[np.ndarray, Source]:
    """The array stored under `key` (it must have `rows` rows), else `build()`'s, which is then stored."""
    with _lock:
        if key in _memory:
            _memory.move_to_end(key)
            return _memory[key], "memory"
    array, source = _load(key, rows), "disk"
    if array is None:
        array, source = np.ascontiguousarray(build(), dtype=np.float32), "built"
        _save(key, array)
    array.setflags(write=False)
    with _lock:
        _memory[key] = array
        while len(_memory) > MEMORY_ENTRIES:
            _memory.popitem(last=False)
    return array, source


def clear_memory() -> None:
    """Forget the in-process cache (the disk cache stays)."""
    with _lock:
        _memory.clear()


def _load(key: str, rows: int) -> np.ndarray | None:
    path = cache_dir() / f"{key}.npy"
    if not path.exists():
        return None
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable retrieval cache %s: %s", path, exc)
        return None
    if array.ndim != 2 or array.shape[0] != rows or array.dtype != np.float32:
        log.warning("ignoring retrieval cache %s: shape %s, expected %d rows of float32", path, array.shape, rows)
        return None
    return array


def _save(key: str, array: np.ndarray) -> None:
    path = cache_dir() / f"{key}.npy"
    tmp = path.with_name(f".{key}.{os.getpid()}.{threading.get_ident()}.tmp.npy")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(tmp, array, allow_pickle=False)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot write retrieval cache %s: %s", path, exc)
        tmp.unlink(missing_ok=True)
