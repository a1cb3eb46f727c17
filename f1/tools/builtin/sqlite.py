"""SQL over one SQLite database the user names: read-only by default (a `mode=ro` URI plus an authorizer),
parameterised queries, a row limit and a time limit. ATTACH is always refused, so no other file is reachable."""

from __future__ import annotations

import base64
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from typing_extensions import TypedDict

from f1.tools.builtin._common import with_examples
from f1.tools.errors import ToolCallError
from f1.tools.registry import Tool, tool

_READS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
_ALWAYS_DENIED = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH}
_READ_PRAGMAS = {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"}


class QueryResult(TypedDict):
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool


class Table(TypedDict):
    name: str
    sql: str


def sqlite_tools(
    db_path: str | Path, *, read_only: bool = True, max_rows: int = 200, time_limit: float = 5.0
) -> list[Tool]:
    """`sql_query` and `sql_tables` over the database at `db_path` (which must exist when read-only)."""
    path = Path(db_path).expanduser().resolve()
    if read_only and not path.is_file():
        raise ToolCallError(f"no such database: {path}", tool="sql_query")

    def connect() -> sqlite3.Connection:
        uri = f"file:{quote(str(path))}?mode={'ro' if read_only else 'rwc'}"
        connection = sqlite3.connect(uri, uri=True, timeout=time_limit)
        connection.set_authorizer(_authorizer(read_only))
        deadline = time.monotonic() + time_limit
        connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        return connection

    @with_examples(
        {"query": "SELECT name FROM sqlite_master WHERE type = 'table'"},
        {"query": "SELECT * FROM orders WHERE customer = ? LIMIT 10", "params": ["alice"]},
    )
    @tool(idempotent=read_only, timeout=time_limit + 1)
    def sql_query(query: str, params: list[Any] | dict[str, Any] | None = None) -> QueryResult:
        """Run one SQL statement on the SQLite database and return its rows (at most a fixed number;
        truncated tells). Pass values as params (? or :name placeholders), never inside the SQL text.

        Args:
            query: one SQL statement, e.g. "SELECT name, price FROM products WHERE price < ?".
            params: the values of the placeholders: a list for ?, an object for :name.
        """
        connection = connect()
        try:
            cursor = connection.execute(query, params if params is not None else ())
            rows = cursor.fetchmany(max_rows + 1)
            columns = [column[0] for column in cursor.description or ()]
            if not read_only:
                connection.commit()
        except sqlite3.Error as exc:
            raise ToolCallError(_message(exc, time_limit, read_only), tool="sql_query") from None
        finally:
            connection.close()
        return QueryResult(
            columns=columns,
            rows=[[_json_value(value) for value in row] for row in rows[:max_rows]],
            row_count=min(len(rows), max_rows),
            truncated=len(rows) > max_rows,
        )

    @with_examples({})
    @tool(idempotent=True, timeout=time_limit + 1)
    def sql_tables() -> list[Table]:
        """List the tables and views of the SQLite database with the SQL that created them (their columns)."""
        result = sql_query(query="SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")
        return [Table(name=name, sql=sql or "") for name, sql in result["rows"]]

    return [sql_query, sql_tables]


def _authorizer(read_only: bool) -> Any:
    def authorize(action: int, arg1: str | None, *_: Any) -> int:
        if read_only and action == sqlite3.SQLITE_PRAGMA and arg1 in _READ_PRAGMAS:
            return sqlite3.SQLITE_OK
        if action in _ALWAYS_DENIED or (read_only and action not in _READS):
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    return authorize


def _message(exc: sqlite3.Error, time_limit: float, read_only: bool) -> str:
    text = str(exc)
    if text == "interrupted":
        return f"the query ran longer than {time_limit:g} s"
    if text == "not authorized":
        return "not authorized: " + ("the database is read-only; " if read_only else "") + "ATTACH is never allowed"
    return text


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return "base64:" + base64.b64encode(value).decode("ascii")
    return value
