"""StepStream: steps are reported as soon as their objects close, whatever the chunking."""

from __future__ import annotations

import json

import pytest

from f1.decoding.steps import StepStream, stream_steps
from f1.errors import PlanError
from f1.plan import Plan, Step
from f1.tools.spec import ToolSpec

PLAN = {
    "steps": [
        {"id": 1, "tool": "search", "args": {"query": 'he said "}{][" \\ ok', "n": [1, {"a": "}"}]}},
        {"id": 2, "tool": "search", "args": {"query": "$1.items.0", "n": []}},
        {"id": 3, "tool": "summarize", "args": {"text": "{\"steps\": [\"$2\"]}"}},
    ]
}
TOOLS = {
    "search": ToolSpec(name="search", parameters={"type": "object", "properties": {"query": {"type": "string"}}}),
    "summarize": ToolSpec(name="summarize", parameters={"type": "object", "properties": {"text": {"type": "string"}}}),
}


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_each_step_is_reported_when_its_object_closes(size: int, indent: int | None) -> None:
    text = json.dumps(PLAN, indent=indent)
    stream = StepStream()
    reported: list[tuple[int, Step]] = []
    for start in range(0, len(text), size):
        reported += [(start + size, step) for step in stream.feed(text[start : start + size])]
    assert [step for _, step in reported] == Plan.model_validate(PLAN).steps
    for at, step in reported:
        start = text.rindex("{", 0, text.index(f'"id": {step.id}'))
        end = json.JSONDecoder().raw_decode(text, start)[1]
        assert end <= at < end + size  # reported with the chunk that closed it, not later
    assert stream.steps_emitted == 3
    assert stream.plan() == Plan.model_validate(PLAN)


def test_bare_lists_and_empty_plans() -> None:
    assert list(stream_steps([json.dumps(PLAN["steps"])])) == Plan.model_validate(PLAN).steps
    stream = StepStream()
    assert stream.feed('{"steps":[]}') == [] and stream.plan() == Plan()


def test_steps_are_validated_when_tools_are_given() -> None:
    stream = StepStream(TOOLS)
    text = json.dumps(PLAN, separators=(",", ":"))
    assert len(stream.feed(text)) == 3
    bad = {"steps": [{"id": 1, "tool": "search", "args": {"query": "$2"}}]}
    with pytest.raises(PlanError, match="only earlier steps"):
        StepStream(TOOLS).feed(json.dumps(bad))
    with pytest.raises(PlanError, match="unknown tool"):
        StepStream(TOOLS).feed('{"steps":[{"id":1,"tool":"nope","args":{}}]}')


def test_malformed_steps_and_plans_raise_plan_errors() -> None:
    with pytest.raises(PlanError):
        StepStream().feed('{"steps":[{"id":0,"tool":"x","args":{}}]}')
    stream = StepStream()
    stream.feed('{"steps":[{"id":1,"tool":"x","args":{}}')
    with pytest.raises(PlanError, match="not valid JSON"):
        stream.plan()
