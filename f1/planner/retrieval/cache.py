"""Document embeddings cached by content hash: in memory, bounded in bytes; on disk only for named catalogues.

Memory: the most recently used arrays, `MEMORY_BYTES` in all. Disk (``persist=True``: the engine's own tools, a
catalogue the CLI or an eval names, never a tool set a client sent): ``$F1_CACHE_DIR/retrieval/<hash>.npy`` (default
``~/.cache/f1``), the least recently used files deleted past `DISK_BYTES`. A cache that cannot be read or written
is skipped with a logged warning; the embeddings are then computed again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

import numpy as np

from f1.cache import BoundedCache
from f1.planner.weights import cache_root

log = logging.getLogger(__name__)

Source = Literal["built", "memory", "disk"]
MEMORY_BYTES = 64 * 1024 * 1024
DISK_BYTES = 256 * 1024 * 1024

_memory: BoundedCache[np.ndarray] = BoundedCache(max_bytes=MEMORY_BYTES, max_entries=32)


def embeddings_dir() -> Path:
    """Where embeddings are kept between runs: `<f1 cache folder>/retrieval`."""
    return cache_root() / "retrieval"


def content_hash(parts: Iterable[str]) -> str:
    """A sha256 over `parts` (separated, so ``["ab", "c"]`` and ``["a", "bc"]`` differ)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def cached_embeddings(
    key: str, rows: int, build: Callable[[], np.ndarray], *, persist: bool = False
) -> tuple[np.ndarray, Source]:
    """The array stored under `key` (it must have `rows` rows), else `build()`'s, which is then stored (on disk
    too with `persist`)."""
    array = _memory.get(key)
    if array is not None:
        return array, "memory"
    array, source = (_load(key, rows) if persist else None), "disk"
    if array is None:
        array, source = np.ascontiguousarray(build(), dtype=np.float32), "built"
        if persist:
            _save(key, array)
    array.setflags(write=False)
    _memory.put(key, array, array.nbytes)
    return array, source


def clear_memory() -> None:
    """Forget the in-process cache (the disk cache stays)."""
    _memory.clear()


def _load(key: str, rows: int) -> np.ndarray | None:
    path = embeddings_dir() / f"{key}.npy"
    if not path.exists():
        return None
    try:
        array = np.load(path, allow_pickle=False)
        os.utime(path)  # recently used: evicted last
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable retrieval cache %s: %s", path, exc)
        return None
    if array.ndim != 2 or array.shape[0] != rows or array.dtype != np.float32:
        log.warning("ignoring retrieval cache %s: shape %s, expected %d rows of float32", path, array.shape, rows)
        return None
    return array


def _save(key: str, array: np.ndarray) -> None:
    path = embeddings_dir() / f"{key}.npy"
    tmp = path.with_name(f".{key}.{os.getpid()}.{threading.get_ident()}.tmp.npy")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(tmp, array, allow_pickle=False)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot write retrieval cache %s: %s", path, exc)
        tmp.unlink(missing_ok=True)
        return
    _evict(path)


def _evict(kept: Path) -> None:
    """Delete the least recently used cache files (never `kept`) until the folder holds at most `DISK_BYTES`."""
    files: list[tuple[float, int, Path]] = []
    for entry in kept.parent.glob("[!.]*.npy"):  # not the temporary files of writes in progress
        try:
            status = entry.stat()
        except OSError:
            continue  # deleted meanwhile
        files.append((status.st_mtime, status.st_size, entry))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files, key=lambda item: item[0]):
        if total <= DISK_BYTES:
            break
        if path == kept:
            continue
        try:
            path.unlink()
            total -= size
        except OSError as exc:
            log.warning("cannot delete old retrieval cache %s: %s", path, exc)
