"""Plan model, references, validation errors and LLMCompiler text plans."""

from __future__ import annotations

import pytest

from f1.errors import PlanError, ReferenceResolutionError
from f1.plan import Plan, Step, parse_plan_json, parse_ref, parse_text_plan, resolve, validate_plan
from f1.plan.refs import Ref
from f1.tools import ToolSpec
from tests.specs import ADD

TOOLS = {
    "search": ToolSpec(
        name="search",
        parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    ),
    "add": ADD,
    "math": ToolSpec(
        name="math",
        parameters={
            "type": "object",
            "properties": {"problem": {"type": "string"}, "context": {"type": "array", "items": {"type": "string"}}},
            "required": ["problem"],
        },
    ),
}


def plan(*steps: tuple[int, str, dict]) -> Plan:
    return Plan(steps=[Step(id=i, tool=t, args=a) for i, t, a in steps])


def test_refs_parse_and_resolve() -> None:
    assert parse_ref("$3") == Ref(3)
    assert parse_ref("$3.items.0.name") == Ref(3, ("items", "0", "name"))
    assert parse_ref("$0") is None and parse_ref("cost $3") is None and parse_ref(3) is None
    results = {1: {"items": [{"name": "x"}]}, 2: 5}
    assert resolve({"a": ["$1.items.0.name", {"b": "$2"}]}, results) == {"a": ["x", {"b": 5}]}
    with pytest.raises(ReferenceResolutionError, match="no key 'nope'"):
        resolve("$1.nope", results)
    with pytest.raises(ReferenceResolutionError, match="out of range"):
        resolve("$1.items.4", results)
    with pytest.raises(ReferenceResolutionError, match="has no result"):
        resolve("$9", results)


def test_valid_plan_round_trips() -> None:
    p = plan((1, "add", {"a": 1, "b": 2}), (2, "add", {"a": "$1", "b": 3}), (3, "math", {"problem": "x", "context": ["$2"]}))
    validate_plan(p, TOOLS)
    assert parse_plan_json(p.to_json()) == p
    assert p.steps[2].dependencies == {2}


@pytest.mark.parametrize(
    ("bad", "message", "step"),
    [
        (plan((1, "nope", {})), "unknown tool 'nope'", 1),
        (plan((1, "serch", {"query": "x"})), "did you mean search", 1),
        (plan((1, "add", {"a": 1, "b": 2}), (1, "add", {"a": 1, "b": 2})), "duplicate step id 1", 1),
        (plan((1, "add", {"a": "$2", "b": 1}), (2, "add", {"a": 1, "b": 1})), "references a later step", 1),
        (plan((1, "add", {"a": "$7", "b": 1})), "does not exist", 1),
        (plan((1, "add", {"a": "$1", "b": 1})), "its own result", 1),
        (plan((1, "add", {"a": "$2", "b": 1}), (2, "add", {"a": "$1", "b": 1})), "dependency cycle", 1),
        (plan((1, "add", {"a": 1})), "'b' is a required property", 1),
        (plan((1, "add", {"a": "one", "b": 1})), "'one' is not of type 'integer'", 1),
        (plan((1, "add", {"a": 1, "b": 1, "c": 1})), "Additional properties", 1),
    ],
)
def test_every_validation_error_names_the_step(bad: Plan, message: str, step: int) -> None:
    with pytest.raises(PlanError, match=message) as info:
        validate_plan(bad, TOOLS)
    assert info.value.step == step


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('"x"', "must be an object"),
        ('{"steps": [{"id": 0, "tool": "add"}]}', "greater than or equal to 1"),
        ('{"steps": [{"id": 1}]}', "tool: Field required"),
        ('{"steps": [{"id": 1, "tool": "add", "args": 3}]}', "args"),
        ('{"steps": [], "extra": 1}', "Extra inputs"),
    ],
)
def test_malformed_json_plans(text: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        parse_plan_json(text)


def test_llmcompiler_text_plan() -> None:
    text = """Thought: I need both ages.
1. search("Leonardo DiCaprio age")
2. search(query='Barack Obama age')
3. math("age of $1 minus age of $2", [$1, "$2"])
4. join()<END_OF_PLAN>"""
    parsed = parse_text_plan(text, TOOLS)
    assert [s.tool for s in parsed.steps] == ["search", "search", "math"]
    assert parsed.steps[2].args == {"problem": "age of $1 minus age of $2", "context": ["$1", "$2"]}
    assert parsed.steps[2].dependencies == {1, 2}
    validate_plan(parsed, TOOLS)


def test_text_plan_errors() -> None:
    with pytest.raises(PlanError, match="not literals"):
        parse_text_plan("1. search(__import__('os').system('x'))", TOOLS)
    with pytest.raises(PlanError, match="need its tool spec"):
        parse_text_plan('1. search("x")')
    with pytest.raises(PlanError, match="given twice"):
        parse_text_plan('1. search("x", query="y")', TOOLS)


def test_refs_inside_any_of_are_accepted_before_resolution() -> None:
    nullable = {
        "type": "object",
        "properties": {"variables": {"anyOf": [{"type": "object", "additionalProperties": {"type": "number"}}, {"type": "null"}]}},
    }
    tools = {**TOOLS, "calc": ToolSpec(name="calc", parameters=nullable)}
    validate_plan(plan((1, "add", {"a": 1, "b": 2}), (2, "calc", {"variables": {"a": "$1", "b": 2}})), tools)
    with pytest.raises(PlanError, match="variables"):
        validate_plan(plan((1, "calc", {"variables": {"a": "x"}})), tools)
