"""Grammars for constrained decoding. A `Grammar` carries a Lark grammar (llguidance syntax) for local decoding
and, where one exists, an equivalent (possibly looser) JSON schema for remote servers' structured outputs.

Shapes (compact JSON, no free whitespace):

- plan: ``{"steps":[{"id":1,"tool":"search","args":{...}},...]}``; ids 1, 2, 3... in order; any argument value
  may be a reference ``"$j"`` / ``"$j.path"`` to an earlier step (j < id). ``{"steps":[]}`` is the empty plan:
  no tool is needed and the joiner answers directly.
- call: ``{"name":"search","arguments":{...}}`` (OpenAI tool_choice "required", or a named tool); parallel calls:
  a JSON list of calls; no references.
- joiner: ``{"action":"finish","answer":"..."}`` or ``{"action":"replan","reason":"..."}``.
- output: a JSON value matching a caller's schema (structured outputs); no references.
- text: any text (answers without tools).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from f1.decoding.lark import JSON_CHAR, LarkWriter, literal, unenforceable_keyword
from f1.errors import F1Error
from f1.plan.refs import REF_PATTERN

if TYPE_CHECKING:
    from f1.tools.spec import ToolSpec

DEFAULT_MAX_STEPS = 16
_EXCERPT = re.compile(r"\s*(\d+ \||\^+$)")  # llguidance quotes the grammar in its errors: numbered lines, carets


class UnsupportedSchema(F1Error):
    """A schema constrained decoding cannot enforce: a keyword (named, with where it is), or what the grammar
    engine refuses in it (a look-around in a pattern, an unknown format)."""


@dataclass(frozen=True)
class Grammar:
    """A named grammar. `key` identifies it for caching compiled forms."""

    name: str
    lark: str
    json_schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    @cached_property
    def key(self) -> str:
        return hashlib.sha256(self.lark.encode()).hexdigest()


def plan_grammar(
    specs: Sequence[ToolSpec],
    *,
    min_steps: int = 0,
    max_steps: int | None = None,
    max_string_length: int | None = None,
) -> Grammar:
    """Plans over these tools: typed args, references only to earlier steps, `min_steps` (0 or 1) up to
    `max_steps` steps (None: `DEFAULT_MAX_STEPS`).

    `max_string_length` bounds every free string (in characters), against runaway strings from small models.
    """
    tools = _unique(specs)
    max_steps = DEFAULT_MAX_STEPS if max_steps is None else max_steps
    if min_steps not in (0, 1) or max_steps < max(min_steps, 1):
        raise F1Error(f"plan_grammar needs min_steps 0 or 1 and max_steps >= 1, not {min_steps} and {max_steps}")
    writer = LarkWriter(max_steps=max_steps, max_string_length=max_string_length)
    calls = [f'"\\"{spec.name}\\",\\"args\\":" {writer.args(spec.parameters)}' for spec in tools]
    ids = " | ".join(f'"{k}" %if eq(_, {k})' for k in range(1, max_steps + 1))
    call = writer.define("call", " | ".join(calls))
    writer.rules += [
        f"rest::_: \",\" step::_ rest::incr(_) %if le(_, {max_steps}) | \"\"",
        f'step::_: "{{\\"id\\":" sid::_ ",\\"tool\\":" {call} "}}"',
        f"sid::_: {ids}",
    ]
    steps = "step::1 rest::2" if min_steps else "(step::1 rest::2)?"
    lark = writer.text(f'"{{\\"steps\\":[" {steps} "]}}"')
    step_schemas = [
        {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "tool": {"const": spec.name},
                "args": with_refs(spec.parameters),
            },
            "required": ["id", "tool", "args"],
            "additionalProperties": False,
        }
        for spec in tools
    ]
    schema = {
        "type": "object",
        "properties": {
            "steps": {"type": "array", "items": {"anyOf": step_schemas}, "minItems": min_steps, "maxItems": max_steps}
        },
        "required": ["steps"],
        "additionalProperties": False,
    }
    return Grammar("plan", lark, schema)


def call_grammar(specs: Sequence[ToolSpec], *, name: str | None = None) -> Grammar:
    """One tool call ``{"name":...,"arguments":{...}}``; with `name`, only that tool (OpenAI named tool_choice)."""
    tools = _pick(specs, name)
    writer = LarkWriter(max_steps=1)
    call = _no_refs(writer.define("call", " | ".join(_call(writer, spec) for spec in tools)))
    return Grammar("call" if name is None else f"call:{name}", writer.text(call), _call_schema(tools))


def parallel_calls_grammar(specs: Sequence[ToolSpec]) -> Grammar:
    """A JSON list of one or more independent tool calls (no references)."""
    tools = _unique(specs)
    writer = LarkWriter(max_steps=1)
    call = _no_refs(writer.define("call", " | ".join(_call(writer, spec) for spec in tools)))
    schema = {"type": "array", "items": _call_schema(tools), "minItems": 1}
    return Grammar("parallel_calls", writer.text(f'"[" {call} ("," {call})* "]"'), schema)


def joiner_grammar(*, allow_replan: bool = True) -> Grammar:
    """The joiner's decision: finish with an answer, or (if allowed) replan with a reason."""
    finish = '"{\\"action\\":\\"finish\\",\\"answer\\":" JSON_STRING "}"'
    replan = ' | "{\\"action\\":\\"replan\\",\\"reason\\":" JSON_STRING "}"' if allow_replan else ""
    lark = "\n".join(["%llguidance {}", f"start: {finish}{replan}", f'JSON_STRING: /"{JSON_CHAR}*"/'])

    def decision(action: str, field_name: str) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"action": {"const": action}, field_name: {"type": "string"}},
            "required": ["action", field_name],
            "additionalProperties": False,
        }

    decisions = [decision("finish", "answer")] + ([decision("replan", "reason")] if allow_replan else [])
    return Grammar("joiner" if allow_replan else "joiner:finish", lark, {"anyOf": decisions})


def output_grammar(schema: Mapping[str, Any]) -> Grammar:
    """A JSON value matching `schema` (structured outputs), typed as tool arguments are. `UnsupportedSchema` for
    a keyword the grammar engine cannot enforce."""
    found = unenforceable_keyword(schema)
    if found is not None:
        keyword, path = found
        raise UnsupportedSchema(
            f"the JSON schema keyword {keyword!r} (at {path}) cannot be enforced by constrained decoding; "
            "remove it or express it with supported keywords"
        )
    writer = LarkWriter(max_steps=1)
    grammar = Grammar("output", writer.text(_no_refs(writer.value(dict(schema)))), dict(schema))
    refusal = _refusal(grammar)
    if refusal:
        raise UnsupportedSchema(f"constrained decoding cannot enforce this schema: {refusal}")
    return grammar


def _refusal(grammar: Grammar) -> str:
    """Why llguidance would not compile `grammar` (its message without the grammar excerpt), else ''."""
    import llguidance

    error = llguidance.LLMatcher.validate_grammar(llguidance.grammar_from("lark", grammar.lark))
    lines = [line.strip() for line in error.splitlines() if line.strip() and not _EXCERPT.match(line)]
    return " ".join(lines).partition("failed to compile JSON schema: ")[2] or " ".join(lines)


def text_grammar() -> Grammar:
    """Plain text: an answer without tools (no JSON schema: remote servers generate freely)."""
    return Grammar("text", "%llguidance {}\nstart: TEXT\nTEXT: /(?s:.*)/")


def with_refs(schema: Any) -> Any:
    """`schema` where every value position also accepts a reference string (for remote structured outputs)."""
    ref = {"type": "string", "pattern": f"^{REF_PATTERN}$"}
    if not isinstance(schema, Mapping):
        return schema
    out = dict(schema)
    if isinstance(out.get("properties"), Mapping):
        out["properties"] = {name: {"anyOf": [with_refs(sub), ref]} for name, sub in out["properties"].items()}
    if isinstance(out.get("items"), Mapping):
        out["items"] = {"anyOf": [with_refs(out["items"]), ref]}
    return out


def _no_refs(rule: str) -> str:
    """Reference `rule` with parameter 0: no step references, strings unrestricted."""
    return rule.replace("::_", "::0")


def _call(writer: LarkWriter, spec: ToolSpec) -> str:
    head = literal('{"name":"' + spec.name + '","arguments":')
    return f'{head} {writer.args(spec.parameters)} "}}"'


def _call_schema(tools: Sequence[ToolSpec]) -> dict[str, Any]:
    return {
        "anyOf": [
            {
                "type": "object",
                "properties": {"name": {"const": spec.name}, "arguments": spec.parameters},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
            for spec in tools
        ]
    }


def _unique(specs: Sequence[ToolSpec]) -> list[ToolSpec]:
    if not specs:
        raise F1Error("a grammar needs at least one tool spec")
    seen: dict[str, ToolSpec] = {}
    for spec in specs:
        seen.setdefault(spec.name, spec)
    return list(seen.values())


def _pick(specs: Sequence[ToolSpec], name: str | None) -> list[ToolSpec]:
    tools = _unique(specs)
    if name is None:
        return tools
    chosen = [spec for spec in tools if spec.name == name]
    if not chosen:
        raise F1Error(f"tool_choice names {name!r}, which is not among the {len(tools)} tools offered")
    return chosen
