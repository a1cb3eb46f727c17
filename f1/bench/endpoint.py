"""Overhead of the OpenAI endpoint over calling the engine directly, and errors under concurrent load.

Both paths plan with an engine on a scripted model (no model time), in the same run, alternating request by
request: `direct` consumes `Engine.aplan_stream` in this process; `server` POSTs /v1/chat/completions over a
keep-alive loopback connection, with a minimal HTTP client, to `f1.server` running in a child process, as in
production (a server thread in this process would share the GIL with the client and measure that instead).
`httpx_client_ms_p50` is the same request through httpx, for what a client library adds; `transport_ms_p50`
(GET /health, no engine work) is the HTTP floor. Those requests all bring the same tool list, so the server's
tool-spec cache and the engine's grammar and validator caches always hit; `new_tools` repeats both paths with a
different tool list in every request (the two tools plus one whose name is new each time), so every request pays
for converting the specs and building their grammar and validators (`new_tools_cost_ms_p50`: what a new list adds
to a served answer). Wall times grow with machine load; `cpu_overhead_ms` (the server process's CPU time per
answer minus the direct path's; Linux) does not. Then `--concurrency` requests at once (httpx, one connection each)
count `errors`. Targets: overhead_ms_p50 <= 5, errors == 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from f1.errors import F1Error, StartupError

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
    import multiprocessing

    import anyio

    replies = 3 * args.warmup + 4 * args.requests + args.concurrency  # what the server answers in all
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_serve, args=(sender, replies), name="f1-bench-server", daemon=True)
    child.start()
    try:
        if not receiver.poll(60):
            raise StartupError("the benchmark server did not start within 60 s")
        url = receiver.recv()
        return anyio.run(_measure, _engine(replies), url, child.pid, args)
    finally:
        child.terminate()
        child.join(10)
        if child.is_alive():
            child.kill()


def _engine(replies: int) -> Any:
    from f1.engine import Engine
    from f1.planner import ScriptedModel

    return Engine(model=ScriptedModel([json.dumps(PLAN)] * replies, chunk_size=16))


def _serve(sender: Any, replies: int) -> None:
    """The child process: serve a scripted engine on a free loopback port and send its URL back."""
    import socket

    import uvicorn

    from f1.server import ServerSettings, create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP: asyncio sets NODELAY
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(_engine(replies), ServerSettings(model_names=("f1",))), log_level="warning"))
    sender.send(f"http://127.0.0.1:{sock.getsockname()[1]}")
    server.run(sockets=[sock])


async def _measure(engine: Any, url: str, server_pid: int, args: argparse.Namespace) -> dict[str, Any]:
    import anyio
    import httpx

    from f1.planner import ChatMessage
    from f1.tools import ToolSpec

    messages = [ChatMessage(role="user", content=MESSAGES[0]["content"])]
    specs = [ToolSpec.from_openai(entry) for entry in TOOLS]
    body = {"model": "f1", "messages": MESSAGES, "tools": TOOLS, "stream": args.stream}

    async def direct() -> None:
        async for _ in engine.aplan_stream(messages, tools=specs):
            pass

    rounds = args.warmup + args.requests
    new_tool_lists = iter([[*TOOLS, _new_tool(number)] for number in range(rounds)])
    new_payloads = iter([json.dumps(body | {"tools": [*TOOLS, _new_tool(rounds + number)]}).encode() for number in range(rounds)])

    async def direct_new_tools() -> None:
        tools = [ToolSpec.from_openai(entry) for entry in next(new_tool_lists)]  # an in-process caller converts too
        async for _ in engine.aplan_stream(messages, tools=tools):
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

        raw = await RawHTTP.connect(url)
        payload = json.dumps(body).encode()

        async def served_raw() -> bool:
            status, answer = await raw.request("POST", "/v1/chat/completions", payload)
            return status == 200 and answer.rstrip().endswith(b"[DONE]" if args.stream else b"}")

        async def transport() -> bool:
            return (await raw.request("GET", "/health"))[0] == 200

        async def served_new_tools() -> bool:
            status, answer = await raw.request("POST", "/v1/chat/completions", next(new_payloads))
            return status == 200 and answer.rstrip().endswith(b"[DONE]" if args.stream else b"}")

        paths = {"direct": direct, "server": served_raw, "transport": transport, "httpx": served,
                 "direct_new_tools": direct_new_tools, "server_new_tools": served_new_tools}  # fmt: skip
        times: dict[str, list[float]] = {name: [] for name in paths}
        for number in range(args.warmup + args.requests):
            for name, call in paths.items():
                started = time.perf_counter()
                if await call() is False:
                    raise F1Error(f"the {name} call failed")
                if number >= args.warmup:
                    times[name].append((time.perf_counter() - started) * 1000)
        await raw.aclose()

        # CPU time per answer, which machine load does not inflate: the server process's, and the direct path's.
        server_cpu = _cpu_seconds(server_pid)
        for _ in range(args.requests):
            await served()
        server_cpu_ms = (_cpu_seconds(server_pid) - server_cpu) * 1000 / args.requests
        direct_cpu = time.process_time()
        for _ in range(args.requests):
            await direct()
        direct_cpu_ms = (time.process_time() - direct_cpu) * 1000 / args.requests

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
        "direct_new_tools_ms_p50": _pct(times["direct_new_tools"], 50),
        "server_new_tools_ms_p50": _pct(times["server_new_tools"], 50),
        "new_tools_overhead_ms_p50": _pct(times["server_new_tools"], 50) - _pct(times["direct_new_tools"], 50),
        "new_tools_cost_ms_p50": _pct(times["server_new_tools"], 50) - _pct(server_ms, 50),
        "transport_ms_p50": _pct(times["transport"], 50),
        "httpx_client_ms_p50": _pct(times["httpx"], 50),
        "direct_cpu_ms": direct_cpu_ms,
        "server_cpu_ms": server_cpu_ms,
        "cpu_overhead_ms": server_cpu_ms - direct_cpu_ms,
        "concurrent_requests": args.concurrency,
        "errors": outcomes.count(False) + args.concurrency - len(outcomes),
        "concurrent_seconds": burst,
    }


def _new_tool(number: int) -> dict[str, Any]:
    """A tool whose name no earlier request used: its list misses every cache keyed by the tools."""
    return {"type": "function", "function": {"name": f"note_{number}", "description": f"Note number {number}.",
            "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}}  # fmt: skip


class RawHTTP:
    """A minimal HTTP/1.1 keep-alive client (one request at a time; Content-Length or chunked answers), so that
    the timings are the server's and not a client library's."""

    def __init__(self, stream: Any) -> None:
        from anyio.streams.buffered import BufferedByteReceiveStream

        self.stream = stream
        self.received = BufferedByteReceiveStream(stream)

    @classmethod
    async def connect(cls, url: str) -> RawHTTP:
        import anyio

        host, _, port = url.removeprefix("http://").partition(":")
        return cls(await anyio.connect_tcp(host, int(port)))

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        await self.stream.send(head.encode() + body)
        status_line, *lines = (await self.received.receive_until(b"\r\n\r\n", 65536)).split(b"\r\n")
        headers = dict(line.lower().split(b": ", 1) for line in lines)
        if b"content-length" in headers:
            return int(status_line.split()[1]), await self.received.receive_exactly(int(headers[b"content-length"]))
        chunks = []
        while size := int(await self.received.receive_until(b"\r\n", 64), 16):
            chunks.append(await self.received.receive_exactly(size))
            await self.received.receive_exactly(2)
        await self.received.receive_exactly(2)
        return int(status_line.split()[1]), b"".join(chunks)

    async def aclose(self) -> None:
        await self.stream.aclose()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    import os

    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1] if len(values) > 1 else values[0]
