"""`f1 serve`: the OpenAI-compatible endpoint, driven by the official `openai` SDK against a live server."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from itertools import repeat
from typing import Any

import anyio
import httpx
import openai
import pytest

from f1.engine import Engine
from f1.planner import ChatMessage, Chunk, ModelBackend, ScriptedModel
from f1.planner.prompt import ANSWER_INSTRUCTIONS, JOIN_INSTRUCTIONS, PLAN_EXAMPLES
from f1.server import ServerSettings, create_app
from f1.server.background import serve_in_thread
from f1.tools import ToolRegistry, tool

KEY = "sk-test-key"
MAX_BODY = 64 * 1024

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
COMPARE = {
    "type": "function",
    "function": {
        "name": "compare",
        "description": "Compare two readings.",
        "parameters": {"type": "object", "properties": {"a": {}, "b": {}}, "required": ["a", "b"]},
    },
}
TOOLS = [WEATHER, COMPARE]


def plan(*steps: tuple[int, str, dict[str, Any]]) -> dict[str, Any]:
    return {"steps": [{"id": i, "tool": name, "args": args} for i, name, args in steps]}


PARALLEL = plan((1, "get_weather", {"city": "Paris"}), (2, "get_weather", {"city": "London"}), (3, "compare", {"a": "$1", "b": "$2"}))


def script(*plans: dict[str, Any], answer: str = "All done.") -> str:
    """A user message telling the scripted planner its replies: the k-th plan once k rounds of results are back
    (then no more steps), and the answer."""
    return json.dumps({"plans": plans, "answer": answer})


def reply(messages: Sequence[ChatMessage]) -> str:
    """The scripted planner: plans, answers and joins as the user message's script says (plain text: echo)."""
    system = messages[0].content
    examples = {request for request, _ in PLAN_EXAMPLES}
    user = next(m.content for m in messages if m.role == "user" and m.content not in examples)
    if user == "RAISE":
        raise RuntimeError("secret internal detail")
    if user == "GARBAGE":
        return "this is not a plan"
    try:
        wanted = json.loads(user)
    except json.JSONDecodeError:
        wanted = {"plans": [], "answer": f"echo: {user}"}
    if system.startswith(ANSWER_INSTRUCTIONS):
        return wanted["answer"]
    if system.startswith(JOIN_INSTRUCTIONS):
        return json.dumps({"action": "finish", "answer": wanted["answer"]})
    rounds = sum(m.role == "user" and m.content.startswith("Result of ") for m in messages)
    return json.dumps(wanted["plans"][rounds] if rounds < len(wanted["plans"]) else plan())


class Backend(ModelBackend):
    """The scripted model, recording the grammar of each call; a `SLOW` request hangs until cancelled."""

    name = "scripted-planner"

    def __init__(self) -> None:
        self.script = ScriptedModel(repeat(reply, 100_000), chunk_size=16)
        self.grammars: list[Any] = []
        self.sleeping = threading.Event()
        self.cancelled = threading.Event()

    async def stream(self, messages: Sequence[ChatMessage], **kwargs: Any) -> AsyncIterator[Chunk]:
        self.grammars.append(kwargs.get("grammar"))
        if any(m.content == "SLOW" for m in messages):
            self.sleeping.set()
            try:
                await anyio.sleep(30)
            except anyio.get_cancelled_exc_class():
                self.cancelled.set()
                raise
        async for chunk in self.script.stream(messages, **kwargs):
            yield chunk


@tool(idempotent=True, read_only=True)  # compound mode serves it without --allow-write-tools
def get_weather(city: str) -> dict[str, Any]:
    """Current weather of a city."""
    return {"city": city, "celsius": {"Paris": 21, "London": 15}.get(city, 10)}


@pytest.fixture(scope="module")
def backend() -> Backend:
    return Backend()


@pytest.fixture(scope="module")
def base_url(backend: Backend) -> Iterator[str]:
    engine = Engine(ToolRegistry([get_weather]), model=backend)
    app = create_app(engine, ServerSettings(model_names=("f1",), api_key=KEY, max_body_bytes=MAX_BODY))
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0, timeout=20)


def post(base_url: str, body: Any, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", **kwargs.pop("headers", {})}
    content = kwargs.pop("content", body if isinstance(body, bytes | str) else json.dumps(body))
    return httpx.post(f"{base_url}/v1/chat/completions", content=content, headers=headers, timeout=20, **kwargs)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


# Model mode ---------------------------------------------------------------------------------------------


def test_plain_chat_answers_in_content_with_usage(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="f1", messages=user("hello there"))
    assert answer.id.startswith("chatcmpl-") and answer.object == "chat.completion"
    assert answer.model == "f1" and answer.system_fingerprint and answer.created > 0
    assert answer.choices[0].message.content == "echo: hello there"
    assert answer.choices[0].message.tool_calls is None
    assert answer.choices[0].finish_reason == "stop"
    usage = answer.usage
    assert usage is not None and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_independent_steps_come_back_as_parallel_tool_calls(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="f1", messages=user(script(PARALLEL)), tools=TOOLS)
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    # step 3 needs both results: it waits for the client's tool messages
    assert [(c.type, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("function", "get_weather", {"city": "Paris"}),
        ("function", "get_weather", {"city": "London"}),
    ]
    assert len({c.id for c in calls}) == 2 and all(c.id.startswith("call_") for c in calls)


def test_round_trip_with_tool_results(client: openai.OpenAI, backend: Backend) -> None:
    task = script(PARALLEL, plan((1, "compare", {"a": 21, "b": 15})), answer="Paris is warmer.")
    messages: list[Any] = user(task)
    first = client.chat.completions.create(model="f1", messages=messages, tools=TOOLS)
    calls = first.choices[0].message.tool_calls or []
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    for call, celsius in zip(calls, (21, 15), strict=True):
        messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps({"celsius": celsius})})
    second = client.chat.completions.create(model="f1", messages=messages, tools=TOOLS)
    (compare,) = second.choices[0].message.tool_calls or []
    assert compare.function.name == "compare" and json.loads(compare.function.arguments) == {"a": 21, "b": 15}
    seen = "\n".join(m.content for m in backend.script.calls[-1])
    assert "Result of get_weather" in seen and '{"celsius": 15}' in seen  # the planner saw the results
    messages.append(second.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": compare.id, "content": "Paris is 6 degrees warmer"})
    third = client.chat.completions.create(model="f1", messages=messages, tools=TOOLS)
    assert third.choices[0].message.content == "Paris is warmer."
    assert third.choices[0].finish_reason == "stop"


@pytest.mark.parametrize(
    ("tool_choice", "parallel"),
    [("auto", True), ("required", True), ({"type": "function", "function": {"name": "get_weather"}}, True), ("auto", False)],
)
def test_tool_choice_reaches_the_grammar(client: openai.OpenAI, backend: Backend, tool_choice: Any, parallel: bool) -> None:
    from f1.planner import PlanRequest
    from f1.tools import ToolSpec

    single = plan((1, "get_weather", {"city": "Paris"}))
    answer = client.chat.completions.create(
        model="f1", messages=user(script(single)), tools=TOOLS, tool_choice=tool_choice, parallel_tool_calls=parallel
    )
    assert [c.function.name for c in answer.choices[0].message.tool_calls or []] == ["get_weather"]
    specs = [ToolSpec.from_openai(entry) for entry in TOOLS]
    expected = PlanRequest(tools=specs, tool_choice=tool_choice, parallel_tool_calls=parallel).grammar()
    assert backend.grammars[-1] == expected


def test_tool_choice_none_answers_in_text(client: openai.OpenAI, backend: Backend) -> None:
    answer = client.chat.completions.create(
        model="f1", messages=user(script(PARALLEL, answer="No tools today.")), tools=TOOLS, tool_choice="none"
    )
    assert answer.choices[0].message.content == "No tools today."
    assert answer.choices[0].message.tool_calls is None
    assert backend.grammars[-1] is None  # straight to the answer: no plan was decoded


def test_streamed_tool_calls_reassemble_by_index(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="f1", messages=user(script(PARALLEL)), tools=TOOLS, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({chunk.id for chunk in chunks}) == 1
    calls: dict[int, dict[str, str]] = {}
    finishes = []
    for chunk in chunks[:-1]:
        choice = chunk.choices[0]
        finishes.append(choice.finish_reason)
        for delta in choice.delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            if delta.id:
                assert not call["id"] and delta.function and delta.function.name  # id and name come first, once
                call["id"], call["name"] = delta.id, delta.function.name
            call["arguments"] += (delta.function.arguments or "") if delta.function else ""
    assert finishes[-1] == "tool_calls" and not any(finishes[:-1])
    assert [(c["name"], json.loads(c["arguments"])) for _, c in sorted(calls.items())] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "London"}),
    ]
    fragments = sum(len(chunk.choices[0].delta.tool_calls or []) for chunk in chunks[:-1])
    assert fragments > 4  # arguments came in pieces
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == [] and usage_chunk.usage is not None and usage_chunk.usage.total_tokens > 0


def test_stream_accumulates_with_the_sdk_helper(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model="f1", messages=user(script(PARALLEL)), tools=TOOLS) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [json.loads(c.function.arguments)["city"] for c in calls] == ["Paris", "London"]
    assert final.choices[0].finish_reason == "tool_calls"


def test_streamed_text_and_raw_sse_framing(base_url: str) -> None:
    body = {"model": "f1", "messages": user("stream me"), "stream": True}
    with httpx.stream("POST", f"{base_url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "echo: stream me"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and "usage" not in chunks[-1]


def test_concurrent_requests(base_url: str) -> None:
    async def main() -> list[str]:
        async with openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0) as aclient:
            results: list[str] = []

            async def one(i: int) -> None:
                answer = await aclient.chat.completions.create(model="f1", messages=user(f"n{i}"))
                results.append(answer.choices[0].message.content or "")

            async with anyio.create_task_group() as group:
                for i in range(24):
                    group.start_soon(one, i)
            return results

    assert sorted(anyio.run(main)) == sorted(f"echo: n{i}" for i in range(24))


# Compound mode ------------------------------------------------------------------------------------------


def test_compound_mode_runs_the_tools_on_the_server(base_url: str, client: openai.OpenAI) -> None:
    task = script(plan((1, "get_weather", {"city": "Paris"})), answer="It is 21 C in Paris.")
    answer = client.chat.completions.create(model="f1-compound", messages=user(task))
    assert answer.choices[0].message.content == "It is 21 C in Paris."
    assert answer.choices[0].finish_reason == "stop"
    raw = post(base_url, {"model": "f1-compound", "messages": user(task)}).json()
    (record,) = raw["f1_trace"]["rounds"][0]["trace"]["steps"]
    assert record["tool"] == "get_weather" and record["result"] == {"city": "Paris", "celsius": 21}


def test_compound_mode_streams_the_answer(client: openai.OpenAI) -> None:
    task = script(plan((1, "get_weather", {"city": "London"})), answer="15 C.")
    chunks = list(client.chat.completions.create(model="f1-compound", messages=user(task), stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "15 C."
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_models_health_and_openapi(base_url: str, client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["scripted-planner", "f1", "f1-compound"]
    assert httpx.get(f"{base_url}/health").json() == {"status": "ok", "models": ["scripted-planner", "f1", "f1-compound"]}
    schema = httpx.get(f"{base_url}/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert {"ChatCompletionRequest", "ChatCompletion", "ChatCompletionChunk", "ErrorResponse"} <= set(schema["components"]["schemas"])
    body = schema["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ChatCompletionRequest"}


def test_openapi_document_is_valid_openapi(base_url: str) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(httpx.get(f"{base_url}/openapi.json").json())


# Disconnects ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_a_disconnecting_client_cancels_its_work(base_url: str, backend: Backend, stream: bool) -> None:
    backend.sleeping.clear()
    backend.cancelled.clear()
    body = {"model": "f1", "messages": user("SLOW"), "stream": stream}
    headers = {"Authorization": f"Bearer {KEY}"}
    if stream:
        with httpx.stream("POST", f"{base_url}/v1/chat/completions", json=body, headers=headers) as response:
            lines = response.iter_lines()  # (a discarded line iterator closes the connection at once)
            next(lines)  # the role chunk comes before planning: hang up once the model is at work
            assert backend.sleeping.wait(5)
    else:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{base_url}/v1/chat/completions", json=body, headers=headers, timeout=0.5)
    assert backend.cancelled.wait(5)


# Errors ---------------------------------------------------------------------------------------------------


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert "Traceback" not in response.text
    return error


def test_malformed_json_is_a_400(base_url: str) -> None:
    error = error_of(post(base_url, b'{"model": "f1", "messages": ['), 400)
    assert error["type"] == "invalid_request_error" and "JSON" in error["message"]
    assert error_of(post(base_url, b"[1, 2]"), 400)["code"] == "invalid_json"
    assert error_of(post(base_url, b"\xff\xfe"), 400)["code"] == "invalid_json"


def test_unknown_model_is_a_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=user("hi"))
    assert caught.value.code == "model_not_found" and caught.value.param == "model"


def test_invalid_tool_schema_is_a_400(client: openai.OpenAI) -> None:
    broken = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "nonsense"}}}}}
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="f1", messages=user("hi"), tools=[broken])
    assert caught.value.param == "tools" and "JSON schema" in caught.value.message


@pytest.mark.parametrize(
    ("tools", "tool_choice"),
    [(TOOLS, {"type": "function", "function": {"name": "nope"}}), (None, {"type": "function", "function": {"name": "get_weather"}}),
     (None, "required"), (TOOLS, "sometimes")],
)  # fmt: skip
def test_bad_tool_choice_is_a_400(base_url: str, tools: Any, tool_choice: Any) -> None:
    body = {"model": "f1", "messages": user("hi"), "tool_choice": tool_choice, **({"tools": tools} if tools else {})}
    assert error_of(post(base_url, body), 400)["param"] == "tool_choice"


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([], "messages"),
        ([{"role": "wizard", "content": "hi"}], "messages.[0]"),
        ([{"role": "user"}], "messages.[0].content"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}], "messages.[0].content.[0].type"),
        ([{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "call_x", "content": "1"}], "messages.[1].tool_call_id"),
        (
            [{"role": "user", "content": "hi"},
             {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]},
             {"role": "tool", "tool_call_id": "c1", "content": "1"}],
            "messages.[1].tool_calls.[0].function.arguments",
        ),
        (
            [{"role": "user", "content": "hi"},
             {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
             {"role": "user", "content": "well?"}],
            "messages.[2]",
        ),
    ],
)  # fmt: skip
def test_bad_messages_are_a_400(base_url: str, messages: Any, param: str) -> None:
    error = error_of(post(base_url, {"model": "f1", "messages": messages}), 400)
    assert error["param"] == param, error


@pytest.mark.parametrize(
    ("extra", "param"),
    [({"n": 2}, "n"), ({"stream_options": {"include_usage": "often"}}, "stream_options.include_usage"), ({"temperature": "hot"}, "temperature")],
)
def test_bad_parameters_are_a_400(base_url: str, extra: dict[str, Any], param: str) -> None:
    assert error_of(post(base_url, {"model": "f1", "messages": user("hi"), **extra}), 400)["param"] == param


def test_compound_mode_refuses_client_tools(base_url: str) -> None:
    error = error_of(post(base_url, {"model": "f1-compound", "messages": user("hi"), "tools": TOOLS}), 400)
    assert error["param"] == "tools"


def test_oversized_bodies_are_a_413(base_url: str) -> None:
    big = json.dumps({"model": "f1", "messages": user("x" * MAX_BODY)})
    assert error_of(post(base_url, big), 413)["code"] == "request_too_large"

    def chunked() -> Iterator[bytes]:  # no Content-Length: the server counts what arrives
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096].encode()

    response = post(base_url, None, content=chunked())
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert error_of(response, 413)["code"] == "request_too_large"


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic abc", "Bearer"])
def test_missing_or_wrong_api_key_is_a_401(base_url: str, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.post(f"{base_url}/v1/chat/completions", json={"model": "f1", "messages": user("hi")}, headers=headers)
    error_of(response, 401)
    error_of(httpx.get(f"{base_url}/v1/models", headers=headers), 401)


def test_sdk_sees_401_as_authentication_error(base_url: str) -> None:
    bad = openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def test_unknown_route_and_method_are_openai_shaped(base_url: str) -> None:
    assert error_of(httpx.get(f"{base_url}/v1/nothing"), 404)["code"] == "not_found"
    error_of(httpx.get(f"{base_url}/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"}), 405)


def test_an_engine_failure_is_a_500_that_says_why(base_url: str, client: openai.OpenAI) -> None:
    error = error_of(post(base_url, {"model": "f1", "messages": user("GARBAGE"), "tools": TOOLS}), 500)
    assert error["type"] == "server_error" and error["code"] == "plan_error" and "not a plan" in error["message"]
    with pytest.raises(openai.APIError, match="not a plan"):
        list(client.chat.completions.create(model="f1", messages=user("GARBAGE"), tools=TOOLS, stream=True))


def test_unexpected_errors_are_a_generic_500(base_url: str, client: openai.OpenAI, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("ERROR", logger="f1.server"):
        error = error_of(post(base_url, {"model": "f1", "messages": user("RAISE")}), 500)
    assert error["type"] == "server_error" and "secret" not in error["message"]
    assert any("secret internal detail" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    with pytest.raises(openai.APIError) as caught:  # mid-stream: an error event the SDK raises
        list(client.chat.completions.create(model="f1", messages=user("RAISE"), stream=True))
    assert "secret" not in str(caught.value)



@pytest.mark.model
def test_the_default_model_plans_parallel_calls_through_the_endpoint() -> None:
    engine = Engine(model="default")
    with serve_in_thread(create_app(engine, ServerSettings(model_names=("default",)))) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=600)
        answer = client.chat.completions.create(
            model="default", messages=user("What is the weather in Paris and in Tokyo?"), tools=[WEATHER], tool_choice="required"
        )
    calls = answer.choices[0].message.tool_calls or []
    assert answer.choices[0].finish_reason == "tool_calls" and calls
    assert {c.function.name for c in calls} == {"get_weather"}
    cities = {json.loads(c.function.arguments)["city"].lower() for c in calls}
    assert cities <= {"paris", "tokyo"} and "paris" in cities
