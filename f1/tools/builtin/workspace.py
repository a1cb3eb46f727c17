"""Files in one workspace folder: list, read, write, search. Every path is resolved (symlinks followed) and
refused unless it lies inside the folder, so `..`, absolute paths and symlinks pointing out cannot escape.

Nothing can hang or grow without bound: only regular files are opened (never blocking, so a FIFO is refused, not
waited on), a walk never descends into symlinked folders and skips symlink loops and broken links with a note,
walks stop after `max_scanned` entries, searches after `max_read_bytes`, and results are capped in bytes."""

from __future__ import annotations

import codecs
import errno
import os
import stat
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import BinaryIO

from typing_extensions import TypedDict

from f1.errors import ToolCallError
from f1.scheduler.abandon import abandoned
from f1.tools.builtin._common import MAX_RESULT_BYTES, ByteBudget, Capped, marker, with_examples
from f1.tools.registry import Tool, tool

_NOTED = 10  # skipped entries named in a note; the rest are counted
_MAX_PATTERN = 255  # as long as a file name; fnmatch keeps each pattern compiled in a cache of 32,768


class Entry(TypedDict):
    path: str
    type: str
    size: int


class Listing(Capped):
    entries: list[Entry]


class FileText(Capped):
    path: str
    content: str
    size: int


class Written(TypedDict):
    path: str
    bytes_written: int


class Match(TypedDict):
    path: str
    line: int
    text: str


class Matches(Capped):
    matches: list[Match]


@dataclass
class _Walk:
    """What a walk found: matching paths (sorted), entries it skipped (and why), whether it stopped early."""

    paths: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    stopped: bool = False

    def skip(self, what: str) -> None:
        self.skipped.append(what)

    def notes(self, max_scanned: int) -> list[str]:
        named = ", ".join(self.skipped[:_NOTED])
        if len(self.skipped) > _NOTED:
            named += f" and {len(self.skipped) - _NOTED} more"
        return [
            f"skipped {named}" if self.skipped else "",
            f"stopped after {max_scanned:,} entries; look in a smaller folder" if self.stopped else "",
        ]


def workspace_tools(
    root: str | Path,
    *,
    writable: bool = True,
    max_bytes: int = MAX_RESULT_BYTES,
    max_write_bytes: int = 1_000_000,
    max_results: int = 200,
    max_scanned: int = 20_000,
    max_read_bytes: int = 50_000_000,
) -> list[Tool]:
    """`list_files`, `read_file`, `search_files` and (when `writable`) `write_file`, confined to `root`.
    Results hold at most `max_results` items and `max_bytes` bytes; a walk visits at most `max_scanned` entries,
    a search reads at most `max_read_bytes` (files larger than `max_bytes` are not searched)."""
    base = Path(root).expanduser().resolve()
    if not base.is_dir():
        raise ToolCallError(f"workspace is not a folder: {base}")

    def inside(relative: str, tool_name: str) -> Path:
        if "\x00" in relative:
            raise ToolCallError("a path cannot hold NUL characters", tool=tool_name)
        try:
            path = (base / relative).resolve()
        except RuntimeError:  # Python < 3.13 raises this on a symlink loop
            raise ToolCallError(f"{relative!r} runs into a symlink loop", tool=tool_name) from None
        if path != base and base not in path.parents:
            raise ToolCallError(f"{relative!r} is outside the workspace", tool=tool_name)
        return path

    def shown(path: Path) -> str:
        return path.relative_to(base).as_posix() or "."

    def walk(folder: Path, pattern: str, recursive: bool, tool_name: str) -> _Walk:
        """The entries under `folder` whose names match `pattern`. Symlinks are listed only when they point inside
        the workspace and never descended into (what they reach inside it is reached by its real path anyway)."""
        if not pattern or len(pattern) > _MAX_PATTERN or "/" in pattern or "\\" in pattern or pattern in (".", ".."):
            raise ToolCallError(f"pattern {pattern!r} must be a file-name pattern such as '*.txt'", tool=tool_name)
        found = _Walk()
        folders, scanned = [folder], 0
        while folders:
            current = folders.pop()
            try:
                entries = os.scandir(current)
            except OSError as exc:
                found.skip(f"{shown(current)!r} ({exc.strerror})")
                continue
            with entries:
                for entry in entries:
                    scanned += 1
                    if scanned > max_scanned:
                        found.stopped = True
                        return found
                    _stop_if_abandoned(tool_name)
                    path = Path(entry.path)
                    if entry.is_symlink():
                        try:
                            target = path.resolve(strict=True)
                        except (OSError, RuntimeError) as exc:
                            found.skip(f"{shown(path)!r} ({_why(exc)})")
                            continue
                        if target != base and base not in target.parents:
                            continue  # points out of the workspace: not shown at all
                    elif recursive and entry.is_dir(follow_symlinks=False):
                        folders.append(path)
                    if fnmatchcase(entry.name, pattern):
                        found.paths.append(path)
        found.paths.sort(key=shown)
        return found

    @with_examples({}, {"path": "notes", "pattern": "*.md", "recursive": True})
    @tool(idempotent=True, read_only=True, timeout=10)
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
        budget = ByteBudget(max_bytes)
        entries: list[Entry] = []
        more = False
        for item in found.paths:
            try:
                info = item.stat()
            except OSError as exc:  # gone since the walk
                found.skip(f"{shown(item)!r} ({exc.strerror})")
                continue
            is_dir = stat.S_ISDIR(info.st_mode)
            kind = "dir" if is_dir else "file" if stat.S_ISREG(info.st_mode) else "other"  # other: a FIFO, a device
            entry = Entry(path=shown(item), type=kind, size=0 if is_dir else info.st_size)
            if len(entries) == max_results or not budget.fits(entry):
                more = True
                break
            entries.append(entry)
        cut = budget.note or (f"cut at {max_results} entries" if more else "")
        return Listing(entries=entries, **marker(cut, *found.notes(max_scanned), truncated=more or found.stopped))

    @with_examples({"path": "notes/todo.txt"})
    @tool(idempotent=True, read_only=True, timeout=10)
    def read_file(path: str) -> FileText:
        """Read a text file of the workspace (long files are cut; truncated tells).

        Args:
            path: the file, relative to the workspace root.
        """
        file = inside(path, "read_file")
        with _open_regular(file, os.O_RDONLY, path, "read_file") as handle:
            raw = handle.read(max_bytes + 1)
            size = os.fstat(handle.fileno()).st_size
        truncated = len(raw) > max_bytes
        text = _decode(raw[:max_bytes], final=not truncated)
        cut = f"cut at {max_bytes:,} bytes of {size:,} (the result cap)" if truncated else ""
        return FileText(path=shown(file), content=text, size=size, **marker(cut, truncated=truncated))

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
        if file.exists() and not stat.S_ISREG(file.lstat().st_mode):  # before O_TRUNC touches a device
            raise ToolCallError(f"{path!r} is not a regular file", tool="write_file")
        file.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        with _open_regular(file, flags, path, "write_file") as handle:
            handle.write(data)
        return Written(path=shown(file), bytes_written=len(data))

    @with_examples({"query": "TODO"}, {"query": "def main", "path": "src", "pattern": "*.py"})
    @tool(idempotent=True, read_only=True, timeout=30)
    def search_files(query: str, path: str = ".", pattern: str = "*") -> Matches:
        """Find the lines that contain a text (case-insensitive) in the workspace's text files.

        Args:
            query: the text to look for.
            path: the folder to search in, relative to the workspace root.
            pattern: a file-name pattern the names must match, e.g. "*.py".
        """
        folder = inside(path, "search_files")
        needle = query.casefold()
        found = walk(folder, pattern, True, "search_files")
        budget = ByteBudget(max_bytes)
        matches: list[Match] = []
        read = large = 0
        more = spent = False
        for file in found.paths:
            _stop_if_abandoned("search_files")
            if read > max_read_bytes:
                more = spent = True
                break
            try:
                with _open_regular(inside(shown(file), "search_files"), os.O_RDONLY, shown(file), "search_files") as handle:
                    raw = handle.read(max_bytes + 1)
            except ToolCallError:
                continue  # folders, FIFOs, files gone or changed since the walk
            read += len(raw)
            if len(raw) > max_bytes:
                large += 1
                continue
            if b"\x00" in raw[:1024]:
                continue  # binary
            for number, line in enumerate(_decode(raw).splitlines(), start=1):
                if needle in line.casefold():
                    match = Match(path=shown(file), line=number, text=line.strip()[:300])
                    if len(matches) == max_results or not budget.fits(match):
                        more = True
                        break
                    matches.append(match)
            if more:
                break
        cut = budget.note or (f"cut at {max_results} matches" if more and not spent else "")
        notes = (
            cut,
            f"stopped after reading {max_read_bytes:,} bytes; search a smaller folder" if spent else "",
            f"{large} files larger than {max_bytes:,} bytes not searched" if large else "",
            *found.notes(max_scanned),
        )
        return Matches(matches=matches, **marker(*notes, truncated=more or found.stopped))

    return [list_files, read_file, search_files, *([write_file] if writable else [])]


def _open_regular(path: Path, flags: int, shown: str, tool_name: str) -> BinaryIO:
    """Open a regular file, or refuse: never following a symlink swapped in after the path was checked
    (O_NOFOLLOW), never waiting on a FIFO or a device (O_NONBLOCK, then fstat)."""
    try:
        descriptor = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK, 0o644)
    except FileNotFoundError:
        raise ToolCallError(f"no such file: {shown!r}", tool=tool_name) from None
    except OSError as exc:
        raise ToolCallError(f"cannot open {shown!r}: {exc.strerror}", tool=tool_name) from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ToolCallError(f"{shown!r} is not a regular file", tool=tool_name)
    return os.fdopen(descriptor, "rb" if flags == os.O_RDONLY else "ab" if flags & os.O_APPEND else "wb")


def _stop_if_abandoned(tool_name: str) -> None:
    if abandoned():
        raise ToolCallError("the scheduler gave up on this call", tool=tool_name)


def _decode(raw: bytes, *, final: bool = True) -> str:
    """UTF-8 text (bad bytes replaced); `final=False` drops a character cut in two at the end."""
    return codecs.getincrementaldecoder("utf-8")(errors="replace").decode(raw, final=final)


def _why(exc: BaseException) -> str:
    """Why a symlink cannot be followed, in words."""
    if isinstance(exc, RuntimeError) or (isinstance(exc, OSError) and exc.errno == errno.ELOOP):
        return "a symlink loop"
    if isinstance(exc, FileNotFoundError):
        return "a broken symlink"
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
