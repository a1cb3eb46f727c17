"""Bad command lines: one line on stderr and exit status 2, before any model loads, in well under 2 s each; and
`--help` names the defaults."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REMOTE = "openai:http://127.0.0.1:9/v1#remote"  # nothing to load: a model that is never asked


def f1(*argv: str) -> tuple[int, str, str, float]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "f1", *argv], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - started


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["run", "hi", "--max-tools", "0"], "f1 run: error: argument --max-tools: must be at least 1, not 0"),
        (["run", ""], "f1 run: error: argument task: must not be empty"),
        (["run", "hi", "--tools", "missing-tools.yaml"], "f1: error: tool set 'missing-tools.yaml': file not found"),
        (["run", "hi", "--tools", "mcp:time"], "f1: error: unknown tool set 'mcp:time'"),
        (["serve", "--port", "99999"], "f1 serve: error: argument --port: must be from 0 to 65535, not 99999"),
        (["serve", "--max-tools", "-1"], "f1 serve: error: argument --max-tools: must be at least 1, not -1"),
        (["tools", "list", "--tools", "nowhere/specs.json"], "f1: error: tool set 'nowhere/specs.json': file not found"),
    ],
)
def test_a_bad_input_is_one_line_and_exit_2(argv: list[str], says: str) -> None:
    code, out, err, seconds = f1(*argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(says), err
    assert seconds < 2.0 * _slowness(), seconds


def test_a_taken_port_is_refused_before_any_model_loads() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err, seconds = f1("serve", "--port", str(port), "--model", "default")  # the real model is not loaded
    assert code == 2 and err.startswith(f"f1: error: cannot listen on 127.0.0.1:{port}: ") and err.count("\n") == 1
    assert seconds < 2.0 * _slowness()


def test_help_shows_the_defaults() -> None:
    _, out, _, _ = f1("serve", "--help")
    out = " ".join(out.split())  # argparse wraps lines
    for default in ("(default: 8000)", "(default: 127.0.0.1)", "(default: 16)", "(default: info)", "(default: f1-compound)"):
        assert default in out, default
    assert "F1_SERVER_API_KEY" in out and "(default: None)" not in out
    _, out, _, _ = f1("run", "--help")
    assert "(default: builtin)" in " ".join(out.split()) and "mcp+stdio" in out


def _slowness() -> float:
    """How much slower than usual this machine runs now (1 when idle): an interpreter start measures it."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return max(1.0, (time.perf_counter() - started) / 0.05)


def test_serve_help_does_not_print_the_api_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("F1_SERVER_API_KEY", "sk-very-secret")
    _, out, _, _ = f1("serve", "--help")
    assert "sk-very-secret" not in out
