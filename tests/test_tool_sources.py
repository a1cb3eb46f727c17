"""Tool sources: BFCL worlds, the catalogue (`load_tools`), OpenAPI documents and MCP servers."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from f1.errors import F1Error, ToolCallError, ToolSourceError, ToolSpecError
from f1.server.background import serve_in_thread as serve
from f1.tools import ToolRegistry, ToolSource, ToolSpec
from f1.tools.bfcl_worlds import CLASSES, BfclWorld, bfcl_specs
from f1.tools.catalog import SPECS_DIR, load_tools
from f1.tools.mcp import MCPSource
from f1.tools.openapi import OpenAPISource

MCP_SERVER = Path(__file__).with_name("mcp_server.py")



# BFCL worlds --------------------------------------------------------------------------------------------

FILES = {
    "GorillaFileSystem": {
        "root": {"alice": {"type": "directory", "contents": {"notes.txt": {"type": "file", "content": "hello world"}}}}
    }
}


def test_bfcl_catalogue_has_the_eight_classes_and_128_functions() -> None:
    world = BfclWorld(CLASSES)
    assert len(world.tools) == 128 == sum(len(bfcl_specs(name)) for name in CLASSES)
    assert set(world.instances) == set(CLASSES)
    assert {"ls", "cd", "mkdir", "place_order", "send_message", "book_flight", "startEngine", "add"} <= set(world.tools)


def test_bfcl_world_loads_the_initial_config_and_keeps_state() -> None:
    world = BfclWorld(["GorillaFileSystem"], FILES)
    tools = world.tools
    assert tools["ls"]() == {"current_directory_content": ["notes.txt"]}
    assert tools["cat"](file_name="notes.txt") == {"file_content": "hello world"}
    tools["mkdir"](dir_name="reports")
    tools["cd"](folder="reports")
    tools["touch"](file_name="q1.txt")
    assert tools["ls"]() == {"current_directory_content": ["q1.txt"]}
    assert tools["pwd"]() == {"current_working_directory": "/alice/reports"}


def test_two_worlds_never_share_state_nor_touch_the_config() -> None:
    first, second = BfclWorld(["GorillaFileSystem"], FILES), BfclWorld(["GorillaFileSystem"], FILES)
    first.tools["touch"](file_name="only_in_first.txt")
    first.tools["rm"](file_name="notes.txt")
    assert second.tools["ls"]() == {"current_directory_content": ["notes.txt"]}
    assert FILES["GorillaFileSystem"]["root"]["alice"]["contents"].keys() == {"notes.txt"}
    assert first.instances["GorillaFileSystem"] is not second.instances["GorillaFileSystem"]


def test_bfcl_errors_are_results_and_odd_values_become_json() -> None:
    world = BfclWorld(["MessageAPI", "MathAPI"])
    assert "error" in world.tools["send_message"](receiver_id="USR002", message="hi")  # nobody logged in
    result = world.tools["logarithm"](value=8, base=2, precision=5)
    assert isinstance(result["result"], float)  # an mpmath number in BFCL's code
    assert world.tools["add"](a=2, b=3) == {"result": 5}


def test_bfcl_specs_keep_documented_responses_but_world_tools_do_not_check_them() -> None:
    assert bfcl_specs("GorillaFileSystem")[0].result_schema is not None
    assert all(tool.spec.result_schema is None for tool in BfclWorld(["GorillaFileSystem"]).tools.values())
    assert BfclWorld(["GorillaFileSystem"]).tools["touch"](file_name="x") is None  # documented as an object


def test_unknown_bfcl_class_is_a_clear_error() -> None:
    with pytest.raises(F1Error, match="unknown BFCL class 'Nope'; known: GorillaFileSystem"):
        BfclWorld(["Nope"])


# the catalogue ------------------------------------------------------------------------------------------


def test_load_tools_builtin_and_groups() -> None:
    tools = load_tools("builtin")
    assert isinstance(tools, ToolRegistry) and "calculate" in tools and "http_get" in tools
    assert set(load_tools("builtin:math,units")) == {"calculate", "convert_units"}
    with pytest.raises(F1Error, match="unknown builtin tool group"):
        load_tools("builtin:weather")


def test_load_tools_bfcl() -> None:
    assert set(load_tools("bfcl:MathAPI")) == {spec.name for spec in bfcl_specs("MathAPI")}
    assert len(load_tools("bfcl:TicketAPI,MessageAPI")) == 9 + 10
    assert len(load_tools("bfcl:all")) == 128
    with pytest.raises(F1Error, match="unknown BFCL class"):
        load_tools("bfcl:Nope")


def test_load_tools_spec_files_and_folders() -> None:
    specs = load_tools(str(SPECS_DIR / "bfcl" / "TradingBot.json"))
    assert isinstance(specs, list) and all(isinstance(spec, ToolSpec) for spec in specs) and len(specs) == 20
    assert len(load_tools(str(SPECS_DIR))) == 15 + 128


def test_load_tools_python_file_and_module(tmp_path: Path) -> None:
    (tmp_path / "mytools.py").write_text(
        textwrap.dedent(
            '''
            from f1.tools import tool

            @tool
            def double(x: int) -> int:
                """Double a number."""
                return 2 * x

            @tool
            def halve(x: float) -> float:
                """Halve a number."""
                return x / 2
            '''
        )
    )
    tools = load_tools(str(tmp_path / "mytools.py"))
    assert set(tools) == {"double", "halve"} and tools["double"](x=4) == 8
    listed = load_tools("f1.tools.builtin.calculator")  # a module with a TOOLS list
    assert list(listed) == ["calculate"]


UNKNOWN_REFS = {  # a reference that names no tools -> what the error says
    "nothing-like-this": "unknown tool set 'nothing-like-this'",
    "no.such.module": "unknown tool set 'no.such.module'",
    "f1.errors": "defines no tools",
    "bfcl:": "unknown tool set",
}


@pytest.mark.parametrize("ref", UNKNOWN_REFS)
def test_load_tools_unknown_refs(ref: str) -> None:
    with pytest.raises(ToolSourceError, match=UNKNOWN_REFS[ref]):
        load_tools(ref)


def test_load_tools_options_only_for_builtin() -> None:
    with pytest.raises(F1Error, match="apply only to the builtin tools"):
        load_tools("bfcl:MathAPI", workspace=".")


# OpenAPI ------------------------------------------------------------------------------------------------


@pytest.fixture
def pet_app():
    from tests.openapi_app import pet_app

    return pet_app()


async def _openapi_tools(app) -> dict[str, Any]:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    source = OpenAPISource(app.openapi(), base_url="http://pets.test", client=client)
    assert isinstance(source, ToolSource)
    return {tool.name: tool for tool in await source.load()}


@pytest.mark.anyio
async def test_openapi_operations_become_tools(pet_app) -> None:
    tools = await _openapi_tools(pet_app)
    assert set(tools) == {"listPets", "getPet", "createPet", "deletePet", "countPets"}
    get_pet = tools["getPet"].spec
    assert get_pet.description == "One pet by id"
    assert get_pet.required == ["pet_id"] and get_pet.parameters["properties"]["pet_id"]["type"] == "integer"
    assert get_pet.result_schema is not None and get_pet.result_schema["properties"]["name"]["type"] == "string"
    create = tools["createPet"].spec
    assert set(create.required) == {"x-owner", "body"}  # a header parameter and the JSON body
    assert "$ref" not in str(create.parameters)  # components inlined
    assert tools["listPets"].policy.idempotent and not tools["createPet"].policy.idempotent
    assert tools["listPets"].policy.read_only and not tools["createPet"].policy.read_only
    assert tools["deletePet"].policy.idempotent and not tools["deletePet"].policy.read_only  # DELETE writes


@pytest.mark.anyio
async def test_openapi_tools_call_the_api(pet_app) -> None:
    tools = await _openapi_tools(pet_app)
    assert await tools["getPet"](pet_id=1) == {"id": 1, "name": "Rex", "tag": "dog"}
    created = await tools["createPet"](body={"id": 2, "name": "Tom"}, **{"x-owner": "ann"})
    assert created == {"id": 2, "name": "Tom", "tag": "ann"}
    assert await tools["listPets"](tag="ann") == [created]
    assert await tools["deletePet"](pet_id=2) is None
    with pytest.raises(ToolCallError, match="HTTP 404 Not Found: .*no pet 2") as error:
        await tools["getPet"](pet_id=2)
    assert error.value.status == 404
    with pytest.raises(ToolCallError, match="HTTP 422"):
        await tools["getPet"](pet_id="not-a-number")


@pytest.mark.anyio
async def test_openapi_over_a_real_socket(pet_app) -> None:
    with serve(pet_app) as url:
        tools = {tool.name: tool for tool in await OpenAPISource(f"{url}/openapi.json").load()}
        assert await tools["getPet"](pet_id=1) == {"id": 1, "name": "Rex", "tag": "dog"}


@pytest.mark.anyio
async def test_openapi_bad_documents(tmp_path: Path) -> None:
    with pytest.raises(ToolSpecError, match="not an OpenAPI 3 document"):
        await OpenAPISource({"swagger": "2.0", "paths": {}}).load()
    with pytest.raises(ToolSpecError, match="pass base_url"):
        await OpenAPISource({"openapi": "3.1.0", "paths": {}}).load()
    with pytest.raises(ToolSpecError, match="points nowhere"):
        document = {"openapi": "3.0.0", "servers": [{"url": "http://x"}], "paths": {"/a": {"get": {"parameters": [{"$ref": "#/nope"}]}}}}
        await OpenAPISource(document).load()
    with pytest.raises(ToolSpecError, match="no such OpenAPI document"):
        await OpenAPISource(tmp_path / "missing.yaml").load()


@pytest.mark.anyio
async def test_openapi_yaml_file_with_recursive_schema(tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text(
        textwrap.dedent(
            """
            openapi: 3.0.3
            servers: [{url: "http://tree.test/v1"}]
            components:
              schemas:
                Node:
                  type: object
                  properties:
                    name: {type: string}
                    children: {type: array, items: {$ref: "#/components/schemas/Node"}}
            paths:
              /trees/{id}:
                parameters: [{name: id, in: path, required: true, schema: {type: string}}]
                put:
                  requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Node"}}}}
                  responses: {"200": {description: ok}}
            """
        )
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    (tool,) = await OpenAPISource(tmp_path / "api.yaml", client=client).load()
    assert tool.name == "put_trees_id"
    assert tool.spec.parameters["properties"]["body"]["properties"]["children"]["items"] == {}
    assert await tool(id="a b", body={"name": "root"}) == {"ok": True}
    assert str(seen[0].url) == "http://tree.test/v1/trees/a%20b" and seen[0].content == b'{"name":"root"}'


# MCP ----------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_mcp_stdio_server_tools() -> None:
    async with MCPSource.stdio(sys.executable, [str(MCP_SERVER)]) as source:
        assert isinstance(source, ToolSource)
        tools = {tool.name: tool for tool in await source.load()}
        assert set(tools) == {"add", "lookup", "shout", "sleep"}
        assert tools["add"].spec.description == "Add two integers." and tools["add"].spec.required == ["a", "b"]
        assert await tools["add"](a=2, b=3) == {"result": 5}  # structured content
        assert await tools["lookup"](city="Tokyo") == {"city": "Tokyo", "country": "Japan"}
        assert await tools["shout"](text="hi") == "HI"  # text content
        with pytest.raises(ToolCallError, match="unknown city Atlantis"):
            await tools["lookup"](city="Atlantis")
    with pytest.raises(F1Error, match="not connected"):
        await tools["add"](a=1, b=1)


@pytest.fixture
def mcp_http_url() -> Iterator[str]:
    """The demo MCP server over streamable HTTP, built outside the test's event loop: the app's anyio primitives
    must not belong to the test's backend, since uvicorn serves it on asyncio in a thread."""
    from tests.mcp_server import server

    with serve(server.streamable_http_app()) as url:
        yield url


@pytest.mark.anyio
async def test_mcp_streamable_http_server(mcp_http_url: str) -> None:
    async with MCPSource.http(f"{mcp_http_url}/mcp", prefix="demo.") as source:
        tools = {tool.name: tool for tool in await source.load()}
        assert "demo.add" in tools
        assert await tools["demo.add"](a=20, b=22) == {"result": 42}


@pytest.mark.anyio
async def test_mcp_connection_failure_is_an_f1_error() -> None:
    with pytest.raises(F1Error, match="cannot connect to the MCP server"):
        async with MCPSource.stdio(sys.executable, ["-c", "import sys; sys.exit(3)"], timeout=10):
            pass


# bad tools inside a run: typed errors in the trace, independent steps go on ---------------------------------


def _scheduler():
    return pytest.importorskip("f1.scheduler.executor").Scheduler


@pytest.mark.anyio
async def test_builtin_plan_time_in_two_cities_then_arithmetic() -> None:
    from f1.plan import Plan, Step
    from f1.scheduler.trace import ErrorKind, StepStatus
    from f1.tools.builtin import builtin_tools

    plan = Plan(
        steps=[
            Step(id=1, tool="current_time", args={"location": "Paris"}),
            Step(id=2, tool="current_time", args={"location": "Tokyo"}),
            Step(id=3, tool="calculate", args={"expression": "b - a", "variables": {"a": "$1.utc_offset_hours", "b": "$2.utc_offset_hours"}}),
            Step(id=4, tool="calculate", args={"expression": "1 / 0"}),
            Step(id=5, tool="convert_units", args={"value": "$3", "from_unit": "h", "to_unit": "min"}),
            Step(id=6, tool="calculate", args={"expression": "$4"}),
        ]
    )
    trace = await _scheduler()(builtin_tools(http=False)).run(plan)
    assert trace.record(3).result in (7, 8)  # Tokyo is 8 h ahead of Paris in winter, 7 h in summer
    assert trace.record(5).result["value"] == trace.record(3).result * 60
    assert trace.record(4).status is StepStatus.error and trace.record(4).error.kind is ErrorKind.exception
    assert trace.record(4).error.exception_type == "ToolCallError" and "division by zero" in trace.record(4).error.message
    assert trace.record(6).status is StepStatus.skipped and trace.record(6).error.kind is ErrorKind.dependency_failed


@pytest.mark.anyio
async def test_bad_tools_give_typed_errors_and_the_run_goes_on() -> None:
    import anyio

    from f1.plan import Plan, Step
    from f1.scheduler.trace import ErrorKind, StepStatus
    from f1.tools import tool

    @tool
    def explode() -> int:
        """Raise."""
        raise RuntimeError("boom")

    @tool(timeout=0.2)
    async def hang() -> int:
        """Never finish."""
        await anyio.sleep(60)
        return 0

    @tool
    def opaque() -> Any:
        """Return something that is not JSON."""
        return object()

    @tool
    def liar() -> int:
        """Promise an int, return a string."""
        return "not an int"  # type: ignore[return-value]

    @tool
    def fine() -> int:
        """Work."""
        return 42

    names = ["explode", "hang", "opaque", "liar", "fine"]
    registry = ToolRegistry([explode, hang, opaque, liar, fine])
    plan = Plan(steps=[Step(id=index, tool=name) for index, name in enumerate(names, start=1)])
    trace = await _scheduler()(registry).run(plan)
    kinds = {record.tool: (record.status, record.error.kind if record.error else None) for record in trace.steps}
    assert kinds == {
        "explode": (StepStatus.error, ErrorKind.exception),
        "hang": (StepStatus.error, ErrorKind.timeout),
        "opaque": (StepStatus.error, ErrorKind.unserializable_result),
        "liar": (StepStatus.error, ErrorKind.invalid_result),
        "fine": (StepStatus.ok, None),
    }
    assert trace.record(5).result == 42


@pytest.mark.anyio
async def test_openapi_and_mcp_errors_in_a_run(pet_app) -> None:
    from f1.plan import Plan, Step
    from f1.scheduler.trace import ErrorKind, StepStatus

    tools = await _openapi_tools(pet_app)
    async with MCPSource.stdio(sys.executable, [str(MCP_SERVER)]) as source:
        mcp_tools = await source.load()
        registry = ToolRegistry([*tools.values(), *(item.with_policy(timeout=0.5) for item in mcp_tools)])
        plan = Plan(
            steps=[
                Step(id=1, tool="getPet", args={"pet_id": 99}),  # HTTP 404
                Step(id=2, tool="countPets"),  # breaks its documented result schema
                Step(id=3, tool="lookup", args={"city": "Atlantis"}),  # MCP isError
                Step(id=4, tool="sleep", args={"seconds": 30}),  # hangs past the timeout
                Step(id=5, tool="add", args={"a": 1, "b": 2}),
                Step(id=6, tool="getPet", args={"pet_id": 1}),
            ]
        )
        trace = await _scheduler()(registry).run(plan)
    assert trace.record(1).error.kind is ErrorKind.exception and "HTTP 404" in trace.record(1).error.message
    assert trace.record(2).error.kind is ErrorKind.invalid_result
    assert trace.record(3).error.kind is ErrorKind.exception and "unknown city" in trace.record(3).error.message
    assert trace.record(4).error.kind is ErrorKind.timeout
    assert trace.record(5).status is StepStatus.ok and trace.record(5).result == {"result": 3}
    assert trace.record(6).result["name"] == "Rex"


@pytest.mark.anyio
async def test_bfcl_world_in_a_run() -> None:
    from f1.plan import Plan, Step

    world = BfclWorld(["GorillaFileSystem"], FILES)
    plan = Plan(
        steps=[
            Step(id=1, tool="mkdir", args={"dir_name": "out"}),
            Step(id=2, tool="cat", args={"file_name": "notes.txt"}),
            Step(id=3, tool="cat", args={"file_name": "missing.txt"}),
        ]
    )
    trace = await _scheduler()(world.tools).run(plan)
    assert trace.ok  # BFCL's {"error": ...} answers are results, not failures
    assert trace.record(2).result == {"file_content": "hello world"} and "error" in trace.record(3).result
    assert "out" in world.tools["ls"]()["current_directory_content"]


# Sources by reference (`--tools mcp+stdio:...`, `mcp+http://...`, `openapi:...`, a sources file) -------------------


@pytest.fixture
def closed_after() -> Any:
    from f1.tools.connected import close_all

    yield
    close_all()


def _solve_with(tools: Any, plan: list[tuple[str, dict[str, Any]]]) -> Any:
    """Run a scripted plan through the Engine (its own event loop), then the joiner's answer."""
    import json

    from f1.engine import Engine
    from f1.planner import ScriptedModel

    steps = {"steps": [{"id": i, "tool": name, "args": args} for i, (name, args) in enumerate(plan, 1)]}
    model = ScriptedModel([json.dumps(steps), json.dumps({"action": "finish", "answer": "done"})])
    return Engine(tools, model=model).solve("go")


def test_an_mcp_stdio_ref_gives_tools_any_event_loop_can_call(closed_after: Any) -> None:
    tools = load_tools(f"mcp+stdio:{sys.executable} {MCP_SERVER}")
    assert isinstance(tools, ToolRegistry) and set(tools) == {"add", "lookup", "shout", "sleep"}
    assert tools["add"](a=2, b=3) == {"result": 5}  # from plain code
    for _ in range(2):  # from two runs, each with its own event loop
        solution = _solve_with(tools, [("add", {"a": 1, "b": 2}), ("lookup", {"city": "Paris"})])
        assert [step.result for step in solution.trace.steps] == [{"result": 3}, {"city": "Paris", "country": "France"}]


def test_an_mcp_servers_stderr_goes_to_the_log_not_the_terminal(
    tmp_path: Path, closed_after: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    noisy = tmp_path / "noisy_server.py"
    noisy.write_text(
        "import runpy, sys\nprint('noisy server starting', file=sys.stderr, flush=True)\n"
        f"runpy.run_path({str(MCP_SERVER)!r}, run_name='__main__')\n"
    )
    with caplog.at_level("INFO", logger="f1.tools.mcp"):
        tools = load_tools(f"mcp+stdio:{sys.executable} {noisy}")
        assert tools["shout"](text="x") == "X"
        from f1.tools.connected import close_all

        close_all()  # the server exits; its pipe drains into the log
        import time

        deadline = time.monotonic() + 5
        while "noisy server starting" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "noisy_server.py: noisy server starting" not in caplog.text  # named by the command, not its argument
    assert f"{Path(sys.executable).name}: noisy server starting" in caplog.text
    assert "noisy server starting" not in capfd.readouterr().err


def test_an_mcp_http_ref(closed_after: Any) -> None:
    from tests.mcp_server import server

    with serve(server.streamable_http_app()) as url:
        tools = load_tools(f"mcp+{url}/mcp")
        assert tools["add"](a=20, b=22) == {"result": 42}
        close_all = pytest.importorskip("f1.tools.connected").close_all
        close_all()  # before the server stops


def test_an_openapi_ref_from_a_url_and_a_file(pet_app: Any, tmp_path: Path) -> None:
    with serve(pet_app) as url:
        tools = load_tools(f"openapi:{url}/openapi.json")
        assert tools["getPet"].is_async  # called on the run's own event loop, over a client of its own
        assert tools["listPets"].policy.read_only
        solution = _solve_with(tools, [("getPet", {"pet_id": 1})])
        assert solution.trace.steps[0].result == {"id": 1, "name": "Rex", "tag": "dog"}
        document = httpx.get(f"{url}/openapi.json").json() | {"servers": [{"url": url}]}
        (tmp_path / "pets.json").write_text(__import__("json").dumps(document))
        assert set(load_tools(f"openapi:{tmp_path / 'pets.json'}")) == set(tools)


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_a_sources_file_lists_several_refs(tmp_path: Path, closed_after: Any, suffix: str) -> None:
    (tmp_path / "specs.json").write_text('[{"name": "lookup_order", "parameters": {"type": "object"}}]')
    refs = ["builtin:units", f"mcp+stdio:{sys.executable} {MCP_SERVER}"]
    listing = tmp_path / f"tools{suffix}"
    if suffix == ".toml":
        listing.write_text("sources = [\n" + "".join(f"  {__import__('json').dumps(ref)},\n" for ref in refs) + "]\n")
    else:
        listing.write_text("sources:\n" + "".join(f"  - {__import__('json').dumps(ref)}\n" for ref in refs))
    tools = load_tools(str(listing))
    assert isinstance(tools, ToolRegistry) and set(tools) == {"convert_units", "add", "lookup", "shout", "sleep"}
    assert tools["add"](a=1, b=1) == {"result": 2}
    listing.write_text('sources = ["builtin:units", "specs.json"]\n' if suffix == ".toml" else "sources: [builtin:units, specs.json]\n")
    specs = load_tools(str(listing))  # a spec-only source makes the whole set specs; paths are relative to the file
    assert isinstance(specs, list) and [spec.name for spec in specs] == ["convert_units", "lookup_order"]


def test_bad_refs_say_what_is_wrong(tmp_path: Path) -> None:
    for ref, message in [
        ("missing-tools.yaml", "file not found"),
        ("nowhere/tools.py", "file not found"),
        ("mcp+stdio:", "names no command"),
        ("mcp+stdio:'unclosed", "No closing quotation"),
        ("mcp:time", "unknown tool set"),
    ]:
        with pytest.raises(F1Error, match=message):
            load_tools(ref)
    (tmp_path / "empty.toml").write_text("sources = []\n")
    with pytest.raises(F1Error, match="non-empty list"):
        load_tools(str(tmp_path / "empty.toml"))
    (tmp_path / "broken.toml").write_text("sources = [\n")
    with pytest.raises(F1Error, match="cannot parse"):
        load_tools(str(tmp_path / "broken.toml"))
    with pytest.raises(F1Error, match="cannot connect to the MCP server"):
        load_tools(f"mcp+stdio:{sys.executable} -c 'import sys; sys.exit(3)'")


def test_mcp_server_time_by_reference(closed_after: Any) -> None:
    import shutil

    if shutil.which("mcp-server-time") is None:
        pytest.skip("mcp-server-time is not installed (pip install 'f1[dev]' installs it)")
    tools = load_tools("mcp+stdio:mcp-server-time --local-timezone UTC")
    assert {"get_current_time", "convert_time"} <= set(tools) and tools["get_current_time"].policy.read_only
    assert tools["get_current_time"](timezone="Asia/Tokyo")["timezone"] == "Asia/Tokyo"
