"""Model backends: LocalModel on a tiny random model (and once on the real default model), RemoteModel against
fake OpenAI-compatible servers, `complete` with one repair, and `resolve_model`."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from f1.decoding.grammar import Grammar
from f1.errors import ModelError
from f1.planner import (
    ChatMessage,
    Chunk,
    LocalModel,
    RemoteModel,
    ScriptedModel,
    ToolCall,
    chat_dicts,
    complete,
    prompt_ids,
    resolve_model,
)
from f1.planner.numeric import choose_path
from f1.planner.weights import load_model, load_tokenizer

USER = [ChatMessage(role="user", content="hello")]
PLAN_SCHEMA = {"type": "object", "properties": {"steps": {"type": "array"}}, "required": ["steps"]}
PLAN = Grammar(name="plan v1", lark="start: /.+/", json_schema=PLAN_SCHEMA)
CITY = Grammar(name="city", lark='start: "{\\"city\\": \\"" /[A-Z][a-z]{1,12}/ "\\"}"')


async def collect(stream: Any) -> list[Chunk]:
    return [chunk async for chunk in stream]


# --- local -------------------------------------------------------------------------------------------------


@pytest.mark.model
def test_default_model_replies() -> None:
    model = LocalModel()
    messages = [ChatMessage(role="user", content="Say hello.")]
    chunks = anyio.run(collect, model.stream(messages, max_tokens=8))
    text = "".join(c.text for c in chunks)
    assert model.name == "qwen2.5-coder-0.5b" and text.strip()
    assert 0 < sum(c.completion_tokens for c in chunks) <= 8
    assert sum(c.prompt_tokens for c in chunks) == len(prompt_ids(load_model().tokenizer, messages))
    question = [ChatMessage(role="user", content="What is the capital of France? Answer in JSON.")]
    answer = anyio.run(collect, model.stream(question, grammar=CITY, max_tokens=16))
    assert json.loads("".join(c.text for c in answer)) == {"city": "Paris"}


@pytest.fixture
def tiny(tiny_dir: Path) -> LocalModel:
    return LocalModel(str(tiny_dir))


@pytest.fixture
def forwards(tiny: LocalModel) -> Iterator[list[int]]:
    """Counts the tiny model's forward calls and fails any that overlap another."""
    model = load_model(tiny.spec).model.model  # the transformers module inside TorchLM
    calls: list[int] = []
    active = threading.Semaphore(1)

    def before(*_: Any) -> None:
        assert active.acquire(blocking=False), "two forwards ran at once on one model"
        calls.append(1)

    handles = [model.register_forward_pre_hook(before), model.register_forward_hook(lambda *_: active.release())]
    yield calls
    for handle in handles:
        handle.remove()


def test_local_streams_text_and_usage_adds_up(tiny: LocalModel, forwards: list[int]) -> None:
    chunks = anyio.run(collect, tiny.stream(USER, max_tokens=12))
    assert tiny.name == "tiny"
    assert sum(c.prompt_tokens for c in chunks) == len(prompt_ids(load_model(tiny.spec).tokenizer, USER))
    assert chunks[0].prompt_tokens > 0 and all(c.prompt_tokens == 0 for c in chunks[1:])
    assert sum(c.completion_tokens for c in chunks) == len(forwards) <= 12  # one token per forward, no grammar
    assert "".join(c.text for c in chunks)


def test_loading_prepares_the_vocabulary_on_the_tokenizer_the_model_uses(tiny: LocalModel) -> None:
    loaded = anyio.run(tiny.loaded)
    assert loaded.numeric == choose_path(known_model=False) and loaded.numeric.startswith("torch-")  # no export
    assert loaded.tokenizer is load_tokenizer(tiny.spec)[0]
    assert len(getattr(loaded.tokenizer, "_f1_token_bytes", ())) == loaded.model.vocab_size  # built while loading


def test_local_output_follows_the_grammar(tiny: LocalModel) -> None:
    chunks = anyio.run(collect, tiny.stream(USER, grammar=CITY, max_tokens=40))
    city = json.loads("".join(c.text for c in chunks))["city"]  # a random model, yet valid by construction
    assert city[0].isupper() and city[1:].islower()


def test_cancelling_the_consumer_stops_generation(tiny: LocalModel, forwards: list[int]) -> None:
    at_cancel: list[int] = []

    async def main() -> None:
        with anyio.CancelScope() as scope:
            async for _ in tiny.stream(USER, max_tokens=400):
                at_cancel.append(len(forwards))
                if len(at_cancel) == 3:
                    scope.cancel()

    anyio.run(main)
    assert len(at_cancel) == 3
    assert len(forwards) <= at_cancel[-1] + 3  # the worker stops at its next token, far short of 400
    assert not [t for t in threading.enumerate() if t.name.startswith("f1-generate")]


def test_abandoning_the_stream_stops_generation(tiny: LocalModel, forwards: list[int]) -> None:
    async def main() -> None:
        async for _ in tiny.stream(USER, max_tokens=400):
            at_break = len(forwards)
            break
        await anyio.sleep(0.5)  # the abandoned generator is closed by the event loop meanwhile
        assert len(forwards) <= at_break + 3
        async for _ in tiny.stream(USER, max_tokens=1):  # and the model is free again
            pass

    anyio.run(main)


def test_generations_on_one_model_run_one_at_a_time(tiny: LocalModel, forwards: list[int]) -> None:
    other = LocalModel(tiny.spec)  # another backend, the same loaded model and lock
    results: list[str] = []

    async def run(model: LocalModel) -> None:
        results.append("".join([c.text for c in await collect(model.stream(USER, max_tokens=6))]))

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, tiny)
            tg.start_soon(run, other)

    anyio.run(main)
    assert len(results) == 2 and results[0] == results[1]  # greedy: same prompt, same reply


def test_chat_dicts_map_tool_turns_for_templates_without_a_tool_role() -> None:
    call = ToolCall(id="c1", name="search", arguments={"q": "x"})
    messages = [
        ChatMessage(role="assistant", content="", tool_calls=[call]),
        ChatMessage(role="tool", content='{"hits": 1}', tool_call_id="c1", name="search"),
    ]
    plain = chat_dicts(messages, tool_role=False)
    assert plain == [
        {"role": "assistant", "content": json.dumps({"name": "search", "arguments": {"q": "x"}})},
        {"role": "user", "content": 'Result of search: {"hits": 1}'},
    ]
    native = chat_dicts(messages, tool_role=True)
    assert native[0]["tool_calls"][0]["function"] == {"name": "search", "arguments": {"q": "x"}}
    assert native[1] == {"role": "tool", "content": '{"hits": 1}', "name": "search"}


# --- remote ------------------------------------------------------------------------------------------------


def sse(*events: dict[str, Any] | str) -> bytes:
    return b"".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode() for e in events)


def delta(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}}]}


USAGE = {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}}


def remote(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> RemoteModel:
    return RemoteModel("http://fake/v1/", "m1", api_key="k", transport=httpx.MockTransport(handler), **kwargs)


def event_stream(body: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "text/event-stream"}, content=body)


def test_remote_streams_chunks_with_structured_outputs() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return event_stream(sse(delta('{"st'), delta('eps": []}'), USAGE, "[DONE]"))

    chunks = anyio.run(collect, remote(handler).stream(USER, grammar=PLAN, max_tokens=5))
    assert [c.text for c in chunks] == ['{"st', 'eps": []}', ""]
    assert (chunks[-1].completion_tokens, chunks[-1].prompt_tokens) == (3, 7)
    request = requests[0]
    body = json.loads(request.content)
    assert str(request.url) == "http://fake/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer k"
    assert body["stream"] is True and body["max_tokens"] == 5
    assert body["messages"] == [{"role": "user", "content": "hello"}]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "plan_v1", "schema": PLAN_SCHEMA, "strict": False},
    }
    anyio.run(collect, remote(handler).stream(USER, grammar=Grammar(name="text", lark="start: /.+/")))
    assert "response_format" not in json.loads(requests[1].content)


def test_remote_without_usage_counts_deltas() -> None:
    chunks = anyio.run(collect, remote(lambda r: event_stream(sse(delta("a"), delta("b")))).stream(USER))
    assert chunks[-1] == Chunk("", completion_tokens=2)


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (httpx.Response(500, text="upstream exploded " + "x" * 500), r"HTTP 500: upstream exploded x{182}$"),
        (httpx.Response(200, text="<html><body>login</body></html>"), "not an event stream: <html><body>login"),
        (event_stream(b"data: {oops\n\n"), "event is not JSON: {oops"),
        (event_stream(sse({"error": {"message": "overloaded"}})), "server error: .*overloaded"),
        (event_stream(b"\n\n"), "the stream held no events"),
    ],
)
def test_remote_errors_are_model_errors(response: httpx.Response, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        anyio.run(collect, remote(lambda r: response).stream(USER))


def test_remote_timeout_is_a_model_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ModelError, match=r"http://fake/v1/chat/completions: no answer within 2 s"):
        anyio.run(collect, remote(handler, timeout=2).stream(USER))


def test_complete_repairs_invalid_output_once() -> None:
    replies = iter([sse(delta('{"steps": ')), sse(delta('{"steps": []}'))])
    requests: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(json.loads(request.content))
        return event_stream(next(replies))

    text = anyio.run(lambda: complete(remote(handler), USER, json.loads, grammar=PLAN)).text
    assert text == '{"steps": []}'
    repair = requests[1]["messages"]
    assert repair[1] == {"role": "assistant", "content": '{"steps": '}
    assert repair[2]["role"] == "user" and "Expecting value" in repair[2]["content"]


def test_complete_gives_up_after_one_repair() -> None:
    model = ScriptedModel(["nope", "still nope"])
    with pytest.raises(ModelError, match="invalid output twice: .*last output: 'still nope'"):
        anyio.run(lambda: complete(model, USER, json.loads))
    assert len(model.calls) == 2


class _SSEHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for part in (delta("hel"), delta("lo"), USAGE, "[DONE]"):
            self.wfile.write(sse(part))
            self.wfile.flush()

    def log_message(self, *args: Any) -> None:
        pass


def test_remote_over_a_real_socket() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SSEHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        model = RemoteModel(f"http://127.0.0.1:{server.server_address[1]}/v1", "m1", timeout=10)
        chunks = anyio.run(collect, model.stream(USER))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert "".join(c.text for c in chunks) == "hello" and chunks[-1].prompt_tokens == 7


# --- resolve -----------------------------------------------------------------------------------------------


def test_resolve_model(monkeypatch: pytest.MonkeyPatch, tiny_dir: Path) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("F1_API_KEY", "secret")
    remote_model = resolve_model("openai:https://api.example.com/v1#gpt-x")
    assert isinstance(remote_model, RemoteModel)
    assert remote_model.base_url == "https://api.example.com/v1"
    assert (remote_model.name, remote_model.api_key) == ("gpt-x", "secret")
    default = resolve_model("default")
    assert isinstance(default, LocalModel) and default.name == "qwen2.5-coder-0.5b"
    assert resolve_model(str(tiny_dir)).name == "tiny"
    scripted = ScriptedModel([])
    assert resolve_model(scripted) is scripted


@pytest.mark.parametrize("spec", ["scripted", "gpt-4o", "openai:api.example.com#m", "openai:https://h/v1", 42])
def test_resolve_model_rejects_unknown_specs(spec: Any) -> None:
    with pytest.raises(ModelError):
        resolve_model(spec)
