"""Built-in tools: what they compute, and every refusal that keeps them safe."""

from __future__ import annotations

import os
import sqlite3
import zoneinfo
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from f1.errors import F1Error, ToolCallError
from f1.server.background import serve_in_thread as serve
from f1.tools.builtin import (
    builtin_tools,
    calculate,
    convert_time,
    convert_units,
    current_time,
    date_difference,
    http_tools,
    resolve_zone,
    sqlite_tools,
    weekday,
    workspace_tools,
)
from f1.tools.builtin.cities import CITY_ZONES, COUNTRY_ZONES
from f1.tools.builtin.timezones import add_duration

# calculator ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("2 ** 10", 1024),
        ("-3 ** 2", -9),
        ("+4 - -4", 8),
        ("7 // 2 + 7 % 2", 4),
        ("7 / 2", 3.5),
        ("sqrt(16) + abs(-2)", 6),
        ("round(pi, 2)", 3.14),
        ("max(1, 5, 3) - min(4, 2)", 3),
        ("log(e)", 1),
        ("2 ** -1", 0.5),
    ],
)
def test_calculate_evaluates_arithmetic(expression: str, expected: float) -> None:
    assert calculate(expression=expression) == pytest.approx(expected)


def test_calculate_reads_variables() -> None:
    assert calculate(expression="tokyo - paris", variables={"tokyo": 9, "paris": 1}) == 8


@given(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6))
def test_calculate_agrees_with_python_integers(a: int, b: int) -> None:
    assert calculate(expression=f"({a}) * ({b}) - ({a}) + ({b})") == a * b - a + b


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os').system('true')", "not allowed"),
        ("().__class__", "not allowed"),
        ("open('/etc/passwd')", "not allowed"),
        ("x", "unknown name"),
        ("'a' * 3", "must be a number"),
        ("True + 1", "must be a number"),
        ("lambda: 1", "not allowed"),
        ("[1, 2]", "not allowed"),
        ("1 if 1 else 2", "not allowed"),
        ("1 < 2", "not allowed"),
        ("9 ** 99999", "exponent"),
        ("10 ** 5000", "too large"),
        ("(10 ** 1000) ** 5", "too large"),
        ("1 / 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("sqrt(-1)", "math domain"),
        ("2.0 ** 5000", "range"),
        ("round(1.5, ndigits=1)", "positional"),
        ("1 +", "cannot parse"),
        ("1" + " + 1" * 200, "longer than"),
    ],
)
def test_calculate_refuses(expression: str, reason: str) -> None:
    with pytest.raises(ToolCallError, match=reason):
        calculate(expression=expression)


def test_calculate_refuses_bad_variables() -> None:
    with pytest.raises(ToolCallError, match="bad variable name"):
        calculate(expression="1", variables={"not a name": 1})
    with pytest.raises(ToolCallError, match="must be a number"):
        calculate(expression="a", variables={"a": "2"})  # type: ignore[dict-item]


# units --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (1, "mi", "km", 1.609344),
        (10, "kilometres", "m", 10_000),
        (1, "lb", "g", 453.59237),
        (100, "C", "F", 212),
        (-40, "fahrenheit", "celsius", -40),
        (0, "K", "C", -273.15),
        (90, "min", "h", 1.5),
        (2, "week", "days", 14),
        (1, "gal", "l", 3.785411784),
        (100, "km/h", "m/s", 27.7777777778),
        (1, "knot", "km/h", 1.852),
        (1, "GiB", "MiB", 1024),
        (1, "GB", "MB", 1000),
        (8, "bit", "B", 1),
        (1, "Gbit", "MB", 125),
    ],
)
def test_convert_units(value: float, source: str, target: str, expected: float) -> None:
    result = convert_units(value=value, from_unit=source, to_unit=target)
    assert result["value"] == pytest.approx(expected)


def test_convert_units_refuses_mismatched_and_unknown_units() -> None:
    with pytest.raises(ToolCallError, match="cannot convert length"):
        convert_units(value=1, from_unit="km", to_unit="kg")
    with pytest.raises(ToolCallError, match="unknown unit 'furlong'"):
        convert_units(value=1, from_unit="furlong", to_unit="m")


# time zones ---------------------------------------------------------------------------------------------


def test_city_table_is_large_and_every_zone_exists() -> None:
    assert len(CITY_ZONES) >= 100
    available = zoneinfo.available_timezones()
    assert {*CITY_ZONES.values(), *COUNTRY_ZONES.values()} <= available


@pytest.mark.parametrize(
    ("place", "zone"),
    [
        ("Paris", "Europe/Paris"),
        ("tokyo", "Asia/Tokyo"),
        ("New York", "America/New_York"),
        ("  new   york ", "America/New_York"),
        ("Paris, France", "Europe/Paris"),
        ("Japan", "Asia/Tokyo"),
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("america/los_angeles", "America/Los_Angeles"),
        ("America/Los Angeles", "America/Los_Angeles"),
        ("Europe/Kyiv", "Europe/Kyiv"),
        ("UTC", "UTC"),
        ("GMT", "UTC"),
    ],
)
def test_resolve_zone(place: str, zone: str) -> None:
    assert str(resolve_zone(place)) == zone


def test_resolve_zone_offsets_and_unknown_places() -> None:
    assert str(resolve_zone("UTC+5:30")) == "UTC+05:30"
    assert str(resolve_zone("GMT-8")) == "UTC-08:00"
    with pytest.raises(ToolCallError, match="did you mean 'Europe/Paris'"):
        resolve_zone("Pariss")
    with pytest.raises(ToolCallError, match="unknown place"):
        resolve_zone("Atlantis")
    with pytest.raises(ToolCallError, match="out of range"):
        resolve_zone("UTC+15")


def test_current_time_reports_zone_offset_and_weekday() -> None:
    result = current_time(location="Tokyo")
    assert result["zone"] == "Asia/Tokyo" and result["utc_offset_hours"] == 9
    assert result["datetime"].endswith("+09:00")
    assert result["weekday"] in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def test_convert_time_across_zones_and_daylight_saving() -> None:
    winter = convert_time(time="2025-01-15T09:30", from_location="Paris", to_location="Tokyo")
    assert winter["datetime"] == "2025-01-15T17:30:00+09:00"
    summer = convert_time(time="2025-07-15T09:30", from_location="Paris", to_location="New York")
    assert summer["datetime"] == "2025-07-15T03:30:00-04:00"
    assert convert_time(time="2025-07-15T09:30:00Z", from_location="Tokyo", to_location="UTC")["time"] == "09:30"
    assert convert_time(time="9:05 pm", from_location="London", to_location="London")["time"] == "21:05"


def test_add_duration_and_date_difference() -> None:
    assert add_duration(start="2025-03-14T09:30", days=10, hours=5)["datetime"] == "2025-03-24T14:30:00+00:00"
    assert add_duration(start="2025-03-01", weeks=-1)["date"] == "2025-02-22"
    # a day later on the local clock, across the spring DST change in Paris
    moved = add_duration(start="2025-03-29T12:00", days=1, location="Paris")
    assert moved["datetime"] == "2025-03-30T12:00:00+02:00"
    difference = date_difference(start="2025-01-01", end="2025-12-25")
    assert difference["whole_days"] == 358 and difference["hours"] == 358 * 24
    assert date_difference(start="2025-01-02", end="2025-01-01")["days"] == -1
    with pytest.raises(ToolCallError, match="out of range"):
        add_duration(start="9999-12-31", days=2)


def test_weekday_and_bad_dates() -> None:
    assert weekday(date="2025-07-14") == {"date": "2025-07-14", "weekday": "Monday", "iso_weekday": 1}
    with pytest.raises(ToolCallError, match="ISO 8601"):
        weekday(date="next tuesday-ish")
    with pytest.raises(ToolCallError, match="bad time"):
        convert_time(time="25:00", from_location="UTC", to_location="UTC")


# SQLite -------------------------------------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total REAL, note BLOB)")
        connection.executemany(
            "INSERT INTO orders (customer, total, note) VALUES (?, ?, ?)",
            [("alice", 10.5, b"\x00\x01"), ("bob", 3.0, None)] * 20,
        )
    connection.close()
    return path


def test_sql_query_with_parameters_and_row_limit(database: Path) -> None:
    query, tables = sqlite_tools(database, max_rows=5)
    result = query(query="SELECT customer, total, note FROM orders WHERE customer = ?", params=["alice"])
    assert result["columns"] == ["customer", "total", "note"]
    assert result["rows"][0] == ["alice", 10.5, "base64:AAE="]
    assert result["row_count"] == 5 and result["truncated"] is True
    named = query(query="SELECT count(*) FROM orders WHERE customer = :who", params={"who": "bob"})
    assert named["rows"] == [[20]] and named["truncated"] is False
    assert tables() == [{"name": "orders", "sql": "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total REAL, note BLOB)"}]
    assert query(query="PRAGMA table_info(orders)")["row_count"] == 4


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM orders",
        "UPDATE orders SET total = 0",
        "INSERT INTO orders (customer) VALUES ('eve')",
        "DROP TABLE orders",
        "CREATE TABLE x (a)",
        "ATTACH DATABASE ':memory:' AS other",
        "PRAGMA journal_mode = DELETE",
    ],
)
def test_sql_query_is_read_only_by_default(database: Path, statement: str) -> None:
    query, _ = sqlite_tools(database)
    with pytest.raises(ToolCallError, match="not authorized"):
        query(query=statement)
    assert query(query="SELECT count(*) FROM orders")["rows"] == [[40]]


def test_sql_query_refuses_two_statements_and_stops_long_queries(database: Path) -> None:
    query, _ = sqlite_tools(database, time_limit=0.2)
    with pytest.raises(ToolCallError, match="one statement"):
        query(query="SELECT 1; DELETE FROM orders")
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    with pytest.raises(ToolCallError, match="longer than 0.2 s"):
        query(query=endless)


def test_sql_query_writes_only_when_asked_and_never_attaches(database: Path, tmp_path: Path) -> None:
    query, _ = sqlite_tools(database, read_only=False)
    query(query="INSERT INTO orders (customer, total) VALUES (?, ?)", params=["eve", 1.0])
    assert sqlite_tools(database)[0](query="SELECT count(*) FROM orders")["rows"] == [[41]]
    with pytest.raises(ToolCallError, match="ATTACH is never allowed"):
        query(query=f"ATTACH DATABASE '{tmp_path / 'other.db'}' AS other")
    assert not (tmp_path / "other.db").exists()
    with pytest.raises(ToolCallError, match="no such database"):
        sqlite_tools(tmp_path / "missing.db")


# workspace ----------------------------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "todo.md").write_text("buy milk\nTODO: call Bob\n")
    (root / "main.py").write_text("def main():\n    return 1\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("the secret")
    os.symlink(outside, root / "escape_dir")
    os.symlink(outside / "secret.txt", root / "escape.txt")
    os.symlink(root / "main.py", root / "alias.py")
    return root


def _tools(root: Path, **options: object) -> dict[str, object]:
    return {item.name: item for item in workspace_tools(root, **options)}  # type: ignore[arg-type]


def test_workspace_list_read_write_search(workspace: Path) -> None:
    tools = _tools(workspace)
    listing = tools["list_files"]()
    assert [entry["path"] for entry in listing["entries"]] == ["alias.py", "main.py", "notes"]
    deep = tools["list_files"](pattern="*.md", recursive=True)
    assert deep["entries"] == [{"path": "notes/todo.md", "type": "file", "size": 24}]
    assert tools["read_file"](path="notes/todo.md")["content"].startswith("buy milk")
    assert tools["write_file"](path="new/deep/file.txt", content="hello todo") == {"path": "new/deep/file.txt", "bytes_written": 10}
    tools["write_file"](path="new/deep/file.txt", content="!", append=True)
    assert (workspace / "new" / "deep" / "file.txt").read_text() == "hello todo!"
    found = tools["search_files"](query="todo")
    assert {(match["path"], match["line"]) for match in found["matches"]} == {("notes/todo.md", 2), ("new/deep/file.txt", 1)}


def test_workspace_read_truncates_long_files(workspace: Path) -> None:
    (workspace / "long.txt").write_text("x" * 50)
    result = _tools(workspace, max_bytes=10)["read_file"](path="long.txt")
    assert result["content"] == "x" * 10 and result["truncated"] is True and result["size"] == 50


@pytest.mark.parametrize("path", ["../outside/secret.txt", "/etc/passwd", "escape.txt", "escape_dir/secret.txt", "notes/../../outside/secret.txt"])
def test_workspace_refuses_escapes(workspace: Path, path: str) -> None:
    tools = _tools(workspace)
    with pytest.raises(ToolCallError, match="outside the workspace"):
        tools["read_file"](path=path)
    with pytest.raises(ToolCallError, match="outside the workspace"):
        tools["write_file"](path=path, content="pwned")
    assert (workspace.parent / "outside" / "secret.txt").read_text() == "the secret"


def test_workspace_hides_escaping_symlinks_and_can_be_read_only(workspace: Path) -> None:
    tools = _tools(workspace, writable=False)
    assert "write_file" not in tools
    everything = tools["list_files"](recursive=True)
    assert not any(entry["path"].startswith("escape") for entry in everything["entries"])
    assert tools["search_files"](query="secret")["matches"] == []
    with pytest.raises(ToolCallError, match="outside the workspace"):
        tools["list_files"](path="..")
    for pattern in ("../*", "/etc/*", "**/../../*", "", ".."):
        with pytest.raises(ToolCallError, match="file-name pattern"):
            tools["list_files"](pattern=pattern)
        with pytest.raises(ToolCallError, match="file-name pattern"):
            tools["search_files"](query="secret", pattern=pattern)


# HTTP ---------------------------------------------------------------------------------------------------


def _app():  # a tiny Starlette app: JSON, echo, a redirect to the cloud metadata address, a big body
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse
    from starlette.routing import Route

    async def hello(request: Request) -> JSONResponse:
        return JSONResponse({"hello": request.query_params.get("name", "world")})

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"got": await request.json()})

    async def to_metadata(request: Request) -> RedirectResponse:
        return RedirectResponse("http://169.254.169.254/latest/meta-data")

    async def to_hello(request: Request) -> RedirectResponse:
        return RedirectResponse("/hello?name=again")

    async def big(request: Request) -> PlainTextResponse:
        return PlainTextResponse("y" * 10_000)

    routes = [Route("/hello", hello), Route("/echo", echo, methods=["POST"]), Route("/meta", to_metadata), Route("/again", to_hello), Route("/big", big)]
    return Starlette(routes=routes)


@pytest.fixture(scope="module")
def local_url():
    with serve(_app()) as url:
        yield url


@pytest.mark.anyio
async def test_http_refuses_loopback_by_default(local_url: str) -> None:
    get, post = http_tools()
    with pytest.raises(ToolCallError, match="non-public address 127.0.0.1"):
        await get(url=f"{local_url}/hello")
    with pytest.raises(ToolCallError, match="non-public"):
        await post(url=f"{local_url}/echo", body={"a": 1})


@pytest.mark.anyio
@pytest.mark.parametrize(
    "url",
    ["http://localhost/", "http://10.1.2.3/", "http://192.168.0.1/", "http://169.254.169.254/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://2130706433/"],
)
async def test_http_refuses_non_public_addresses(url: str) -> None:
    get, _ = http_tools()
    with pytest.raises(ToolCallError, match="non-public"):
        await get(url=url)


@pytest.mark.anyio
async def test_http_refuses_other_schemes_and_hosts_off_the_list() -> None:
    get, _ = http_tools(hosts=["api.example.com"])
    with pytest.raises(ToolCallError, match="only http and https"):
        await get(url="file:///etc/passwd")
    with pytest.raises(ToolCallError, match="not in the allow-list"):
        await get(url="https://evil.example.net/")


@pytest.mark.anyio
async def test_http_with_an_allowed_address(local_url: str) -> None:
    get, post = http_tools(allow=["127.0.0.1/32"], max_bytes=1000)
    hello = await get(url=f"{local_url}/hello", params={"name": "f1"})
    assert hello["status"] == 200 and hello["body"] == {"hello": "f1"}
    echoed = await post(url=f"{local_url}/echo", body={"a": [1, 2]})
    assert echoed["body"] == {"got": {"a": [1, 2]}}
    followed = await get(url=f"{local_url}/again")
    assert followed["body"] == {"hello": "again"} and followed["url"].endswith("/hello?name=again")
    big = await get(url=f"{local_url}/big")
    assert big["truncated"] is True and big["body"] == "y" * 1000
    missing = await get(url=f"{local_url}/nothing-here")
    assert missing["status"] == 404


@pytest.mark.anyio
async def test_http_refuses_redirects_to_non_public_addresses(local_url: str) -> None:
    get, _ = http_tools(allow=["127.0.0.1"])
    with pytest.raises(ToolCallError, match="non-public address 169.254.169.254"):
        await get(url=f"{local_url}/meta")


# the assembled set --------------------------------------------------------------------------------------


def test_builtin_tools_assembles_configured_groups(database: Path, workspace: Path) -> None:
    assert set(builtin_tools()) == {
        "calculate", "convert_units", "current_time", "convert_time", "add_duration", "date_difference", "weekday",
        "http_get", "http_post",
    }  # fmt: skip
    full = builtin_tools(database=database, workspace=workspace)
    assert {"sql_query", "sql_tables", "read_file", "write_file"} <= set(full)
    assert set(builtin_tools(groups=["time", "math"], http=False)) == {
        "calculate", "current_time", "convert_time", "add_duration", "date_difference", "weekday",
    }  # fmt: skip
    with pytest.raises(F1Error, match="unknown builtin tool group"):
        builtin_tools(groups=["weather"])
    with pytest.raises(F1Error, match="needs a database"):
        builtin_tools(groups=["sql"])


def test_builtin_tools_have_descriptions_and_documented_parameters(database: Path, workspace: Path) -> None:
    for item in builtin_tools(database=database, workspace=workspace).values():
        assert item.spec.description, item.name
        assert item.spec.examples, item.name
        for name, prop in item.spec.parameters["properties"].items():
            assert prop.get("description"), f"{item.name}.{name}"
