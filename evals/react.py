"""A ReAct loop on the planner's own model, in the model's native tool-call format: LLMCompiler's latency baseline.

Each turn the model sees the conversation with the tools as its chat template renders them (`tools=`; Qwen2.5's
``<tools>`` block) and either calls one tool in its own call syntax (``<tool_call>{"name": ..., "arguments": ...}
</tool_call>``, or a bare ``{"name": ..., "parameters": ...}`` object as Llama 3 writes it) or answers in text. The
call runs, and its result goes back as a `tool` message. The loop ends when the model answers; when it repeats a
call it already made, or after `max_turns` turns that called a tool, the model gets one last turn without tools to
answer from what it has found. Every call waits for the model's next turn, so independent look-ups run one after another.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from f1.planner.backends.base import ModelBackend
from f1.planner.messages import ChatMessage, ToolCall
from f1.tools import Tool, ToolRegistry, ToolSpec
from evals.core import EvalError

INSTRUCTIONS = "Look up what you need with the tools, one call at a time, then answer the question briefly."
FINAL_REQUEST = "Answer the question now, briefly, from what you have found."
_TAGGED_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)


@dataclass(frozen=True)
class Turn:
    """One model turn: its text and what it cost in tokens."""

    text: str
    prompt_tokens: int
    completion_tokens: int


class ToolChat(Protocol):
    """A model that takes turns in a conversation with tools (None: no tools offered)."""

    async def turn(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None) -> Turn: ...


@dataclass
class ReactRun:
    """What the loop did: its answer, the calls it made, why it stopped, its tokens and its wall time."""

    answer: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    stop: str = "answered"  # or "repeated call" / "turn budget": the model then answered without tools
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def parse_call(text: str) -> tuple[str, dict[str, Any]] | None:
    """The first tool call in a reply, in the native syntax of Qwen/Hermes (``<tool_call>`` tags) or Llama 3 (a
    JSON object with `name` and `parameters`/`arguments`); None for a reply that calls nothing (an answer)."""
    tagged = _TAGGED_CALL.search(text)
    candidate = tagged.group(1) if tagged else text.strip()
    if not candidate.startswith("{"):
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(candidate)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):  # some models write the arguments as a JSON string
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            return value["name"], {"arguments": arguments}
    return value["name"], arguments if isinstance(arguments, dict) else {"arguments": arguments}


async def call_tool(tool: Tool, args: dict[str, Any]) -> Any:
    """Run a tool, in a worker thread when it is synchronous."""
    if tool.is_async:
        return await tool(**args)
    return await anyio.to_thread.run_sync(lambda: tool(**args))


class ReactAgent:
    """The loop: model turn -> one tool call -> observation, until the model answers (see the module docstring)."""

    def __init__(self, chat: ToolChat, tools: ToolRegistry, *, max_turns: int = 8) -> None:
        self.chat, self.tools, self.max_turns = chat, tools, max_turns

    async def run(self, question: str) -> ReactRun:
        started = time.perf_counter()
        specs = [tool.spec for tool in self.tools.values()]
        messages = [ChatMessage(role="system", content=INSTRUCTIONS), ChatMessage(role="user", content=question)]
        run = ReactRun(answer="", stop="turn budget")
        for _ in range(self.max_turns):
            turn = await self._turn(run, messages, specs)
            call = parse_call(turn.text)
            if call is None:
                run.answer, run.stop = turn.text.strip(), "answered"
                break
            if call in run.calls:
                run.stop = "repeated call"
                break
            messages += await self._act(run, call, len(messages))
        if run.stop != "answered":
            final = await self._turn(run, [*messages, ChatMessage(role="user", content=FINAL_REQUEST)], None)
            run.answer = _TAGGED_CALL.sub("", final.text).strip()
        run.seconds = time.perf_counter() - started
        return run

    async def _turn(self, run: ReactRun, messages: Sequence[ChatMessage], specs: Sequence[ToolSpec] | None) -> Turn:
        turn = await self.chat.turn(messages, specs)
        run.prompt_tokens += turn.prompt_tokens
        run.completion_tokens += turn.completion_tokens
        return turn

    async def _act(self, run: ReactRun, call: tuple[str, dict[str, Any]], number: int) -> list[ChatMessage]:
        """Run the call (an unknown tool or bad arguments is an observation for the model, as in ReAct)."""
        name, args = call
        call_id = f"call_{number}"
        if name not in self.tools:
            observation = f"Error: unknown tool {name!r}; tools: {', '.join(self.tools)}"
        else:
            run.calls.append(call)
            try:
                observation = json.dumps(await call_tool(self.tools[name], args), default=str)
            except Exception as exc:  # a failing tool is an observation for the model, as in ReAct
                observation = f"Error: {type(exc).__name__}: {exc}"
        return [
            ChatMessage(role="assistant", tool_calls=[ToolCall(id=call_id, name=name, arguments=args)]),
            ChatMessage(role="tool", content=observation, tool_call_id=call_id, name=name),
        ]


class TemplateChat:
    """Turns of a local model (`LocalModel`) prompted through its own chat template with `tools=`; generation as
    the planner's (same model lock, same prefix cache), without a grammar."""

    def __init__(self, model: Any, *, max_tokens: int = 256) -> None:
        self.model, self.max_tokens = model, max_tokens

    async def turn(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None) -> Turn:
        from f1.decoding.generate import GenerationStats, generate
        from f1.planner.backends.local import model_lock, prefix_cache

        loaded = await self.model.loaded()
        ids = template_ids(loaded.tokenizer, messages, tools)
        stats = GenerationStats()

        def complete() -> str:
            deltas = generate(
                loaded.model,
                loaded.tokenizer,
                ids,
                grammar=None,
                engine=self.model.engine,
                max_new_tokens=self.max_tokens,
                stats=stats,
                prefix_cache=prefix_cache(loaded),
            )
            return "".join(delta.text for delta in deltas)

        async with model_lock(loaded):
            text = await anyio.to_thread.run_sync(complete)
        return Turn(text, len(ids), stats.tokens)


def template_ids(tokenizer: Any, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None) -> list[int]:
    """The prompt's token ids, the tools rendered by the chat template itself; an `EvalError` for a template that
    has no tool format."""
    from f1.planner.backends.local import chat_dicts

    template = tokenizer.chat_template or ""
    if "tools" not in template or "tool_call" not in template:
        raise EvalError("the model's chat template has no tool-call format: the ReAct baseline needs one")
    text = tokenizer.apply_chat_template(
        chat_dicts(messages, tool_role=True),
        tools=[spec.to_openai() for spec in tools] if tools else None,
        add_generation_prompt=True,
        tokenize=False,
    )
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


class PromptedChat:
    """Turns of a backend without a chat template here (a remote server, a scripted model): the tools are listed in
    the system message, with the ``<tool_call>`` syntax Qwen's template asks for."""

    def __init__(self, backend: ModelBackend, *, max_tokens: int = 256) -> None:
        self.backend, self.max_tokens = backend, max_tokens

    async def turn(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None) -> Turn:
        prompt = list(messages)
        if tools:
            listing = "\n".join(json.dumps(spec.to_openai()) for spec in tools)
            note = (
                f"\n\nTools (JSON signatures):\n{listing}\n\nTo call one, reply with "
                '<tool_call>{"name": <tool name>, "arguments": {<arguments>}}</tool_call>'
            )
            head, rest = (prompt[0].content, prompt[1:]) if prompt and prompt[0].role == "system" else ("", prompt)
            prompt = [ChatMessage(role="system", content=(head + note).strip()), *rest]
        text, prompt_tokens, completion_tokens = "", 0, 0
        async for chunk in self.backend.stream(prompt, max_tokens=self.max_tokens):
            text += chunk.text
            prompt_tokens += chunk.prompt_tokens
            completion_tokens += chunk.completion_tokens
        return Turn(text, prompt_tokens, completion_tokens)


def chat_for(backend: ModelBackend, *, max_tokens: int = 256) -> ToolChat:
    """The native-format chat of a backend: a local model's own template, else tools listed in the prompt."""
    from f1.planner.backends.local import LocalModel

    if isinstance(backend, LocalModel):
        return TemplateChat(backend, max_tokens=max_tokens)
    return PromptedChat(backend, max_tokens=max_tokens)


def native_call(name: str, args: dict[str, Any]) -> str:
    """A reply calling `name` in the ``<tool_call>`` syntax (for scripted models)."""
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": args}) + "\n</tool_call>"

