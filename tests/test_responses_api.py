"""The Responses API (POST /v1/responses), driven by the official `openai` SDK against a live server with a
scripted planner: function calls and their outputs, streaming events, text.format, stored responses."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
import openai
import pytest
from pydantic import BaseModel

from f1.engine import Engine
from f1.planner import ChatMessage, ModelBackend, ScriptedModel
from f1.planner.prompt import ANSWER_INSTRUCTIONS, JOIN_INSTRUCTIONS
from f1.server import ServerSettings, create_app
from f1.server.background import serve_in_thread
from f1.server.store import SQLiteResponseStore, StoredResponse
from f1.tools import tool

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def reply(messages: Sequence[ChatMessage]) -> str:
    """Plans from the user's `PLAN {...}` line until a tool result is back, then none; answers with the `ANSWER`
    line (else echoes); the joiner finishes with the `ANSWER` line."""
    system = messages[0].content
    users = [m.content for m in messages if m.role == "user" and not m.content.startswith(("Result of ", "Tool results:"))]
    if "GARBAGE" in users:
        return "this is not a plan"
    script = dict(line.split(" ", 1) for line in users[-1].splitlines() if " " in line)
    answer = script.get("ANSWER", f"echo: {users[-1]}")
    if system.startswith(JOIN_INSTRUCTIONS):
        return json.dumps({"action": "finish", "answer": answer})
    if system.startswith(ANSWER_INSTRUCTIONS):
        return answer
    results = sum(m.role == "user" and m.content.startswith("Result of ") for m in messages)
    return script["PLAN"] if "PLAN" in script and not results else '{"steps":[]}'


class Recorder(ModelBackend):
    name = "scripted-planner"

    def __init__(self) -> None:
        self.script = ScriptedModel([reply] * 1000)
        self.seen: list[list[ChatMessage]] = []

    async def stream(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        async for chunk in self.script.stream(messages, **kwargs):
            yield chunk


@tool(read_only=True)
def get_weather(city: str) -> dict[str, Any]:
    """Current weather of a city."""
    return {"city": city, "celsius": 21}


@pytest.fixture(scope="module")
def backend() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("responses") / "store.sqlite"


def app(backend: Recorder, store_path: Path) -> Any:
    return create_app(Engine([get_weather], model=backend), ServerSettings(model_names=("f1",), store_path=store_path))


@pytest.fixture(scope="module")
def base_url(backend: Recorder, store_path: Path) -> Iterator[str]:
    with serve_in_thread(app(backend, store_path)) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="none", max_retries=0, timeout=20)


ONE_CALL = 'PLAN {"steps":[{"id":1,"tool":"get_weather","args":{"city":"Paris"}}]}\nANSWER It is 21 C in Paris.'


def test_a_text_input_is_answered_with_a_message(client: openai.OpenAI) -> None:
    response = client.responses.create(model="f1", input="hello", instructions="Be brief.")
    assert response.id.startswith("resp_") and response.status == "completed" and response.object == "response"
    assert response.output_text == "echo: hello"
    (message,) = response.output
    assert message.type == "message" and message.role == "assistant" and message.status == "completed"
    assert response.usage is not None and response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    assert response.instructions == "Be brief."


def test_instructions_reach_the_planner(client: openai.OpenAI, backend: Recorder) -> None:
    client.responses.create(model="f1", input="hi", instructions="Answer in French.")
    assert "Answer in French." in backend.seen[-1][0].content


def test_function_calls_then_their_outputs(client: openai.OpenAI) -> None:
    first = client.responses.create(model="f1", input=ONE_CALL, tools=[WEATHER])
    (call,) = first.output
    assert call.type == "function_call" and call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    assert call.call_id.startswith("call_") and call.id.startswith("fc_") and call.status == "completed"
    items: list[Any] = [{"role": "user", "content": ONE_CALL}, call.model_dump(exclude_none=True)]
    items.append({"type": "function_call_output", "call_id": call.call_id, "output": '{"celsius": 21}'})
    second = client.responses.create(model="f1", input=items, tools=[WEATHER])
    assert second.output_text == "It is 21 C in Paris."


def test_previous_response_id_continues_the_stored_conversation(client: openai.OpenAI, backend: Recorder) -> None:
    first = client.responses.create(model="f1", input=ONE_CALL, tools=[WEATHER])
    (call,) = first.output
    output = {"type": "function_call_output", "call_id": call.call_id, "output": '{"celsius": 21}'}
    second = client.responses.create(model="f1", previous_response_id=first.id, input=[output], tools=[WEATHER])
    assert second.output_text == "It is 21 C in Paris." and second.previous_response_id == first.id
    seen = "\n".join(m.content for m in backend.seen[-1])
    assert "PLAN" in seen and 'Result of get_weather: {"celsius": 21}' in seen
    third = client.responses.create(model="f1", previous_response_id=second.id, input="and tomorrow?")
    assert third.output_text == "echo: and tomorrow?"
    assert any("It is 21 C in Paris." in m.content for m in backend.seen[-1])  # the earlier answer is context


def test_a_restarted_server_still_knows_stored_responses(backend: Recorder, store_path: Path, client: openai.OpenAI) -> None:
    first = client.responses.create(model="f1", input="remember me")
    with serve_in_thread(app(backend, store_path)) as url:
        again = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        assert again.responses.retrieve(first.id).output_text == "echo: remember me"
        assert again.responses.create(model="f1", input="next", previous_response_id=first.id).output_text == "echo: next"


def test_unknown_and_deleted_ids_are_a_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="f1", input="hi", previous_response_id="resp_nope")
    assert caught.value.param == "previous_response_id" and "resp_nope" in caught.value.message
    stored = client.responses.create(model="f1", input="short-lived")
    client.responses.delete(stored.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(stored.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(stored.id)


def test_store_false_keeps_nothing(client: openai.OpenAI) -> None:
    response = client.responses.create(model="f1", input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_streaming_sends_the_responses_event_shape(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="f1", input=ONE_CALL, tools=[WEATHER], stream=True))
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert kinds[2:4] == ["response.output_item.added", "response.function_call_arguments.delta"]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    arguments = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert json.loads(arguments) == {"city": "Paris"}
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert done.arguments == arguments and done.name == "get_weather"
    final = events[-1].response
    assert final.status == "completed" and final.output[0].arguments == arguments
    assert client.responses.retrieve(final.id).output[0].call_id == final.output[0].call_id  # stored when done


def test_streamed_text_with_the_sdk_helper(client: openai.OpenAI) -> None:
    with client.responses.stream(model="f1", input="stream me") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "echo: stream me"


def test_raw_stream_framing(base_url: str) -> None:
    with httpx.stream("POST", f"{base_url}/v1/responses", json={"model": "f1", "input": "raw", "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    events = [line[7:] for line in lines if line.startswith("event: ")]
    datas = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert events == [data["type"] for data in datas] and "[DONE]" not in lines[-1]
    assert events.count("response.output_text.delta") >= 1 and events[-1] == "response.completed"


class Weather(BaseModel):
    city: str
    celsius: float


def test_text_format_json_schema_and_parse(client: openai.OpenAI, backend: Recorder) -> None:
    parsed = client.responses.parse(model="f1", input='ANSWER {"city":"Oslo","celsius":4}', text_format=Weather)
    assert parsed.output_parsed == Weather(city="Oslo", celsius=4)
    assert "matching this JSON schema" in backend.seen[-1][0].content
    echoed = client.responses.retrieve(parsed.id).text.format  # stored and read back with its schema
    assert echoed.type == "json_schema" and echoed.schema_["required"] == ["city", "celsius"]


def test_compound_mode_through_responses(client: openai.OpenAI, base_url: str) -> None:
    response = client.responses.create(model="f1-compound", input=ONE_CALL)
    assert response.output_text == "It is 21 C in Paris."
    raw = httpx.post(f"{base_url}/v1/responses", json={"model": "f1-compound", "input": ONE_CALL}, timeout=20).json()
    assert raw["f1_trace"]["rounds"][0]["trace"]["steps"][0]["result"] == {"city": "Paris", "celsius": 21}


def test_tool_choice_and_parallel_calls_reach_the_plan(client: openai.OpenAI) -> None:
    two = 'PLAN {"steps":[{"id":1,"tool":"get_weather","args":{"city":"Paris"}},{"id":2,"tool":"get_weather","args":{"city":"Rome"}}]}'
    both = client.responses.create(model="f1", input=two, tools=[WEATHER], tool_choice="required")
    assert [json.loads(item.arguments)["city"] for item in both.output] == ["Paris", "Rome"]
    named = client.responses.create(model="f1", input=two, tools=[WEATHER], tool_choice={"type": "function", "name": "get_weather"})
    assert named.tool_choice.name == "get_weather" and len(named.output) == 2
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="f1", input="hi", tools=[WEATHER], tool_choice={"type": "function", "name": "nope"})
    assert caught.value.param == "tool_choice"


def error_of(base_url: str, body: Any, status: int = 400) -> dict[str, Any]:
    response = httpx.post(f"{base_url}/v1/responses", json=body, timeout=20)
    assert response.status_code == status, response.text
    return response.json()["error"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": [{"type": "function_call_output", "call_id": "call_x", "output": "1"}]}, "input.[0].call_id"),
        ({"input": [{"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"}]}, "input"),
        ({"input": [{"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{oops"},
                    {"type": "function_call_output", "call_id": "c1", "output": "1"}]}, "input.[0].arguments"),
        ({"input": [{"role": "wizard", "content": "hi"}]}, "input.[0].role"),
        ({"input": [{"type": "image_generation_call", "id": "x"}]}, "input.[0].type"),
        ({"input": "hi", "tools": [{"type": "web_search"}]}, "tools.[0].type"),
        ({"input": "hi", "tools": [{"type": "function", "name": "f", "params": {"type": "object"}}]}, "tools"),
        ({"input": "hi", "text": {"format": {"type": "json_schema", "name": "x", "schema": {"type": "array", "uniqueItems": True}}}},
         "text.format.schema"),
        ({"input": "hi", "text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
    ],
)  # fmt: skip
def test_bad_requests_are_a_400_naming_the_problem(base_url: str, body: dict[str, Any], param: str) -> None:
    error = error_of(base_url, {"model": "f1", **body})
    assert error["param"] == param, error


def test_unknown_model_and_compound_tools(base_url: str) -> None:
    assert error_of(base_url, {"model": "gpt-x", "input": "hi"}, 404)["code"] == "model_not_found"
    assert error_of(base_url, {"model": "f1-compound", "input": "hi", "tools": [WEATHER]})["param"] == "tools"


def test_a_failure_mid_stream_is_an_error_event(base_url: str) -> None:
    body = {"model": "f1", "input": "GARBAGE", "tools": [WEATHER], "stream": True}
    with httpx.stream("POST", f"{base_url}/v1/responses", json=body, timeout=20) as r:
        lines = [line for line in r.iter_lines() if line]
    assert lines[-2] == "event: error"
    error = json.loads(lines[-1][6:])
    assert error["type"] == "error" and error["code"] == "plan_error" and error["message"]


# The store -------------------------------------------------------------------------------------------------------


def test_the_sqlite_store_is_bounded_and_expires(tmp_path: Path) -> None:
    store = SQLiteResponseStore(tmp_path / "s.sqlite", max_responses=3, ttl=0.5)

    async def fill() -> None:
        for index in range(5):
            await store.put(f"resp_{index}", StoredResponse({"id": f"resp_{index}"}, [{"role": "user", "content": str(index)}]))
        assert [await store.get(f"resp_{index}") is not None for index in range(5)] == [False, False, True, True, True]
        assert (await store.get("resp_4")).items == [{"role": "user", "content": "4"}]  # type: ignore[union-attr]

    anyio.run(fill)
    assert len(store) == 3
    time.sleep(0.6)
    assert anyio.run(store.get, "resp_4") is None  # expired
    anyio.run(store.put, "resp_5", StoredResponse({}, []))
    assert len(store) == 1  # writing drops the expired ones
