"""SQL over one SQLite database the user names: read-only by default (a `mode=ro` URI plus an authorizer),
parameterised queries, a row limit and a time limit. ATTACH is always refused, so no other file is reachable.

Memory is bounded too: SQLite refuses any string or blob longer than the result cap (so `zeroblob(10**9)` is never
built), a result row has at most `MAX_COLUMNS` columns, rows are fetched one at a time until the cap, and the
progress handler stops a query past its time limit or once the scheduler has abandoned the call."""

from __future__ import annotations

import base64
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from typing_extensions import TypedDict

from f1.errors import ToolCallError
from f1.scheduler.abandon import abandoned
from f1.tools.builtin._common import MAX_RESULT_BYTES, ByteBudget, Capped, marker, with_examples
from f1.tools.registry import Tool, tool

MAX_COLUMNS = 100  # with values of at most max_bytes, one row holds at most MAX_COLUMNS * max_bytes

_READS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
_ALWAYS_DENIED = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH}
_READ_PRAGMAS = {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"}


class QueryResult(Capped):
    columns: list[str]
    rows: list[list[Any]]
    row_count: int


class Table(TypedDict):
    name: str
    sql: str


def sqlite_tools(
    db_path: str | Path,
    *,
    read_only: bool = True,
    max_rows: int = 200,
    time_limit: float = 5.0,
    max_bytes: int = MAX_RESULT_BYTES,
) -> list[Tool]:
    """`sql_query` and `sql_tables` over the database at `db_path` (which must exist when read-only). A result
    holds at most `max_rows` rows and `max_bytes` bytes of JSON; no single value may be longer than `max_bytes`."""
    path = Path(db_path).expanduser().resolve()
    if read_only and not path.is_file():
        raise ToolCallError(f"no such database: {path}", tool="sql_query")

    def connect() -> sqlite3.Connection:
        uri = f"file:{quote(str(path))}?mode={'ro' if read_only else 'rwc'}"
        connection = sqlite3.connect(uri, uri=True, timeout=time_limit)
        connection.set_authorizer(_authorizer(read_only))
        connection.set_progress_handler(_stopper(time.monotonic() + time_limit), 10_000)
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max_bytes)
        connection.execute("SELECT 1 FROM sqlite_master LIMIT 0")  # reads the schema: wider tables still open
        connection.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, MAX_COLUMNS)
        return connection

    @with_examples(
        {"query": "SELECT name FROM sqlite_master WHERE type = 'table'"},
        {"query": "SELECT * FROM orders WHERE customer = ? LIMIT 10", "params": ["alice"]},
    )
    @tool(idempotent=read_only, read_only=read_only, timeout=time_limit + 1)
    def sql_query(query: str, params: list[Any] | dict[str, Any] | None = None) -> QueryResult:
        """Run one SQL statement on the SQLite database and return its rows (at most a fixed number and size;
        truncated tells). Pass values as params (? or :name placeholders), never inside the SQL text.

        Args:
            query: one SQL statement, e.g. "SELECT name, price FROM products WHERE price < ?".
            params: the values of the placeholders: a list for ?, an object for :name.
        """
        budget = ByteBudget(max_bytes)
        rows: list[list[Any]] = []
        more = False
        try:
            connection = connect()
            try:
                cursor = connection.execute(query, params if params is not None else ())
                columns = [column[0] for column in cursor.description or ()]
                while (row := cursor.fetchone()) is not None:
                    values = [_json_value(value) for value in row]
                    if len(rows) == max_rows or not budget.fits(values):
                        more = True
                        break
                    rows.append(values)
                if not read_only:
                    connection.commit()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise ToolCallError(_message(exc, time_limit, read_only, max_bytes), tool="sql_query") from None
        cut = budget.note or (f"cut at {max_rows} rows; use LIMIT and OFFSET for the rest" if more else "")
        return QueryResult(columns=columns, rows=rows, row_count=len(rows), **marker(cut, truncated=more))

    @with_examples({})
    @tool(idempotent=True, read_only=True, timeout=time_limit + 1)
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


def _stopper(deadline: float) -> Callable[[], int]:
    """A progress handler: non-zero (stop the query) past `deadline` or once the scheduler abandoned the call."""
    return lambda: int(time.monotonic() > deadline or abandoned())


def _message(exc: sqlite3.Error, time_limit: float, read_only: bool, max_bytes: int) -> str:
    text = str(exc)
    if text == "interrupted":
        return f"the query ran longer than {time_limit:g} s"
    if text == "string or blob too big":
        return f"a value in this query would be larger than {max_bytes:,} bytes, the most a result may hold"
    if text == "too many columns in result set":
        return f"more than {MAX_COLUMNS} columns in the result; select fewer"
    if text == "not authorized":
        return "not authorized: " + ("the database is read-only; " if read_only else "") + "ATTACH is never allowed"
    return text


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return "base64:" + base64.b64encode(value).decode("ascii")
    return value
