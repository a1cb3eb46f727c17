"""Property tests: random valid plans validate and round-trip; random bad plans fail only with a `PlanError`
that names the step at fault."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from f1.errors import PlanError
from f1.plan import Plan, Step, parse_plan_json, plan_from_data, validate_plan
from f1.tools import ToolSpec
from tests.specs import ADD

TOOLS = {
    "add": ADD,
    "search": ToolSpec(
        name="search",
        parameters={"type": "object", "properties": {"query": {"type": "string"}, "k": {"type": "integer"}}, "required": ["query"]},
    ),
    "collect": ToolSpec(
        name="collect",
        parameters={
            "type": "object",
            "properties": {"items": {"type": "array", "items": {"type": "string"}}, "meta": {"type": "object"}},
            "required": ["items"],
        },
    ),
}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ref_paths = st.lists(st.sampled_from(["name", "items", "0", "a_b", "x-y"]), max_size=2)
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12).filter(
    lambda s: not s.startswith("$")
)


@st.composite
def refs(draw: st.DrawFn, earlier: list[int]) -> str:
    return "$" + ".".join([str(draw(st.sampled_from(earlier))), *draw(ref_paths)])


@st.composite
def valid_plans(draw: st.DrawFn, min_steps: int = 0) -> Plan:
    steps: list[Step] = []
    next_id = draw(st.integers(1, 5))
    for _ in range(draw(st.integers(min_steps, 12))):
        earlier = [step.id for step in steps]

        def value(literal: st.SearchStrategy[Any]) -> Any:
            return draw(st.one_of(literal, refs(earlier))) if earlier else draw(literal)

        tool = draw(st.sampled_from(sorted(TOOLS)))
        if tool == "add":
            args = {"a": value(st.integers()), "b": value(st.integers())}
        elif tool == "search":
            args = {"query": value(text)}
            if draw(st.booleans()):
                args["k"] = value(st.integers(0, 50))
        else:
            args = {"items": [value(text) for _ in range(draw(st.integers(0, 3)))]}
            if draw(st.booleans()):
                args["meta"] = {"source": value(text)}
        steps.append(Step(id=next_id, tool=tool, args=args))
        next_id += draw(st.integers(1, 3))
    return Plan(steps=steps)


@given(valid_plans())
@SETTINGS
def test_valid_plans_validate_and_round_trip(plan: Plan) -> None:
    validate_plan(plan, TOOLS)
    assert parse_plan_json(plan.to_json()) == plan
    assert parse_plan_json(json.dumps([step.model_dump() for step in plan.steps])) == plan
    ids = [step.id for step in plan.steps]
    for position, step in enumerate(plan.steps):
        assert step.dependencies <= set(ids[:position])


def _replace(plan: Plan, index: int, **changes: Any) -> Plan:
    steps = list(plan.steps)
    steps[index] = steps[index].model_copy(update=changes)
    return Plan(steps=steps)


@st.composite
def mutated_plans(draw: st.DrawFn) -> tuple[Plan, int | None, str]:
    """A valid plan with one fault, the id of the step at fault (None: any step may be reported), a hint."""
    plan = draw(valid_plans(min_steps=1))
    index = draw(st.integers(0, len(plan.steps) - 1))
    step = plan.steps[index]
    kind = draw(st.sampled_from(["unknown_tool", "missing_ref", "self_ref", "forward_ref", "duplicate", "bad_type"]))
    if kind == "unknown_tool":
        name = draw(st.from_regex(r"[a-z_]{1,8}", fullmatch=True).filter(lambda n: n not in TOOLS))
        return _replace(plan, index, tool=name), step.id, "unknown tool"
    if kind == "missing_ref":
        return _replace(plan, index, tool="search", args={"query": "$999"}), step.id, "does not exist"
    if kind == "self_ref":
        return _replace(plan, index, tool="search", args={"query": f"${step.id}"}), step.id, "its own result"
    if kind == "forward_ref" and index + 1 < len(plan.steps):
        later = plan.steps[draw(st.integers(index + 1, len(plan.steps) - 1))].id
        return _replace(plan, index, tool="collect", args={"items": [f"${later}"]}), None, ""
    if kind == "duplicate" and len(plan.steps) > 1:
        other = plan.steps[(index + 1) % len(plan.steps)]
        return _replace(plan, index, id=other.id), other.id, "duplicate step id"
    wrong = draw(st.one_of(text, st.lists(st.integers(), max_size=2), st.booleans(), st.none()))
    return _replace(plan, index, tool="add", args={"a": wrong, "b": 1}), step.id, "add: a:"


@given(mutated_plans())
@SETTINGS
def test_bad_plans_fail_with_a_plan_error_naming_the_step(case: tuple[Plan, int | None, str]) -> None:
    plan, step_id, hint = case
    try:
        validate_plan(plan, TOOLS)
    except PlanError as error:
        assert error.step is not None and str(error).startswith(f"step {error.step}: ")
        assert error.step in {step.id for step in plan.steps}
        if step_id is not None:
            assert error.step == step_id and hint in error.reason, str(error)
    else:
        raise AssertionError(f"accepted a bad plan: {plan.to_json()}")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 5) | st.floats(allow_nan=False) | text | st.sampled_from(["$1", "$2.x"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["id", "tool", "args", "steps", "a"]), children, max_size=4),
    max_leaves=12,
)


@given(st.one_of(json_values, st.dictionaries(st.just("steps"), st.lists(json_values, max_size=4))))
@SETTINGS
def test_arbitrary_json_is_a_plan_or_a_plan_error(data: Any) -> None:
    try:
        plan = plan_from_data(data)
    except PlanError as error:
        assert error.reason
        if error.step is not None:
            assert str(error).startswith(f"step {error.step}: ")
        return
    try:
        validate_plan(plan, TOOLS)
    except PlanError as error:
        assert error.step is not None and str(error).startswith(f"step {error.step}: ")


@given(st.text(max_size=40) | st.binary(max_size=40))
@SETTINGS
def test_garbage_text_is_a_plan_error(garbage: str | bytes) -> None:
    try:
        parse_plan_json(garbage)
    except PlanError:
        return
    # the rare garbage that is a well-formed plan (like "[]") must then be a real Plan
    assert isinstance(parse_plan_json(garbage), Plan)


# --- the fast schema check agrees with jsonschema ---------------------------------------------------------------
leaf_schemas = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["string", "integer", "number", "boolean", "null", "array", "object"])}),
    st.fixed_dictionaries({"type": st.lists(st.sampled_from(["string", "integer", "null"]), min_size=1, max_size=2)}),
    st.fixed_dictionaries({"enum": st.lists(st.sampled_from(["a", "b", "$1"]), min_size=1, max_size=3)}),
    st.fixed_dictionaries({"type": st.just("number")}, optional={"minimum": st.integers(-2, 2), "exclusiveMaximum": st.floats(-2, 2)}),
    st.fixed_dictionaries({"type": st.just("string")}, optional={"minLength": st.integers(0, 2), "maxLength": st.integers(0, 3)}),
    st.fixed_dictionaries({}, optional={"description": st.just("doc"), "format": st.just("date")}),
)
schemas = st.recursive(
    leaf_schemas,
    lambda inner: st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("object"), "properties": st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3)},
            optional={
                "required": st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True),
                "additionalProperties": st.one_of(st.booleans(), inner),
            },
        ),
        st.fixed_dictionaries({"type": st.just("array"), "items": inner}, optional={"minItems": st.integers(0, 2)}),
    ),
    max_leaves=6,
)
instances = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-3, 3) | st.sampled_from(["", "a", "b", "abcd", "$1", "$2.x"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), children, max_size=4),
    max_leaves=8,
)


@given(schemas, instances, st.booleans())
@settings(max_examples=150, deadline=None)
def test_fast_schema_check_never_accepts_what_jsonschema_rejects(schema: dict, instance: Any, allow_refs: bool) -> None:
    import jsonschema

    from f1.plan.fastcheck import compile_check
    from f1.plan.refs import parse_ref

    check = compile_check(schema)
    assert check is not None  # every generated schema is inside the supported subset
    errors = [e for e in jsonschema.Draft202012Validator(schema).iter_errors(instance)
              if not (allow_refs and parse_ref(e.instance) is not None)]
    if check(instance, allow_refs):
        assert not errors, (schema, instance, [e.message for e in errors])


def test_fast_schema_check_declines_keywords_it_does_not_know() -> None:
    from f1.plan.fastcheck import compile_check

    for schema in ({"anyOf": [{"type": "string"}]}, {"$ref": "#/$defs/x"}, {"type": "string", "pattern": "a+"},
                   {"type": "object", "properties": {"a": {"oneOf": []}}}, {"enum": [1, True]}, {"type": "tuple"}):
        assert compile_check(schema) is None


def test_dependencies_follow_copies_with_new_args() -> None:
    step = Step(id=3, tool="search", args={"query": "$1"})
    assert step.dependencies == {1}
    assert step.model_copy(update={"args": {"query": "$2.x"}}).dependencies == {2}
