"""A remote OpenAI-compatible server (vLLM, SGLang, Fireworks, OpenAI): streamed chat completions over httpx,
constrained by structured outputs (the grammar's JSON schema) where the grammar has one."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from anyio.lowlevel import RunVar

from f1.errors import ModelError, UpstreamError
from f1.planner.backends.base import Chunk, ModelBackend
from f1.planner.messages import ChatMessage

if TYPE_CHECKING:
    import httpx

    from f1.decoding.grammar import Grammar

_SSE_FIELDS = ("data:", "event:", "id:", "retry:", ":")


def openai_message(message: ChatMessage) -> dict[str, Any]:
    """A message in the OpenAI chat.completions shape."""
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [call.to_openai() for call in message.tool_calls]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    return out


def response_format(grammar: Grammar | None) -> dict[str, Any] | None:
    """Structured outputs for a grammar with a JSON schema; None for grammars without one."""
    if grammar is None or grammar.json_schema is None:
        return None
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", grammar.name)[:64] or "output"
    # Not strict: OpenAI's strict mode demands every property be required; the output is re-validated locally.
    return {"type": "json_schema", "json_schema": {"name": name, "schema": grammar.json_schema, "strict": False}}


class RemoteModel(ModelBackend):
    """Chat completions from `base_url` (e.g. "http://localhost:8000/v1") for `model`, streamed over one httpx
    client that keeps its connections (one per event loop: a connection cannot cross loops); `aclose` closes it."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = model
        self.api_key = api_key
        self.timeout = timeout
        self.transport = transport
        self._client: RunVar[httpx.AsyncClient | None] = RunVar(f"f1-remote-{id(self)}", default=None)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        grammar: Grammar | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
    ) -> AsyncIterator[Chunk]:
        body: dict[str, Any] = {
            "model": self.name,
            "messages": [openai_message(m) for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if (fmt := response_format(grammar)) is not None:
            body["response_format"] = fmt
        url = f"{self.base_url}/chat/completions"
        import httpx  # here: importing it takes a tenth of a second that only remote models need

        try:
            async with self.client().stream("POST", url, json=body) as response:
                if response.status_code >= 400:
                    text = (await response.aread()).decode(errors="replace")
                    raise UpstreamError(f"{url}: HTTP {response.status_code}", text)
                async for chunk in _chunks(url, response):
                    yield chunk
        except httpx.TimeoutException as exc:
            raise ModelError(f"{url}: no answer within {self.timeout:g} s ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise ModelError(f"{url}: {type(exc).__name__}: {exc}") from exc

    def client(self) -> httpx.AsyncClient:
        """This event loop's client, opened on first use."""
        client = self._client.get()
        if client is None:
            import httpx

            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            client = httpx.AsyncClient(timeout=self.timeout, transport=self.transport, headers=headers)
            self._client.set(client)
        return client

    async def aclose(self) -> None:
        client = self._client.get()
        if client is not None:
            self._client.set(None)
            await client.aclose()


async def _chunks(url: str, response: httpx.Response) -> AsyncIterator[Chunk]:
    """Parse an SSE stream of chat.completion.chunk events; the last chunk carries the usage."""
    events = deltas = 0
    usage: dict[str, Any] | None = None
    async for line in response.aiter_lines():
        if not line.strip():
            continue
        if not line.startswith(_SSE_FIELDS):
            raise UpstreamError(f"{url}: HTTP {response.status_code}: not an event stream", line)
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            event = json.loads(data)
        except ValueError:
            raise UpstreamError(f"{url}: HTTP {response.status_code}: event is not JSON", data) from None
        if not isinstance(event, dict):
            raise UpstreamError(f"{url}: HTTP {response.status_code}: event is not an object", data)
        if "error" in event:
            raise UpstreamError(f"{url}: server error", json.dumps(event["error"]))
        events += 1
        usage = event.get("usage") or usage
        for choice in event.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                deltas += 1
                yield Chunk(text)
    if not events:
        raise ModelError(f"{url}: HTTP {response.status_code}: the stream held no events")
    if usage:
        completion, prompt = int(usage.get("completion_tokens", 0)), int(usage.get("prompt_tokens", 0))
        yield Chunk("", completion_tokens=completion, prompt_tokens=prompt)
    else:  # a server that does not report usage: count content deltas
        yield Chunk("", completion_tokens=deltas)
