"""Overhead of the OpenAI endpoint over calling the engine directly, and errors under concurrent load.

Both paths plan with the same engine and a scripted model (no model time), in the same run, alternating request
by request: `direct` consumes `Engine.aplan_stream`, `server` POSTs /v1/chat/completions over loopback with
httpx (keep-alive) and parses the reply. Then `--concurrency` requests at once count `errors`.
Targets: overhead_ms_p50 <= 5, errors == 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

PLAN = {"steps": [{"id": 1, "tool": "get_weather", "args": {"city": "Paris"}},
                  {"id": 2, "tool": "get_weather", "args": {"city": "London"}},
                  {"id": 3, "tool": "compare", "args": {"a": "$1", "b": "$2"}}]}  # fmt: skip
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city.",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "compare", "description": "Compare two readings.",
     "parameters": {"type": "object", "properties": {"a": {}, "b": {}}, "required": ["a", "b"]}}},
]  # fmt: skip
MESSAGES = [{"role": "user", "content": "Is it warmer in Paris or in London?"}]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=300, help="timed requests per path")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests per path first")
    parser.add_argument("--concurrency", type=int, default=200, help="requests sent at once for the error count")
    parser.add_argument("--stream", action="store_true", help="time streamed (SSE) answers instead of whole ones")


def run(args: argparse.Namespace) -> dict[str, Any]:
    import anyio

    from f1.engine import Engine
    from f1.planner.backends import ScriptedModel
    from f1.server import ServerSettings, create_app
    from f1.server.background import serve_in_thread

    total = 2 * (args.warmup + args.requests) + args.concurrency
    engine = Engine(model=ScriptedModel([json.dumps(PLAN)] * total, chunk_size=16))
    with serve_in_thread(create_app(engine, ServerSettings(model_names=("f1",)))) as url:
        return anyio.run(_measure, engine, url, args)


async def _measure(engine: Any, url: str, args: argparse.Namespace) -> dict[str, Any]:
    import anyio
    import httpx

    from f1.planner.messages import ChatMessage
    from f1.tools import ToolSpec

    messages = [ChatMessage(role="user", content=MESSAGES[0]["content"])]
    specs = [ToolSpec.from_openai(entry) for entry in TOOLS]
    body = {"model": "f1", "messages": MESSAGES, "tools": TOOLS, "stream": args.stream}

    async def direct() -> None:
        async for _ in engine.aplan_stream(messages, tools=specs):
            pass

    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def served() -> bool:
            if args.stream:
                async with client.stream("POST", "/v1/chat/completions", json=body) as response:
                    lines = [line async for line in response.aiter_lines() if line]
                return response.status_code == 200 and lines[-1] == "data: [DONE]"
            response = await client.post("/v1/chat/completions", json=body)
            return response.status_code == 200 and response.json()["choices"][0]["finish_reason"] == "tool_calls"

        times: dict[str, list[float]] = {"direct": [], "server": []}
        for number in range(args.warmup + args.requests):
            for name, call in (("direct", direct), ("server", served)):
                started = time.perf_counter()
                await call()
                if number >= args.warmup:
                    times[name].append((time.perf_counter() - started) * 1000)

        outcomes: list[bool] = []

        async def one() -> None:
            try:
                outcomes.append(await served())
            except httpx.HTTPError:
                outcomes.append(False)

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(args.concurrency):
                group.start_soon(one)
        burst = time.perf_counter() - started

    direct_ms, server_ms = times["direct"], times["server"]
    return {
        "requests": args.requests,
        "stream": args.stream,
        "direct_ms_p50": _pct(direct_ms, 50),
        "direct_ms_p95": _pct(direct_ms, 95),
        "server_ms_p50": _pct(server_ms, 50),
        "server_ms_p95": _pct(server_ms, 95),
        "overhead_ms_p50": _pct(server_ms, 50) - _pct(direct_ms, 50),
        "overhead_ms_p95": _pct(server_ms, 95) - _pct(direct_ms, 95),
        "overhead_target_ms": 5.0,
        "concurrent_requests": args.concurrency,
        "errors": outcomes.count(False) + args.concurrency - len(outcomes),
        "concurrent_seconds": burst,
    }


def _pct(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1] if len(values) > 1 else values[0]
