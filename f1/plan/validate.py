"""Plan validation against a tool set: every failure is a `PlanError` naming the step."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

import jsonschema
from pydantic import ValidationError
from referencing.exceptions import Unresolvable

from f1.cache import BoundedCache, text_key
from f1.errors import PlanError
from f1.plan.fastcheck import Check, compile_check
from f1.plan.model import Plan, Step
from f1.plan.refs import parse_ref
from f1.schemas import schema_validator

if TYPE_CHECKING:
    from f1.tools.spec import ToolSpec


def parse_plan_json(text: str | bytes) -> Plan:
    """Parse plan JSON (``{"steps": [...]}`` or a bare list of steps) into a `Plan`."""
    try:
        data = json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise PlanError(f"plan is not valid JSON: {exc}") from None
    return plan_from_data(data)


def plan_from_data(data: Any) -> Plan:
    """Build a `Plan` from decoded JSON, turning shape errors into `PlanError`s."""
    if isinstance(data, list):
        data = {"steps": data}
    if not isinstance(data, dict):
        raise PlanError(f"a plan must be an object with 'steps', not {type(data).__name__}")
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = first["loc"]
        step = None
        if len(location) >= 2 and location[0] == "steps" and isinstance(location[1], int):
            raw = data.get("steps", [])[location[1]]
            step = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), int) else location[1] + 1
        field = ".".join(str(part) for part in location[2:]) or ".".join(map(str, location))
        raise PlanError(f"{field}: {first['msg']}", step=step) from None


def validate_plan(plan: Plan, tools: Mapping[str, ToolSpec]) -> None:
    """Raise `PlanError` unless every step names a known tool, references only earlier steps and fits its schema."""
    seen: set[int] = set()
    ids = {step.id for step in plan.steps}
    for step in plan.steps:
        if step.id in seen:
            raise PlanError(f"duplicate step id {step.id}", step=step.id)
        seen.add(step.id)
    _check_cycles(plan.steps)
    earlier: set[int] = set()
    for step in plan.steps:
        validate_step(step, tools, earlier=earlier, known=ids)
        earlier.add(step.id)


def validate_step(
    step: Step,
    tools: Mapping[str, ToolSpec],
    *,
    earlier: Iterable[int],
    known: Iterable[int] = (),
    dependencies: AbstractSet[int] | None = None,
) -> None:
    """Validate one step given the ids of the steps before it (used while a plan streams in).

    `dependencies`, when the caller already has `step.dependencies`, saves walking the args again."""
    if step.tool not in tools:
        raise PlanError(f"unknown tool {step.tool!r}{_suggestion(step.tool, tools)}", step=step.id)
    earlier = earlier if isinstance(earlier, AbstractSet) else set(earlier)  # no copy: O(deps) per step
    known = known if isinstance(known, AbstractSet) else set(known)
    for dependency in sorted(step.dependencies if dependencies is None else dependencies):
        if dependency == step.id:
            raise PlanError(f"step references its own result ${dependency}", step=step.id)
        if dependency not in earlier:
            where = "a later step" if dependency in known else "a step that does not exist"
            raise PlanError(f"${dependency} references {where}; only earlier steps may be referenced", step=step.id)
    validate_args(step.tool, step.args, tools[step.tool].parameters, step=step.id, allow_refs=True)


def validate_args(tool: str, args: Any, schema: Mapping[str, Any], *, step: int | None = None, allow_refs: bool) -> None:
    """Check `args` against a tool's JSON schema; with `allow_refs`, a reference stands for any value."""
    fast, validator = _checkers(schema)
    if fast is not None and fast(args, allow_refs):
        return
    try:
        errors = sorted(validator.iter_errors(args), key=lambda e: list(e.absolute_path))
    except Unresolvable as exc:  # a schema that never went through ToolSpec's checks
        raise PlanError(f"{tool}: its schema has a reference that does not resolve inside it: {exc}", step=step) from None
    for error in errors:
        if allow_refs and _stands_for_a_ref(error):
            continue
        where = "/".join(str(part) for part in error.absolute_path) or "args"
        raise PlanError(f"{tool}: {where}: {error.message}", step=step)


def _stands_for_a_ref(error: jsonschema.ValidationError) -> bool:
    """True when the error is only that a reference stands where a value was expected, also inside anyOf/oneOf."""
    if parse_ref(error.instance) is not None:
        return True
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[Any, list[jsonschema.ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        return any(all(_stands_for_a_ref(sub) for sub in errors) for errors in branches.values())
    return False


_Checkers = tuple[Check | None, jsonschema.protocols.Validator]
# Both caches are charged the schema's JSON length. By identity: no JSON to write per call (the fast path costs
# ~1-2 µs); holding the schema keeps its id from being reused. By content: the same tools sent again.
_BY_IDENTITY: BoundedCache[tuple[Mapping[str, Any], _Checkers]] = BoundedCache(max_bytes=4 * 1024 * 1024)
_BY_CONTENT: BoundedCache[_Checkers] = BoundedCache(max_bytes=4 * 1024 * 1024)


def prepare_validation(specs: Iterable[ToolSpec]) -> None:
    """Build the argument checkers of `specs` now (e.g. in a worker thread: a large schema takes a while), so that
    validating their steps later finds them built."""
    for spec in specs:
        _checkers(spec.parameters)


def _checkers(schema: Mapping[str, Any]) -> _Checkers:
    """A schema's fast predicate (None if it has none) and its jsonschema validator, cached."""
    entry = _BY_IDENTITY.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    text = json.dumps(schema, sort_keys=True)
    checkers = _BY_CONTENT.get(text_key(text))
    if checkers is None:
        private = json.loads(text)  # a copy the caller cannot change under the validator
        checkers = (compile_check(private), schema_validator(private))
        _BY_CONTENT.put(text_key(text), checkers, len(text))
    _BY_IDENTITY.put(id(schema), (schema, checkers), len(text))
    return checkers


def _check_cycles(steps: list[Step]) -> None:
    graph = {step.id: step.dependencies for step in steps}
    state: dict[int, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: int, path: list[int]) -> None:
        state[node] = 1
        for dependency in sorted(graph.get(node, ())):
            if dependency not in graph or dependency == node:
                continue
            if state.get(dependency) == 1:
                cycle = path[path.index(dependency) :] + [dependency]
                raise PlanError("dependency cycle " + " -> ".join(f"${i}" for i in cycle), step=dependency)
            if dependency not in state:
                visit(dependency, [*path, dependency])
        state[node] = 2

    for step_id in graph:
        if step_id not in state:
            visit(step_id, [step_id])


def _suggestion(name: str, tools: Mapping[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(tools), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else f" ({len(tools)} tools offered)"
