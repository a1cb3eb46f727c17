"""Benchmark suites by name: ``bfcl:<category>``, ``seal-tools[:split]``, ``nestful``, ``parallelqa``, ``movie``."""

from __future__ import annotations

from pathlib import Path

from evals.core import EvalError, Suite

SUITE_NAMES = ("bfcl:<category>", "seal-tools[:dev|test_in_domain][:candidates]", "nestful", "parallelqa", "movie")


def load_suite(name: str, *, data: Path | None = None, **options: object) -> Suite:
    """The suite called `name`; `data` overrides its data file (Seal-Tools, NESTFUL, ParallelQA/Movie). Seal-Tools
    names its setting last: ``seal-tools:test_in_domain:candidates`` (the paper's), else retrieval from the whole
    catalogue (ours)."""
    kind, _, variant = name.partition(":")
    if kind == "bfcl":
        from evals.suites.bfcl import BfclSuite

        if data is not None:
            raise EvalError("bfcl reads its data from the installed bfcl-eval package; --data does not apply")
        return BfclSuite(variant or "all", **options)  # type: ignore[arg-type]
    if kind == "seal-tools":
        from evals.suites.seal import SETTINGS, SealSuite

        split, _, setting = variant.partition(":")
        if split in SETTINGS and not setting:
            split, setting = "", split
        return SealSuite(split or "test_in_domain", data=data, setting=setting or "catalogue", **options)  # type: ignore[arg-type]
    if kind == "nestful" and not variant:
        from evals.suites.nestful import NestfulSuite

        return NestfulSuite(data=data)
    if kind in ("parallelqa", "movie") and not variant:
        from evals.suites.llmcompiler import LatencySuite

        return LatencySuite(kind, data=data, **options)  # type: ignore[arg-type]
    raise EvalError(f"unknown suite {name!r}; suites: {', '.join(SUITE_NAMES)}")
