"""choose_attention: flash-attention 2 only on CUDA with flash_attn installed."""

from __future__ import annotations

import importlib.util
import logging

import pytest
import torch

from f1.decoding.attention import choose_attention


@pytest.mark.parametrize(
    ("cuda", "flash", "expected"),
    [(True, True, "flash_attention_2"), (True, False, "sdpa"), (False, True, "sdpa"), (False, False, "sdpa")],
)
def test_choice(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, cuda: bool, flash: bool,
                expected: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: (object() if flash else None) if name == "flash_attn" else real(name, *a)
    )
    with caplog.at_level(logging.INFO, logger="f1.decoding.attention"):
        assert choose_attention() == expected
    assert expected in caplog.text
