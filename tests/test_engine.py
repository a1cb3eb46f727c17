"""Engine, planner and joiner with a scripted model: streaming execution, joins, replans, multi-turn, tool_choice."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from f1.conversation import Conversation
from f1.engine import Engine, EngineConfig
from f1.errors import PlanError, ToolSpecError
from f1.planner import ChatMessage, Chunk, PlanDone, ScriptedModel, StepDecoded, TextDelta, ToolCall
from f1.scheduler import StepStatus
from f1.tools import ToolSpec, tool

CALLS: list[tuple[str, Any]] = []


@tool
async def get_weather(city: str) -> dict[str, Any]:
    """Current weather in a city.

    Args:
        city: the city
    """
    CALLS.append(("get_weather", city))
    await anyio.sleep(0.01)
    return {"city": city, "temperature_c": len(city)}


@tool
def add(a: float, b: float) -> float:
    """Add two numbers."""
    CALLS.append(("add", (a, b)))
    return a + b


def plan_json(*steps: tuple[str, dict[str, Any]]) -> str:
    return json.dumps({"steps": [{"id": i, "tool": t, "args": a} for i, (t, a) in enumerate(steps, 1)]}, separators=(",", ":"))


def finish(answer: str) -> str:
    return json.dumps({"action": "finish", "answer": answer})


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


def engine(*replies: str, **config: Any) -> tuple[Engine, ScriptedModel]:
    model = ScriptedModel(list(replies), chunk_size=4)
    return Engine([get_weather, add], model=model, config=EngineConfig(**config)), model


def test_two_parallel_steps_run_and_the_joiner_answers() -> None:
    e, _ = engine(plan_json(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Tokyo"})), finish("Paris 5, Tokyo 5"))
    solution = e.solve("Weather in Paris and Tokyo?")
    assert solution.answer == "Paris 5, Tokyo 5"
    assert sorted(city for _, city in CALLS) == ["Paris", "Tokyo"]
    assert [r.status for r in solution.trace.steps] == [StepStatus.ok, StepStatus.ok]
    first, second = solution.trace.steps
    assert first.started_at < second.ended_at and second.started_at < first.ended_at  # they overlapped


def test_dependent_step_receives_the_earlier_result() -> None:
    e, _ = engine(plan_json(("add", {"a": 1, "b": 2}), ("add", {"a": "$1", "b": 10})), finish("13"))
    solution = e.solve("1+2, then +10")
    assert solution.trace.record(2).resolved_args == {"a": 3, "b": 10}
    assert solution.trace.results == {1: 3, 2: 13}


def test_empty_plan_answers_directly_without_tools() -> None:
    e, model = engine('{"steps":[]}', "Hello! How can I help?")
    solution = e.solve("hi")
    assert solution.answer == "Hello! How can I help?"
    assert CALLS == [] and solution.plan.steps == []
    assert len(model.calls) == 2


def test_first_step_starts_before_the_plan_finishes_decoding() -> None:
    reply = plan_json(*[("get_weather", {"city": c}) for c in ("Paris", "Tokyo", "Lima", "Oslo")])
    model = ScriptedModel([reply], chunk_size=4, delay=0.005)
    e = Engine([get_weather, add], model=model, config=EngineConfig(max_replans=0))
    round_, done = anyio.run(e.aexecute, "weather in four cities")
    assert len(round_.plan.steps) == 4
    assert round_.first_tool_start is not None and round_.first_tool_start < done.seconds


def test_replan_then_finish() -> None:
    e, model = engine(
        plan_json(("get_weather", {"city": "Paris"})),
        json.dumps({"action": "replan", "reason": "need Tokyo too"}),
        plan_json(("get_weather", {"city": "Tokyo"})),
        finish("both"),
        max_replans=1,
    )
    solution = e.solve("Paris and Tokyo weather")
    assert solution.answer == "both" and len(solution.rounds) == 2
    assert [c for _, c in CALLS] == ["Paris", "Tokyo"]
    replan_prompt = model.calls[2][-1].content
    assert "need Tokyo too" in replan_prompt


def test_conversation_keeps_results_across_turns() -> None:
    e, model = engine(
        plan_json(("get_weather", {"city": "Paris"})), finish("5 degrees"),
        plan_json(("add", {"a": 5, "b": 1})), finish("6"),
    )
    conversation = Conversation()
    e.solve("Weather in Paris?", conversation=conversation)
    e.solve("Add one to that temperature", conversation=conversation)
    roles = [m.role for m in conversation.messages]
    assert roles == ["user", "assistant", "tool", "assistant", "user", "assistant", "tool", "assistant"]
    second_turn_prompt = "\n".join(m.content for m in model.calls[2])
    assert '"temperature_c": 5' in second_turn_prompt and "Weather in Paris?" in second_turn_prompt


def test_failed_step_is_recorded_and_shown_to_the_joiner() -> None:
    @tool
    def broken(x: int) -> int:
        """Always fails."""
        raise RuntimeError("disk on fire")

    model = ScriptedModel([plan_json(("broken", {"x": 1}), ("add", {"a": "$1", "b": 1})), finish("sorry")])
    e = Engine([broken, add], model=model, config=EngineConfig(max_replans=0))
    solution = e.solve("do it")
    assert [r.status for r in solution.trace.steps] == [StepStatus.error, StepStatus.skipped]
    assert "disk on fire" in "\n".join(m.content for m in model.calls[1])


def collect(e: Engine, **kwargs: Any) -> list[Any]:
    async def main() -> list[Any]:
        return [event async for event in e.aplan_stream("weather in Paris", **kwargs)]

    return anyio.run(main)


def test_aplan_stream_yields_steps_then_done() -> None:
    e, _ = engine(plan_json(("get_weather", {"city": "Paris"})))
    events = collect(e)
    assert isinstance(events[0], StepDecoded) and isinstance(events[-1], PlanDone)
    assert events[-1].plan.steps[0].args == {"city": "Paris"}


def test_tool_choice_none_answers_in_text() -> None:
    e, _ = engine("It is sunny.")
    events = collect(e, tool_choice="none")
    assert "".join(ev.text for ev in events if isinstance(ev, TextDelta)) == "It is sunny."
    assert events[-1].answer == "It is sunny."


def test_bad_tool_choice_is_a_clear_error() -> None:
    e, _ = engine(plan_json(("get_weather", {"city": "Paris"})))
    with pytest.raises(PlanError, match="not among"):
        collect(e, tool_choice={"type": "function", "function": {"name": "nope"}})
    with pytest.raises(PlanError, match="tool_choice must be"):
        collect(e, tool_choice="sometimes")


def test_unconstrained_garbage_gets_one_repair_then_fails() -> None:
    e, model = engine("I think you should call get_weather", plan_json(("get_weather", {"city": "Paris"})))
    events = collect(e, constrained=False)
    assert events[-1].plan.steps[0].tool == "get_weather"
    assert "invalid" in model.calls[1][-1].content
    e, _ = engine("nope", "still nope")
    with pytest.raises(PlanError, match="not a plan"):
        collect(e, constrained=False)


def test_duplicate_tool_names_are_refused() -> None:
    with pytest.raises(ToolSpecError, match="duplicate"):
        Engine([get_weather, ToolSpec(name="get_weather")], model=ScriptedModel([]))


def test_retrieval_narrows_a_large_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    specs = [ToolSpec(name=f"tool_{i}", description=f"does thing {i}") for i in range(40)]
    e = Engine(specs, model=ScriptedModel([]), config=EngineConfig(max_tools_in_prompt=5))
    chosen = e.candidates("does thing 7")
    assert len(chosen) == 5 and all(spec.name in e.specs for spec in chosen)


def test_named_tool_choice_survives_retrieval() -> None:
    specs = [ToolSpec(name=f"tool_{i}", description=f"does thing {i}") for i in range(40)]
    model = ScriptedModel(['{"steps":[{"id":1,"tool":"tool_39","args":{}}]}'])
    e = Engine(specs, model=model, config=EngineConfig(max_tools_in_prompt=3))
    plan = anyio.run(lambda: e.aplan("does thing 1", tool_choice={"type": "function", "function": {"name": "tool_39"}}))
    assert [s.tool for s in plan.steps] == ["tool_39"]
    assert "tool_39" in model.calls[0][0].content and "tool_1(" not in model.calls[0][0].content


def test_a_looping_plan_stops_at_the_first_repeated_step() -> None:
    looping = plan_json(*[("get_weather", {"city": c}) for c in ("Paris", "Rome", "Paris", "Rome", "Paris")])
    e, _ = engine(looping)
    events = collect(e)
    assert [ev.step.args["city"] for ev in events if isinstance(ev, StepDecoded)] == ["Paris", "Rome"]
    assert [s.args["city"] for s in events[-1].plan.steps] == ["Paris", "Rome"]


@pytest.mark.parametrize(("cut_at", "kept"), [(-30, ["Paris"]), (40, [])])
def test_a_plan_cut_off_by_the_token_budget_keeps_its_closed_steps(cut_at: int, kept: list[str]) -> None:
    from f1.decoding.grammar import Grammar

    class Constrained(ScriptedModel):
        async def stream(self, messages: Any, *, grammar: Grammar | None = None, **kwargs: Any) -> Any:
            assert grammar is not None  # the planner asked for grammar-constrained output
            async for chunk in super().stream(messages, grammar=grammar, **kwargs):
                yield chunk

    cut = plan_json(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"}))[:cut_at]
    e = Engine([get_weather, add], model=Constrained([cut]))
    plan = anyio.run(e.aplan, "weather in Paris and Rome")
    assert [s.args["city"] for s in plan.steps] == kept  # a runaway first step leaves an empty plan, not an error


class Steered(ScriptedModel):
    """Reports log-probabilities: the tokens of the tool name `unwanted` get a tiny one, as when the grammar
    steers a model that wanted some other tool onto an offered one."""

    def __init__(self, replies: list[str], unwanted: str) -> None:
        super().__init__(replies, chunk_size=4)
        self.unwanted = unwanted

    async def stream(self, messages: Any, **kwargs: Any) -> Any:
        sent, marker = "", f'"tool":"{self.unwanted}"'
        async for chunk in super().stream(messages, **kwargs):
            full = sent + chunk.text
            start = full.find(marker) + len(marker) - len(self.unwanted) - 1 if marker in full else len(full)
            overlaps = start < len(full) and start + len(self.unwanted) > len(sent)
            sent = full
            yield Chunk(chunk.text, chunk.completion_tokens, chunk.prompt_tokens, logprob=-10.0 if overlaps else -0.01)


def test_a_step_whose_tool_the_model_did_not_want_ends_the_plan() -> None:
    reply = plan_json(("get_weather", {"city": "Paris"}), ("add", {"a": 1, "b": 2}))
    e = Engine([get_weather, add], model=Steered([reply, finish("5")], unwanted="add"))
    plan = anyio.run(e.aplan, "weather in Paris")
    assert [s.tool for s in plan.steps] == ["get_weather"]


def test_a_first_step_the_model_did_not_want_leaves_no_call_and_a_direct_answer() -> None:
    reply = plan_json(("add", {"a": 1, "b": 2}))
    e = Engine([get_weather, add], model=Steered([reply, "I can't help with that."], unwanted="add"))
    solution = e.solve("Write me a poem")
    assert solution.plan.steps == [] and solution.answer == "I can't help with that." and CALLS == []


def test_the_unwanted_step_cut_respects_config_and_tool_choice() -> None:
    reply = plan_json(("add", {"a": 1, "b": 2}))
    keep_all = Engine([get_weather, add], model=Steered([reply], unwanted="add"), config=EngineConfig(min_tool_logprob=None))
    assert [s.tool for s in anyio.run(keep_all.aplan, "1 + 2").steps] == ["add"]
    required = Engine([get_weather, add], model=Steered([reply], unwanted="add"))
    assert [s.tool for s in anyio.run(lambda: required.aplan("1 + 2", tool_choice="required")).steps] == ["add"]


def test_aplan_of_an_empty_plan_generates_no_answer() -> None:
    e, model = engine('{"steps":[]}')  # a single reply: asking for a direct answer would exhaust the script
    assert anyio.run(e.aplan, "hello").steps == [] and len(model.calls) == 1


def test_a_memoised_retriever_is_charged_what_it_keeps_in_memory() -> None:
    import gc
    import tracemalloc

    from f1.planner.retrieval import retriever as retrieval

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        specs = [
            ToolSpec(name=f"tool_{i}", description=f"Handles gadget number {i} and widget {i * 7}",
                     parameters={"type": "object", "properties": {"q": {"type": "string"}}})
            for i in range(1000)
        ]  # fmt: skip
        charged_before = retrieval._memo.size
        retrieval.retriever_for(specs, method="bm25")
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    charged = retrieval._memo.size - charged_before
    assert 0.7 * kept <= charged <= 1.3 * kept, (charged, kept)  # the specs' JSON alone is ~10% of it


# Same call, same result ------------------------------------------------------------------------------------------
ANSWERED = [
    ChatMessage(role="user", content="Weather in Paris, then tell me what to wear."),
    ChatMessage(role="assistant", tool_calls=[ToolCall(id="c1", name="get_weather", arguments={"city": "Paris"})]),
    ChatMessage(role="tool", tool_call_id="c1", name="get_weather", content='{"temperature_c": 21}'),
]


@tool
def final_result(wear: str) -> str:
    """The final answer."""
    return wear


def plan_of(messages: Any, **kwargs: Any) -> tuple[list[str], list[Any]]:
    """(the tools of the plan's steps, each system prompt the model saw) for `messages`."""
    return anyio.run(lambda: _plan_of(messages, **kwargs))


async def _plan_of(messages: Any, *, replies: list[Any], tools: list[Any], **kwargs: Any) -> tuple[list[str], list[Any]]:
    model = ScriptedModel(replies)
    plan = await Engine(tools, model=model).aplan(messages, **kwargs)
    return [f"{step.tool}:{json.dumps(step.args)}" for step in plan.steps], [call[0].content for call in model.calls]


def test_a_call_whose_result_is_in_the_conversation_is_not_planned_again() -> None:
    repeat = '{"steps":[{"id":1,"tool":"get_weather","args":{"city":"Paris"}}]}'
    assert plan_of(ANSWERED, replies=[repeat], tools=[get_weather, add])[0] == []
    other = plan_of(ANSWERED, replies=[plan_json(("get_weather", {"city": "Rome"}), ("get_weather", {"city": "Paris"}))], tools=[get_weather])
    assert other[0] == ['get_weather:{"city": "Rome"}']  # the plan ends before the repeat
    unanswered = [ANSWERED[0], ANSWERED[1].model_copy(update={"tool_calls": [ToolCall(id="c9", name="get_weather", arguments={"city": "Paris"})]}),
                  ANSWERED[2]]  # fmt: skip  (the result answers c1, and no call c1 was made)
    assert plan_of(unanswered, replies=[repeat], tools=[get_weather])[0] == ['get_weather:{"city": "Paris"}']


def test_with_a_required_call_the_model_must_pick_another_tool() -> None:
    def reply(messages: Any) -> str:  # repeats the weather call while it is offered, like a small model
        if "get_weather" in messages[0].content:
            return '{"steps":[{"id":1,"tool":"get_weather","args":{"city":"Paris"}}]}'
        return '{"steps":[{"id":1,"tool":"final_result","args":{"wear":"a jacket"}}]}'

    steps, prompts = plan_of(ANSWERED, replies=[reply, reply], tools=[get_weather, final_result], tool_choice="required")
    assert steps == ['final_result:{"wear": "a jacket"}']
    assert "get_weather" in prompts[0] and "get_weather" not in prompts[1] and "final_result" in prompts[1]


def test_a_required_call_with_no_other_tool_ends_without_a_call() -> None:
    repeat = '{"steps":[{"id":1,"tool":"get_weather","args":{"city":"Paris"}}]}'
    steps, prompts = plan_of(ANSWERED, replies=[repeat], tools=[get_weather], tool_choice="required")
    assert steps == [] and len(prompts) == 1  # no loop: the client gets an answer instead of the same call
