"""What `f1 serve` tells: one access-log line per request (method, path, status, ms, model, tools offered/shown),
and `f1_tools_shown` when retrieval narrowed the client's tools."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import httpx
import pytest

from f1.cli import main
from f1.engine import Engine, EngineConfig
from f1.planner import ChatMessage, Chunk, ModelBackend
from f1.server import ServerSettings, create_app
from f1.server.background import serve_in_thread

TOOLS = [
    {"type": "function", "function": {"name": name, "description": text, "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}
    for name, text in (("get_weather", "Current weather and temperature of a city"), ("get_stock", "Price of a stock ticker"),
                       ("translate", "Translate text into another language"))
]  # fmt: skip


class EmptyPlans(ModelBackend):
    """Plans nothing and answers "ok"; records the tools each plan prompt listed."""

    name = "planner"

    def __init__(self) -> None:
        self.prompts: list[str] = []

    async def stream(self, messages: Sequence[ChatMessage], **kwargs: Any) -> AsyncIterator[Chunk]:
        self.prompts.append(messages[0].content)
        yield Chunk('{"steps":[]}' if kwargs.get("grammar") is not None else "ok", completion_tokens=1)


@pytest.fixture(scope="module")
def planner() -> EmptyPlans:
    return EmptyPlans()


@pytest.fixture(scope="module")
def base_url(planner: EmptyPlans, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    engine = Engine(model=planner, config=EngineConfig(max_tools_in_prompt=2))
    settings = ServerSettings(model_names=("f1",), store_path=tmp_path_factory.mktemp("store") / "s.sqlite")
    with serve_in_thread(create_app(engine, settings)) as url:
        yield url


def test_narrowed_tools_are_named_in_f1_tools_shown(base_url: str, planner: EmptyPlans) -> None:
    body = {"model": "f1", "messages": [{"role": "user", "content": "What is the weather in Paris?"}], "tools": TOOLS}
    answer = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=30).json()
    shown = answer["f1_tools_shown"]
    assert len(shown) == 2 and "get_weather" in shown and set(shown) < {"get_weather", "get_stock", "translate"}
    assert all((name in planner.prompts[-2]) == (name in shown) for name in ("get_weather", "get_stock", "translate"))
    streamed = httpx.post(f"{base_url}/v1/chat/completions", json={**body, "stream": True}, timeout=30).text
    chunks = [json.loads(line[6:]) for line in streamed.splitlines() if line.startswith("data: {")]
    assert chunks[-1]["f1_tools_shown"] == shown and all("f1_tools_shown" not in c for c in chunks[:-1])
    flat = [{"type": "function", **tool["function"]} for tool in TOOLS]
    response = httpx.post(f"{base_url}/v1/responses", json={"model": "f1", "input": "Weather in Paris?", "tools": flat}, timeout=30)
    assert response.json()["f1_tools_shown"] == shown


def test_tools_that_fit_are_not_named(base_url: str) -> None:
    body = {"model": "f1", "messages": [{"role": "user", "content": "hi"}], "tools": TOOLS[:2]}
    assert "f1_tools_shown" not in httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=30).json()


def test_one_access_line_per_request(base_url: str, caplog: pytest.LogCaptureFixture) -> None:
    expected = [
        r"POST /v1/chat/completions 200 \d+\.\dms model=f1 tools=3/2",
        r"POST /v1/responses 200 \d+\.\dms model=f1 tools=0/0",
        r"POST /v1/chat/completions 400 \d+\.\dms",
        r"GET /health 200 \d+\.\dms",
    ]
    with caplog.at_level(logging.INFO, logger="f1.server.access"):
        time.sleep(0.2)  # the line of an earlier test's last request is written by now
        caplog.clear()
        body = {"model": "f1", "messages": [{"role": "user", "content": "weather?"}], "tools": TOOLS}
        httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=30)
        httpx.post(f"{base_url}/v1/responses", json={"model": "f1", "input": "hi"}, timeout=30)
        httpx.post(f"{base_url}/v1/chat/completions", json={"model": "nope", "messages": []}, timeout=30)
        httpx.get(f"{base_url}/health", timeout=30)
        deadline = time.monotonic() + 5  # a line is written once the answer is sent: the client may have it first
        while len(_access_lines(caplog)) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = _access_lines(caplog)
    assert len(lines) == len(expected) and all(re.fullmatch(p, line) for p, line in zip(expected, lines, strict=True)), lines


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "f1.server.access"]


def test_serve_options_reach_the_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import uvicorn

    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append({"app": app, **options}))
    monkeypatch.delenv("F1_SERVER_API_KEY", raising=False)
    store = tmp_path / "kept.sqlite"
    argv = ["serve", "--model", "openai:http://127.0.0.1:9/v1#m", "--max-tools", "5", "--log-level", "debug", "--port", "0",
            "--store", str(store)]  # fmt: skip
    assert main(argv) == 0
    (run,) = runs
    assert run["log_level"] == "debug" and run["access_log"] is False and run["port"] == 0
    assert logging.getLogger("f1").level == logging.DEBUG
    assert run["app"].state.store.path == store and store.exists()
    assert run["app"].state.engine.config.max_tools_in_prompt == 5
    logging.getLogger("f1").setLevel(logging.NOTSET)
