"""Files in one workspace folder: list, read, write, search. Every path is resolved (symlinks followed) and
refused unless it lies inside the folder, so `..`, absolute paths and symlinks pointing out cannot escape."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from typing_extensions import TypedDict

from f1.tools.builtin._common import with_examples
from f1.tools.errors import ToolCallError
from f1.tools.registry import Tool, tool


class Entry(TypedDict):
    path: str
    type: str
    size: int


class Listing(TypedDict):
    entries: list[Entry]
    truncated: bool


class FileText(TypedDict):
    path: str
    content: str
    size: int
    truncated: bool


class Written(TypedDict):
    path: str
    bytes_written: int


class Match(TypedDict):
    path: str
    line: int
    text: str


class Matches(TypedDict):
    matches: list[Match]
    truncated: bool


def workspace_tools(
    root: str | Path,
    *,
    writable: bool = True,
    max_chars: int = 100_000,
    max_write_bytes: int = 1_000_000,
    max_results: int = 200,
) -> list[Tool]:
    """`list_files`, `read_file`, `search_files` and (when `writable`) `write_file`, confined to `root`."""
    base = Path(root).expanduser().resolve()
    if not base.is_dir():
        raise ToolCallError(f"workspace is not a folder: {base}")

    def inside(relative: str, tool_name: str) -> Path:
        if "\x00" in relative:
            raise ToolCallError("a path cannot hold NUL characters", tool=tool_name)
        path = (base / relative).resolve()
        if path != base and base not in path.parents:
            raise ToolCallError(f"{relative!r} is outside the workspace", tool=tool_name)
        return path

    def shown(path: Path) -> str:
        return path.relative_to(base).as_posix() or "."

    def walk(folder: Path, pattern: str, recursive: bool, tool_name: str) -> list[Path]:
        if not pattern or "/" in pattern or "\\" in pattern or pattern in (".", ".."):
            raise ToolCallError(f"pattern {pattern!r} must be a file-name pattern such as '*.txt'", tool=tool_name)
        found = folder.rglob(pattern) if recursive else folder.glob(pattern)
        # symlinks are listed only when they point inside the workspace
        return sorted(p for p in found if p.resolve() == base or base in p.resolve().parents)

    @with_examples({}, {"path": "notes", "pattern": "*.md", "recursive": True})
    @tool(idempotent=True, timeout=10)
    def list_files(path: str = ".", pattern: str = "*", recursive: bool = False) -> Listing:
        """List the files and folders in a workspace folder.

        Args:
            path: the folder, relative to the workspace root ("." is the root).
            pattern: a file-name pattern the names must match, e.g. "*.txt".
            recursive: also list inside sub-folders.
        """
        folder = inside(path, "list_files")
        if not folder.is_dir():
            raise ToolCallError(f"not a folder: {path!r}", tool="list_files")
        found = walk(folder, pattern, recursive, "list_files")
        entries = [
            Entry(path=shown(p), type="dir" if p.is_dir() else "file", size=0 if p.is_dir() else p.stat().st_size)
            for p in found[:max_results]
        ]
        return Listing(entries=entries, truncated=len(found) > max_results)

    @with_examples({"path": "notes/todo.txt"})
    @tool(idempotent=True, timeout=10)
    def read_file(path: str) -> FileText:
        """Read a text file of the workspace (long files are cut; truncated tells).

        Args:
            path: the file, relative to the workspace root.
        """
        file = inside(path, "read_file")
        if not file.is_file():
            raise ToolCallError(f"no such file: {path!r}", tool="read_file")
        with _open(file, os.O_RDONLY) as handle:
            raw = handle.read(4 * max_chars + 4)
        text = raw.decode("utf-8", errors="replace")
        size = file.stat().st_size
        truncated = len(text) > max_chars or len(raw) < size
        return FileText(path=shown(file), content=text[:max_chars], size=size, truncated=truncated)

    @with_examples({"path": "notes/todo.txt", "content": "buy milk\n"})
    @tool(timeout=10)
    def write_file(path: str, content: str, append: bool = False) -> Written:
        """Write (or, with append, add to) a text file of the workspace; missing folders are created.

        Args:
            path: the file, relative to the workspace root.
            content: the text to write.
            append: add to the end of the file instead of replacing it.
        """
        data = content.encode("utf-8")
        if len(data) > max_write_bytes:
            raise ToolCallError(f"content is larger than {max_write_bytes} bytes", tool="write_file")
        file = inside(path, "write_file")
        if file == base or file.is_dir():
            raise ToolCallError(f"{path!r} is a folder", tool="write_file")
        file.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        with _open(file, flags) as handle:
            handle.write(data)
        return Written(path=shown(file), bytes_written=len(data))

    @with_examples({"query": "TODO"}, {"query": "def main", "path": "src", "pattern": "*.py"})
    @tool(idempotent=True, timeout=30)
    def search_files(query: str, path: str = ".", pattern: str = "*") -> Matches:
        """Find the lines that contain a text (case-insensitive) in the workspace's text files.

        Args:
            query: the text to look for.
            path: the folder to search in, relative to the workspace root.
            pattern: a file-name pattern the names must match, e.g. "*.py".
        """
        folder = inside(path, "search_files")
        needle = query.casefold()
        matches: list[Match] = []
        for file in walk(folder, pattern, True, "search_files"):
            if not file.is_file() or file.stat().st_size > 4 * max_chars:
                continue
            raw = file.read_bytes()
            if b"\x00" in raw[:1024]:
                continue  # binary
            for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
                if needle in line.casefold():
                    if len(matches) == max_results:
                        return Matches(matches=matches, truncated=True)
                    matches.append(Match(path=shown(file), line=number, text=line.strip()[:300]))
        return Matches(matches=matches, truncated=False)

    return [list_files, read_file, search_files, *([write_file] if writable else [])]


def _open(path: Path, flags: int) -> BinaryIO:
    """Open without following a symlink swapped in after the path was checked."""
    descriptor = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), 0o644)
    return os.fdopen(descriptor, "rb" if flags == os.O_RDONLY else "ab" if flags & os.O_APPEND else "wb")
