"""Reliability of `f1 serve` under generated and hostile traffic (issue 15), on loopback with a scripted planner:
schemathesis against /openapi.json, and a soak of 2,000 mixed requests at 50 concurrency in a server process."""

from __future__ import annotations

import json
import logging
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette

from f1.engine import Engine
from f1.planner import ChatMessage, Chunk, ModelBackend
from f1.planner.prompt import ANSWER_INSTRUCTIONS, JOIN_INSTRUCTIONS
from f1.schemas import schema_validator
from f1.server import ServerSettings, create_app
from f1.server.background import serve_in_process, serve_in_thread
from f1.server.wire import ChatCompletion, ErrorResponse
from f1.tools import ToolRegistry
from f1.tools.builtin import calculate

KEY = "sk-reliability"
MAX_BODY = 1024 * 1024
SLOW = "SLOW"  # the planner answers this only after 30 s: its client hangs up first
DISCONNECTED = "client disconnected; cancelling its request"  # what the server logs when it cancels


def reply(messages: Sequence[ChatMessage]) -> str:
    """The scripted planner's text: `PLAN {...}` as the latest user message is the plan, any other request gets
    an empty plan; direct answers echo the request and the joiner finishes."""
    system = messages[0].content if messages else ""
    latest = next((m.content for m in reversed(messages) if m.role == "user"), "")
    if system.startswith(JOIN_INSTRUCTIONS):
        return json.dumps({"action": "finish", "answer": "done"})
    if system.startswith(ANSWER_INSTRUCTIONS):
        return f"echo: {latest[:100]}"
    return latest.removeprefix("PLAN ") if latest.startswith("PLAN ") else '{"steps": []}'


SMALL_VALUES = ("{}", "null", "0", '""', "[]", "true", "false")


def structured(schema: dict[str, Any]) -> str:
    """What a grammar-exact model writes under an output grammar, for the schemas generated requests hold: the
    first small JSON value the schema admits."""
    validator = schema_validator(schema)
    return next((text for text in SMALL_VALUES if validator.is_valid(json.loads(text))), "{}")


class ScriptedPlanner(ModelBackend):
    """`reply` in 16-character chunks (under an output grammar, a small value of its schema). It keeps nothing
    between requests: the soak measures the server's memory."""

    name = "scripted-planner"

    async def stream(self, messages: Sequence[ChatMessage], **kwargs: Any) -> AsyncIterator[Chunk]:
        if any(m.content == SLOW for m in messages):
            await anyio.sleep(30)
        grammar = kwargs.get("grammar")
        text = structured(grammar.json_schema) if grammar is not None and grammar.name == "output" else reply(messages)
        for start in range(0, len(text), 16):
            yield Chunk(text[start : start + 16], completion_tokens=1)


def build_app(log: str | None = None) -> Starlette:
    """The server under test: the scripted planner, the calculator for compound mode, an API key. With `log`, the
    server's log at INFO (a line per cancelled request) goes to that file."""
    if log is not None:
        logger = logging.getLogger("f1.server")
        logger.setLevel(logging.INFO)
        logger.addHandler(logging.FileHandler(log))
    engine = Engine(ToolRegistry([calculate]), model=ScriptedPlanner())
    store = Path(tempfile.mkdtemp(prefix="f1-responses-")) / "store.sqlite"
    settings = ServerSettings(model_names=("f1",), api_key=KEY, max_body_bytes=MAX_BODY, body_timeout=5, store_path=store)
    return create_app(engine, settings)


AUTH = {"Authorization": f"Bearer {KEY}"}


# Schemathesis ---------------------------------------------------------------------------------------------------


def test_schemathesis_finds_no_server_errors_and_no_nonconforming_responses() -> None:
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    with serve_in_thread(build_app()) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")

        def run(path: str, mode: Any, examples: int) -> None:
            # Random model names are almost all 404s: most requests name a served model instead.
            @settings(
                max_examples=examples,
                derandomize=True,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=schema[path]["POST"].as_strategy(generation_mode=mode), model=st.sampled_from(["f1", "f1-compound", None]))
            def call(case: Any, model: str | None) -> None:
                if model is not None and isinstance(case.body, dict):
                    case.body["model"] = model
                response = case.call(headers=AUTH, timeout=30)
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=checks)
                except Exception as exc:  # every failure is listed at the end, none stops the run (no shrinking)
                    failures.append(f"{path} {response.status_code} {str(exc)[:2000]}")

            call()

        # 2,000 requests in all, as many valid by the schema as not, two thirds of them chat completions
        run("/v1/chat/completions", schemathesis.GenerationMode.POSITIVE, 700)
        run("/v1/chat/completions", schemathesis.GenerationMode.NEGATIVE, 634)
        run("/v1/responses", schemathesis.GenerationMode.POSITIVE, 350)
        run("/v1/responses", schemathesis.GenerationMode.NEGATIVE, 316)
    assert sum(statuses.values()) >= 2000, statuses
    assert not failures, f"{len(failures)} failures; statuses {dict(statuses)}; first: {failures[:3]}"
    assert statuses[200] >= 300 and sum(n for status, n in statuses.items() if status >= 500) == 0, statuses


# Soak -----------------------------------------------------------------------------------------------------------

REQUESTS = 2000
WARM_UP = 200  # requests before memory is measured and /health is timed: one of each kind comes first
CONCURRENCY = 50
HEALTH_P99_MS = 100
RSS_GROWTH_MB = 50
CHAT = "/v1/chat/completions"
JSON = {"Content-Type": "application/json", **AUTH}
FILLER = "widget gadget sprocket lever gear spring valve pump dial knob switch relay sensor".split()


@dataclass(frozen=True, slots=True)
class Probe:
    """One soak request and the statuses it may get ("cancelled": the client hung up before an answer)."""

    kind: str
    expected: frozenset[int | str]
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: JSON)
    method: str = "POST"
    path: str = CHAT
    stream: bool = False
    hang_up: bool = False


def chat_body(text: str, model: str = "f1", **extra: Any) -> bytes:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": text}], **extra}).encode()


def plan_text(tool: str, args: dict[str, Any]) -> str:
    return "PLAN " + json.dumps({"steps": [{"id": 1, "tool": tool, "args": args}]})


def distinct_tools(seed: int, count: int = 3, words: int = 2000) -> list[dict[str, Any]]:
    """Tools no other request has (names, ~14 KB descriptions): caches keyed by tool JSON see new, large keys."""
    rng = random.Random(seed)
    return [
        {
            "type": "function",
            "function": {
                "name": f"op{seed}_{j}",
                "description": " ".join(rng.choice(FILLER) for _ in range(words)),
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
        for j in range(count)
    ]


def many_tools(tag: str) -> list[dict[str, Any]]:
    """1,000 small tools: retrieval embeds them all (once per tool set)."""
    return [
        {"type": "function", "function": {"name": f"{tag}_{i}", "description": f"Handles {FILLER[i % 13]} number {i}",
                                          "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}
        for i in range(1000)
    ]  # fmt: skip


REGEX_BOMB = {  # the first branch backtracks catastrophically on "aaa...a!", the second accepts it
    "type": "function",
    "function": {"name": "match", "parameters": {"type": "object", "properties": {
        "text": {"anyOf": [{"type": "string", "pattern": "^(a+)+$"}, {"type": "string"}]}}}},
}  # fmt: skip


def probe(kind: str, index: int, occurrence: int) -> Probe:
    """The `occurrence`-th request of `kind`, the `index`-th of the soak."""
    ok = frozenset({200})  # no kind expects a 5xx
    match kind:
        case "text":
            return Probe(kind, ok, chat_body(f"hello {index}", tools=distinct_tools(index)))
        case "calls":
            return Probe(kind, ok, chat_body(plan_text(f"op{index}_0", {"q": str(index)}), tools=distinct_tools(index)))
        case "stream":
            body = chat_body(plan_text(f"op{index}_1", {"q": "s"}), tools=distinct_tools(index), stream=True)
            return Probe(kind, ok, body, stream=True)
        case "compound":
            return Probe(kind, ok, chat_body(plan_text("calculate", {"expression": f"{index} * 3"}), "f1-compound"))
        case "hang_up_stream":
            return Probe(kind, ok, chat_body(SLOW, tools=distinct_tools(index), stream=True), stream=True, hang_up=True)
        case "hang_up_whole":
            return Probe(kind, frozenset({"cancelled"}), chat_body(SLOW, tools=distinct_tools(index)), hang_up=True)
        case "bad_json":
            return Probe(kind, frozenset({400}), b'{"model": "f1", "messages": [')
        case "deep_nesting":
            return Probe(kind, frozenset({400}), b'{"model": "f1", "messages": ' + b"[" * 10_000 + b"]" * 10_000 + b"}")
        case "not_json":
            return Probe(kind, frozenset({415}), chat_body("hi"), headers={**AUTH, "Content-Type": "text/plain"})
        case "no_key":
            return Probe(kind, frozenset({401}), chat_body("hi"), headers={"Content-Type": "application/json"})
        case "foreign_origin":
            return Probe(kind, frozenset({403}), chat_body("hi"), headers={**JSON, "Origin": "https://evil.example"})
        case "unknown_model":
            return Probe(kind, frozenset({404}), chat_body("hi", model=f"gpt-{index}"))
        case "wrong_method":
            return Probe(kind, frozenset({405}), method="GET")
        case "too_large":
            return Probe(kind, frozenset({413}), chat_body("x" * MAX_BODY))
        case "bad_schema":
            broken = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": 7}}}}}
            return Probe(kind, frozenset({400}), chat_body("hi", tools=[broken]))
        case "remote_ref":
            ref = {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/schema.json"}}}
            remote = {"type": "function", "function": {"name": "f", "parameters": ref}}
            return Probe(kind, frozenset({400}), chat_body(plan_text("f", {"a": 1}), tools=[remote]))
        case "regex_bomb":
            return Probe(kind, frozenset({200, 400}), chat_body(plan_text("match", {"text": "a" * 32 + "!"}), tools=[REGEX_BOMB]))
        case "calculator_bomb":
            bomb = plan_text("calculate", {"expression": "round(1, -10**7)"})
            return Probe(kind, ok, chat_body(bomb, "f1-compound"))
        case "many_tools":  # two tool sets in the warm-up, a new one under load, then the first again
            return Probe(kind, ok, chat_body("which tool handles gears?", tools=many_tools(f"set{occurrence % 3}")))
    raise AssertionError(kind)


MIX = {  # requests of each kind among the 2,000
    "text": 479, "calls": 300, "stream": 250, "compound": 150, "hang_up_stream": 100, "hang_up_whole": 100,
    "bad_json": 60, "deep_nesting": 40, "not_json": 60, "no_key": 60, "foreign_origin": 60, "unknown_model": 60,
    "wrong_method": 40, "too_large": 40, "bad_schema": 60, "remote_ref": 40, "regex_bomb": 48, "calculator_bomb": 48,
    "many_tools": 5,
}  # fmt: skip
WARM_UP_FIRST = [*MIX, "many_tools"]  # every kind, and a second 1,000-tool set: memory is measured after these


def soak_probes() -> list[Probe]:
    """The 2,000 requests, in a fixed shuffled order that starts with WARM_UP_FIRST."""
    kinds = list((Counter(MIX) - Counter(WARM_UP_FIRST)).elements())
    random.Random(15).shuffle(kinds)
    occurrences: Counter[str] = Counter()
    probes = []
    for index, kind in enumerate([*WARM_UP_FIRST, *kinds]):
        probes.append(probe(kind, index, occurrences[kind]))
        occurrences[kind] += 1
    return probes


async def outcome(client: httpx.AsyncClient, probe: Probe) -> int | str:
    """The status the probe got, or what went wrong with an answer that has one."""
    if probe.stream:
        async with client.stream(probe.method, probe.path, content=probe.body, headers=probe.headers) as response:
            lines = []
            async for line in response.aiter_lines():
                if probe.hang_up:
                    break  # the role chunk came: hang up mid-stream
                if line:
                    lines.append(line)
        if not probe.hang_up and response.status_code == 200 and lines[-1:] != ["data: [DONE]"]:
            return f"stream without [DONE]: {lines[-1:]}"
        return response.status_code
    try:
        timeout = httpx.Timeout(300, read=0.5 if probe.hang_up else 300)  # a hang-up: no answer within 0.5 s
        response = await client.request(probe.method, probe.path, content=probe.body, headers=probe.headers, timeout=timeout)
    except httpx.ReadTimeout:
        return "cancelled" if probe.hang_up else "timed out"
    shape = ChatCompletion if response.status_code == 200 else ErrorResponse
    try:
        shape.model_validate_json(response.content)
    except ValueError:
        return f"{response.status_code} with a malformed body: {response.text[:200]}"
    return response.status_code


async def run_probes(url: str, probes: Sequence[Probe]) -> list[int | str]:
    """Send `probes` with CONCURRENCY clients at once; their outcomes, in order."""
    results: list[int | str] = ["not sent"] * len(probes)
    pending = iter(enumerate(probes))
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300) as client:

        async def worker() -> None:
            for index, item in pending:
                results[index] = await outcome(client, item)

        async with anyio.create_task_group() as group:
            for _ in range(CONCURRENCY):
                group.start_soon(worker)
    return results


class HealthTimer:
    """Times GET /health every 10 ms on its own thread and connection while the block runs (milliseconds)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-timer", daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self._stop.wait(0.01):
                started = time.perf_counter()
                assert client.get("/health").status_code == 200
                self.times.append((time.perf_counter() - started) * 1000)

    def __enter__(self) -> HealthTimer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_mb(pid: int) -> float:
    """The resident memory of process `pid` (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_soak_of_mixed_valid_invalid_cancelled_and_hostile_requests(tmp_path: Path) -> None:
    probes = soak_probes()
    assert len(probes) == REQUESTS
    log = tmp_path / "server.log"
    with serve_in_process(partial(build_app, str(log))) as (url, pid):
        warm = anyio.run(run_probes, url, probes[:WARM_UP])
        before = rss_mb(pid)
        with HealthTimer(url) as health:
            started = time.perf_counter()
            rest = anyio.run(run_probes, url, probes[WARM_UP:])
            seconds = time.perf_counter() - started
        after = rss_mb(pid)
        hung_up = sum(item.hang_up for item in probes)
        wait_for(lambda: log.read_text().count(DISCONNECTED) >= hung_up, 30)
        cancellations = log.read_text().count(DISCONNECTED)
    results = zip(probes, [*warm, *rest], strict=True)
    unexpected = Counter((item.kind, result) for item, result in results if result not in item.expected)
    report = (
        f"{len(probes)} requests, {len(rest)} after warm-up in {seconds:.1f} s; /health p50 {health.percentile(0.5):.1f} "
        f"p99 {health.percentile(0.99):.1f} max {max(health.times):.1f} ms over {len(health.times)}; "
        f"RSS {before:.0f} -> {after:.0f} MB; requests cancelled on hang-up {cancellations}/{hung_up}"
    )
    print(report)
    assert not unexpected, f"unexpected outcomes {dict(unexpected)}; {report}"
    assert cancellations == hung_up, f"the server cancels exactly the requests whose client hung up; {report}"
    assert health.percentile(0.99) <= HEALTH_P99_MS, report
    assert after - before <= RSS_GROWTH_MB, report
