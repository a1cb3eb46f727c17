"""Named tool sets: what `--tools REF` means for `f1 run`, `f1 serve` and `f1 tools`.

REF is one of
- `builtin`, or `builtin:GROUP,GROUP` (math, units, time, sql, files, http): the built-in tools;
- `bfcl:CLASS`, `bfcl:CLASS,CLASS` or `bfcl:all`: a fresh BFCL multi-turn world (executable, with state);
- a JSON/JSONL/YAML spec file or a folder of them: specs only, nothing to call;
- a Python file `path/to/tools.py` or a module `pkg.mod`: its `TOOLS` list, or else every `Tool` it defines."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sqlite3
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from f1.errors import F1Error
from f1.tools.loading import SPEC_SUFFIXES, load_specs
from f1.tools.registry import Tool, ToolRegistry
from f1.tools.spec import ToolSpec

SPECS_DIR = Path(__file__).resolve().parents[2] / "tool_specs"


def load_tools(ref: str, **builtin_config: Any) -> ToolRegistry | list[ToolSpec]:
    """Resolve a tool-set reference; `builtin_config` goes to `builtin_tools` (database=, workspace=, ...)."""
    ref = ref.strip()
    kind, _, rest = ref.partition(":")
    if kind == "builtin":
        from f1.tools.builtin import builtin_tools

        groups = [group.strip() for group in rest.split(",") if group.strip()] if rest else None
        return builtin_tools(groups=groups, **builtin_config)
    if builtin_config:
        raise F1Error(f"options {sorted(builtin_config)} apply only to the builtin tools, not to {ref!r}")
    if kind == "bfcl" and rest:
        from f1.tools.bfcl_worlds import CLASSES, BfclWorld

        classes = list(CLASSES) if rest == "all" else [name.strip() for name in rest.split(",")]
        return BfclWorld(classes).tools
    path = Path(ref).expanduser()
    if path.suffix == ".py" and path.is_file():
        return _collect(_import_file(path), ref)
    if path.is_dir() or (path.is_file() and path.suffix in SPEC_SUFFIXES):
        return load_specs(path)
    if _is_module_name(ref):
        try:
            module = importlib.import_module(ref)
        except ModuleNotFoundError as exc:
            if exc.name and ref.startswith(exc.name):
                raise F1Error(f"unknown tool set {ref!r}: {_KNOWN}") from None
            raise
        return _collect(module, ref)
    raise F1Error(f"unknown tool set {ref!r}: {_KNOWN}")


def specs_of(tools: ToolRegistry | list[ToolSpec]) -> list[ToolSpec]:
    """The specs of what `load_tools` returned."""
    return list(tools.specs.values()) if isinstance(tools, ToolRegistry) else list(tools)


def shipped_specs() -> dict[str, list[ToolSpec]]:
    """What `tool_specs/` holds, by file: every built-in tool and each BFCL class (with documented responses)."""
    from f1.tools.bfcl_worlds import CLASSES, bfcl_specs
    from f1.tools.builtin import builtin_tools

    with tempfile.TemporaryDirectory() as folder:
        sqlite3.connect(Path(folder) / "empty.db").close()
        builtin = builtin_tools(database=Path(folder) / "empty.db", workspace=folder)
    files = {"builtin.json": specs_of(builtin)}
    files.update({f"bfcl/{name}.json": list(bfcl_specs(name)) for name in CLASSES})
    return files


def spec_file_text(specs: list[ToolSpec]) -> str:
    """The JSON text of a shipped spec file: a list of specs in f1's own format."""
    return json.dumps([spec.model_dump(mode="json") for spec in specs], indent=2, ensure_ascii=False) + "\n"


def export_specs(folder: Path = SPECS_DIR) -> list[Path]:
    """Write `shipped_specs()` under `folder`; returns the files written."""
    written = []
    for name, specs in shipped_specs().items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(spec_file_text(specs), encoding="utf-8")
        written.append(path)
    return written


_KNOWN = (
    "expected 'builtin[:GROUPS]', 'bfcl:CLASS[,CLASS]', 'bfcl:all', a spec file or folder, "
    "a Python file or an importable module"
)


def _is_module_name(ref: str) -> bool:
    return all(part.isidentifier() for part in ref.split("."))


def _import_file(path: Path) -> ModuleType:
    name = f"f1_tools_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise F1Error(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _collect(module: ModuleType, ref: str) -> ToolRegistry:
    declared = getattr(module, "TOOLS", None)
    if isinstance(declared, ToolRegistry):
        return declared
    if declared is not None:
        return ToolRegistry(declared)
    found = [value for value in vars(module).values() if isinstance(value, Tool)]
    if not found:
        raise F1Error(f"{ref!r} defines no tools: give it a TOOLS list or @tool functions")
    return ToolRegistry(found)
