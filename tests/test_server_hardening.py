"""`f1 serve` is safe by default (issue 15 items 7, 8 and 10): JSON bodies only, no requests from foreign web pages,
an API key on non-loopback addresses, no write tools in compound mode unless allowed, redacted error messages, a
body read timeout and the OpenAPI nits."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from f1.cli import main
from f1.engine import Engine
from f1.errors import F1Error, UpstreamError
from f1.server import ServerSettings, create_app
from f1.server.background import serve_in_thread
from f1.server.errors import redact
from f1.tools import ToolRegistry, tool
from tests.test_server import Backend, plan, script, user

ALLOWED = "https://app.example"
FOREIGN = "https://evil.example"
JSON = {"Content-Type": "application/json"}
NOTES: list[str] = []


@tool(idempotent=True, read_only=True)
def read_note(index: int) -> str:
    """Read a note."""
    return NOTES[index] if index < len(NOTES) else ""


@tool
def write_note(text: str) -> str:
    """Write a note (not idempotent: a write tool)."""
    NOTES.append(text)
    return "written"


@tool(idempotent=True)
def clear_notes() -> str:
    """Remove every note (idempotent, like an HTTP DELETE, and still a write)."""
    NOTES.clear()
    return "cleared"


def tools() -> ToolRegistry:
    return ToolRegistry([read_note, write_note, clear_notes])


@pytest.fixture(autouse=True)
def no_notes() -> None:
    NOTES.clear()


@pytest.fixture(scope="module")
def backend() -> Backend:
    return Backend()


@pytest.fixture(scope="module")
def base_url(backend: Backend) -> Iterator[str]:
    """No API key (the loopback default), one allowed web origin, a short body timeout."""
    settings = ServerSettings(model_names=("f1",), cors_origins=(ALLOWED,), body_timeout=0.5)
    with serve_in_thread(create_app(Engine(tools(), model=backend), settings)) as url:
        yield url


def chat(base_url: str, body: Any, **headers: str) -> httpx.Response:
    content = json.dumps(body)
    return httpx.post(f"{base_url}/v1/chat/completions", content=content, headers={**JSON, **headers}, timeout=20)


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


WRITE = script(plan((1, "write_note", {"text": "pwned"})), answer="Done.")


# 7. Cross-site requests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_bodies_that_are_not_json_are_a_415(base_url: str, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps({"model": "f1-compound", "messages": user(WRITE)})
    response = httpx.post(f"{base_url}/v1/chat/completions", content=body, headers=headers, timeout=20)
    assert error_of(response, 415)["code"] == "unsupported_media_type"
    assert NOTES == []


def test_json_with_a_charset_is_json(base_url: str) -> None:
    response = chat(base_url, {"model": "f1", "messages": user("hi")}, **{"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == "echo: hi"


@pytest.mark.parametrize("origin", [FOREIGN, "null", "http://127.0.0.1:8000"])
def test_requests_from_web_pages_of_other_origins_are_refused(base_url: str, origin: str) -> None:
    error = error_of(chat(base_url, {"model": "f1-compound", "messages": user(WRITE)}, Origin=origin), 403)
    assert error["code"] == "origin_not_allowed" and "--cors-origin" in error["message"]
    assert "access-control-allow-origin" not in chat(base_url, {"model": "f1", "messages": user("hi")}, Origin=origin).headers
    error_of(httpx.get(f"{base_url}/v1/models", headers={"Origin": origin}), 403)
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    error_of(httpx.options(f"{base_url}/v1/chat/completions", headers=preflight), 403)
    assert NOTES == []


def test_an_allowed_origin_gets_its_preflight_and_readable_answers(base_url: str) -> None:
    preflight = httpx.options(
        f"{base_url}/v1/chat/completions",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "authorization, content-type"
    answer = chat(base_url, {"model": "f1", "messages": user("hi")}, Origin=ALLOWED)
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == ALLOWED
    assert "Origin" in answer.headers["vary"]


def test_allowed_origins_compare_as_browsers_send_them(backend: Backend) -> None:
    settings = ServerSettings(model_names=("f1",), cors_origins=("HTTPS://App.Example",))
    with serve_in_thread(create_app(Engine(model=backend), settings)) as url:
        answer = chat(url, {"model": "f1", "messages": user("hi")}, Origin=ALLOWED)
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == ALLOWED


def test_bad_cors_origins_and_body_timeouts_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for origin in ("https://app.example/", "*", "app.example", "https://app.example/path"):
        with pytest.raises(F1Error, match="not an origin"):
            ServerSettings(cors_origins=(origin,))
    assert main(["serve", "--cors-origin", "app.example", "--model", REMOTE]) == 2
    assert main(["serve", "--body-timeout", "0", "--model", REMOTE]) == 2
    assert "body timeout" in capsys.readouterr().err


def test_compound_mode_runs_no_write_tools_unless_allowed(base_url: str, backend: Backend) -> None:
    read = script(plan((1, "read_note", {"index": 0})), answer="Nothing yet.")
    assert chat(base_url, {"model": "f1-compound", "messages": user(read)}).json()["choices"][0]["message"]["content"] == "Nothing yet."
    offered = backend.script.calls[-2][0].content  # the planner's system prompt of that request
    assert "read_note" in offered and "write_note" not in offered and "clear_notes" not in offered
    chat(base_url, {"model": "f1-compound", "messages": user(WRITE)})  # names a tool it was not offered
    assert NOTES == []
    allowing = ServerSettings(model_names=("f1",), allow_write_tools=True)
    with serve_in_thread(create_app(Engine(tools(), model=backend), allowing)) as url:
        assert chat(url, {"model": "f1-compound", "messages": user(WRITE)}).status_code == 200
    assert NOTES == ["pwned"]


def test_an_engine_of_write_tools_only_serves_no_compound_mode(backend: Backend) -> None:
    app = create_app(Engine([write_note], model=backend), ServerSettings(model_names=("f1",)))
    assert app.state.served == ("scripted-planner", "f1") and app.state.withheld_tools == ["write_note"]


REMOTE = "openai:http://127.0.0.1:9/v1#remote-planner"


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """`f1 serve` runs up to the point where uvicorn would start; what it would have started with."""
    import uvicorn

    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append({"app": app, **options}))
    monkeypatch.delenv("F1_SERVER_API_KEY", raising=False)
    return runs


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.com"])
def test_a_non_loopback_host_needs_an_api_key_before_any_model_loads(
    host: str, started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_engine(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the engine (and its model) must not be built")

    monkeypatch.setattr("f1.engine.Engine", no_engine)
    assert main(["serve", "--host", host, "--model", "default"]) == 2
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0 and "--api-key" in message and "--no-auth" in message
    assert started == []


@pytest.mark.parametrize("flags", [["--api-key", "sk-x"], ["--no-auth"]])
def test_a_non_loopback_host_starts_with_a_key_or_no_auth(flags: list[str], started: list[dict[str, Any]]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--model", REMOTE, *flags]) == 0
    assert started[0]["host"] == "0.0.0.0"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_need_no_key(host: str, started: list[dict[str, Any]]) -> None:
    assert main(["serve", "--host", host, "--model", REMOTE]) == 0 and started


def test_serve_withholds_write_tools_unless_allowed(tmp_path: Any, started: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "notes_tools.py"
    module.write_text("from tests.test_server_hardening import read_note, write_note\nTOOLS = [read_note, write_note]\n")
    assert main(["serve", "--model", REMOTE, "--tools", str(module)]) == 0
    assert started[-1]["app"].state.withheld_tools == ["write_note"] and "write_note" in capsys.readouterr().err
    assert main(["serve", "--model", REMOTE, "--tools", str(module), "--allow-write-tools"]) == 0
    assert started[-1]["app"].state.withheld_tools == []
    only_writes = tmp_path / "writes.py"
    only_writes.write_text("from tests.test_server_hardening import write_note\nTOOLS = [write_note]\n")
    assert main(["serve", "--model", REMOTE, "--tools", str(only_writes)]) == 2
    assert "--allow-write-tools" in capsys.readouterr().err


def test_a_model_spec_with_a_password_is_not_a_served_name(started: list[dict[str, Any]]) -> None:
    assert main(["serve", "--model", "openai:http://user:hunter2@127.0.0.1:9/v1#remote-planner"]) == 0
    assert started[0]["app"].state.served == ("remote-planner",)


# 8. Error bodies echo internals -------------------------------------------------------------------------------


def test_engine_errors_drop_credentials_and_upstream_replies() -> None:
    from f1.server.errors import engine_error

    assert redact("http://u:p@h:8/v1: no answer within 2 s") == "http://h:8/v1: no answer within 2 s"
    upstream = UpstreamError("http://u:p@h:8/v1/chat/completions: HTTP 502", "<html>db=10.0.0.3</html>")
    assert "db=10.0.0.3" in str(upstream)  # the CLI and the server log show the reply
    assert engine_error(upstream).body.message == (
        "http://h:8/v1/chat/completions: HTTP 502 (the upstream reply is in the server log)"
    )
    assert engine_error(upstream).body.code == "upstream_error"
    kept = "step 2: tool 'f' failed: HTTP 500: bad input"  # a tool's error, not an upstream model server's reply
    assert engine_error(F1Error(kept)).body.message == kept
    started = time.perf_counter()
    redact("://" * 100_000 + "@")
    assert time.perf_counter() - started < 5  # linear, not a regex bomb


def test_a_remote_planner_error_reaches_the_client_redacted(caplog: pytest.LogCaptureFixture) -> None:
    async def upstream(request: Request) -> PlainTextResponse:
        return PlainTextResponse("SECRET-UPSTREAM-BODY at /srv/internal/app.py", status_code=500)

    fake = Starlette(routes=[Route("/v1/chat/completions", upstream, methods=["POST"])])
    with serve_in_thread(fake) as upstream_url:
        address = urlsplit(upstream_url).netloc
        engine = Engine(model=f"openai:http://user:hunter2@{address}/v1#remote")
        with serve_in_thread(create_app(engine)) as url, caplog.at_level("WARNING", logger="f1.server"):
            whole = chat(url, {"model": "remote", "messages": user("hi")})
            streamed = httpx.post(
                f"{url}/v1/chat/completions",
                json={"model": "remote", "messages": user("hi"), "stream": True},
                timeout=20,
            ).text
    error = error_of(whole, 502)
    for sent in (json.dumps(error), streamed):
        assert "hunter2" not in sent and "SECRET-UPSTREAM-BODY" not in sent
    assert "HTTP 500" in error["message"] and "server log" in error["message"] and "HTTP 500" in streamed
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "SECRET-UPSTREAM-BODY" in logged


# 10. Body read timeout and OpenAPI nits -----------------------------------------------------------------------


def test_a_stalled_upload_is_a_408(base_url: str) -> None:
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{\"model\":"
        )
        received = b""
        while b"\r\n\r\n" not in received:  # the server answers (0.5 s body timeout) well before the socket's 10 s
            data = sock.recv(65536)
            assert data, "the server closed the connection without an answer"
            received += data
    head = received.split(b"\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 408")


def test_stream_options_without_stream_are_ignored(base_url: str) -> None:
    response = chat(base_url, {"model": "f1", "messages": user("hi"), "stream_options": {"include_usage": True}})
    assert response.status_code == 200 and response.json()["object"] == "chat.completion"


def test_a_405_names_the_allowed_methods(base_url: str) -> None:
    response = httpx.get(f"{base_url}/v1/chat/completions")
    error_of(response, 405)
    assert response.headers["allow"] == "POST"


def test_a_huge_model_name_is_not_echoed_whole(base_url: str) -> None:
    name = "m" * 1_000_000
    response = chat(base_url, {"model": name, "messages": user("hi")})
    error = error_of(response, 404)
    assert error["code"] == "model_not_found" and len(response.content) < 2_000 and "more characters" in error["message"]


def test_the_openapi_stream_response_describes_each_event(base_url: str) -> None:
    schema = httpx.get(f"{base_url}/openapi.json").json()
    stream = schema["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]["text/event-stream"]
    event = stream["schema"]  # an event as parsed (`data`, `event`, ...), not the chunk object itself
    assert event["type"] == "object" and event["required"] == ["data"]
    done, payload = event["properties"]["data"]["anyOf"]
    assert done == {"const": "[DONE]"} and payload["contentMediaType"] == "application/json"
    assert {"$ref": "#/components/schemas/ChatCompletionChunk"} in payload["contentSchema"]["anyOf"]


def test_a_finished_stream_is_not_logged_as_a_disconnect(base_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="f1.server"):
        for _ in range(5):
            with httpx.stream("POST", f"{base_url}/v1/chat/completions", json={"model": "f1", "messages": user("hi"), "stream": True}) as r:
                assert [line for line in r.iter_lines() if line][-1] == "data: [DONE]"
        time.sleep(0.2)
    assert not [record for record in caplog.records if "disconnected" in record.getMessage()]


def test_an_unknown_key_holding_inputs_is_refused_not_dropped(base_url: str) -> None:
    misspelt = {"type": "function", "function": {"name": "lookup", "params": {"type": "object", "properties": {"q": {}}}}}
    error = error_of(chat(base_url, {"model": "f1", "messages": user("hi"), "tools": [misspelt]}), 400)
    assert error["param"] == "tools" and "unknown key 'params'" in error["message"], error
    loose = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}, "x-note": {"a": 1}}}
    assert chat(base_url, {"model": "f1", "messages": user("hi"), "tools": [loose]}).status_code == 200


def test_request_tools_are_read_off_the_event_loop(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from f1.server import modes as server_app

    threads: list[str] = []

    def recording(tools: Any) -> Any:
        threads.append(threading.current_thread().name)
        return to_specs(tools)

    to_specs = server_app.to_specs
    monkeypatch.setattr(server_app, "to_specs", recording)
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    assert chat(base_url, {"model": "f1", "messages": user("hi"), "tools": [tool]}).status_code == 200
    assert threads and threads[0] != "f1-server"  # the server's event loop runs on the thread named f1-server


def test_the_server_caps_malloc_arenas_on_glibc() -> None:
    import platform

    from f1.server.memory import limit_malloc_arenas

    assert limit_malloc_arenas() is (platform.libc_ver()[0] == "glibc")
