"""Smoke test of `f1 bench endpoint` (tiny counts; the numbers themselves are the benchmark's business)."""

from __future__ import annotations

import argparse

import pytest

from f1.bench import endpoint


@pytest.mark.parametrize("stream", [False, True])
def test_endpoint_bench_runs_both_paths_without_errors(stream: bool) -> None:
    parser = argparse.ArgumentParser()
    endpoint.add_arguments(parser)
    result = endpoint.run(parser.parse_args(["--requests", "5", "--warmup", "1", "--concurrency", "20", *(["--stream"] if stream else [])]))
    assert result["errors"] == 0 and result["concurrent_requests"] == 20 and result["stream"] is stream
    assert 0 < result["direct_ms_p50"] and 0 < result["server_ms_p50"]
    assert result["overhead_ms_p50"] == pytest.approx(result["server_ms_p50"] - result["direct_ms_p50"])
