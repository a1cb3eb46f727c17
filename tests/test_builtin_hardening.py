"""Built-in tools that cannot take the process down: no runaway CPU, bounded results and memory, threads that
learn they were abandoned, an address guard that sees IPv4 inside IPv6, and file tools that survive odd files.
The time bounds here are generous "does not hang" checks, not benchmarks."""

from __future__ import annotations

import time

import pytest

from f1.tools.builtin import calculate
from f1.tools.errors import ToolCallError

# calculator: operand-size guards ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "variables", "reason"),
    [
        ("round(1, -10**7)", {}, "round to -10000000 digits"),
        ("round(1, n)", {"n": -(10**7)}, "round to -10000000 digits"),
        ("round(2.5, n)", {"n": 10**9}, "round to 1000000000 digits"),
        ("a + 1", {"a": 2**100_000}, "variable 'a' is too large"),
    ],
)
def test_calculate_refuses_operands_that_would_run_long(expression: str, variables: dict, reason: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ToolCallError, match=reason):
        calculate(expression=expression, variables=variables)
    assert time.perf_counter() - started < 2


def test_calculate_still_rounds_to_tens_and_decimals() -> None:
    assert calculate(expression="round(12345, -2)") == 12300
    assert calculate(expression="round(2 ** 4000, -1300)") == 0
    assert calculate(expression="round(pi, 3)") == 3.142
