"""Grammar engines: same verdicts on a shared corpus, exact vocabularies, masks, caching, missing extras."""

from __future__ import annotations

import importlib
import importlib.util
import time
from typing import Any

import pytest

from f1.decoding.engines import get_engine
from f1.decoding.grammar import joiner_grammar, plan_grammar
from f1.decoding.vocab import token_bytes
from f1.errors import F1Error
from tests.test_decoding_grammar import BAD_PLANS, GOOD_PLANS, SPECS, accepts, plan_text, test_tokenizer

# Texts every engine must judge alike: shape, names and types (not step ids or reference targets, which only
# the Lark grammar enforces; JSON-schema engines leave those to validate_plan).
SHARED_BAD = [
    plan_text(("nope", {})),
    plan_text(("search", {"limit": 3})),
    plan_text(("search", {"query": 3})),
    plan_text(("math", {"op": "sub", "values": [1]})),
    '{"steps": []}',
    '{"steps":[{"tool":"now","id":1,"args":{}}]}',
]


NOT_INSTALLED = "{} is not installed (scripts/setup.sh installs the optional grammar engines)"


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize(
    "engine",
    [
        "llguidance",
        pytest.param("xgrammar", marks=pytest.mark.skipif(not _installed("xgrammar"), reason=NOT_INSTALLED.format("xgrammar"))),
    ],
)
def test_engines_agree_on_the_shared_corpus(engine: str) -> None:
    grammar = plan_grammar(SPECS)
    assert all(accepts(grammar, text, engine) for text in GOOD_PLANS)
    assert not any(accepts(grammar, text, engine) for text in SHARED_BAD)
    assert {text for text, _ in BAD_PLANS} >= set(SHARED_BAD)


@pytest.mark.skipif(not _installed("outlines_core"), reason=NOT_INSTALLED.format("outlines-core"))
def test_outlines_engine_on_a_small_grammar() -> None:
    # outlines-core builds a regex automaton: fine for the joiner, minutes for plan grammars (see the benchmark).
    grammar = joiner_grammar()
    for engine in ("llguidance", "outlines"):
        assert accepts(grammar, '{"action":"finish","answer":"4 \\"2\\""}', engine)
        assert accepts(grammar, '{"action":"replan","reason":"x"}', engine)
        assert not accepts(grammar, '{"action":"finish","answer":3}', engine)
        assert not accepts(grammar, '{"action": "finish","answer":"x"}', engine)


def test_every_token_round_trips_through_llguidance() -> None:
    tokenizer = test_tokenizer()
    exact = token_bytes(tokenizer)
    lltokenizer = get_engine("llguidance").tokenizer(tokenizer)
    special = set(tokenizer.all_special_ids) | set(tokenizer.added_tokens_decoder)
    checked = 0
    for token, expected in enumerate(exact):
        if token in special or expected in (b"", b"\xff"):
            continue  # llguidance reserves a leading 0xFF to mark special tokens (0xFF never occurs in UTF-8)
        assert lltokenizer.decode_bytes([token]) == expected, token
        checked += 1
    assert checked > 200
    text = '{"q":"héllo ▁ 日本 \\u00e9 <0x41>"}'
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert b"".join(exact[i] for i in ids).decode() == text


def test_mask_forbids_wrong_tool_names_and_consume_rejects_them() -> None:
    import torch

    tokenizer = test_tokenizer()
    matcher = get_engine("llguidance").matcher(tokenizer, plan_grammar(SPECS))
    assert matcher.consume(tokenizer.encode('{"steps":[{"id":1,"tool":"', add_special_tokens=False))
    logits = torch.zeros(len(tokenizer))
    matcher.mask_logits(logits)
    allowed = {tokenizer.decode([int(i)]) for i in torch.nonzero(logits == 0).flatten()}
    assert allowed and all(any(name.startswith(text) for name in ("search", "math", "book", "now")) for text in allowed)
    bad = tokenizer.encode("xyz", add_special_tokens=False)[0]
    assert logits[bad] == float("-inf")
    assert not matcher.consume([bad])
    assert matcher.consume(tokenizer.encode("now", add_special_tokens=False))


def test_forced_tokens_cover_fixed_text() -> None:
    tokenizer = test_tokenizer()
    matcher = get_engine("llguidance").matcher(tokenizer, plan_grammar(SPECS, min_steps=1))
    forced = matcher.forced_tokens()
    assert tokenizer.decode(forced).startswith('{"steps":[{"id":1')


def test_compiled_grammars_are_cached() -> None:
    engine = get_engine("llguidance")
    tokenizer = test_tokenizer()
    grammar = plan_grammar(SPECS[:2])
    first = engine.compile(tokenizer, grammar)
    started = time.perf_counter()
    again = engine.compile(tokenizer, plan_grammar(SPECS[:2]))
    engine.matcher(tokenizer, grammar)
    assert again is first
    assert time.perf_counter() - started < 0.05


def test_a_bad_grammar_is_a_clear_error() -> None:
    from f1.decoding.grammar import Grammar

    with pytest.raises(F1Error, match="does not compile"):
        get_engine("llguidance").matcher(test_tokenizer(), Grammar("broken", "start: undefined_rule"))


def test_missing_engines_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def fake(name: str, *args: Any) -> Any:
        if name == "f1.decoding.engines.xgrammar":
            raise ModuleNotFoundError("No module named 'xgrammar'", name="xgrammar")
        return real(name, *args)

    get_engine.cache_clear()
    monkeypatch.setattr(importlib, "import_module", fake)
    try:
        with pytest.raises(F1Error, match=r"pip install 'f1\[xgrammar\]'"):
            get_engine("xgrammar")
        with pytest.raises(F1Error, match="unknown grammar engine"):
            get_engine("nope")
    finally:
        get_engine.cache_clear()


@pytest.mark.parametrize("name", ["llguidance", "xgrammar", "outlines"])
def test_engines_follow_the_protocol(name: str) -> None:
    from f1.decoding.engines import ENGINES, GrammarEngine

    extra_module = {"xgrammar": "xgrammar", "outlines": "outlines_core"}.get(name)
    if extra_module and not _installed(extra_module):
        pytest.skip(NOT_INSTALLED.format(extra_module))
    engine = get_engine(name)
    assert isinstance(engine, GrammarEngine) and engine.name == name and name in ENGINES
    engine.clear_cache()


def test_clearing_the_cache_recompiles() -> None:
    engine = get_engine("llguidance")
    grammar = plan_grammar(SPECS[:1])
    first = engine.compile(test_tokenizer(), grammar)
    engine.clear_cache()
    assert engine.compile(test_tokenizer(), grammar) is not first
