"""`f1 serve` from the command line: a real process, a remote-model spec (nothing to load), auth from the flag."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from f1.cli import main


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_f1_serve_answers_health_and_models() -> None:
    port = free_port()
    command = [sys.executable, "-m", "f1", "serve", "--port", str(port), "--model", "openai:http://127.0.0.1:9/v1#remote-planner",
               "--api-key", "sk-cli", "--tools", "builtin", "--compound-name", "f1-tools"]  # fmt: skip
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "f1 serve did not start"
                time.sleep(0.2)
        assert health.json()["models"] == ["remote-planner", "openai:http://127.0.0.1:9/v1#remote-planner", "f1-tools"]
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 401
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": "Bearer sk-cli"}).json()
        assert [card["id"] for card in models["data"]] == health.json()["models"]
    finally:
        server.terminate()
        server.wait(10)


def test_a_bad_body_limit_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--max-body-bytes", "0"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "f1 serve: error: argument --max-body-bytes: must be at least 1, not 0 (see f1 serve --help)\n"
    )


def test_compound_tools_without_implementations_are_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = tmp_path / "specs.json"
    specs.write_text(json.dumps([{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]))
    assert main(["serve", "--tools", str(specs), "--model", "openai:http://127.0.0.1:9/v1#m"]) == 2
    assert "no implementations" in capsys.readouterr().err
