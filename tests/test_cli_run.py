"""`f1 run`: the live terminal view, and the README's main job end to end with the real model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rich.console import Console

from f1.cli._live import LiveRun
from f1.plan import Step
from f1.planner import StepDecoded, TextDelta
from f1.scheduler import StepRecord, StepStatus


def test_live_view_shows_decoded_steps_and_their_status() -> None:
    live = LiveRun("weather in Paris")
    live.console = Console(width=120, record=True, force_terminal=False)
    live.on_event(StepDecoded(Step(id=1, tool="get_weather", args={"city": "Paris"})))
    live.on_step(StepRecord(id=1, tool="get_weather", args={"city": "Paris"}, status=StepStatus.ok, started_at=0.1, ended_at=0.5))
    live.on_event(TextDelta("It is sunny."))
    live.console.print(live._render())
    screen = live.console.export_text()
    assert '$1 = get_weather({"city": "Paris"})' in screen
    assert "ok 0.40s" in screen and "█" in screen and "It is sunny." in screen


@pytest.mark.model
def test_the_readme_main_job_answers_offline() -> None:
    task = "Convert 26.2 miles to kilometers and 100 fahrenheit to celsius."
    done = subprocess.run([sys.executable, "-m", "f1", "run", task, "--json"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    steps = result["rounds"][0]["trace"]["steps"]
    assert {step["tool"] for step in steps} == {"convert_units"} and all(step["status"] == "ok" for step in steps)
    values = sorted(round(step["result"]["value"], 1) for step in steps)
    assert values == [37.8, 42.2]
    assert result["answer"]


@pytest.mark.model
def test_f1_run_calls_an_mcp_server_named_on_the_command_line() -> None:
    import shutil

    if shutil.which("mcp-server-time") is None:
        pytest.skip("mcp-server-time is not installed (pip install 'f1[dev]' installs it)")
    command = [sys.executable, "-m", "f1", "run", "--tools", "mcp+stdio:mcp-server-time", "What time is it in Tokyo?", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    steps = [step for round_ in json.loads(done.stdout)["rounds"] for step in round_["trace"]["steps"]]
    assert any(step["tool"] == "get_current_time" for step in steps), steps
