"""Issue 15, items 1-5: schemas are data (no fetch, no dangling refs, no runaway patterns), bounded caches, retrieval
off the event loop, and planner/joiner failures as F1Errors that keep the trace."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from f1.cache import BoundedCache, text_key
from f1.engine import Engine, EngineConfig
from f1.errors import F1Error, ModelError, PlanError, ToolSpecError
from f1.plan import validate_args
from f1.planner import ScriptedModel
from f1.scheduler import StepStatus
from f1.schemas import check_schema, schema_validator
from f1.server import ServerSettings, create_app
from f1.server.background import serve_in_thread
from f1.tools import ToolSpec, tool


@pytest.fixture
def schema_host() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that serves a schema and records every path asked of it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b'{"type": "string"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/schema+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", hits
    finally:
        server.shutdown()
        server.server_close()


def remote_ref_tool(url: str) -> dict[str, Any]:
    parameters = {"type": "object", "properties": {"a": {"$ref": f"{url}/schema.json"}}, "required": ["a"]}
    return {"type": "function", "function": {"name": "lookup", "description": "Look up.", "parameters": parameters}}


# 1. a $ref is never fetched --------------------------------------------------------------------------------
def test_a_remote_ref_is_refused_when_the_spec_is_built_and_never_fetched(schema_host) -> None:
    url, hits = schema_host
    with pytest.raises(ToolSpecError) as info:
        ToolSpec.from_openai(remote_ref_tool(url))
    assert info.value.tool == "lookup"
    assert "parameters/properties/a/$ref" in str(info.value) and "never fetched" in str(info.value)
    with pytest.raises(ToolSpecError, match=r"properties/a/\$ref"):
        ToolSpec.from_openai(remote_ref_tool("file:///etc"))
    assert hits == []


def test_validation_never_fetches_even_for_a_schema_that_skipped_the_spec_checks(schema_host) -> None:
    url, hits = schema_host
    schema = remote_ref_tool(url)["function"]["parameters"]
    with pytest.raises(PlanError, match="does not resolve inside it"):
        validate_args("lookup", {"a": "x"}, schema, allow_refs=False)
    with pytest.raises(Exception, match="does not resolve|Unresolvable"):
        list(schema_validator(schema).iter_errors({"a": "x"}))
    assert hits == []


def test_in_document_refs_and_bundled_metaschemas_still_resolve() -> None:
    parameters = {
        "type": "object",
        "$defs": {"city": {"type": "string", "minLength": 2}},
        "properties": {"to": {"$ref": "#/$defs/city"}, "schema": {"$ref": "https://json-schema.org/draft/2020-12/schema"}},
    }
    spec = ToolSpec(name="go", parameters=parameters)
    validate_args("go", {"to": "Rome", "schema": {"type": "string"}}, spec.parameters, allow_refs=False)
    with pytest.raises(PlanError, match="to: 'R' is too short"):
        validate_args("go", {"to": "R"}, spec.parameters, allow_refs=False)


def _plan_for(tool_name: str, args: dict[str, Any]) -> str:
    return json.dumps({"steps": [{"id": 1, "tool": tool_name, "args": args}]})


def test_the_server_answers_400_naming_the_path_and_fetches_nothing(schema_host) -> None:
    url, hits = schema_host
    engine = Engine(model=ScriptedModel([_plan_for("lookup", {"a": "x"})] * 4))
    with serve_in_thread(create_app(engine, ServerSettings())) as base:
        body = {"model": "scripted", "messages": [{"role": "user", "content": "look it up"}], "tools": [remote_ref_tool(url)]}
        response = httpx.post(f"{base}/v1/chat/completions", json=body, timeout=20)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "tools" and "parameters/properties/a/$ref" in error["message"]
    assert hits == []


# 5. dangling refs and invalid patterns are refused up front --------------------------------------------
@pytest.mark.parametrize(
    ("parameters", "path", "reason"),
    [
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}, "properties/a/$ref", "points nowhere"),
        ({"type": "object", "properties": {"a": {"$ref": "#nowhere"}}}, "properties/a/$ref", "points nowhere"),
        ({"type": "object", "properties": {"a": {"type": "string", "pattern": "(unclosed"}}}, "properties/a/pattern", "invalid regular expression"),
        ({"type": "object", "patternProperties": {"[z-a]": {}}}, "patternProperties/[z-a]", "invalid regular expression"),
        # a ref's target is checked too, even where subschemas are not expected (2020-12 has no "definitions")
        ({"type": "object", "definitions": {"x": {"pattern": "("}}, "properties": {"a": {"$ref": "#/definitions/x"}}},
         "definitions/x/pattern", "invalid regular expression"),
    ],
)
def test_dangling_refs_and_bad_patterns_are_refused_naming_the_path(parameters: dict[str, Any], path: str, reason: str) -> None:
    with pytest.raises(ToolSpecError) as info:
        ToolSpec.from_openai({"name": "t", "parameters": parameters}, source="client")
    assert info.value.tool == "t" and f"parameters/{path}" in str(info.value) and reason in str(info.value)


def test_result_schemas_get_the_same_checks() -> None:
    with pytest.raises(ToolSpecError, match=r"result_schema/properties/r/\$ref: \$ref '#/x' points nowhere"):
        ToolSpec.from_any({"name": "t", "result_schema": {"properties": {"r": {"$ref": "#/x"}}}})


# 3. patterns cannot stall the event loop ----------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent
CATASTROPHIC = [
    ({"type": "object", "properties": {"a": {"type": "string", "pattern": "^(a|aa)+$"}}}, {"a": "a" * 60 + "!"}),
    ({"type": "object", "patternProperties": {"^(a|aa)+$": {"type": "integer"}}}, {"a" * 60 + "!": "x"}),
    ({"type": "object", "patternProperties": {"^(a|aa)+$": {}}, "additionalProperties": False}, {"a" * 60 + "!": 1}),
]
_VALIDATE_ALL = """
import json, sys
from f1.errors import PlanError
from f1.plan import validate_args
from f1.tools import ToolSpec
for schema, args in json.loads(sys.stdin.read()):
    spec = ToolSpec(name="t", parameters=schema)  # compiles: catastrophic, not invalid
    try:
        validate_args("t", args, spec.parameters, allow_refs=False)
    except PlanError as exc:
        print(exc)
"""


def test_a_catastrophic_pattern_does_not_hang_validation() -> None:
    """In a subprocess: Python's `re` holds the GIL while it backtracks, so no thread could time it out here."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _VALIDATE_ALL], input=json.dumps(CATASTROPHIC), capture_output=True, text=True, timeout=60, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        pytest.fail("validation against a catastrophic pattern still ran after 60 s")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and "took longer than" in lines[0], lines


def test_patterns_still_match_as_before() -> None:
    spec = ToolSpec(name="t", parameters={"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}}})
    validate_args("t", {"code": "EUR"}, spec.parameters, allow_refs=False)
    with pytest.raises(PlanError, match="'eur' does not match"):
        validate_args("t", {"code": "eur"}, spec.parameters, allow_refs=False)
    keyed = {"type": "object", "patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False}
    validate_args("t", {"x-a": 1}, keyed, allow_refs=False)
    with pytest.raises(PlanError, match="'y' does not match any of the regexes"):
        validate_args("t", {"y": 1}, keyed, allow_refs=False)
    with pytest.raises(PlanError, match="is not of type 'integer'"):
        validate_args("t", {"x-a": "one"}, keyed, allow_refs=False)


def test_unevaluated_properties_next_to_pattern_properties_is_refused() -> None:
    with pytest.raises(ValueError, match="unevaluatedProperties"):
        check_schema({"type": "object", "patternProperties": {"^a": {}}, "unevaluatedProperties": False})


def test_retrieval_of_a_large_tool_set_runs_off_the_event_loop(monkeypatch) -> None:
    import f1.planner.retrieval as retrieval

    threads: list[int] = []
    persisted: list[bool] = []

    class Retriever:
        def __init__(self, specs: list[ToolSpec], persist: bool) -> None:
            self.specs = specs
            persisted.append(persist)

        def search(self, query: str, k: int) -> list[ToolSpec]:
            threads.append(threading.get_ident())
            return self.specs[:k]

    monkeypatch.setattr(retrieval, "retriever_for", lambda specs, persist=False: Retriever(specs, persist))
    own = [ToolSpec(name=f"own_{i}") for i in range(20)]
    client = [ToolSpec(name=f"client_{i}") for i in range(20)]
    engine = Engine(own, model=ScriptedModel(['{"steps":[]}'] * 2), config=EngineConfig(max_tools_in_prompt=4))

    async def main() -> int:
        await engine.aplan("hello", tools=client)
        await engine.aplan("hello")
        return threading.get_ident()

    loop_thread = anyio.run(main)
    assert len(threads) == 2 and loop_thread not in threads
    assert persisted == [False, True]  # a client's tool set stays off the disk; the engine's own catalogue may not


def test_a_client_tools_validators_are_built_off_the_event_loop(monkeypatch) -> None:
    import f1.plan.validate as validate

    threads: list[int] = []
    real = validate.schema_validator

    def recording(schema: Any) -> Any:
        threads.append(threading.get_ident())
        return real(schema)

    monkeypatch.setattr(validate, "schema_validator", recording)
    schema = {"type": "object", "properties": {"unique_to_this_test": {"type": "string"}}}
    spec = ToolSpec(name="t", parameters=schema)
    engine = Engine(model=ScriptedModel([_plan_for("t", {"unique_to_this_test": "x"})]))

    async def main() -> int:
        plan = await engine.aplan("go", tools=[spec])
        assert [step.tool for step in plan.steps] == ["t"]
        return threading.get_ident()

    loop_thread = anyio.run(main)
    assert threads and loop_thread not in threads


# 2. caches keyed by client JSON are bounded -------------------------------------------------------------
def test_bounded_cache_evicts_the_least_recently_used_by_bytes() -> None:
    cache: BoundedCache[str] = BoundedCache(max_bytes=10, max_entries=3)
    cache.put("a", "A", 4)
    cache.put("b", "B", 4)
    assert cache.get("a") == "A"  # now the most recent
    cache.put("c", "C", 4)  # 12 bytes: "b" goes
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("A", None, "C") and cache.size == 8
    cache.put("huge", "H", 11)  # larger than the budget: not kept, nothing evicted
    assert cache.get("huge") is None and len(cache) == 2
    for key in "wxyz":
        cache.put(key, key, 1)
    assert len(cache) == 3
    assert cache.get_or_build("text", lambda: "built") == "built" and cache.get(text_key("text")) == "built"


def test_distinct_large_client_tools_leave_bounded_memory() -> None:
    from f1.server.convert import to_specs
    from f1.server.wire import WireTool

    def wire(index: int) -> WireTool:
        big = {"type": "string", "description": f"{index} " + "x" * 400_000}
        parameters = {"type": "object", "properties": {"a": big, "b": {"type": "integer", "minimum": index}}}
        return WireTool.model_validate({"type": "function", "function": {"name": f"t{index}", "parameters": parameters}})

    def request(index: int) -> None:
        (spec,) = to_specs([wire(index)])
        validate_args(spec.name, {"a": "v", "b": index}, spec.parameters, allow_refs=False)
        with pytest.raises(PlanError):
            validate_args(spec.name, {"a": 1}, spec.parameters, allow_refs=False)  # the jsonschema validator too

    request(-1)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(60):  # 24 MB of distinct tool JSON
            request(index)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 20 * 1024 * 1024, f"{grown / 2**20:.1f} MiB kept"


# 4. planner and joiner failures are F1Errors with the trace so far --------------------------------------
@tool(idempotent=True)  # reads only: compound mode serves it
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


NOPE_PLAN = json.dumps({"steps": [{"id": 1, "tool": "add", "args": {"a": 1, "b": 2}}, {"id": 2, "tool": "nope", "args": {}}]})


def test_a_compound_plan_naming_an_unknown_tool_raises_a_plan_error_with_the_trace() -> None:
    engine = Engine([add], model=ScriptedModel([NOPE_PLAN]))
    with pytest.raises(PlanError, match="unknown tool 'nope'") as info:
        engine.solve("add 1 and 2, then nope")
    partial = info.value.partial
    assert partial is not None and len(partial.rounds) == 1
    assert [step.tool for step in partial.plan.steps] == ["add", "nope"]
    first = partial.trace.steps[0]
    assert (first.tool, first.status, first.result) == ("add", StepStatus.ok, 3)


def test_a_joiner_failure_keeps_the_rounds_that_ran() -> None:
    plan = json.dumps({"steps": [{"id": 1, "tool": "add", "args": {"a": 2, "b": 2}}]})
    engine = Engine([add], model=ScriptedModel([plan]))  # no reply left for the joiner
    with pytest.raises(ModelError, match="no reply left") as info:
        engine.solve("add 2 and 2")
    partial = info.value.partial
    assert partial is not None and partial.trace.steps[0].result == 4


def test_an_error_in_a_step_callback_is_not_wrapped_in_a_group() -> None:
    plan = json.dumps({"steps": [{"id": 1, "tool": "add", "args": {"a": 2, "b": 2}}]})
    engine = Engine([add], model=ScriptedModel([plan, '{"action":"finish","answer":"4"}']))

    def broken(record: Any) -> None:
        raise RuntimeError("callback bug")

    with pytest.raises(RuntimeError, match="callback bug"):
        anyio.run(lambda: engine.asolve("add", on_step=broken))


def test_the_server_answers_a_compound_planner_failure_as_an_engine_error() -> None:
    engine = Engine([add], model=ScriptedModel([NOPE_PLAN]))
    with serve_in_thread(create_app(engine, ServerSettings(allow_write_tools=True))) as base:  # `add` declares nothing
        body = {"model": "f1-compound", "messages": [{"role": "user", "content": "add, then nope"}]}
        response = httpx.post(f"{base}/v1/chat/completions", json=body, timeout=20)
    error = response.json()["error"]
    assert error["code"] == "plan_error" and "unknown tool 'nope'" in error["message"], response.text


def test_f1_error_has_no_partial_by_default() -> None:
    assert F1Error("x").partial is None
