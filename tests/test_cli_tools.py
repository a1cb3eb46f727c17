"""`f1 tools list|search|show|validate|export`."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from f1.cli import main
from f1.tools.catalog import SPECS_DIR


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["tools", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_builtin_and_bfcl(capsys) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0 and out.splitlines()[0].startswith("calculate ") and out.endswith("9 tools\n")
    code, out, _ = run(capsys, "list", "--tools", "bfcl:MathAPI")
    assert "subtract                Subtract one number from another." in out  # BFCL's preamble dropped
    code, out, _ = run(capsys, "list", "--json", "--tools", "builtin:units")
    assert [spec["name"] for spec in json.loads(out)] == ["convert_units"]


def test_show_in_each_format_and_unknown_names(capsys) -> None:
    code, out, _ = run(capsys, "show", "convert_time")
    spec = json.loads(out)
    assert code == 0 and spec["name"] == "convert_time" and spec["examples"]
    _, out, _ = run(capsys, "show", "convert_time", "--format", "openai")
    assert json.loads(out)["type"] == "function"
    _, out, _ = run(capsys, "show", "place_order", "--tools", "bfcl:TradingBot", "--format", "bfcl")
    assert json.loads(out)["parameters"]["type"] == "dict"
    code, _, err = run(capsys, "show", "curent_time")
    assert code == 2 and "did you mean current_time" in err


def test_unknown_tool_set_is_a_clean_error(capsys) -> None:
    code, _, err = run(capsys, "list", "--tools", "nowhere-at-all")
    assert code == 2 and "unknown tool set 'nowhere-at-all'" in err


def test_validate_shipped_and_broken_specs(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "validate", str(SPECS_DIR))
    assert code == 0 and "143 valid tool specs" in out
    bad_example = tmp_path / "bad.json"
    bad_example.write_text(json.dumps({"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}, "examples": [{"x": "one"}]}))
    code, _, err = run(capsys, "validate", str(bad_example))
    assert code == 2 and "f: example 0: 'one' is not of type 'integer'" in err
    bad_schema = tmp_path / "worse.yaml"
    bad_schema.write_text("name: g\nparameters: {type: object, properties: {x: {type: 12}}}\n")
    code, _, err = run(capsys, "validate", str(bad_schema))
    assert code == 2 and "worse.yaml" in err and "'g'" in err


def test_export_writes_what_is_shipped(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "export", "--out", str(tmp_path))
    assert code == 0 and len(out.splitlines()) == 9
    for path in tmp_path.rglob("*.json"):
        assert path.read_text() == (SPECS_DIR / path.relative_to(tmp_path)).read_text()


def test_search_uses_the_planner_retriever(capsys, monkeypatch) -> None:
    calls = []

    class Retriever:
        def __init__(self, specs, persist=False):
            self.specs = list(specs)
            assert persist  # a named catalogue: its embeddings stay on disk

        def search(self, query, k):
            calls.append((query, k, len(self.specs)))
            return [spec for spec in self.specs if "time" in spec.name][:k]

    module = types.ModuleType("f1.planner.retrieval")
    module.retriever_for = Retriever
    monkeypatch.setitem(sys.modules, "f1.planner.retrieval", module)
    code, out, _ = run(capsys, "search", "what time is it in Tokyo", "-k", "2")
    assert code == 0 and calls == [("what time is it in Tokyo", 2, 9)]
    assert [line.split()[0] for line in out.splitlines()] == ["current_time", "convert_time"]


def test_list_an_mcp_server_by_reference() -> None:
    import subprocess

    server = Path(__file__).with_name("mcp_server.py")
    done = subprocess.run(
        [sys.executable, "-m", "f1", "tools", "list", "--tools", f"mcp+stdio:{sys.executable} {server}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.endswith("4 tools\n") and "shout" in done.stdout
    assert done.stderr == ""  # the server's own stderr goes to the log, and the process exits cleanly
