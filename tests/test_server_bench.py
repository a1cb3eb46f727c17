"""`f1 bench endpoint` at tiny counts: both paths, the same and a new tool list per request, no errors."""

from __future__ import annotations

import argparse

import pytest

from f1.bench import endpoint


@pytest.mark.parametrize("stream", [False, True])
def test_endpoint_bench_runs_both_paths_without_errors(stream: bool) -> None:
    parser = argparse.ArgumentParser()
    endpoint.add_arguments(parser)
    result = endpoint.run(parser.parse_args(["--requests", "9", "--warmup", "2", "--concurrency", "20", *(["--stream"] if stream else [])]))
    assert result["errors"] == 0 and result["concurrent_requests"] == 20 and result["stream"] is stream
    # an answer costs the engine's work on top of the HTTP round trip that /health measures, with or without a
    # tool list the caches have seen
    assert result["server_ms_p50"] > result["transport_ms_p50"] and result["server_new_tools_ms_p50"] > result["transport_ms_p50"]
    assert result["overhead_ms_p50"] == pytest.approx(result["server_ms_p50"] - result["direct_ms_p50"])
    assert result["new_tools_cost_ms_p50"] == pytest.approx(result["server_new_tools_ms_p50"] - result["server_ms_p50"])


def test_every_new_tool_list_is_new() -> None:
    names = {endpoint._new_tool(number)["function"]["name"] for number in range(50)}
    assert len(names) == 50 and not names & {entry["function"]["name"] for entry in endpoint.TOOLS}
