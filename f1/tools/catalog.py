"""Named tool sets: what `--tools REF` means for `f1 run`, `f1 serve` and `f1 tools`.

REF is one of
- `builtin`, or `builtin:GROUP,GROUP` (math, units, time, sql, files, http): the built-in tools;
- `bfcl:CLASS`, `bfcl:CLASS,CLASS` or `bfcl:all`: a fresh BFCL multi-turn world (executable, with state);
- `mcp+stdio:COMMAND [ARGS]`: the tools of an MCP server started as a subprocess (its stderr goes to the log);
- `mcp+http://HOST/PATH` (or `mcp+https://`): the tools of an MCP server at a streamable-HTTP URL;
- `openapi:PATH_OR_URL`: one tool per operation of an OpenAPI 3 document;
- a sources file (`.toml`, or YAML with a top-level `sources` list): the tools of every REF it lists;
- a JSON/JSONL/YAML spec file or a folder of them: specs only, nothing to call;
- a Python file `path/to/tools.py` or a module `pkg.mod`: its `TOOLS` list, or else every `Tool` it defines.

An MCP server's session stays open (on a background event loop, `f1.tools.connected`) until the process exits."""

from __future__ import annotations

import importlib
import importlib.util
import json
import shlex
import sqlite3
import sys
import tempfile
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

from f1.errors import ConfigError, ToolSourceError
from f1.tools.loading import SPEC_SUFFIXES, check_unique, load_specs
from f1.tools.registry import Tool, ToolRegistry
from f1.tools.spec import ToolSpec

SOURCES_KEY = "sources"
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
        raise ConfigError(f"options {sorted(builtin_config)} apply only to the builtin tools, not to {ref!r}")
    if kind == "bfcl" and rest:
        from f1.tools.bfcl_worlds import CLASSES, BfclWorld

        classes = list(CLASSES) if rest == "all" else [name.strip() for name in rest.split(",")]
        return BfclWorld(classes).tools
    if kind in ("mcp+stdio", "mcp+http", "mcp+https"):
        return _mcp(kind, rest, ref)
    if kind == "openapi" and rest:
        return _openapi(rest)
    path = Path(ref).expanduser()
    if path.is_file() and _is_sources_file(path):
        return _sources(path)
    if path.suffix == ".py" and path.is_file():
        return _collect(_import_file(path), ref)
    if path.is_dir() or (path.is_file() and path.suffix in SPEC_SUFFIXES):
        return load_specs(path)
    if _names_a_file(ref):
        raise ToolSourceError(f"tool set {ref!r}: file not found")
    if _is_module_name(ref):
        try:
            module = importlib.import_module(ref)
        except ModuleNotFoundError as exc:
            if exc.name and ref.startswith(exc.name):
                raise ToolSourceError(f"unknown tool set {ref!r}: {_KNOWN}") from None
            raise
        return _collect(module, ref)
    raise ToolSourceError(f"unknown tool set {ref!r}: {_KNOWN}")


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
    "expected 'builtin[:GROUPS]', 'bfcl:CLASS[,CLASS]', 'bfcl:all', 'mcp+stdio:COMMAND [ARGS]', 'mcp+http://URL', "
    "'openapi:PATH_OR_URL', a sources file (.toml, or YAML with 'sources'), a spec file or folder, a Python file or "
    "an importable module"
)
_FILE_SUFFIXES = frozenset({*SPEC_SUFFIXES, ".py", ".toml"})


def _mcp(kind: str, rest: str, ref: str) -> ToolRegistry:
    """An MCP server's tools, its session kept open in the background."""
    from f1.tools.connected import open_session
    from f1.tools.mcp import MCPSource

    if kind == "mcp+stdio":
        try:
            command = shlex.split(rest)
        except ValueError as exc:
            raise ToolSourceError(f"tool set {ref!r}: {exc}") from None
        if not command:
            raise ToolSourceError(f"tool set {ref!r} names no command: mcp+stdio:COMMAND [ARGS]")
        source = MCPSource.stdio(command[0], command[1:])
    else:
        source = MCPSource.http(ref.removeprefix("mcp+"))
    return ToolRegistry(open_session(source, source.load))


def _openapi(location: str) -> ToolRegistry:
    from f1.tools.connected import load_now
    from f1.tools.openapi import OpenAPISource

    return ToolRegistry(load_now(OpenAPISource(location).load))


def _is_sources_file(path: Path) -> bool:
    """A `.toml` file, or a YAML file whose top level is a mapping with a `sources` list."""
    if path.suffix == ".toml":
        return True
    if path.suffix not in (".yaml", ".yml"):
        return False
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return False  # read again, and its problem named, as a spec file
    return isinstance(data, dict) and isinstance(data.get(SOURCES_KEY), list)


def _sources(path: Path) -> ToolRegistry | list[ToolSpec]:
    """Every tool of the REFs a sources file lists (`sources = ["builtin:time", "mcp+stdio:mcp-server-time"]`);
    file paths in it are relative to the file. Runnable when every source is, else specs only."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:  # TOMLDecodeError is a ValueError
        raise ToolSourceError(f"sources file {path}: cannot parse: {exc}") from None
    refs = data.get(SOURCES_KEY) if isinstance(data, dict) else None
    if not isinstance(refs, list) or not refs or not all(isinstance(item, str) for item in refs):
        raise ToolSourceError(f"sources file {path}: expected '{SOURCES_KEY}', a non-empty list of tool-set references")
    loaded = [load_tools(_relative_to(path.parent, item)) for item in refs]
    specs = [spec for tools in loaded for spec in specs_of(tools)]
    check_unique(specs, source=str(path))
    if all(isinstance(tools, ToolRegistry) for tools in loaded):
        return ToolRegistry(item for tools in loaded for item in tools.values())  # type: ignore[union-attr]
    return specs


def _relative_to(folder: Path, ref: str) -> str:
    """`ref` with a relative file path in it (a plain path, or after `openapi:`) made relative to `folder`."""
    prefix = "openapi:" if ref.startswith("openapi:") else ""
    target = ref.removeprefix(prefix)
    if target.startswith(("http://", "https://")) or Path(target).expanduser().is_absolute():
        return ref
    beside = folder / target
    return f"{prefix}{beside}" if beside.exists() else ref


def _names_a_file(ref: str) -> bool:
    """Whether `ref` reads as a file path (a folder in it, or a tool-file suffix) rather than a module name."""
    return "/" in ref or "\\" in ref or Path(ref).suffix in _FILE_SUFFIXES


def _is_module_name(ref: str) -> bool:
    return all(part.isidentifier() for part in ref.split("."))


def _import_file(path: Path) -> ModuleType:
    name = f"f1_tools_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ToolSourceError(f"cannot import {path}")
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
        raise ToolSourceError(f"{ref!r} defines no tools: give it a TOOLS list or @tool functions")
    return ToolRegistry(found)
