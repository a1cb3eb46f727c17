"""The plain model as people use it without f1: the two baselines of `f1 eval --baseline`.

- **baseline-native** (`NativeBaseline`): the model's own chat template rendered with `tools=` (the functions as
  OpenAI tools; Qwen2.5's template lists them in a ``<tools>`` block) and its native tool-call output parsed: every
  ``<tool_call>{"name": ..., "arguments": ...}</tool_call>`` block of a reply is one call (several: parallel calls),
  a reply without one is a text answer (no call). Backends without a chat template here (a remote server, a scripted
  model) get the tools listed in the system message with the same call syntax (`evals.react.chat_for`).
- **baseline-json** (`JsonBaseline`): every function shown as its full JSON schema in one system message, and a
  JSON array ``[{"name": ..., "arguments": {...}}]`` asked for, ``[]`` for no call. A reply that holds no such JSON
  does not decode.

Both decode greedily without a grammar, with the engine's token budget for a plan (`EngineConfig.max_plan_tokens`),
and get no repair round (the engine's grammar needs none, so neither side gets one). A `Reply` keeps what the
output decodes to even where the model named a function nobody offered or broke a schema: the benchmark scores the
decoded calls as its own scripts would, and `check_calls` says whether they fit (format validity).

Suites offer the baselines through `predict_plain(baseline, item)` (BFCL: single-turn and multi-turn). Suites that
plan only through `evals.engine_adapter.plan_with` (Seal-Tools, NESTFUL) get them through `PlainFactory`, which
stands in for the `EngineFactory` that `plan_with` plans with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from evals.core import EvalError, Item, Prediction, Suite
from evals.react import ToolChat, chat_for, parse_call
from f1.errors import F1Error
from f1.plan import Plan, Step, validate_args
from f1.planner import ChatMessage, ModelBackend, ToolCall
from f1.tools import ToolSpec

if TYPE_CHECKING:
    from evals.engine_adapter import EngineFactory

NATIVE, JSON = "native", "json"
STYLES = (NATIVE, JSON)
TAG = "<tool_call>"
_FENCE = re.compile(r"```[A-Za-z]*\s*(.*?)\s*(?:```|$)", re.DOTALL)

Call = tuple[str, dict[str, Any]]

JSON_INSTRUCTIONS = (
    "You are an expert in composing functions. You are given a question and a set of possible functions. Based on "
    "the question, make one or more function calls to achieve the purpose. If none of the functions can be used, or "
    "the question lacks the parameters a function requires, call no function.\n\n"
    "Reply with a JSON array of the function calls and nothing else:\n"
    '[{"name": "<function name>", "arguments": {"<parameter name>": <value>, ...}}, ...]\n'
    "Reply with [] to call no function."
)
JSON_MULTI_TURN = (
    "At each turn, try your best to complete the tasks the user asks for within the current turn. Keep replying with "
    "function calls until you have fulfilled the request; their results come back to you. When you have no more "
    "functions to call, reply with []."
)


def baseline_name(style: str) -> str:
    return f"baseline-{style}"


@dataclass(frozen=True)
class Reply:
    """One model reply: its text, the calls it decodes to, and whether all of it decoded (`decoded`; `error` says
    what did not). A text answer (native) or ``[]`` (JSON) decodes to no calls."""

    text: str
    calls: list[Call]
    decoded: bool
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def plan(self) -> Plan:
        """The calls as a plan's steps, in order (values as the model wrote them: no references)."""
        return Plan(steps=[Step(id=number, tool=name, args=args) for number, (name, args) in enumerate(self.calls, 1)])


def parse_calls(text: str) -> tuple[list[Call], str | None]:
    """Every tool call of a reply in the model's native syntax (`evals.react.parse_call` on each ``<tool_call>``
    block; without a block, the bare JSON call parse_call also reads), and an error naming the blocks that do not
    decode (their calls are left out, as BFCL's Qwen handler leaves them out). No block and no bare call: a text
    answer, no calls and no error."""
    blocks = text.split(TAG)[1:]
    if not blocks:
        call = _named(parse_call(text))
        return ([] if call is None else [call]), None
    calls: list[Call] = []
    broken: list[int] = []
    for number, block in enumerate(blocks, 1):
        call = _named(parse_call(TAG + block))
        if call is None:
            broken.append(number)
        else:
            calls.append(call)
    if broken:
        return calls, f"tool-call block {', '.join(map(str, broken))} of {len(blocks)} does not decode"
    return calls, None


def parse_json_calls(text: str) -> tuple[list[Call], str | None]:
    """The calls of a JSON-array reply (a Markdown code fence around it is allowed, and a single call object
    stands for an array of one): all of them, or none and an error when the reply holds no JSON array of calls."""
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    starts = [index for index in (body.find("["), body.find("{")) if index >= 0]
    if not starts:
        return [], "no JSON array in the reply"
    try:
        value, _ = json.JSONDecoder().raw_decode(body[min(starts) :])
    except json.JSONDecodeError as exc:
        return [], f"not JSON: {exc.msg}"
    entries = value if isinstance(value, list) else [value]
    calls: list[Call] = []
    for number, entry in enumerate(entries, 1):
        call = _named(parse_call(json.dumps(entry))) if isinstance(entry, dict) else None  # arguments/parameters
        if call is None:
            return [], f"entry {number} of the JSON reply is not a call (an object with a name and arguments)"
        calls.append(call)
    return calls, None


def _named(call: Call | None) -> Call | None:
    """A call that names a function (an empty name is no call)."""
    return call if call is not None and call[0].strip() else None


def check_calls(calls: Sequence[Call], specs: Sequence[ToolSpec]) -> str | None:
    """Why the calls do not fit the offered functions (an unknown name, arguments that break the schema), or None.
    Values are checked as written: a string like "$1" is a value here, not a reference."""
    offered = {spec.name: spec for spec in specs}
    for name, args in calls:
        if name not in offered:
            return f"unknown function {name!r}"
        try:
            validate_args(name, args, offered[name].parameters, allow_refs=False)
        except F1Error as exc:
            return f"schema: {exc}"
    return None


class NativeBaseline:
    """The chat template with `tools=`, native tool calls parsed (`baseline-native`)."""

    name = baseline_name(NATIVE)

    def __init__(self, model: ModelBackend, *, max_tokens: int, chat: ToolChat | None = None) -> None:
        self.chat = chat if chat is not None else chat_for(model, max_tokens=max_tokens)

    async def reply(
        self, messages: Sequence[ChatMessage], specs: Sequence[ToolSpec], *, multi_turn: bool = False
    ) -> Reply:
        turn = await self.chat.turn(list(messages), list(specs) or None)
        calls, error = parse_calls(turn.text)
        return Reply(turn.text, calls, error is None, error, turn.prompt_tokens, turn.completion_tokens)

    def record(self, reply: Reply, results: Sequence[str], *, number: int) -> list[ChatMessage]:
        """The reply and its calls' results as the next round's history: an assistant message with the calls as
        `tool_calls` (the template writes them back as ``<tool_call>`` blocks) and one `tool` message per result;
        a text answer as itself."""
        if not reply.calls:
            return [ChatMessage(role="assistant", content=reply.text)]
        calls = [
            ToolCall(id=f"call_{number}_{index}", name=name, arguments=args)
            for index, (name, args) in enumerate(reply.calls)
        ]
        return [ChatMessage(role="assistant", tool_calls=calls), *_tool_messages(calls, results)]


class JsonBaseline:
    """Full JSON schemas in one system message, a JSON array of calls asked for (`baseline-json`)."""

    name = baseline_name(JSON)

    def __init__(self, model: ModelBackend, *, max_tokens: int) -> None:
        self.model, self.max_tokens = model, max_tokens

    async def reply(
        self, messages: Sequence[ChatMessage], specs: Sequence[ToolSpec], *, multi_turn: bool = False
    ) -> Reply:
        text, prompt_tokens, completion_tokens = "", 0, 0
        async for chunk in self.model.stream(
            self.prompt(messages, specs, multi_turn=multi_turn), max_tokens=self.max_tokens, temperature=0.0
        ):
            text += chunk.text
            prompt_tokens += chunk.prompt_tokens
            completion_tokens += chunk.completion_tokens
        calls, error = parse_json_calls(text)
        return Reply(text, calls, error is None, error, prompt_tokens, completion_tokens)

    @staticmethod
    def prompt(
        messages: Sequence[ChatMessage], specs: Sequence[ToolSpec], *, multi_turn: bool = False
    ) -> list[ChatMessage]:
        """The conversation behind one system message: the instructions and every function's JSON schema (a system
        message of the conversation's own follows them)."""
        schemas = "\n".join(json.dumps(spec.to_openai()["function"], ensure_ascii=False) for spec in specs)
        parts = [
            JSON_INSTRUCTIONS,
            *([JSON_MULTI_TURN] if multi_turn else []),
            f"The functions, as JSON schemas:\n{schemas}",
        ]
        rest = list(messages)
        if rest and rest[0].role == "system":
            parts.append(rest.pop(0).content)
        return [ChatMessage(role="system", content="\n\n".join(part for part in parts if part)), *rest]

    def record(self, reply: Reply, results: Sequence[str], *, number: int) -> list[ChatMessage]:
        """The reply as the model wrote it, then one `tool` message per call's result."""
        calls = [
            ToolCall(id=f"call_{number}_{index}", name=name, arguments=args)
            for index, (name, args) in enumerate(reply.calls)
        ]
        return [ChatMessage(role="assistant", content=reply.text), *_tool_messages(calls, results)]


Baseline = NativeBaseline | JsonBaseline


def _tool_messages(calls: Sequence[ToolCall], results: Sequence[str]) -> list[ChatMessage]:
    return [
        ChatMessage(role="tool", content=result, tool_call_id=call.id, name=call.name)
        for call, result in zip(calls, results, strict=True)
    ]


def make_baseline(style: str, model: ModelBackend, *, max_tokens: int) -> Baseline:
    if style == NATIVE:
        return NativeBaseline(model, max_tokens=max_tokens)
    if style == JSON:
        return JsonBaseline(model, max_tokens=max_tokens)
    raise EvalError(f"unknown baseline {style!r}; baselines: {', '.join(STYLES)}")


def baseline_styles(choice: bool | str | None) -> list[str]:
    """The baselines `--baseline` asks for: none (False/None), both (True, "both"), or "native" / "json"."""
    if choice is None or choice is False:
        return []
    if choice is True or choice == "both":
        return list(STYLES)
    if choice in STYLES:
        return [str(choice)]
    raise EvalError(f"--baseline takes native, json or both, not {choice!r}")


def plain_prediction(reply: Reply, specs: Sequence[ToolSpec]) -> Prediction:
    """A single-shot reply as a prediction: the calls it decodes to as a plan (None when nothing decodes and it is
    not an answer), `format_valid` when all of it decoded and every call fits an offered function."""
    misfit = check_calls(reply.calls, specs)
    plan = reply.plan() if reply.decoded or reply.calls else None
    return Prediction(
        plan=plan,
        format_valid=reply.decoded and misfit is None,
        error=reply.error or misfit,
        details=reply_details([reply]),
    )


def reply_details(replies: Sequence[Reply]) -> dict[str, Any]:
    """What a prediction keeps of its replies: whether all decoded, the texts (for reading failures) and tokens."""
    return {
        "parsed": all(reply.decoded for reply in replies),
        "replies": [reply.text for reply in replies],
        "prompt_tokens": sum(reply.prompt_tokens for reply in replies),
        "completion_tokens": sum(reply.completion_tokens for reply in replies),
    }


class PlainFactory:
    """Stands in for an `EngineFactory` where a suite plans only through `evals.engine_adapter.plan_with`
    (Seal-Tools, NESTFUL): `planner().aplan(messages, tools=...)` is the baseline's reply as a plan. A reply that
    does not all decode, or whose calls do not fit, raises an `F1Error`, and `backend.last_text` then holds the
    calls that did decode as plan JSON, so that `plan_with` scores them (its `loose_plan`) and reports the error,
    as it does for any output the engine refuses."""

    def __init__(self, baseline: Baseline) -> None:
        self.baseline = baseline
        self.backend = _LastText()
        self.replies: list[Reply] = []
        self.problems: list[str] = []

    def planner(self) -> PlainFactory:
        return self

    async def aplan(self, messages: Sequence[ChatMessage], *, tools: Sequence[ToolSpec] = (), **_: Any) -> Plan:
        reply = await self.baseline.reply(messages, tools)
        self.replies.append(reply)
        plan = reply.plan()
        self.backend.last_text = plan.to_json() if reply.calls else ""
        problem = reply.error or check_calls(reply.calls, tools)
        if problem is not None:
            self.problems.append(problem)
            raise F1Error(f"{self.baseline.name}: {problem}")
        return plan


class _LastText:
    last_text = ""


class BaselinePredictor:
    """One plain baseline on a suite's items: the suite's `predict_plain` where it has one, else its `predict`
    through a `PlainFactory`."""

    def __init__(self, suite: Suite, baseline: Baseline) -> None:
        self.suite, self.baseline = suite, baseline
        self.name = baseline.name

    async def predict(self, item: Item) -> Prediction:
        own = getattr(self.suite, "predict_plain", None)
        if own is not None:
            return await own(self.baseline, item)
        factory = PlainFactory(self.baseline)
        # The suite only hands the factory to `plan_with`, which uses `planner().aplan` and `backend.last_text`.
        prediction = await self.suite.predict(cast("EngineFactory", factory), item, constrained=False)
        update: dict[str, Any] = {"details": prediction.details | reply_details(factory.replies)}
        if factory.problems:  # the suite may check the decoded calls only against its whole catalogue
            update |= {"format_valid": False, "error": prediction.error or factory.problems[0]}
        return prediction.model_copy(update=update)
