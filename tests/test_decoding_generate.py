"""The generation loop on a tiny random model: valid plans under sampling, fast-forward, byte-safe deltas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from f1.decoding.generate import Delta, GenerationStats, generate
from f1.decoding.grammar import Grammar, plan_grammar
from f1.decoding.steps import StepStream
from f1.plan import parse_plan_json, validate_plan
from f1.tools.spec import ToolSpec
from tests.test_decoding_grammar import SPECS, test_tokenizer

# Bounded shapes, so that a random model's plans end: no free-form objects.
BOUNDED = [*SPECS[:3], ToolSpec(name="now", parameters={"type": "object", "properties": {}, "additionalProperties": False})]
TOOLS = {spec.name: spec for spec in BOUNDED}


@pytest.fixture(scope="module")
def model() -> Iterator[Any]:
    import torch

    from tests.tiny_model import tiny_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: threads only contend
    yield tiny_model(len(test_tokenizer()))
    torch.set_num_threads(threads)


def text_of(deltas: Iterator[Delta]) -> str:
    return "".join(delta.text for delta in deltas)


def run(model: Any, grammar: Grammar | None, **kwargs: Any) -> tuple[str, GenerationStats]:
    tokenizer = test_tokenizer()
    stats = GenerationStats()
    prompt = tokenizer.encode("Plan:", add_special_tokens=False)
    text = "".join(delta.text for delta in generate(model, tokenizer, prompt, grammar=grammar, stats=stats, **kwargs))
    return text, stats


def test_sampled_plans_are_always_valid(model: Any) -> None:
    grammar = plan_grammar(BOUNDED, max_steps=3, max_string_length=6)
    texts = set()
    for seed in range(100):
        text, stats = run(model, grammar, temperature=1.0, seed=seed, max_new_tokens=400)
        validate_plan(parse_plan_json(text), TOOLS)
        assert stats.tokens <= 400 and stats.forced_tokens > 0
        texts.add(text)
    assert len(texts) > 20  # sampling explores, the grammar keeps it valid


def test_same_seed_same_output(model: Any) -> None:
    grammar = plan_grammar(BOUNDED, max_steps=3, max_string_length=6)
    first = run(model, grammar, temperature=1.0, seed=7, max_new_tokens=200)[0]
    assert run(model, grammar, temperature=1.0, seed=7, max_new_tokens=200)[0] == first


def test_fast_forward_saves_forward_calls(model: Any) -> None:
    grammar = plan_grammar(BOUNDED, min_steps=1, max_steps=3, max_string_length=6)
    fast, fast_stats = run(model, grammar, max_new_tokens=300)
    slow, slow_stats = run(model, grammar, max_new_tokens=300, fast_forward=False)
    assert fast == slow
    validate_plan(parse_plan_json(fast), TOOLS)
    assert fast_stats.forward_calls < slow_stats.forward_calls
    assert fast_stats.forced_tokens > 0 and slow_stats.forced_tokens == 0
    assert fast_stats.tokens == slow_stats.tokens
    assert 0 < fast_stats.mask_seconds < fast_stats.seconds


def test_unconstrained_generation_stops_at_max_new_tokens(model: Any) -> None:
    text, stats = run(model, None, max_new_tokens=12)
    assert stats.tokens <= 12 and stats.forward_calls == stats.tokens and stats.mask_seconds == 0
    assert stats.prompt_tokens == len(test_tokenizer().encode("Plan:", add_special_tokens=False))
    assert isinstance(text, str)


def test_deltas_never_split_a_character(model: Any) -> None:
    grammar = Grammar("fixed", '%llguidance {}\nstart: "héllo ▁ 日本 🙂"')
    tokenizer = test_tokenizer()
    deltas = [delta.text for delta in generate(model, tokenizer, tokenizer.encode("x"), grammar=grammar, max_new_tokens=50)]
    assert "".join(deltas) == "héllo ▁ 日本 🙂"
    assert all("\ufffd" not in delta for delta in deltas)


def test_steps_stream_out_of_a_generation(model: Any) -> None:
    grammar = plan_grammar(BOUNDED, min_steps=1, max_steps=3, max_string_length=6)
    tokenizer = test_tokenizer()
    stream = StepStream(TOOLS)
    seen = []
    for delta in generate(model, tokenizer, tokenizer.encode("x"), grammar=grammar, temperature=1.0, seed=3):
        seen += stream.feed(delta.text)
    assert seen and seen == stream.plan().steps


def test_prefix_cache_reuses_a_shared_prompt_and_changes_nothing(model: Any) -> None:
    from f1.decoding.generate import PrefixCache

    tokenizer = test_tokenizer()
    shared = tokenizer.encode("You plan tool calls. Tools: search, add, now. " * 3, add_special_tokens=False)
    prompts = [shared + tokenizer.encode(task, add_special_tokens=False) for task in ("Plan one:", "Plan two!")]
    grammar = plan_grammar(BOUNDED)
    cache = PrefixCache(min_shared=4)
    for prompt in prompts:
        plain, cached = GenerationStats(), GenerationStats()
        expected = text_of(generate(model, tokenizer, prompt, grammar=grammar, stats=plain, max_new_tokens=48))
        got = text_of(generate(model, tokenizer, prompt, grammar=grammar, stats=cached, max_new_tokens=48, prefix_cache=cache))
        assert got == expected
    assert cached.cached_prompt_tokens >= len(shared)  # the second prompt reused the first one's shared prefix
    assert plain.cached_prompt_tokens == 0


def test_deltas_carry_the_unmasked_log_probability_of_their_tokens(model: Any) -> None:
    """A fast-forwarded token gets the log-prob it would get if it were decoded one call at a time (scored from
    the rows of the call that feeds it), except the grammar's final forced block, which no call scores (0)."""
    tokenizer = test_tokenizer()
    grammar = plan_grammar(BOUNDED, min_steps=1, max_steps=2, max_string_length=6)
    prompt = tokenizer.encode("Plan:", add_special_tokens=False)
    fast = list(generate(model, tokenizer, prompt, grammar=grammar, max_new_tokens=120))
    slow = list(generate(model, tokenizer, prompt, grammar=grammar, max_new_tokens=120, fast_forward=False))
    assert text_of(iter(fast)) == text_of(iter(slow))
    assert all(delta.logprob <= 0 for delta in slow) and sum(delta.logprob for delta in slow) < -1
    tail = fast[-1].text
    assert fast[-1].logprob == 0.0 and tail.endswith("]}")
    while tail:
        delta = slow.pop()
        assert tail.endswith(delta.text)
        tail = tail[: -len(delta.text)]  # the slow run's scores of the tokens the fast run left unscored
    assert sum(delta.logprob for delta in fast) == pytest.approx(sum(delta.logprob for delta in slow), abs=1e-3)
