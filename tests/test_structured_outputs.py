"""Structured outputs: the output grammar, `Engine.solve(..., output=Model)`, and `response_format` on the server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import anyio
import httpx
import llguidance
import openai
import pytest
from pydantic import BaseModel

from f1.decoding.grammar import UnsupportedSchema, output_grammar
from f1.decoding.lark import UNENFORCEABLE, LarkWriter
from f1.engine import Engine
from f1.errors import F1Error, ModelError
from f1.output import ANY_OBJECT, OutputFormat
from f1.planner import ChatMessage, Chunk, ModelBackend, ScriptedModel
from f1.planner.prompt import ANSWER_INSTRUCTIONS, JOIN_INSTRUCTIONS
from f1.server import ServerSettings, create_app
from f1.server.background import serve_in_thread
from f1.tools import tool
from tests.test_decoding_grammar import accepts


class Weather(BaseModel):
    city: str
    celsius: float


WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
    "required": ["city", "celsius"],
    "additionalProperties": False,
}


# The grammar --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('{"city":"Paris","celsius":21.5}', True),
        ('{"city":"Paris","celsius":"warm"}', False),
        ('{"city":"Paris"}', False),
        ('{"city":"Paris","celsius":21,"wind":3}', False),
        ("It is 21 C in Paris.", False),
    ],
)
def test_the_output_grammar_admits_exactly_the_schema(text: str, ok: bool) -> None:
    assert accepts(output_grammar(WEATHER_SCHEMA), text) is ok


def test_json_object_admits_any_object_and_nothing_else() -> None:
    grammar = output_grammar(ANY_OBJECT)
    assert accepts(grammar, '{"a":[1,{"b":null}],"c":"d"}') and accepts(grammar, "{}")
    assert not accepts(grammar, "[1,2]") and not accepts(grammar, "hello")


def test_nested_models_with_refs_are_enforced() -> None:
    class Place(BaseModel):
        name: str

    class Trip(BaseModel):
        places: list[Place]
        days: int

    grammar = OutputFormat.of(Trip).grammar
    assert accepts(grammar, '{"places":[{"name":"Rome"}],"days":3}')
    assert not accepts(grammar, '{"places":[{"title":"Rome"}],"days":3}')


def _compiles(schema: dict[str, Any]) -> bool:
    writer = LarkWriter(max_steps=1)
    lark = writer.text(writer.value(schema).replace("::_", "::0"))
    return llguidance.LLMatcher.validate_grammar(llguidance.grammar_from("lark", lark)) == ""


UNENFORCEABLE_EXAMPLES = {
    "not": {"not": {"type": "string"}},
    "if": {"if": {"type": "string"}, "then": {"minLength": 1}},
    "uniqueItems": {"type": "array", "uniqueItems": True},
    "contains": {"type": "array", "contains": {"type": "integer"}},
    "propertyNames": {"type": "object", "propertyNames": {"maxLength": 3}},
    "dependentRequired": {"type": "object", "dependentRequired": {"a": ["b"]}},
    "dependentSchemas": {"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}},
    "unevaluatedProperties": {"type": "object", "unevaluatedProperties": False},
}


@pytest.mark.parametrize("keyword", sorted(UNENFORCEABLE_EXAMPLES))
def test_unenforceable_keywords_are_what_llguidance_refuses(keyword: str) -> None:
    assert keyword in UNENFORCEABLE and not _compiles(UNENFORCEABLE_EXAMPLES[keyword])
    nested = {"type": "object", "properties": {"x": {"type": "array", "items": UNENFORCEABLE_EXAMPLES[keyword]}}}
    with pytest.raises(UnsupportedSchema, match=f"'{keyword}' \\(at properties/x/items/{keyword}\\)"):
        output_grammar(nested)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "integer", "minimum": 1, "maximum": 9, "multipleOf": 3},
        {"type": "string", "pattern": "^a+$", "maxLength": 5},
        {"type": "string", "format": "date-time"},
        {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": "array", "prefixItems": [{"type": "string"}], "minItems": 1},
        {"type": "object", "patternProperties": {"^a": {"type": "string"}}, "minProperties": 1},
        {"$defs": {"A": {"type": "string"}}, "type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}},
        # a property may be *named* like a keyword
        {"type": "object", "properties": {"not": {"type": "string"}, "if": {"type": "integer"}}},
    ],
)
def test_supported_keywords_compile(schema: dict[str, Any]) -> None:
    assert _compiles(schema) and output_grammar(schema).json_schema == schema


def test_an_invalid_schema_is_an_f1_error() -> None:
    with pytest.raises(F1Error, match="not usable"):
        OutputFormat({"type": "nonsense"})
    with pytest.raises(F1Error, match="pydantic model class or a JSON schema"):
        OutputFormat.of(42)  # type: ignore[arg-type]


# Engine.solve(..., output=Model) ---------------------------------------------------------------------------------


class Recording(ModelBackend):
    """A scripted model that records the grammar and the system prompt of each call."""

    name = "recording"

    def __init__(self, *replies: str) -> None:
        self.script = ScriptedModel(list(replies))
        self.grammars: list[Any] = []
        self.systems: list[str] = []

    async def stream(self, messages: Sequence[ChatMessage], **kwargs: Any) -> AsyncIterator[Chunk]:
        self.grammars.append(kwargs.get("grammar"))
        self.systems.append(messages[0].content)
        async for chunk in self.script.stream(messages, **kwargs):
            yield chunk


@tool(read_only=True)
def get_weather(city: str) -> dict[str, Any]:
    """Current weather of a city."""
    return {"city": city, "celsius": 21}


def test_a_direct_answer_is_decoded_under_the_output_grammar_and_validated() -> None:
    model = Recording('{"steps":[]}', '{"city":"Paris","celsius":21}')
    solution = Engine([get_weather], model=model).solve("Weather in Paris as JSON", output=Weather)
    assert solution.output == Weather(city="Paris", celsius=21)
    assert json.loads(solution.answer) == {"city": "Paris", "celsius": 21}
    assert model.grammars[-1] == OutputFormat.of(Weather).grammar
    assert model.systems[-1].startswith(ANSWER_INSTRUCTIONS) and "matching this JSON schema" in model.systems[-1]


def test_after_tools_the_joiners_answer_is_restated_in_the_output_format() -> None:
    plan = json.dumps({"steps": [{"id": 1, "tool": "get_weather", "args": {"city": "Paris"}}]})
    finish = json.dumps({"action": "finish", "answer": "It is 21 C in Paris."})
    model = Recording(plan, finish, '{"city":"Paris","celsius":21}')
    solution = Engine([get_weather], model=model).solve("Weather in Paris?", output=WEATHER_SCHEMA)
    assert solution.output == {"city": "Paris", "celsius": 21}
    assert solution.trace.steps[0].result == {"city": "Paris", "celsius": 21}
    assert model.grammars[-1] == output_grammar(WEATHER_SCHEMA)
    assert solution.usage.completion_tokens == sum(-(-len(reply) // 8) for reply in (plan, finish, '{"city":"Paris","celsius":21}'))


def test_an_answer_that_misses_the_schema_is_a_model_error() -> None:
    model = Recording('{"steps":[]}', '{"city":"Paris"}')  # a backend that is not grammar-exact
    with pytest.raises(ModelError, match="does not match the Weather schema"):
        Engine([get_weather], model=model).solve("Weather in Paris", output=Weather)


# response_format on /v1/chat/completions ------------------------------------------------------------------------


def reply(messages: Sequence[ChatMessage]) -> str:
    """Plans from the user's `PLAN {...}` (after a tool result: no more steps), answers with the user's `ANSWER`
    text, and the joiner finishes in prose."""
    system = messages[0].content
    latest = next(m.content for m in reversed(messages) if m.role == "user" and not m.content.startswith("Result of "))
    script = dict(line.split(" ", 1) for line in latest.splitlines())
    if system.startswith(JOIN_INSTRUCTIONS):
        return json.dumps({"action": "finish", "answer": "prose"})
    if system.startswith(ANSWER_INSTRUCTIONS):
        return script["ANSWER"]
    if any(m.content.startswith("Result of ") for m in messages) or "PLAN" not in script:
        return '{"steps":[]}'
    return script["PLAN"]


class Backend(Recording):
    def __init__(self) -> None:
        super().__init__()
        self.script = ScriptedModel([reply] * 1000)


@pytest.fixture(scope="module")
def backend() -> Backend:
    return Backend()


@pytest.fixture(scope="module")
def base_url(backend: Backend) -> Iterator[str]:
    with serve_in_thread(create_app(Engine([get_weather], model=backend), ServerSettings(model_names=("f1",)))) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="none", max_retries=0, timeout=20)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def json_schema(schema: dict[str, Any], *, strict: bool) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "weather", "schema": schema, "strict": strict}}


@pytest.mark.parametrize("strict", [True, False])
def test_model_mode_answers_in_the_json_schema(client: openai.OpenAI, backend: Backend, strict: bool) -> None:
    answer = client.chat.completions.create(
        model="f1", messages=user('ANSWER {"city":"Oslo","celsius":4}'), response_format=json_schema(WEATHER_SCHEMA, strict=strict)
    )  # fmt: skip
    assert json.loads(answer.choices[0].message.content or "") == {"city": "Oslo", "celsius": 4}
    assert backend.grammars[-1] == output_grammar(WEATHER_SCHEMA)


def test_the_sdks_parse_returns_the_model(client: openai.OpenAI, backend: Backend) -> None:
    parsed = client.chat.completions.parse(model="f1", messages=user('ANSWER {"city":"Oslo","celsius":4}'), response_format=Weather)
    assert parsed.choices[0].message.parsed == Weather(city="Oslo", celsius=4)
    assert backend.grammars[-1].name == "output" and backend.grammars[-1].json_schema["required"] == ["city", "celsius"]


def test_json_object_and_text_formats(client: openai.OpenAI, backend: Backend) -> None:
    answer = client.chat.completions.create(model="f1", messages=user('ANSWER {"ok":true}'), response_format={"type": "json_object"})
    assert json.loads(answer.choices[0].message.content or "") == {"ok": True}
    assert backend.grammars[-1] == output_grammar(ANY_OBJECT)
    client.chat.completions.create(model="f1", messages=user("ANSWER plain"), response_format={"type": "text"})
    assert backend.grammars[-1] is None


def test_tools_first_then_the_final_answer_in_the_format(client: openai.OpenAI, backend: Backend) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    script = 'PLAN {"steps":[{"id":1,"tool":"get_weather","args":{"city":"Oslo"}}]}\nANSWER {"city":"Oslo","celsius":4}'
    messages: list[Any] = user(script)
    first = client.chat.completions.create(model="f1", messages=messages, tools=tools, response_format=json_schema(WEATHER_SCHEMA, strict=True))
    (call,) = first.choices[0].message.tool_calls or []
    messages += [first.choices[0].message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": call.id, "content": '{"celsius": 4}'}]
    second = client.chat.completions.create(model="f1", messages=messages, tools=tools, response_format=json_schema(WEATHER_SCHEMA, strict=True))
    assert json.loads(second.choices[0].message.content or "") == {"city": "Oslo", "celsius": 4}
    assert backend.grammars[-1] == output_grammar(WEATHER_SCHEMA)


def test_compound_mode_answers_in_the_format(client: openai.OpenAI, backend: Backend) -> None:
    script = 'PLAN {"steps":[{"id":1,"tool":"get_weather","args":{"city":"Oslo"}}]}\nANSWER {"city":"Oslo","celsius":21}'
    answer = client.chat.completions.create(model="f1-compound", messages=user(script), response_format=json_schema(WEATHER_SCHEMA, strict=True))
    assert json.loads(answer.choices[0].message.content or "") == {"city": "Oslo", "celsius": 21}
    assert backend.grammars[-1] == output_grammar(WEATHER_SCHEMA)  # the joiner's prose, restated


@pytest.mark.parametrize(
    ("schema", "named"),
    [
        ({"type": "array", "uniqueItems": True}, "'uniqueItems'"),
        ({"type": "object", "properties": {"a": {"not": {}}}}, "'not' (at properties/a/not)"),
        ({"type": "string", "pattern": "(?=a)b"}, "look-around"),  # refused by llguidance itself
        ({"type": "string", "format": "weird-format"}, "Unknown format: weird-format"),
    ],
)
def test_an_unsupported_keyword_is_a_400_naming_it(base_url: str, schema: dict[str, Any], named: str) -> None:
    body = {"model": "f1", "messages": user("hi"), "response_format": json_schema(schema, strict=False)}
    response = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=20)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "response_format.json_schema.schema" and named in error["message"], error


def test_a_malformed_response_format_is_a_400(base_url: str) -> None:
    for form, param in (({"type": "json_schema"}, "response_format.json_schema"), ({"type": "xml"}, "response_format")):
        body = {"model": "f1", "messages": user("hi"), "response_format": form}
        response = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=20)
        assert response.status_code == 400 and response.json()["error"]["param"] == param, response.text


def test_engine_output_runs_in_an_event_loop_too() -> None:
    model = Recording('{"city":"Rome","celsius":30}')  # no tools: straight to the answer
    solution = anyio.run(lambda: Engine(model=model).asolve("Rome?", output=Weather))
    assert solution.output.city == "Rome"
