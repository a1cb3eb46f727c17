"""Fixtures shared by the test files: the anyio backends, a tiny local model, Seal-Tools' catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.core import EvalError, data_file


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every `pytest.mark.anyio` test runs on both backends: f1 uses anyio only, never asyncio itself."""
    return str(request.param)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random transformers model and its byte tokenizer, saved once per session."""
    from tests.tiny_model import save_tiny_dir

    return save_tiny_dir(tmp_path_factory.mktemp("tiny") / "tiny")


@pytest.fixture(scope="session")
def seal_tools() -> Path:
    """Seal-Tools' catalogue (tool.jsonl) in the eval data; the test is skipped where the data is not."""
    try:
        return data_file("seal_tools", "tool.jsonl")
    except EvalError as exc:
        pytest.skip(str(exc))
