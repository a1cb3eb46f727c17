"""ToolNameScores: the log-probability of each step's tool name, from the chunks that spell it."""

from __future__ import annotations

from f1.plan import Step
from f1.planner import Chunk
from f1.planner.confidence import ToolNameScores


def scores_of(*chunks: tuple[str, float | None]) -> tuple[ToolNameScores, str]:
    scores = ToolNameScores()
    for text, logprob in chunks:
        scores.feed(Chunk(text, logprob=logprob))
    return scores, "".join(text for text, _ in chunks)


def test_a_name_spread_over_chunks_sums_the_chunks_that_overlap_it() -> None:
    scores, text = scores_of(('{"steps":[{', -0.1), ('"id":1,"tool":"get', -0.5), ("_weather", -2.0), ('","args":{}}', -0.25))
    # The chunks with "get" and "_weather" overlap the name; the closing chunk starts at its quote.
    assert scores.logprob(Step(id=1, tool="get_weather", args={}), text) == -2.5


def test_steps_are_found_in_order_and_an_argument_quoting_a_name_is_not_one() -> None:
    text = '{"steps":[{"id":1,"tool":"echo","args":{"text":"\\"tool\\":\\"add\\""}},{"id":2,"tool":"add","args":{}}]}'
    second = text.index('"tool":"add","args"')
    scores, _ = scores_of((text[:second], -0.5), (text[second:], -7.0))
    assert scores.logprob(Step(id=1, tool="echo", args={}), text) == -0.5
    assert scores.logprob(Step(id=2, tool="add", args={}), text) == -7.0


def test_unknown_without_log_probabilities_or_without_the_name() -> None:
    for chunk in (('{"steps":[{"id":1,"tool":"add"', None), ('{"steps":[]}', -0.1)):
        scores, text = scores_of(chunk)
        assert scores.logprob(Step(id=1, tool="add", args={}), text) is None
