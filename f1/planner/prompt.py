"""The planner's and joiner's prompts: our own plan instructions, rendered later by the model's chat template."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from f1.plan import Plan
from f1.planner.messages import ChatMessage
from f1.scheduler.trace import StepStatus, Trace
from f1.tools.spec import ToolSpec

PLAN_INSTRUCTIONS = """You plan tool calls for the user's latest request. Reply with JSON only:
{"steps":[{"id":1,"tool":"<tool name>","args":{...}}, ...]}
Rules:
- Call only the tools listed below, only as many times as the request needs, then close the list.
- Calls that don't depend on each other go in the same plan; they run in parallel.
- When an argument is the result of an earlier call, write "$<id>" (or "$<id>.<field>") instead of a value.
- Small talk, thanks, greetings, or questions no tool can answer: reply {"steps":[]}.

Tools:
"""

# Few-shot turns (with tools of their own): parallel calls, a chain of references, and no tool at all.
PLAN_EXAMPLES: tuple[tuple[str, str], ...] = (
    (
        "(example tools: stock_price(symbol), capital_of(country), population(city), sum(a, b)) Price of AAPL and MSFT?",
        '{"steps":[{"id":1,"tool":"stock_price","args":{"symbol":"AAPL"}},'
        '{"id":2,"tool":"stock_price","args":{"symbol":"MSFT"}}]}',
    ),
    (
        "(example tools as above) Population of the capital of France, plus 1000?",
        '{"steps":[{"id":1,"tool":"capital_of","args":{"country":"France"}},'
        '{"id":2,"tool":"population","args":{"city":"$1"}},{"id":3,"tool":"sum","args":{"a":"$2","b":1000}}]}',
    ),
    ("(example tools as above) Hi, nice to meet you!", '{"steps":[]}'),
)

ANSWER_INSTRUCTIONS = "Answer the user's latest request directly and briefly."

JOIN_INSTRUCTIONS = """You read tool results and decide. Reply with JSON only:
{"action":"finish","answer":"<the final answer for the user>"} when the results answer the request, or
{"action":"replan","reason":"<what is missing or went wrong>"} when more tool calls are needed."""

MAX_RESULT_CHARS = 2000


def describe_tool(spec: ToolSpec) -> str:
    """One line per tool: ``name(arg: type, opt?: type) - description``."""
    properties: dict[str, Any] = spec.parameters.get("properties", {})
    required = set(spec.required)
    args = ", ".join(f"{name}{'' if name in required else '?'}: {_type_of(prop)}" for name, prop in properties.items())
    fields = list((spec.result_schema or {}).get("properties", {}))
    returns = f" -> {{{', '.join(fields)}}}" if fields else ""
    return f"- {spec.name}({args}){returns} - {spec.description.strip()}".rstrip(" -")


def _type_of(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    if "enum" in schema:
        return "|".join(json.dumps(value) for value in schema["enum"])
    if "anyOf" in schema:
        return "|".join(_type_of(option) for option in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list[{_type_of(schema.get('items', {}))}]"
    if isinstance(kind, list):
        return "|".join(kind)
    return str(kind)


def plan_messages(
    history: Sequence[ChatMessage], tools: Sequence[ToolSpec], *, examples: Sequence[tuple[str, str]] = PLAN_EXAMPLES
) -> list[ChatMessage]:
    """The planner's input: instructions with the tool list, few-shot turns, then the conversation as plain turns."""
    system = PLAN_INSTRUCTIONS + "\n".join(describe_tool(spec) for spec in tools)
    shots = [
        ChatMessage(role=role, content=text)
        for request, plan in examples
        for role, text in (("user", request), ("assistant", plan))
    ]
    return [ChatMessage(role="system", content=system + _client_instructions(history)), *shots, *render_history(history)]


def answer_messages(history: Sequence[ChatMessage]) -> list[ChatMessage]:
    """Input for a direct answer without tools."""
    system = ANSWER_INSTRUCTIONS + _client_instructions(history)
    return [ChatMessage(role="system", content=system), *render_history(history)]


def join_messages(history: Sequence[ChatMessage], plan: Plan, trace: Trace) -> list[ChatMessage]:
    """The joiner's input: the conversation, then the plan's results."""
    results = render_results(plan, trace)
    return [
        ChatMessage(role="system", content=JOIN_INSTRUCTIONS + _client_instructions(history)),
        *render_history(history),
        ChatMessage(role="user", content=f"Tool results:\n{results}\nDecide: finish with the answer, or replan."),
    ]


def render_results(plan: Plan, trace: Trace) -> str:
    """Each step as ``$id = tool(args) -> result`` (or its error), results truncated."""
    lines = []
    for step in plan.steps:
        try:
            record = trace.record(step.id)
        except KeyError:
            lines.append(f"${step.id} = {step.tool}(...) -> not run")
            continue
        args = json.dumps(record.used_args)
        if record.status is StepStatus.ok:
            outcome = _truncate(json.dumps(record.result, default=str))
        else:
            outcome = f"{record.status}: {record.error.message if record.error else 'no result'}"
        lines.append(f"${step.id} = {step.tool}({args}) -> {outcome}")
    return "\n".join(lines)


def render_history(history: Sequence[ChatMessage]) -> list[ChatMessage]:
    """Turn OpenAI-shaped history (assistant tool calls, tool results) into plain user/assistant turns."""
    rendered: list[ChatMessage] = []
    for message in history:
        if message.role == "tool":
            text = f"Result of {message.name or message.tool_call_id}: {_truncate(message.content)}"
            if rendered and rendered[-1].role == "user" and rendered[-1].content.startswith("Result of "):
                rendered[-1] = ChatMessage(role="user", content=f"{rendered[-1].content}\n{text}")
            else:
                rendered.append(ChatMessage(role="user", content=text))
        elif message.role == "assistant" and message.tool_calls:
            calls = [{"id": i, "tool": call.name, "args": call.arguments} for i, call in enumerate(message.tool_calls, 1)]
            content = json.dumps({"steps": calls})
            rendered.append(ChatMessage(role="assistant", content=f"{message.content}\n{content}".strip()))
        elif message.role == "system":
            continue  # folded into our own system message by _client_instructions
        else:
            rendered.append(ChatMessage(role=message.role, content=message.content))
    return rendered


def _client_instructions(history: Sequence[ChatMessage]) -> str:
    texts = [message.content.strip() for message in history if message.role == "system" and message.content.strip()]
    return "\n\nInstructions from the user's application:\n" + "\n".join(texts) if texts else ""


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_RESULT_CHARS else text[:MAX_RESULT_CHARS] + f"... ({len(text)} chars)"
