"""A local transformers model: the chat template, then the constrained generation loop in a worker thread."""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from f1.decoding.generate import GenerationStats, PrefixCache, generate
from f1.planner.backends.base import Chunk
from f1.planner.messages import ChatMessage
from f1.planner.weights import LoadedModel, check_spec, load_model

if TYPE_CHECKING:
    from f1.decoding.grammar import Grammar

_FALLBACK_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)
_locks: dict[Path, anyio.Semaphore] = {}
_prefix_caches: dict[Path, PrefixCache] = {}


def model_lock(loaded: LoadedModel) -> anyio.Semaphore:
    """The lock that serialises generation on one loaded model (one forward at a time, across backends): a
    FIFO semaphore of one, since an abandoned stream is closed by another task than the one that opened it."""
    return _locks.setdefault(loaded.path, anyio.Semaphore(1))


def prefix_cache(loaded: LoadedModel) -> PrefixCache:
    """The KV prefix cache of one loaded model (used under `model_lock`, so one generation at a time)."""
    return _prefix_caches.setdefault(loaded.path, PrefixCache())


def chat_dicts(messages: Sequence[ChatMessage], *, tool_role: bool) -> list[dict[str, Any]]:
    """Messages as chat-template dicts. Templates without a `tool` role get tool results as user turns and
    assistant tool calls as JSON text."""
    out: list[dict[str, Any]] = []
    for message in messages:
        calls = [
            {"type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in message.tool_calls
        ]
        if tool_role:
            entry: dict[str, Any] = {"role": message.role, "content": message.content}
            if calls:
                entry["tool_calls"] = calls
            if message.role == "tool" and message.name:
                entry["name"] = message.name
            out.append(entry)
        elif message.role == "tool":
            source = message.name or message.tool_call_id or "tool"
            out.append({"role": "user", "content": f"Result of {source}: {message.content}"})
        else:
            text = "\n".join([message.content, *(json.dumps(c["function"]) for c in calls)]).strip()
            out.append({"role": message.role, "content": text})
    return out


def prompt_ids(tokenizer: Any, messages: Sequence[ChatMessage]) -> list[int]:
    """Token ids of the chat prompt, ending with the assistant's turn."""
    template = tokenizer.chat_template or _FALLBACK_TEMPLATE
    dicts = chat_dicts(messages, tool_role="'tool'" in template or '"tool"' in template)
    text = tokenizer.apply_chat_template(dicts, chat_template=template, add_generation_prompt=True, tokenize=False)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


class LocalModel:
    """A transformers model from `weights.load_model(spec)`, decoding with the `engine` grammar engine.

    A bad spec fails here; the model loads on first use, once per process. Generations on one model run one at
    a time.
    """

    def __init__(self, spec: str = "default", *, engine: str = "llguidance") -> None:
        self.spec = spec
        self.engine = engine
        self.name = check_spec(spec)

    async def loaded(self) -> LoadedModel:
        """The loaded model (loading it in a worker thread on first use)."""
        return await anyio.to_thread.run_sync(load_model, self.spec)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        grammar: Grammar | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
    ) -> AsyncIterator[Chunk]:
        loaded = await self.loaded()
        send, receive = anyio.create_memory_object_stream[Chunk | BaseException](math.inf)
        stop = threading.Event()
        token = anyio.lowlevel.current_token()

        def deliver(item: Chunk | BaseException) -> None:
            if stop.is_set():
                return
            try:
                anyio.from_thread.run_sync(send.send_nowait, item, token=token)
            except (anyio.RunFinishedError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                stop.set()  # nobody is listening any more

        def produce() -> None:
            try:
                ids = prompt_ids(loaded.tokenizer, messages)
                stats = GenerationStats()
                deltas = generate(
                    loaded.model,
                    loaded.tokenizer,
                    ids,
                    grammar=grammar,
                    engine=self.engine,
                    max_new_tokens=max_tokens,
                    temperature=temperature,
                    stats=stats,
                    prefix_cache=prefix_cache(loaded),
                )
                reported, prompt = 0, len(ids)
                try:
                    for delta in deltas:
                        if stop.is_set():
                            return
                        used = stats.tokens - reported
                        deliver(Chunk(delta.text, completion_tokens=used, prompt_tokens=prompt, logprob=delta.logprob))
                        reported, prompt = stats.tokens, 0
                finally:
                    deltas.close()
                if stats.tokens > reported or prompt:
                    deliver(Chunk("", completion_tokens=stats.tokens - reported, prompt_tokens=prompt))
            except BaseException as exc:  # handed to the consumer, which raises it
                deliver(exc)
            finally:
                with contextlib.suppress(anyio.RunFinishedError):
                    anyio.from_thread.run_sync(send.close, token=token)

        async with model_lock(loaded):
            worker = threading.Thread(target=produce, name=f"f1-generate-{self.name}", daemon=True)
            worker.start()
            try:
                async for item in receive:
                    if isinstance(item, BaseException):
                        raise item
                    yield item
            finally:
                stop.set()  # the worker stops before its next token
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(worker.join)
                receive.close()
