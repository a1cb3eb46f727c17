"""Plan, call, joiner and text grammars: a shared corpus of good and bad texts, checked with llguidance."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jsonschema
import pytest

from f1.decoding.grammar import (
    DEFAULT_MAX_STEPS,
    call_grammar,
    joiner_grammar,
    parallel_calls_grammar,
    plan_grammar,
    text_grammar,
)
from f1.errors import F1Error
from f1.plan import parse_plan_json, validate_plan
from f1.tools.spec import ToolSpec

SPECS = [
    ToolSpec(
        name="search",
        parameters={
            "type": "object",
            "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["query"],
        },
    ),
    ToolSpec(
        name="math",
        parameters={
            "type": "object",
            "properties": {
                "op": {"enum": ["add", "mul"]},
                "values": {"type": "array", "items": {"type": "number"}},
                "exact": {"type": "boolean"},
            },
            "required": ["op", "values"],
        },
    ),
    ToolSpec(
        name="book",
        parameters={
            "type": "object",
            "properties": {
                "who": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                    "required": ["name"],
                },
                "when": {"type": "string", "format": "date"},
                "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
            "required": ["who"],
        },
    ),
    ToolSpec(name="now"),
]
TOOLS = {spec.name: spec for spec in SPECS}


def plan_text(*steps: tuple[str, dict[str, Any]]) -> str:
    body = [{"id": k, "tool": tool, "args": args} for k, (tool, args) in enumerate(steps, start=1)]
    return json.dumps({"steps": body}, separators=(",", ":"))


GOOD_PLANS = [
    '{"steps":[]}',
    plan_text(("search", {"query": "weather in Paris"})),
    plan_text(("search", {"query": 'say "hi" {ok}', "limit": 3}), ("search", {"query": "$1.items.0.title"})),
    plan_text(("math", {"op": "add", "values": [1, 2.5, -3e2]}), ("math", {"op": "mul", "values": ["$1", 2]})),
    plan_text(("now", {}), ("math", {"op": "add", "values": "$1"})),
    plan_text(("book", {"who": {"name": "Ann", "age": 31}, "when": "2026-11-26", "note": None})),
    plan_text(("now", {}), ("book", {"who": {"name": "$1.user"}, "note": "$1"}), ("search", {"query": "$2", "limit": "$1.n"})),
    plan_text(("search", {"query": "$ 5"}), ("search", {"query": "cost $12 total"})),
]
# Each is well-formed JSON; the grammar must reject it (validate_plan agrees where marked True).
BAD_PLANS = [
    (plan_text(("nope", {})), True),  # unknown tool
    (plan_text(("search", {"limit": 3})), True),  # missing required arg
    (plan_text(("search", {"query": 3})), True),  # wrong type
    (plan_text(("math", {"op": "sub", "values": [1]})), True),  # not in enum
    (plan_text(("search", {"query": "x", "extra": 1})), False),  # extra arg (schema allows it; grammar is stricter)
    (plan_text(("search", {"query": "$1"})), True),  # reference to itself
    (plan_text(("now", {}), ("search", {"query": "$2"})), True),  # reference to itself (step 2)
    (plan_text(("now", {}), ("search", {"query": "$3.x"})), True),  # reference to a later/unknown step
    ('{"steps":[{"id":2,"tool":"now","args":{}}]}', False),  # ids must start at 1
    ('{"steps":[{"id":1,"tool":"now","args":{}},{"id":3,"tool":"now","args":{}}]}', False),  # ids in order
    ('{"steps": []}', False),  # free whitespace
    ('{"steps":[{"tool":"now","id":1,"args":{}}]}', False),  # key order
    (plan_text(("book", {"who": {"age": 3}})), True),  # nested required
    (plan_text(("book", {"who": {"name": "A"}, "when": "not a date"})), False),  # embedded %json enforces format
]


@lru_cache(maxsize=1)
def test_tokenizer() -> Any:
    """The real Qwen tokenizer when the default model is converted locally, else a byte-level one built here."""
    from f1.planner import weights

    if weights.is_converted("default"):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(weights.ensure_converted("default")))
    from tests.tiny_model import byte_tokenizer

    return byte_tokenizer()


test_tokenizer.__test__ = False  # a helper, not a test


def accepts(grammar: Any, text: str, engine: str = "llguidance") -> bool:
    from f1.decoding.engines import get_engine

    tokenizer = test_tokenizer()
    matcher = get_engine(engine).matcher(tokenizer, grammar)
    return matcher.consume(tokenizer.encode(text, add_special_tokens=False)) and matcher.is_accepting()


@pytest.fixture(scope="module")
def plan() -> Any:
    return plan_grammar(SPECS)


@pytest.mark.parametrize("text", GOOD_PLANS)
def test_good_plans_are_accepted_and_valid(plan: Any, text: str) -> None:
    assert accepts(plan, text)
    validate_plan(parse_plan_json(text), TOOLS)
    jsonschema.validate(json.loads(text), plan.json_schema)


@pytest.mark.parametrize(("text", "invalid_plan"), BAD_PLANS)
def test_bad_plans_are_rejected(plan: Any, text: str, invalid_plan: bool) -> None:
    assert not accepts(plan, text)
    if invalid_plan:
        with pytest.raises(F1Error):
            validate_plan(parse_plan_json(text), TOOLS)


def test_references_are_restricted_to_earlier_steps_at_every_position(plan: Any) -> None:
    steps = [("now", {})] * 4
    for k in range(2, 6):
        for j in range(1, 7):
            text = plan_text(*steps[: k - 1], ("search", {"query": f"${j}.a"}))
            assert accepts(plan, text) == (j < k), (k, j)


def test_step_count_limits() -> None:
    one_or_more = plan_grammar(SPECS, min_steps=1)
    assert not accepts(one_or_more, '{"steps":[]}')
    single = plan_grammar(SPECS, min_steps=1, max_steps=1)
    assert accepts(single, plan_text(("now", {})))
    assert not accepts(single, plan_text(("now", {}), ("now", {})))
    assert not accepts(single, plan_text(("search", {"query": "$1"})))
    capped = plan_grammar(SPECS, max_steps=2)
    assert not accepts(capped, plan_text(*[("now", {})] * 3))
    assert accepts(plan_grammar(SPECS), plan_text(*[("now", {})] * DEFAULT_MAX_STEPS))
    with pytest.raises(F1Error):
        plan_grammar(SPECS, min_steps=2)
    with pytest.raises(F1Error):
        plan_grammar([])


def test_max_string_length_bounds_free_strings() -> None:
    short = plan_grammar(SPECS, max_string_length=4)
    assert accepts(short, plan_text(("search", {"query": "abcd"})))
    assert not accepts(short, plan_text(("search", {"query": "abcde"})))


def test_call_grammars() -> None:
    call = json.dumps({"name": "search", "arguments": {"query": "$1"}}, separators=(",", ":"))
    assert accepts(call_grammar(SPECS), call)  # no references in calls: "$1" is a plain string
    assert accepts(call_grammar(SPECS, name="search"), call)
    assert not accepts(call_grammar(SPECS, name="math"), call)
    assert not accepts(call_grammar(SPECS), call.replace("query", "q"))
    assert accepts(parallel_calls_grammar(SPECS), f"[{call},{call}]")
    assert not accepts(parallel_calls_grammar(SPECS), "[]")
    jsonschema.validate([json.loads(call)], parallel_calls_grammar(SPECS).json_schema)
    with pytest.raises(F1Error, match="not among"):
        call_grammar(SPECS, name="missing")


def test_joiner_and_text_grammars() -> None:
    finish = '{"action":"finish","answer":"It is \\"42\\" {x}"}'
    replan = '{"action":"replan","reason":"no data"}'
    assert accepts(joiner_grammar(), finish) and accepts(joiner_grammar(), replan)
    assert not accepts(joiner_grammar(allow_replan=False), replan)
    assert not accepts(joiner_grammar(), '{"action":"stop"}')
    jsonschema.validate(json.loads(finish), joiner_grammar().json_schema)
    assert accepts(text_grammar(), "Any text {at all}\n")
    assert text_grammar().json_schema is None


def test_grammar_key_identifies_the_lark_text() -> None:
    assert plan_grammar(SPECS).key == plan_grammar(list(SPECS)).key
    assert plan_grammar(SPECS).key != plan_grammar(SPECS[:2]).key


def test_required_keys_without_property_schemas_are_generated() -> None:
    """BFCL has objects that only list `required` names (parallel_29): the grammar must produce those keys."""
    population = {"type": "object", "required": ["adults", "children"]}
    spec = ToolSpec(name="waste", parameters={"type": "object", "properties": {"population": population}, "required": ["population"]})
    grammar = plan_grammar([spec])
    assert accepts(grammar, plan_text(("waste", {"population": {"adults": 2, "children": [1]}})))
    assert not accepts(grammar, plan_text(("waste", {"population": {"adults": 2}})))
    assert not accepts(grammar, plan_text(("waste", {"population": {}})))
