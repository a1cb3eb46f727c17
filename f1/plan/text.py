"""LLMCompiler-style text plans (``1. search("x")`` / ``2. math("...", ["$1"])`` / ``3. join()``)."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from f1.errors import PlanError
from f1.plan.model import Plan, Step
from f1.plan.validate import plan_from_data

if TYPE_CHECKING:
    from f1.tools.spec import ToolSpec

# one optional tail after the ")": an ambiguous `\s*(?:<END_OF_PLAN>)?\s*$` backtracked quadratically on long spaces
_LINE = re.compile(r"^\s*(\d+)\s*[.)]\s*([A-Za-z_][\w.\-]*)\s*\((.*)\)\s*(?:<END_OF_PLAN>\s*)?$")
_BARE_REF = re.compile(r"\$[1-9][0-9]*(?:\.[A-Za-z0-9_\-]+)*")
JOIN = "join"
MAX_ARGUMENT_CHARS = 20_000  # the arguments of one call; Python's parser needs memory and stack to match


def parse_text_plan(text: str, tools: Mapping[str, ToolSpec] | None = None) -> Plan:
    """Parse a numbered text plan. Positional arguments are named by the tool's schema property order."""
    steps: list[Step] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE.match(line)
        if match is None:
            continue  # thoughts, blank lines and prose around the plan
        step_id, name, arg_text = int(match.group(1)), match.group(2), match.group(3)
        if name == JOIN:
            break
        positional, keywords = _parse_call_args(arg_text, step_id, line_number=number)
        if positional:
            keywords = _name_positional(name, positional, keywords, tools, step_id)
        steps.append(plan_from_data({"steps": [{"id": step_id, "tool": name, "args": keywords}]}).steps[0])
    return Plan(steps=steps)


def _parse_call_args(arg_text: str, step_id: int, *, line_number: int) -> tuple[list[Any], dict[str, Any]]:
    if len(arg_text) > MAX_ARGUMENT_CHARS:
        reason = f"line {line_number}: the arguments are longer than {MAX_ARGUMENT_CHARS:,} characters"
        raise PlanError(reason, step=step_id)
    source = f"f({_quote_bare_refs(arg_text)})"
    try:
        call = ast.parse(source, mode="eval").body
        assert isinstance(call, ast.Call)
        positional = [ast.literal_eval(node) for node in call.args]
        keywords = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg is not None}
    except (MemoryError, RecursionError):  # how the parser and literal_eval refuse deep nesting
        raise PlanError(f"line {line_number}: the arguments are nested too deeply", step=step_id) from None
    except (SyntaxError, ValueError, AssertionError, TypeError) as exc:
        excerpt = arg_text if len(arg_text) <= 200 else f"{arg_text[:200]}..."
        reason = f"line {line_number}: arguments are not literals ({type(exc).__name__}: {exc}): {excerpt!r}"
        raise PlanError(reason, step=step_id) from None
    return positional, keywords


def _quote_bare_refs(arg_text: str) -> str:
    """Put quotes around ``$1``-style references that stand outside string literals."""
    out: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(arg_text):
        char = arg_text[index]
        if quote is None and char == "$":
            match = _BARE_REF.match(arg_text, index)
            if match:
                out.append(f'"{match.group(0)}"')
                index = match.end()
                continue
        if quote is None and char in "\"'":
            quote = char
        elif quote is not None and char == "\\":
            out.append(arg_text[index : index + 2])
            index += 2
            continue
        elif char == quote:
            quote = None
        out.append(char)
        index += 1
    return "".join(out)


def _name_positional(
    name: str, positional: list[Any], keywords: dict[str, Any], tools: Mapping[str, ToolSpec] | None, step_id: int
) -> dict[str, Any]:
    if tools is None or name not in tools:
        raise PlanError(f"positional arguments for {name!r} need its tool spec to name them", step=step_id)
    names = list(tools[name].parameters.get("properties", {}))
    if len(positional) > len(names):
        raise PlanError(f"{name} takes {len(names)} arguments, got {len(positional)} positional", step=step_id)
    named = dict(zip(names, positional, strict=False))
    clash = set(named) & set(keywords)
    if clash:
        raise PlanError(f"{name}: argument {sorted(clash)[0]!r} given twice", step=step_id)
    return {**named, **keywords}
