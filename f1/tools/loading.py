"""Read tool specs from JSON, JSONL or YAML files and folders; every failure names the file and the tool."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from f1.errors import ToolSpecError
from f1.tools.spec import ToolSpec

SPEC_SUFFIXES = (".json", ".jsonl", ".yaml", ".yml")


def load_specs(path: str | Path) -> list[ToolSpec]:
    """Load every spec in a file or (recursively, sorted) a folder. Names must be unique."""
    root = Path(path)
    if not root.exists():
        raise ToolSpecError("no such file or folder", source=str(root))
    files = sorted(p for p in root.rglob("*") if p.suffix in SPEC_SUFFIXES) if root.is_dir() else [root]
    specs: list[ToolSpec] = []
    for file in files:
        specs.extend(ToolSpec.from_any(entry, source=str(file)) for entry in _entries(file))
    check_unique(specs, source=str(root))
    return specs


def check_unique(specs: Iterable[ToolSpec], *, source: str | None = None) -> None:
    """Raise `ToolSpecError` when two specs share a name."""
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise ToolSpecError("duplicate tool name: a tool set holds each name once", tool=spec.name, source=source)
        seen.add(spec.name)


def _entries(file: Path) -> list[Any]:
    import yaml

    try:
        text = file.read_text(encoding="utf-8")
        if file.suffix == ".jsonl":
            data: Any = [json.loads(line) for line in text.splitlines() if line.strip()]
        elif file.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ToolSpecError(f"cannot parse: {exc}", source=str(file)) from None
    if isinstance(data, dict) and isinstance(data.get("tools"), list):
        data = data["tools"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ToolSpecError(f"expected a spec, a list of specs or {{'tools': [...]}}, got {type(data).__name__}", source=str(file))
    return data
