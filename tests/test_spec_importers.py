"""Issue 17: no silently emptied tool specs. Every importer reads its inputs or says why it cannot, naming the tool,
the key and the source; a tool with genuinely no inputs stays valid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from evals.suites.nestful import NestfulSuite, spec_from_nestful
from f1.cli import main
from f1.decoding.grammar import plan_grammar
from f1.errors import PlanError, ToolSpecError
from f1.plan import Plan, Step, validate_plan
from f1.tools import ToolSpec
from f1.tools.mcp import MCPSource
from f1.tools.openapi import OpenAPISource

CAR_TYPES = ["Compact", "Standard", "Full-size"]
RESERVE_CAR = {
    "name": "RentalCars.ReserveCar",
    "description": "Make a rental car reservation",
    "arguments": {
        "pickup_location": {"description": "Location of rental car pickup", "required": True, "allowed_values": []},
        "pickup_date": {"description": "Date of rental car pickup", "required": True, "allowed_values": []},
        "pickup_time": {"description": "Time of rental car pickup", "required": True, "allowed_values": []},
        "dropoff_date": {"description": "Date of rental car drop-off", "required": True, "allowed_values": []},
        "type": {"description": "Type of the car", "required": True, "allowed_values": CAR_TYPES},
    },
    "output_parameters": {
        "car_type": {"description": "Type of the car", "possible_values": CAR_TYPES},
        "price_per_day": {"description": "Price per day", "possible_values": []},
    },
}

GOOD_ARGS = {
    "pickup_location": "SFO",
    "pickup_date": "2024-05-01",
    "pickup_time": "10:00",
    "dropoff_date": "2024-05-03",
    "type": "Compact",
}


# NESTFUL ---------------------------------------------------------------------------------------------------
def test_nestful_arguments_convert_with_required_and_enums() -> None:
    spec = spec_from_nestful(RESERVE_CAR, source="nestful-spec.json")
    properties = spec.parameters["properties"]
    assert list(properties) == list(RESERVE_CAR["arguments"])
    assert spec.required == list(RESERVE_CAR["arguments"])
    assert properties["type"] == {"description": "Type of the car", "enum": CAR_TYPES}
    assert properties["pickup_location"] == {"description": "Location of rental car pickup"}  # free: no enum
    assert spec.result_schema == {
        "type": "object",
        "properties": {"car_type": {"description": "Type of the car", "enum": CAR_TYPES}, "price_per_day": {"description": "Price per day"}},
    }


def _accepts(grammar: Any, text: str) -> bool:
    from f1.decoding.engines import get_engine
    from tests.tiny_model import byte_tokenizer

    tokenizer = byte_tokenizer()
    matcher = get_engine("llguidance").matcher(tokenizer, grammar)
    return matcher.consume(tokenizer.encode(text, add_special_tokens=False)) and matcher.is_accepting()


def _plan_text(args: dict[str, Any]) -> str:
    return json.dumps({"steps": [{"id": 1, "tool": RESERVE_CAR["name"], "args": args}]}, separators=(",", ":"))


def test_a_plan_for_the_nestful_tool_can_only_use_its_inputs() -> None:
    spec = spec_from_nestful(RESERVE_CAR)
    tools = {spec.name: spec}
    grammar = plan_grammar([spec])
    assert _accepts(grammar, _plan_text(GOOD_ARGS))
    validate_plan(Plan(steps=[Step(id=1, tool=spec.name, args=GOOD_ARGS)]), tools)
    invented = {"car_name": "Civic", ".pickup_date": "2024-05-01", ".dropoff_time": "10:00"}  # what was generated
    assert not _accepts(grammar, _plan_text(invented))
    assert not _accepts(grammar, _plan_text({**GOOD_ARGS, "type": "Limousine"}))
    missing = {key: value for key, value in GOOD_ARGS.items() if key != "pickup_time"}
    assert not _accepts(grammar, _plan_text(missing))
    with pytest.raises(PlanError, match="'pickup_location' is a required property"):
        validate_plan(Plan(steps=[Step(id=1, tool=spec.name, args=invented)]), tools)
    with pytest.raises(PlanError, match="'Limousine' is not one of"):
        validate_plan(Plan(steps=[Step(id=1, tool=spec.name, args={**GOOD_ARGS, "type": "Limousine"})]), tools)


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"name": "t", "params": {"a": {"required": True}}}, "unknown key 'params'"),
        ({"name": "t", "arguments": {"a": {}}, "query_parameters": {"b": {}}}, "inputs given twice"),
        ({"name": "t", "arguments": {"a": "string"}}, "arguments.a must be an object"),
        ({"name": "t", "arguments": {"a": {"required": "yes"}}}, "arguments.a.required must be true or false"),
        ({"name": "t", "arguments": {"a": {"allowed_values": "x"}}}, "arguments.a.allowed_values must be a list"),
        ({"name": "t", "arguments": ["a", "b"]}, "'arguments' must be an object of parameters"),
    ],
)
def test_nestful_specs_it_cannot_read_are_refused(entry: dict[str, Any], reason: str) -> None:
    with pytest.raises(ToolSpecError) as info:
        spec_from_nestful(entry, source="spec.json")
    assert reason in str(info.value) and info.value.tool == "t" and info.value.source == "spec.json"


def test_a_nestful_tool_with_no_inputs_stays_valid() -> None:
    spec = spec_from_nestful({"name": "now", "description": "The time", "query_parameters": {}, "parameters": None})
    assert spec.parameters == {"type": "object", "properties": {}, "required": []}


def test_the_glaive_split_converts_every_tool() -> None:
    suite = NestfulSuite()
    assert len(suite.specs) == 64 and suite.rejected == {}
    barcode = suite.specs["generate_barcode"]  # given under "parameters"
    assert barcode.required == ["data"] and set(barcode.parameters["properties"]) == {"data", "format"}
    assert suite.specs["analyze_sentiment"].required == ["text"]  # given under "query_parameters"


# OpenAI / BFCL / Seal-Tools ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"type": "function", "function": {"name": "t", "params": {"type": "object"}}}, "params"),
        ({"name": "t", "description": "BFCL doc", "arguments": {"type": "dict", "properties": {}}}, "arguments"),
        ({"api_name": "t", "inputs": {"a": {"type": "str"}}}, "inputs"),
        ({"name": "t", "parameters": {"city": {"type": "string"}}}, "city"),  # a flat map where a schema belongs
        ({"type": "function", "function": {"name": "t", "parameters": {"type": "object", "props": {"a": {}}}}}, "props"),
    ],
)
def test_inputs_under_a_key_the_importer_does_not_read_are_refused(entry: dict[str, Any], key: str) -> None:
    with pytest.raises(ToolSpecError) as info:
        ToolSpec.from_any(entry, source="tools.json")
    assert f"{key!r}" in str(info.value) and info.value.tool == "t" and info.value.source == "tools.json"


@pytest.mark.parametrize(
    "entry",
    [
        {"type": "function", "function": {"name": "t", "description": "no inputs"}},
        {"type": "function", "function": {"name": "t", "parameters": {}, "strict": True}},
        {"name": "t", "description": "BFCL", "parameters": {"type": "dict", "properties": {}, "required": []}},
        {"api_name": "t", "api_description": "Seal", "parameters": {}, "required": [], "responses": {}, "field": "x"},
        {"name": "t", "x-vendor": {"anything": 1}, "category": "scalar metadata is fine"},
    ],
)
def test_tools_with_genuinely_no_inputs_stay_valid(entry: dict[str, Any]) -> None:
    assert ToolSpec.from_any(entry).parameters.get("properties", {}) == {}


def test_a_parameters_value_that_is_no_object_is_refused() -> None:
    with pytest.raises(ToolSpecError, match="'parameters' must be an object .*not list"):
        ToolSpec.from_openai({"name": "t", "parameters": []})


# OpenAPI -----------------------------------------------------------------------------------------------------
def _document(operation: dict[str, Any]) -> dict[str, Any]:
    return {"openapi": "3.0.3", "servers": [{"url": "http://api.test"}], "paths": {"/items": {"post": operation}}}


@pytest.mark.anyio
async def test_openapi_cookie_and_content_parameters_become_arguments() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    operation = {
        "operationId": "addItem",
        "parameters": [
            {"name": "session", "in": "cookie", "required": True, "schema": {"type": "string"}},
            {"name": "filter", "in": "query", "content": {"application/json": {"schema": {"type": "object"}}}},
        ],
        "responses": {"200": {"description": "ok"}},
    }
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    (tool,) = await OpenAPISource(_document(operation), client=client).load()
    assert tool.spec.parameters["properties"] == {"session": {"type": "string"}, "filter": {"type": "object"}}
    assert tool.spec.required == ["session"]
    await tool(session="a b", filter={"x": 1})
    assert seen[0].headers["cookie"] == "session=a%20b"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("operation", "reason"),
    [
        ({"operationId": "op", "parameters": [{"in": "query"}]}, "operation parameters[0]: a parameter needs a 'name'"),
        ({"operationId": "op", "parameters": [{"name": "q", "in": "body"}]}, "'in' must be one of"),
        ({"operationId": "op", "parameters": [{"name": "q", "in": "query", "content": {"text/csv": {}}}]}, "no JSON media type"),
        ({"operationId": "op", "requestBody": {"content": {"multipart/form-data": {"schema": {}}}}}, "requestBody has no JSON media type"),
        ({"operationId": "op", "params": [{"name": "q"}]}, "unknown key 'params'"),
    ],
)
async def test_openapi_inputs_it_cannot_send_are_refused(operation: dict[str, Any], reason: str) -> None:
    with pytest.raises(ToolSpecError) as info:
        await OpenAPISource(_document({**operation, "responses": {"200": {"description": "ok"}}})).load()
    assert reason in str(info.value) and info.value.tool == "op" and info.value.source == "<document>"


# MCP ---------------------------------------------------------------------------------------------------------
def test_an_mcp_input_schema_with_a_stray_key_is_refused() -> None:
    from mcp.types import Tool as MCPTool

    source = MCPSource("http://127.0.0.1:1/mcp")
    flat = MCPTool(name="weather", input_schema={"type": "object", "city": {"type": "string"}})
    with pytest.raises(ToolSpecError) as info:
        source._tool(flat)
    assert "parameters/city" in str(info.value) and info.value.tool == "weather" and "MCP server" in str(info.value)
    bare = MCPTool(name="ping", input_schema={"type": "object"})
    assert source._tool(bare).spec.parameters == {"type": "object"}


# f1 tools validate ---------------------------------------------------------------------------------------------
def test_tools_validate_names_the_file_tool_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tools.json"
    path.write_text(json.dumps([{"name": "ok"}, {"name": "bad", "params": {"a": {"type": "string"}}}]))
    code = main(["tools", "validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err and "tool 'bad'" in err and "unknown key 'params'" in err
