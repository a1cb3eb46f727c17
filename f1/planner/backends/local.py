"""A local transformers model: the chat template, then the constrained generation loop in a worker thread."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from f1.decoding.generate import GenerationStats, PrefixCache, generate, prepare_vocabulary
from f1.decoding.prefix_store import DiskPrefixStore
from f1.planner.backends.base import Chunk, ModelBackend
from f1.planner.messages import ChatMessage
from f1.planner.numeric import choose_path
from f1.planner.weights import KNOWN_MODELS, LoadedModel, cache_root, check_spec, load_model, load_tokenizer

if TYPE_CHECKING:
    from f1.decoding.grammar import Grammar

_FALLBACK_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)
_locks: dict[str, anyio.Semaphore] = {}
_prefix_caches: dict[str, PrefixCache] = {}


def model_lock(loaded: LoadedModel) -> anyio.Semaphore:
    """The lock that serialises generation on one loaded model (one forward at a time, across backends): a
    FIFO semaphore of one, since an abandoned stream is closed by another task than the one that opened it."""
    return _locks.setdefault(loaded.key, anyio.Semaphore(1))


def prefix_cache(loaded: LoadedModel) -> PrefixCache:
    """The KV prefix cache of one loaded model (used under `model_lock`, so one generation at a time); on disk
    too where its runtime can rebuild a cache from arrays (`$F1_PREFIX_CACHE_DIR`, by default
    `<cache_root>/prefix`, at most `$F1_PREFIX_CACHE_MB` MiB, default 1024)."""
    if loaded.key not in _prefix_caches:
        store = None
        if hasattr(loaded.model, "cache_from_arrays"):
            key = f"{loaded.key}@{getattr(loaded.model, 'identity', '')}"
            root = Path(os.environ.get("F1_PREFIX_CACHE_DIR") or cache_root() / "prefix").expanduser()
            folder = root / hashlib.sha256(key.encode()).hexdigest()[:16]
            limit = int(os.environ.get("F1_PREFIX_CACHE_MB", "1024")) << 20
            store = DiskPrefixStore(folder, loaded.model, model_key=key, max_bytes=limit)
        _prefix_caches[loaded.key] = PrefixCache(store=store)
    return _prefix_caches[loaded.key]


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
            out.append({"role": "user", "content": message.result_text()})
        else:
            text = "\n".join([message.content, *(json.dumps(c["function"]) for c in calls)]).strip()
            out.append({"role": message.role, "content": text})
    return out


def prompt_ids(tokenizer: Any, messages: Sequence[ChatMessage], *, generation_prompt: bool = True) -> list[int]:
    """Token ids of the chat prompt, ending with the assistant's turn (unless `generation_prompt` is false)."""
    template = tokenizer.chat_template or _FALLBACK_TEMPLATE
    dicts = chat_dicts(messages, tool_role="'tool'" in template or '"tool"' in template)
    text = tokenizer.apply_chat_template(
        dicts, chat_template=template, add_generation_prompt=generation_prompt, tokenize=False
    )
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def stable_prefix(tokenizer: Any, messages: Sequence[ChatMessage], ids: Sequence[int]) -> int:
    """How many of the prompt's `ids` come before its last user message (instructions, tool list, few-shot
    turns, earlier turns: what the next request is likely to share); 0 when that is not a token prefix."""
    last_user = max((i for i, message in enumerate(messages) if message.role == "user"), default=0)
    if last_user == 0:
        return 0
    head = prompt_ids(tokenizer, messages[:last_user], generation_prompt=False)
    return len(head) if list(ids[: len(head)]) == head else 0


class LocalModel(ModelBackend):
    """A model from `weights.load_model(spec, numeric)` on its numeric path (`f1.planner.numeric`; by default the
    fastest this machine has), decoding with the `engine` grammar engine.

    A bad spec or path fails here; the model loads on first use, once per process. Generations on one model run
    one at a time.
    """

    def __init__(self, spec: str = "default", *, engine: str = "llguidance", numeric: str | None = None) -> None:
        self.spec = spec
        self.engine = engine
        self.name = check_spec(spec)
        self.numeric = choose_path(numeric, known_model=spec == "default" or spec in KNOWN_MODELS)

    async def load(self) -> None:
        await self.loaded()

    async def loaded(self) -> LoadedModel:
        """The loaded model (on first use loading it in a worker thread, and the tokenizer's vocabulary for the
        grammar engine in another, at once)."""
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.to_thread.run_sync, self._prepare_vocabulary)
            loaded = await anyio.to_thread.run_sync(load_model, self.spec, self.numeric)
        return loaded

    def _prepare_vocabulary(self) -> None:
        tokenizer, vocab_size = load_tokenizer(self.spec)
        prepare_vocabulary(tokenizer, vocab_size, self.engine)

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
                    stable_prefix=stable_prefix(loaded.tokenizer, messages, ids),
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
