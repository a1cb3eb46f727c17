"""Built-in tools that cannot take the process down: no runaway CPU, bounded results and memory, threads that
learn they were abandoned, an address guard that sees IPv4 inside IPv6, and file tools that survive odd files.
The time bounds here are generous "does not hang" checks, not benchmarks."""

from __future__ import annotations

import gzip
import os
import sqlite3
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest

from f1.errors import PlanError, ToolCallError
from f1.plan import Plan, Step
from f1.plan.text import parse_text_plan
from f1.scheduler import Scheduler, abandoned
from f1.tools.builtin import AddressGuard, calculate, http_tools, sqlite_tools, workspace_tools
from f1.tools.builtin._common import json_size
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


# HTTP: the guard sees IPv4 inside IPv6; bounded time and bytes ------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "url",
    [
        "http://[::127.0.0.1]/",  # IPv4-compatible
        "http://[::ffff:0:7f00:1]/",  # IPv4-translated (SIIT)
        "http://[::ffff:10.0.0.1]/",  # IPv4-mapped
        "http://[64:ff9b::7f00:1]/",  # NAT64 well-known prefix
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 to the cloud metadata address
        "http://[64:ff9b:1::808:808]/",  # local-use NAT64: never public
        "http://[2002:7f00:1::]/",  # 6to4
        "http://[2002:c0a8:1::]/",  # 6to4 of 192.168.0.1
        "http://[2001:0:808:808::80ff:fffe]/",  # Teredo, client 127.0.0.1
    ],
)
async def test_http_guard_judges_ipv4_carried_in_ipv6(url: str) -> None:
    with pytest.raises(ToolCallError, match="non-public"):
        await AddressGuard().check(httpx.URL(url), "http_get")


@pytest.mark.anyio
@pytest.mark.parametrize("url", ["http://[64:ff9b::808:808]/", "http://[2002:808:808::]/", "http://[::ffff:8.8.8.8]/"])
async def test_http_guard_passes_public_ipv4_carried_in_ipv6(url: str) -> None:
    await AddressGuard().check(httpx.URL(url), "http_get")  # checked without connecting: no error


async def _streamed(data: bytes) -> AsyncIterator[bytes]:
    """`data` in chunks, as it comes off the network (a transport's bytes content would arrive read already)."""
    for start in range(0, len(data), 16_384):
        yield data[start : start + 16_384]


def _http_get(handler: Any, **options: Any) -> Tool:
    transport = httpx.MockTransport(handler)
    return http_tools(allow=["example.test"], transport=transport, **options)[0]


@pytest.mark.anyio
async def test_http_inflates_a_compression_bomb_only_up_to_the_cap() -> None:
    bomb = gzip.compress(b"0" * 30_000_000)  # 30 MB in about 30 KB

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-encoding": "gzip", "content-type": "text/plain"}
        return httpx.Response(200, content=_streamed(bomb), headers=headers)

    get = _http_get(handler, max_bytes=100_000)
    tracemalloc.start()
    try:
        result = await get(url="http://example.test/bomb")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result["truncated"] is True and "cut at 100,000 bytes" in result["note"]
    assert result["body"] == "0" * 100_000
    assert peak < 5_000_000, f"{peak:,} bytes allocated to read 100 KB"


@pytest.mark.anyio
async def test_http_bodies_still_decode_and_read_bodies_are_capped() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/read":  # a body the transport has read already
            return httpx.Response(200, content=b"y" * 50, headers={"content-type": "text/plain"})
        body = _streamed(gzip.compress(b'{"ok": true}'))
        return httpx.Response(200, content=body, headers={"content-encoding": "gzip", "content-type": "application/json"})

    get = _http_get(handler, max_bytes=20)
    result = await get(url="http://example.test/")
    assert result["body"] == {"ok": True} and result["truncated"] is False and "note" not in result
    read = await get(url="http://example.test/read")
    assert read["body"] == "y" * 20 and read["truncated"] is True


@pytest.mark.anyio
async def test_http_timeout_bounds_a_body_that_drips_forever() -> None:
    async def drip() -> AsyncIterator[bytes]:
        while True:
            await anyio.sleep(0.05)
            yield b"x"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=drip(), headers={"content-type": "text/plain"})

    get = _http_get(handler, timeout=0.5)
    with anyio.fail_after(10):
        with pytest.raises(ToolCallError, match=r"no complete response within 0.5 s"):
            await get(url="http://example.test/slow")


# files: loops, FIFOs, budgets -----------------------------------------------------------------------------


def _workspace(root: Path, **options: Any) -> dict[str, Tool]:
    return {item.name: item for item in workspace_tools(root, **options)}



@pytest.fixture
def odd_workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("hello world\n")
    (root / "sub" / "b.txt").write_text("hello again\n")
    os.symlink("loop", root / "loop")  # points at itself
    os.symlink("nowhere", root / "broken")
    os.symlink(".", root / "here")  # a folder symlink back up: never descended into
    os.mkfifo(root / "pipe")
    return root


def test_a_symlink_loop_is_skipped_with_a_note_and_the_rest_listed(odd_workspace: Path) -> None:
    tools = _workspace(odd_workspace)
    listing = tools["list_files"](recursive=True)
    assert [entry["path"] for entry in listing["entries"]] == ["a.txt", "here", "pipe", "sub", "sub/b.txt"]
    assert listing["note"] == "skipped 'broken' (a broken symlink), 'loop' (a symlink loop)"
    assert listing["truncated"] is False and listing["entries"][2]["type"] == "other"
    found = tools["search_files"](query="hello")
    assert [(match["path"], match["line"]) for match in found["matches"]] == [("a.txt", 1), ("sub/b.txt", 1)]
    assert "a symlink loop" in found["note"]
    with pytest.raises(ToolCallError, match="symlink loop"):
        tools["read_file"](path="loop")


def test_write_and_read_refuse_a_fifo_without_blocking(odd_workspace: Path) -> None:
    tools = _workspace(odd_workspace)
    outcome: list[BaseException] = []

    def write() -> None:
        try:
            tools["write_file"](path="pipe", content="x")
        except BaseException as exc:  # noqa: BLE001 (handed to the test thread)
            outcome.append(exc)

    writer = threading.Thread(target=write, daemon=True)  # on a hang, the test fails instead of blocking
    writer.start()
    writer.join(10)
    assert not writer.is_alive(), "write_file blocked on a FIFO"
    assert isinstance(outcome[0], ToolCallError) and "not a regular file" in str(outcome[0])
    with pytest.raises(ToolCallError, match="not a regular file"):
        tools["read_file"](path="pipe")


def test_file_results_are_capped_in_bytes(odd_workspace: Path) -> None:
    (odd_workspace / "long.txt").write_text("é" * 100)  # 200 bytes; the cut falls inside a character
    for number in range(50):
        (odd_workspace / "sub" / f"{number:03}-{'x' * 100}.txt").write_text("hello\n")
    tools = _workspace(odd_workspace, max_bytes=1_001)
    assert tools["read_file"](path="long.txt")["content"] == "é" * 100
    small = _workspace(odd_workspace, max_bytes=51)["read_file"](path="long.txt")
    assert small["content"] == "é" * 25 and small["truncated"] is True and "cut at 51 bytes of 200" in small["note"]
    listing = tools["list_files"](path="sub")
    assert listing["truncated"] is True and "cut at 1,001 bytes" in listing["note"]
    assert 0 < len(listing["entries"]) < 51 and json_size(listing["entries"]) <= 1_001
    found = tools["search_files"](query="hello", path="sub")
    assert found["truncated"] is True and json_size(found["matches"]) <= 1_001


def test_walks_and_searches_stop_at_their_budgets(odd_workspace: Path) -> None:
    for number in range(30):
        (odd_workspace / "sub" / f"{number}.txt").write_text("hello\n" * 100)
    walked = _workspace(odd_workspace, max_scanned=10)["list_files"](recursive=True)
    assert walked["truncated"] is True and "stopped after 10 entries" in walked["note"]
    searched = _workspace(odd_workspace, max_read_bytes=1_000)["search_files"](query="hello", path="sub")
    assert searched["truncated"] is True and "stopped after reading 1,000 bytes" in searched["note"]
    with pytest.raises(ToolCallError, match="file-name pattern"):
        _workspace(odd_workspace)["list_files"](pattern="*a" * 200)


# text plans: huge or deeply nested arguments ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1. f(a=" + "+" * 10_000 + "1)", "nested too deeply"),  # the parser raised MemoryError
        ("1. f(a=" + "1+" * 9_000 + "1)", "nested too deeply"),  # RecursionError
        ('1. f(a="' + "x" * 100_000 + '")', "longer than 20,000 characters"),
    ],
    ids=["unary chain", "binary chain", "100,000 characters"],
)
def test_text_plan_refuses_huge_arguments_with_a_plan_error(text: str, reason: str) -> None:
    with pytest.raises(PlanError, match=reason):
        parse_text_plan(text)


def test_text_plan_line_pattern_does_not_backtrack_on_long_spaces() -> None:
    started = time.perf_counter()
    assert parse_text_plan("1. f()" + " " * 100_000 + "x").steps == []
    assert time.perf_counter() - started < 2
    assert parse_text_plan("1. f(a=1)  <END_OF_PLAN>  ").steps[0].args == {"a": 1}
