"""The CPU numeric path: a tiny model exported to ONNX and run by onnxruntime, the disk prefix store, path choice."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from f1.decoding.generate import GenerationStats, PrefixCache, generate
from f1.decoding.grammar import plan_grammar
from f1.decoding.prefix_store import DiskPrefixStore
from f1.errors import ModelError
from f1.plan import parse_plan_json, validate_plan
from f1.planner import numeric
from tests.test_decoding_generate import BOUNDED, TOOLS

pytest.importorskip("onnxruntime_genai")


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """(OnnxLM, tokenizer) of a small random Qwen2 exported by the genai builder (int8: exact enough to test)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from f1.planner.onnx import OnnxLM, export_onnx
    from tests.tiny_model import byte_tokenizer

    tokenizer = byte_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048, eos_token_id=256,
        pad_token_id=257, tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    source = tmp_path_factory.mktemp("tiny-hf")
    Qwen2ForCausalLM(config).eval().save_pretrained(source)
    tokenizer.save_pretrained(source)
    target = export_onnx(source, source.parent / "onnx-int8", "int8", source_marker={"seconds": 1.5})
    yield OnnxLM(target, threads=1), tokenizer


PROMPT = "You plan tool calls. Tools: search, add, now. " * 3


def _ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer.encode(text, add_special_tokens=False))


def test_export_is_done_once_and_names_its_path(tiny_onnx: tuple[Any, Any]) -> None:
    from f1.planner.onnx import MARKER, export_onnx

    lm, _ = tiny_onnx
    directory = lm.directory
    before = (directory / MARKER).stat().st_mtime_ns
    source = Path(json.loads((directory / MARKER).read_text())["source"])
    assert export_onnx(source, directory, "int8", source_marker={"seconds": 1.5}) == directory
    assert (directory / MARKER).stat().st_mtime_ns == before  # not rebuilt
    assert lm.path == "onnx-int8" and lm.vocab_size > 256


def test_chunked_prefill_matches_one_call(tiny_onnx: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from f1.planner import onnx

    lm, tokenizer = tiny_onnx
    ids = _ids(tokenizer, PROMPT)
    whole_cache = lm.new_cache()
    whole = lm.forward(ids, whole_cache, 3)
    monkeypatch.setattr(onnx, "PREFILL_CHUNK", 16)
    chunked_cache = lm.new_cache()
    chunked = lm.forward(ids, chunked_cache, 3)
    assert whole.shape == (3, lm.vocab_size)
    assert chunked_cache.get_seq_length() == whole_cache.get_seq_length() == len(ids)
    np.testing.assert_allclose(chunked.numpy(), whole.numpy(), atol=1e-3)


def test_grammar_plans_on_onnx_are_valid_and_the_prefix_cache_changes_nothing(tiny_onnx: tuple[Any, Any]) -> None:
    lm, tokenizer = tiny_onnx
    grammar = plan_grammar(BOUNDED, max_steps=3, max_string_length=6)
    cache = PrefixCache(min_shared=4)
    for task in ("Plan one:", "Plan two!"):
        prompt = _ids(tokenizer, PROMPT + task)
        plain, cached = GenerationStats(), GenerationStats()
        expected = "".join(d.text for d in generate(lm, tokenizer, prompt, grammar=grammar, stats=plain))
        got = "".join(d.text for d in generate(lm, tokenizer, prompt, grammar=grammar, stats=cached, prefix_cache=cache))
        validate_plan(parse_plan_json(expected), TOOLS)
        assert got == expected
    assert cached.cached_prompt_tokens >= len(_ids(tokenizer, PROMPT))


def test_a_new_process_reads_the_stable_prefix_from_disk(tiny_onnx: tuple[Any, Any], tmp_path: Path) -> None:
    lm, tokenizer = tiny_onnx
    grammar = plan_grammar(BOUNDED, max_steps=2, max_string_length=6)
    stable = len(_ids(tokenizer, PROMPT))
    outputs = []
    for _ in range(2):  # each PrefixCache stands for a fresh process: nothing in memory, the same folder
        cache = PrefixCache(store=DiskPrefixStore(tmp_path, lm, model_key="tiny"))
        stats = GenerationStats()
        prompt = _ids(tokenizer, PROMPT + "Plan one:")
        deltas = generate(lm, tokenizer, prompt, grammar=grammar, stats=stats, prefix_cache=cache, stable_prefix=stable)
        outputs.append(("".join(d.text for d in deltas), stats.cached_prompt_tokens))
    assert outputs[0][1] == 0 and outputs[1][1] == stable
    assert outputs[0][0] == outputs[1][0]
    assert len(list(tmp_path.glob("*.kv"))) == 1 and not list(tmp_path.glob(".write-*"))


class ArraysLM:
    """A runtime stand-in for the store: caches are lists of (1, 2, tokens, 4) arrays."""

    def cache_from_arrays(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        return arrays


def _arrays(tokens: int, value: float = 1.0) -> list[np.ndarray]:
    return [np.full((1, 2, tokens, 4), value, np.float32) for _ in range(4)]


def test_store_round_trip_and_longest_prefix(tmp_path: Path) -> None:
    store = DiskPrefixStore(tmp_path, ArraysLM(), model_key="m")
    store.save([1, 2, 3], _arrays(3, 1.0))
    store.save([1, 2, 3, 4, 5], _arrays(5, 2.0))
    fresh = DiskPrefixStore(tmp_path, ArraysLM(), model_key="m")
    path, length = fresh.longest([1, 2, 3, 4, 5, 6])
    assert length == 5 and path is not None
    loaded = fresh.load(path)
    assert [a.shape for a in loaded] == [(1, 2, 5, 4)] * 4 and float(loaded[0][0, 0, 0, 0]) == 2.0
    assert fresh.longest([1, 2, 9])[1] == 0
    assert fresh.longest([1, 2, 3, 9])[1] == 3


def test_store_ignores_corrupt_and_foreign_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = DiskPrefixStore(tmp_path, ArraysLM(), model_key="m")
    store.save([1, 2, 3], _arrays(3))
    (file,) = tmp_path.glob("*.kv")
    data = bytearray(file.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit of payload
    file.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        assert store.load(file) is None
    assert "checksum mismatch" in caplog.text and not file.exists()
    store.save([1, 2, 3], _arrays(3))
    other = DiskPrefixStore(tmp_path, ArraysLM(), model_key="another model")
    (file,) = tmp_path.glob("*.kv")
    assert other.load(file) is None  # made for another model: ignored
    (tmp_path / "junk.kv").write_bytes(b"not a cache")
    assert DiskPrefixStore(tmp_path, ArraysLM(), model_key="m").longest([1, 2, 3, 4])[1] == 0
    assert not (tmp_path / "junk.kv").exists()


def test_store_stays_under_its_size_bound(tmp_path: Path) -> None:
    one_entry = 4 * 2 * 100 * 4 * 4  # four (1, 2, 100, 4) float32 arrays
    store = DiskPrefixStore(tmp_path, ArraysLM(), model_key="m", max_bytes=int(one_entry * 2.5))
    for first in range(5):
        store.save([first, *range(99)], _arrays(100))
    assert len(list(tmp_path.glob("*.kv"))) == 2
    assert store.longest([4, *range(99), 7])[1] == 100  # the newest entries stay


def test_store_write_failure_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = DiskPrefixStore(blocker / "sub", ArraysLM(), model_key="m")
    with caplog.at_level(logging.WARNING):
        store.save([1, 2], _arrays(2))
    assert "cannot write prefix cache" in caplog.text


def test_choose_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(numeric.NUMERIC_PATH_ENV, raising=False)
    monkeypatch.setattr(numeric, "available_paths", lambda: ["onnx-int8", "onnx-int4", "torch-cpu-fp32"])
    assert numeric.choose_path() == "onnx-int8"
    assert numeric.choose_path(known_model=False) == "torch-cpu-fp32"  # exports are checked for known models only
    assert numeric.choose_path("torch-cpu-bf16") == "torch-cpu-bf16"
    monkeypatch.setenv(numeric.NUMERIC_PATH_ENV, "onnx-int4")
    assert numeric.choose_path() == "onnx-int4"
    with pytest.raises(ModelError, match="unknown numeric path 'fp8'"):
        numeric.choose_path("fp8")


def test_bf16_only_where_the_cpu_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(numeric, "onnx_available", lambda: False)
    monkeypatch.setattr(numeric, "cpu_has_native_bf16", lambda: False)
    assert numeric.available_paths()[0] == "torch-cpu-fp32"
    monkeypatch.setattr(numeric, "cpu_has_native_bf16", lambda: True)
    assert numeric.available_paths()[0] == "torch-cpu-bf16"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert numeric.available_paths()[0] == "torch-cuda-bf16"
