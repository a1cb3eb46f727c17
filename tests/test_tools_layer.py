"""The tool layer: spec formats and round trips, loading from files, `@tool`, policies and registries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from pydantic import BaseModel, Field

from f1.errors import ToolSpecError
from f1.plan import validate_args
from f1.tools import Tool, ToolPolicy, ToolRegistry, ToolSpec, load_specs, normalize_schema, spec_from_function, tool

WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city.",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "days": {"type": "integer", "minimum": 1},
        },
        "required": ["city"],
    },
)

BFCL_DOC = {
    "name": "geometry.area",
    "description": "Area of a shape.",
    "parameters": {
        "type": "dict",
        "properties": {
            "base": {"type": "float", "description": "The base."},
            "corners": {"type": "tuple", "items": {"type": "integer"}},
            "anything": {"type": "any", "description": "Free-form."},
            "shape": {
                "type": "dict",
                "properties": {
                    "kind": {"type": "string", "enum": ["square", "circle"]},
                    "scale": {"type": "float", "optional": True},
                    "points": {"type": "array", "items": {"type": "dict", "properties": {"x": {"type": "float"}}}},
                },
            },
        },
        "required": ["base"],
    },
}


# --- formats -------------------------------------------------------------------------------------------------
def test_openai_round_trip_with_and_without_the_wrapper() -> None:
    entry = WEATHER.to_openai()
    assert entry["type"] == "function" and entry["function"]["name"] == "get_weather"
    assert ToolSpec.from_openai(entry) == WEATHER
    assert ToolSpec.from_openai(entry["function"]) == WEATHER
    assert ToolSpec.from_any(entry) == WEATHER


def test_bfcl_type_names_are_normalised_at_any_depth() -> None:
    spec = ToolSpec.from_bfcl(BFCL_DOC)
    props = spec.parameters["properties"]
    assert spec.parameters["type"] == "object"
    assert props["base"] == {"type": "number", "description": "The base."}
    assert props["corners"] == {"type": "array", "items": {"type": "integer"}}
    assert props["anything"] == {"description": "Free-form."}
    shape = props["shape"]
    assert shape["type"] == "object" and shape["properties"]["scale"] == {"type": "number"}  # "optional" dropped
    assert shape["properties"]["points"]["items"]["properties"]["x"] == {"type": "number"}
    validate_args(spec.name, {"base": 2.5, "corners": [1, 2], "anything": None, "shape": {"kind": "square"}},
                  spec.parameters, allow_refs=False)


def test_bfcl_round_trip_uses_bfcl_type_names() -> None:
    spec = ToolSpec.from_bfcl(BFCL_DOC)
    doc = spec.to_bfcl()
    assert doc["parameters"]["type"] == "dict"
    assert doc["parameters"]["properties"]["base"]["type"] == "float"
    assert doc["parameters"]["properties"]["shape"]["properties"]["points"]["items"]["type"] == "dict"
    assert ToolSpec.from_bfcl(doc) == spec
    assert ToolSpec.from_any(BFCL_DOC) == spec


def test_bfcl_response_becomes_the_result_schema() -> None:
    spec = ToolSpec.from_bfcl({**BFCL_DOC, "response": {"type": "dict", "properties": {"area": {"type": "float"}}}})
    assert spec.result_schema == {"type": "object", "properties": {"area": {"type": "number"}}}


def test_normalize_schema_leaves_json_schema_alone() -> None:
    schema = {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}
    assert normalize_schema(schema) == schema
    assert normalize_schema({"anyOf": [{"type": "long"}, {"type": "String"}, {"type": "None"}]}) == {
        "anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]
    }


def test_our_format_keeps_optional_types_strict() -> None:
    @tool
    def maybe(text: str | None = None) -> None:
        """Optional text."""

    spec = ToolSpec.from_any(maybe.spec.model_dump(exclude={"result_schema", "examples"}))
    assert spec.parameters == maybe.spec.parameters
    with pytest.raises(Exception, match="is not valid under any of the given schemas"):
        validate_args("maybe", {"text": 3}, spec.parameters, allow_refs=False)


def seal_entries(catalogue: Path, count: int) -> list[dict[str, Any]]:
    """The first `count` Seal-Tools entries whose parameters hold only a type and a description."""
    entries = []
    with catalogue.open(encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            props = [*entry["parameters"].values(), *(entry.get("responses") or {}).values()]
            if all(set(prop) == {"type", "description"} for prop in props):
                entries.append(entry)
            if len(entries) == count:
                return entries
    return entries


def test_seal_tools_entries_read_and_round_trip(seal_tools: Path) -> None:
    for entry in seal_entries(seal_tools, 5):
        spec = ToolSpec.from_seal(entry)
        assert spec.name == entry["api_name"] and spec.description == entry["api_description"]
        assert set(spec.parameters["properties"]) == set(entry["parameters"])
        assert spec.required == entry["required"]
        assert spec.result_schema is not None and set(spec.result_schema["properties"]) == set(entry["responses"])
        for prop in spec.parameters["properties"].values():
            assert prop["type"] in {"string", "integer", "number", "boolean", "array", "object"}
        back = spec.to_seal()
        assert {name: p["type"] for name, p in back["parameters"].items()} == {
            name: p["type"] for name, p in entry["parameters"].items()
        }
        assert ToolSpec.from_seal(back) == spec
        assert ToolSpec.from_any(entry) == spec


def test_seal_tools_required_names_outside_parameters_are_kept() -> None:
    spec = ToolSpec.from_seal({"api_name": "s", "parameters": {"a": {"type": "int"}}, "required": ["a", "ghost"]})
    assert spec.required == ["a", "ghost"] and spec.parameters["properties"]["a"] == {"type": "integer"}


def test_from_any_detects_our_own_format_and_rejects_non_objects() -> None:
    ours = {"name": "x", "parameters": {"type": "object", "properties": {}}, "result_schema": {"type": "integer"}}
    assert ToolSpec.from_any(ours).result_schema == {"type": "integer"}
    assert ToolSpec.from_any(WEATHER.model_dump()) == WEATHER
    with pytest.raises(ToolSpecError, match="must be an object, not list"):
        ToolSpec.from_any([1, 2], source="f.json")


# --- loading -----------------------------------------------------------------------------------------------------
def test_load_specs_reads_json_jsonl_yaml_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(json.dumps(WEATHER.to_openai()))
    (tmp_path / "many.jsonl").write_text(json.dumps(BFCL_DOC) + "\n\n" + json.dumps({"name": "ping"}) + "\n")
    nested = tmp_path / "sub"
    nested.mkdir()
    (nested / "more.yaml").write_text(yaml.safe_dump({"tools": [{"name": "echo", "description": "Echo."}]}))
    (nested / "notes.txt").write_text("not a spec")
    specs = load_specs(tmp_path)
    assert [s.name for s in specs] == ["geometry.area", "ping", "get_weather", "echo"]  # sorted file order
    assert load_specs(tmp_path / "one.json") == [WEATHER]
    assert [s.name for s in load_specs(nested / "more.yaml")] == ["echo"]


@pytest.mark.parametrize(
    ("filename", "text", "tool_name", "reason"),
    [
        ("bad.json", '{"name": "x",', None, "cannot parse"),
        ("bad.jsonl", '{"name": "a"}\n{oops\n', None, "cannot parse"),
        ("bad.yaml", "name: [unclosed\n", None, "cannot parse"),
        ("binary.json", b"\xff\xfe{", None, "cannot parse"),
        ("noname.json", json.dumps({"description": "no name"}), None, "missing 'name'"),
        ("noname_openai.json", json.dumps({"type": "function", "function": {"description": "x"}}), None, "missing 'name'"),
        ("schema.json", json.dumps({"name": "bad", "parameters": {"type": "object", "properties": {"a": {"type": "strin"}}}}),
         "bad", "not a valid JSON schema at properties/a/type"),
        ("array.json", json.dumps({"name": "arr", "parameters": {"type": "array"}}), "arr", "of type 'object', not 'array'"),
        ("string.json", json.dumps({"name": "p", "parameters": "nope"}), "p", "parameters"),
        ("dupes.json", json.dumps([{"name": "d"}, {"name": "d"}]), "d", "duplicate tool name"),
        ("scalar.yaml", "- 3\n", None, "must be an object, not int"),
        ("empty.yaml", "", None, "expected a spec"),
        ("seal.json", json.dumps({"api_name": "s", "parameters": {"a": "str"}}), "s", "parameter 'a' must be an object"),
        ("name.json", json.dumps({"name": "has space"}), "has space", "name"),
    ],
)
def test_malformed_specs_name_file_tool_and_reason(
    tmp_path: Path, filename: str, text: str | bytes, tool_name: str | None, reason: str
) -> None:
    path = tmp_path / filename
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ToolSpecError) as info:
        load_specs(path)
    error = info.value
    assert error.source == str(path) and filename in str(error)
    assert error.tool == tool_name
    assert reason in error.reason
    if tool_name:
        assert repr(tool_name) in str(error)


def test_duplicates_across_files_and_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"name": "same"}))
    (tmp_path / "b.json").write_text(json.dumps({"name": "same"}))
    with pytest.raises(ToolSpecError, match="duplicate tool name") as info:
        load_specs(tmp_path)
    assert info.value.tool == "same"
    with pytest.raises(ToolSpecError, match="no such file"):
        load_specs(tmp_path / "missing")


@pytest.mark.slow  # ~4 ms per spec (jsonschema's check_schema), 15 s for the 4,076 tools
def test_seal_tools_catalogue_loads_except_for_entries_it_cannot_express(seal_tools: Path) -> None:
    loaded = failed = 0
    for line in seal_tools.read_text(encoding="utf-8").splitlines():
        try:
            ToolSpec.from_seal(json.loads(line), source=str(seal_tools))
            loaded += 1
        except ToolSpecError as error:
            assert error.source == str(seal_tools) and error.tool
            failed += 1
    assert loaded > 4000 and failed < 10


# --- @tool -----------------------------------------------------------------------------------------------------
def test_tool_from_type_hints_and_a_google_docstring() -> None:
    @tool
    def search(query: str, limit: int = 5, tags: list[str] | None = None) -> list[str]:
        """Search the web.

        Args:
            query: What to look for.
            limit: How many results
                to return at most.
            tags (list[str]): Optional filters.

        Returns:
            The result titles.
        """
        return [query] * limit

    spec = search.spec
    assert spec.name == "search" and spec.description == "Search the web."
    props = spec.parameters["properties"]
    assert props["query"] == {"type": "string", "description": "What to look for."}
    assert props["limit"] == {"type": "integer", "default": 5, "description": "How many results to return at most."}
    assert props["tags"]["description"] == "Optional filters." and props["tags"]["default"] is None
    assert spec.required == ["query"]
    assert spec.result_schema == {"type": "array", "items": {"type": "string"}}
    assert not search.is_async and search(query="x", limit=2) == ["x", "x"]


def test_tool_from_a_rest_docstring_with_options() -> None:
    @tool(name="fetch", timeout=2, retries=2, idempotent=True, max_concurrency=3)
    async def get(url: str, mode: Literal["fast", "full"] = "fast") -> dict:
        """Fetch a page.

        :param url: The address,
            absolute.
        :param str mode: How much to fetch.
        :returns: The page.
        :rtype: dict
        """
        return {"url": url}

    spec = get.spec
    assert spec.name == "fetch" and get.name == "fetch"
    assert spec.description == "Fetch a page."
    assert spec.parameters["properties"]["url"]["description"] == "The address, absolute."
    assert spec.parameters["properties"]["mode"] == {
        "type": "string", "enum": ["fast", "full"], "default": "fast", "description": "How much to fetch."
    }
    assert get.is_async
    assert get.policy == ToolPolicy(timeout=2, retries=2, idempotent=True, max_concurrency=3)
    assert get.policy.attempts == 3


class Point(BaseModel):
    x: float = Field(description="Horizontal.")
    y: float


def test_tool_with_pydantic_model_parameters() -> None:
    @tool
    def distance(p: Point, q: Point | None = None) -> float:
        """Distance between points."""
        return 0.0

    schema = distance.spec.parameters
    assert distance.spec.required == ["p"]
    validate_args("distance", {"p": {"x": 1, "y": 2}}, schema, allow_refs=False)
    with pytest.raises(Exception, match="'y' is a required property"):
        validate_args("distance", {"p": {"x": 1}}, schema, allow_refs=False)


def test_functions_without_hints_or_with_bad_signatures() -> None:
    def untyped(a, b=2):  # type: ignore[no-untyped-def]
        return a

    spec = spec_from_function(untyped)
    assert spec.required == ["a"] and spec.parameters["properties"]["b"] == {"default": 2}
    assert spec.description == "" and spec.result_schema is None

    def positional(a: int, /) -> int:
        return a

    with pytest.raises(ToolSpecError, match="positional-only"):
        spec_from_function(positional)

    def star(a: int, *args: int, **kwargs: int) -> None: ...

    assert list(spec_from_function(star).parameters["properties"]) == ["a"]


def test_callable_objects_with_async_call_are_async() -> None:
    class Handler:
        async def __call__(self, x: int) -> int:
            return x

    assert Tool(spec=ToolSpec(name="handler"), fn=Handler()).is_async


# --- policies and registries ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "timeout must be positive"),
        ({"timeout": -1.0}, "timeout must be positive"),
        ({"retries": -1}, "retries must be >= 0"),
        ({"max_concurrency": 0}, "max_concurrency must be >= 1"),
        ({"backoff": -0.1}, "backoff must be >= 0"),
    ],
)
def test_policy_validation(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ToolPolicy(**options)


def test_retries_count_only_for_idempotent_tools() -> None:
    assert ToolPolicy(retries=3).attempts == 1
    assert ToolPolicy(retries=3, idempotent=True).attempts == 4
    changed = Tool(spec=WEATHER, fn=lambda **_: None).with_policy(timeout=1.5)
    assert changed.policy.timeout == 1.5 and changed.spec is WEATHER


def test_registry_holds_each_name_once() -> None:
    def plain(x: int) -> int:
        """Plain function."""
        return x

    registry = ToolRegistry([plain])
    assert "plain" in registry and len(registry) == 1 and list(registry.specs) == ["plain"]
    assert registry["plain"].spec.parameters["properties"]["x"] == {"type": "integer"}
    with pytest.raises(ToolSpecError, match="duplicate tool name") as info:
        registry.add(plain)
    assert info.value.tool == "plain"
    renamed = registry.add(tool(name="plain2")(plain))
    assert renamed.name == "plain2" and list(registry) == ["plain", "plain2"]


def test_builtin_tools_declare_whether_they_only_read(tmp_path) -> None:
    from f1.tools.builtin import builtin_tools

    (tmp_path / "db.sqlite").touch()
    writable = builtin_tools(database=tmp_path / "db.sqlite", workspace=tmp_path, read_only=False)
    writers = {name for name, item in writable.items() if not item.policy.read_only}
    assert writers == {"write_file", "http_post", "sql_query"}
    reader = builtin_tools(groups=["sql"], database=tmp_path / "db.sqlite")
    assert all(item.policy.read_only for item in reader.values())  # read-only SQL by default
