"""Built-in tools, real and safe: arithmetic, units, dates and time zones, SQLite, a workspace folder, HTTP.

`builtin_tools(...)` assembles them; tools that need configuration come from factories (`sqlite_tools`,
`workspace_tools`, `http_tools`) and join the set only when configured (HTTP: unless `http=False`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from f1.errors import ConfigError
from f1.tools.builtin.calculator import calculate
from f1.tools.builtin.http import AddressGuard, http_tools
from f1.tools.builtin.sqlite import sqlite_tools
from f1.tools.builtin.timezones import add_duration, convert_time, current_time, date_difference, resolve_zone, weekday
from f1.tools.builtin.units import convert_units
from f1.tools.builtin.workspace import workspace_tools
from f1.tools.registry import Tool, ToolRegistry

GROUPS = ("math", "units", "time", "sql", "files", "http")


def builtin_tools(
    *,
    groups: Iterable[str] | None = None,
    database: str | Path | None = None,
    read_only: bool = True,
    workspace: str | Path | None = None,
    writable: bool = True,
    http: bool = True,
    http_allow: Sequence[str] = (),
    http_hosts: Sequence[str] | None = None,
) -> ToolRegistry:
    """The default tool set. `groups` picks among math, units, time, sql, files, http (default: all that are
    configured: sql needs `database`, files needs `workspace`)."""
    wanted = set(GROUPS if groups is None else groups)
    unknown = wanted - set(GROUPS)
    if unknown:
        raise ConfigError(f"unknown builtin tool group(s) {sorted(unknown)}; known: {', '.join(GROUPS)}")
    for group, needed, setting in (("sql", database, "database"), ("files", workspace, "workspace")):
        if groups is not None and group in wanted and needed is None:
            raise ConfigError(f"builtin group {group!r} needs a {setting}")
    tools: list[Tool] = []
    if "math" in wanted:
        tools.append(calculate)
    if "units" in wanted:
        tools.append(convert_units)
    if "time" in wanted:
        tools += [current_time, convert_time, add_duration, date_difference, weekday]
    if "sql" in wanted and database is not None:
        tools += sqlite_tools(database, read_only=read_only)
    if "files" in wanted and workspace is not None:
        tools += workspace_tools(workspace, writable=writable)
    if "http" in wanted and http:
        tools += http_tools(allow=http_allow, hosts=http_hosts)
    return ToolRegistry(tools)


__all__ = [
    "GROUPS",
    "AddressGuard",
    "add_duration",
    "builtin_tools",
    "calculate",
    "convert_time",
    "convert_units",
    "current_time",
    "date_difference",
    "http_tools",
    "resolve_zone",
    "sqlite_tools",
    "weekday",
    "workspace_tools",
]
