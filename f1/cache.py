"""`BoundedCache`: a thread-safe LRU bounded by bytes, for everything cached by client input (tool JSON).

Each entry is charged a size by its caller (the length of the text it was built from: the value holds a parsed
copy of it); the least recently used entries go once the sizes add up past `max_bytes`, or the entries past
`max_entries`. An entry larger than the whole budget is not kept. Keys of client text are digests
(`text_key`), so a cache never holds the multi-megabyte text itself.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


def text_key(text: str) -> bytes:
    """A fixed-size key for `text` (sha256)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class BoundedCache(Generic[V]):
    """An LRU mapping whose entries' charged sizes add up to at most `max_bytes` (and at most `max_entries`)."""

    def __init__(self, *, max_bytes: int, max_entries: int = 4096) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value stored under `key` (now the most recently used), else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: V, size: int) -> None:
        """Store `value` charged `size` bytes, evicting the least recently used entries beyond the bounds."""
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes or len(self._entries) > self.max_entries:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted

    def get_or_build(self, text: str, build: Callable[[], V]) -> V:
        """The value cached for `text` (keyed by its digest, charged its length), else `build()`'s, then kept."""
        key = text_key(text)
        value = self.get(key)
        if value is None:
            value = build()
            self.put(key, value, len(text))
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def size(self) -> int:
        """Bytes charged by the entries held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)
