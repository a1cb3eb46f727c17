"""Prompt-prefix KV caches on disk, so that a fresh process skips the prefill of the planner's fixed prefix.

One file per prefix, in a folder per model and numeric path: a header (the prefix's token ids, the arrays' shapes,
the payload's sha256, the model key) and the raw float32 arrays. Files are written to a temporary name and renamed,
checked against their sha256 when read (a corrupt, truncated or foreign file is ignored with a warning and
removed), and the folder is kept under `max_bytes` by dropping the least recently used files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from f1.decoding.runtime import KVCache

log = logging.getLogger(__name__)
MAGIC = b"f1-kv-1\n"
SUFFIX = ".kv"


class PersistentLM(Protocol):
    """A runtime whose KV caches can be rebuilt from arrays (see `runtime.PortableCache`)."""

    def cache_from_arrays(self, arrays: list[np.ndarray]) -> KVCache: ...


class DiskPrefixStore:
    """The prefix files of one model on one numeric path (`model_key` names both, and the weights' identity)."""

    def __init__(self, directory: Path, lm: PersistentLM, *, model_key: str, max_bytes: int = 1 << 30) -> None:
        self.directory = directory
        self.lm = lm
        self.model_key = model_key
        self.max_bytes = max_bytes
        self._tokens: dict[Path, tuple[int, ...]] = {}  # header tokens of the files seen, by path

    def longest(self, prompt_ids: Sequence[int]) -> tuple[Path | None, int]:
        """The file whose prefix is the longest one `prompt_ids` starts with, and that prefix's length."""
        best, length = None, 0
        for path, tokens in self._index().items():
            if len(tokens) > length and len(tokens) <= len(prompt_ids) and tuple(prompt_ids[: len(tokens)]) == tokens:
                best, length = path, len(tokens)
        return best, length

    def load(self, path: Path) -> KVCache | None:
        """The cache stored in `path`, or None (with a warning) when it cannot be used."""
        import numpy as np

        try:
            header, payload = _read(path)
            if header.get("model") != self.model_key:
                raise ValueError(f"made for {header.get('model')!r}")
            if hashlib.sha256(payload).hexdigest() != header["sha256"]:
                raise ValueError("checksum mismatch")
            arrays, offset = [], 0
            for shape in header["shapes"]:
                count = int(np.prod(shape))
                arrays.append(np.frombuffer(payload, np.float32, count, offset).reshape(shape))
                offset += count * 4
            os.utime(path)  # recently used
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring prefix cache file %s: %s", path, exc)
            self._drop(path)
            return None
        return self.lm.cache_from_arrays(arrays)

    def save(self, tokens: Sequence[int], arrays: Sequence[np.ndarray]) -> None:
        """Store the keys and values of exactly `tokens` (unless stored already); a write that fails is logged."""
        import numpy as np

        path = self.directory / f"{hashlib.sha256(json.dumps(list(tokens)).encode()).hexdigest()[:32]}{SUFFIX}"
        if path in self._index():
            return
        payload = b"".join(np.ascontiguousarray(array, np.float32).tobytes() for array in arrays)
        header = {
            "model": self.model_key,
            "tokens": list(tokens),
            "shapes": [list(array.shape) for array in arrays],
            "sha256": hashlib.sha256(payload).hexdigest(),
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".write-")
            try:
                with os.fdopen(fd, "wb") as out:
                    encoded = json.dumps(header).encode()
                    out.write(MAGIC + len(encoded).to_bytes(8, "little") + encoded + payload)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("cannot write prefix cache file %s: %s", path, exc)
            return
        self._tokens[path] = tuple(tokens)
        self._evict()

    def _index(self) -> dict[Path, tuple[int, ...]]:
        """The files in the folder with their prefix tokens (headers are read once per file)."""
        present = set(self.directory.glob(f"*{SUFFIX}")) if self.directory.is_dir() else set()
        for path in set(self._tokens) - present:
            del self._tokens[path]
        for path in present - set(self._tokens):
            try:
                self._tokens[path] = tuple(_read(path, header_only=True)[0]["tokens"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("ignoring prefix cache file %s: %s", path, exc)
                self._drop(path)
        return self._tokens

    def _evict(self) -> None:
        files = []
        for path in self._index():
            try:
                stat = path.stat()
            except OSError:
                continue
            files.append((stat.st_mtime_ns, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            self._drop(path)
            total -= size

    def _drop(self, path: Path) -> None:
        self._tokens.pop(path, None)
        path.unlink(missing_ok=True)


def _read(path: Path, *, header_only: bool = False) -> tuple[dict[str, Any], bytes]:
    with path.open("rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            raise ValueError("not an f1 prefix cache file")
        length = int.from_bytes(handle.read(8), "little")
        if not 0 < length < 1 << 26:
            raise ValueError("bad header length")
        header = json.loads(handle.read(length))
        if not isinstance(header, dict):
            raise ValueError("bad header")
        return header, b"" if header_only else handle.read()
