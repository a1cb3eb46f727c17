"""References to earlier results: ``"$3"`` is step 3's result, ``"$3.items.0.name"`` a path into it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from f1.errors import ReferenceResolutionError

REF_PATTERN = r"\$[1-9][0-9]*(\.[A-Za-z0-9_\-]+)*"
_REF = re.compile(rf"^{REF_PATTERN}$")


@dataclass(frozen=True, slots=True)
class Ref:
    """A parsed reference: the step it points at and the path inside that step's result."""

    step: int
    path: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "$" + ".".join((str(self.step), *self.path))


def parse_ref(value: object) -> Ref | None:
    """Return the reference a value spells, or None when it is an ordinary value."""
    if not isinstance(value, str) or not value.startswith("$"):
        return None
    return _parse(value)


@lru_cache(maxsize=8192)
def _parse(text: str) -> Ref | None:
    if not _REF.match(text):
        return None
    head, *path = text[1:].split(".")
    return Ref(int(head), tuple(path))


def iter_refs(value: object) -> Iterator[Ref]:
    """Yield every reference inside a JSON value, at any depth."""
    if isinstance(value, str):
        ref = parse_ref(value)
        if ref is not None:
            yield ref
        return
    if isinstance(value, Mapping):
        items: Iterable[object] = value.values()
    elif isinstance(value, list | tuple):
        items = value
    else:
        return
    for item in items:
        if isinstance(item, str):  # leaves inline: most values are, and a generator per leaf is costly
            ref = parse_ref(item)
            if ref is not None:
                yield ref
        elif isinstance(item, Mapping | list | tuple):
            yield from iter_refs(item)


def follow(ref: Ref, result: Any) -> Any:
    """Walk `ref.path` into one step's result."""
    current = result
    for depth, key in enumerate(ref.path):
        walked = Ref(ref.step, ref.path[: depth + 1])
        if isinstance(current, Mapping):
            if key not in current:
                raise ReferenceResolutionError(f"{walked}: no key {key!r} (keys: {sorted(map(str, current))[:10]})")
            current = current[key]
        elif isinstance(current, list | tuple):
            if not key.isdigit() or int(key) >= len(current):
                raise ReferenceResolutionError(f"{walked}: index {key!r} out of range for a list of {len(current)}")
            current = current[int(key)]
        else:
            raise ReferenceResolutionError(f"{walked}: cannot index into {type(current).__name__}")
    return current


def resolve(value: Any, results: Mapping[int, Any]) -> Any:
    """Replace every reference inside `value` with the result it points at."""
    if isinstance(value, str):
        ref = parse_ref(value)
        if ref is None:
            return value
        if ref.step not in results:
            raise ReferenceResolutionError(f"{ref}: step {ref.step} has no result")
        return follow(ref, results[ref.step])
    if isinstance(value, Mapping):
        return {key: resolve(item, results) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(item, results) for item in value]
    return value
