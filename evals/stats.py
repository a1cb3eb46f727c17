"""Confidence intervals for the accuracies the reports show."""

from __future__ import annotations

import math

Z_95 = 1.959963984540054  # the standard normal's 97.5% quantile


def wilson_interval(passed: int, items: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a share `passed / items` (95% by default); (0, 1) for no items."""
    if items == 0:
        return 0.0, 1.0
    share = passed / items
    scale = 1 + z * z / items
    centre = (share + z * z / (2 * items)) / scale
    spread = z / scale * math.sqrt(share * (1 - share) / items + z * z / (4 * items * items))
    return max(0.0, centre - spread), min(1.0, centre + spread)
