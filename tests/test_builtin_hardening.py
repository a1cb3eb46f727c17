"""Built-in tools that cannot take the process down: no runaway CPU, bounded results and memory, threads that
learn they were abandoned, an address guard that sees IPv4 inside IPv6, and file tools that survive odd files.
The time bounds here are generous "does not hang" checks, not benchmarks."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from f1.plan import Plan, Step
from f1.scheduler import Scheduler, abandoned
from f1.tools.builtin import calculate, sqlite_tools
from f1.tools.builtin._common import json_size
from f1.tools.errors import ToolCallError
from f1.tools.registry import Tool, ToolRegistry, tool

# calculator: operand-size guards ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "variables", "reason"),
    [
        ("round(1, -10**7)", {}, "round to -10000000 digits"),
        ("round(1, n)", {"n": -(10**7)}, "round to -10000000 digits"),
        ("round(2.5, n)", {"n": 10**9}, "round to 1000000000 digits"),
        ("a + 1", {"a": 2**100_000}, "variable 'a' is too large"),
    ],
)
def test_calculate_refuses_operands_that_would_run_long(expression: str, variables: dict, reason: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ToolCallError, match=reason):
        calculate(expression=expression, variables=variables)
    assert time.perf_counter() - started < 2


def test_calculate_still_rounds_to_tens_and_decimals() -> None:
    assert calculate(expression="round(12345, -2)") == 12300
    assert calculate(expression="round(2 ** 4000, -1300)") == 0
    assert calculate(expression="round(pi, 3)") == 3.142


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# the scheduler: a thread-run tool learns it was abandoned ----------------------------------------------


def _watched(item: Tool, finished: threading.Event) -> Tool:
    """`item` with a function that sets `finished` when its thread ends, however it ends."""

    def watched(**args: Any) -> Any:
        try:
            return item.fn(**args)
        finally:
            finished.set()

    return replace(item, fn=watched)


@pytest.mark.anyio
async def test_a_thread_run_tool_learns_that_the_scheduler_abandoned_it() -> None:
    @tool(timeout=0.2)
    def spin() -> str:
        """Spin until abandoned."""
        while not abandoned():
            time.sleep(0.01)
        return "stopped"

    finished = threading.Event()
    trace = await Scheduler(ToolRegistry([_watched(spin, finished)])).run(Plan(steps=[Step(id=1, tool="spin", args={})]))
    assert trace.steps[0].error is not None and trace.steps[0].error.kind == "timeout"
    assert await anyio.to_thread.run_sync(finished.wait, 10), "the abandoned thread kept running"
    assert not abandoned()  # outside a scheduled call it is always false


# SQLite: byte cap, bounded values, abandoned queries stop ------------------------------------------------


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (x)")
        connection.execute("CREATE TABLE wide (" + ", ".join(f"c{i}" for i in range(150)) + ")")
    connection.close()
    return path


def test_sql_results_are_capped_in_bytes_with_a_note(database: Path) -> None:
    query, _ = sqlite_tools(database, max_bytes=50_000)
    rows = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 100) SELECT zeroblob(10000) FROM c"
    result = query(query=rows)
    assert result["truncated"] is True and "cut at 50,000 bytes" in result["note"]
    assert 0 < result["row_count"] < 100 and json_size(result["rows"]) <= 50_000
    assert query(query="SELECT 1")["truncated"] is False and "note" not in query(query="SELECT 1")


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("SELECT zeroblob(50000000)", "larger than 50,000 bytes"),
        ("SELECT length(replace(hex(zeroblob(40000)), '0', 'ab'))", "larger than 50,000 bytes"),
        ("SELECT " + ", ".join(["zeroblob(40000)"] * 150), "more than 100 columns"),
    ],
    ids=["huge value", "huge intermediate value", "wide row"],
)
def test_sql_refuses_values_and_rows_larger_than_the_cap(database: Path, statement: str, reason: str) -> None:
    query, _ = sqlite_tools(database, max_bytes=50_000)
    with pytest.raises(ToolCallError, match=reason):
        query(query=statement)
    assert query(query="SELECT c149 FROM wide")["columns"] == ["c149"]  # a wide table still opens


@pytest.mark.anyio
async def test_an_abandoned_sql_query_stops(database: Path) -> None:
    query = sqlite_tools(database, time_limit=60)[0].with_policy(timeout=0.3)
    finished = threading.Event()
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    trace = await Scheduler(ToolRegistry([_watched(query, finished)])).run(
        Plan(steps=[Step(id=1, tool="sql_query", args={"query": endless})])
    )
    assert trace.steps[0].error is not None and trace.steps[0].error.kind == "timeout"
    assert await anyio.to_thread.run_sync(finished.wait, 10), "the query ran on after the step timed out"
