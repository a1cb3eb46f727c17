"""Plan-grammar cost for 10/100/500 Seal-Tools tools: compile (cold, cached) and per-token mask vs a decode step.

Targets: cold compile at N=500 <= 0.2 s, cached <= 1 ms, mask <= 2% of a decode step of the default model.
outlines-core builds a regex automaton (minutes to hours at 100+ tools): it runs only with --outlines-core, at N=10.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from f1.errors import ConfigError, GrammarError
from f1.tools.spec import ToolSpec

TARGETS = {"cold_s_at_500": 0.2, "cached_ms": 1.0, "mask_fraction_of_decode_step": 0.02}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="10,100,500", help="tool counts, comma-separated (default 10,100,500)")
    parser.add_argument("--engine", default="llguidance", choices=["llguidance", "xgrammar", "outlines"])
    parser.add_argument("--outlines-core", action="store_true", help="allow the outlines engine (N=10 only)")
    parser.add_argument("--model", default="default", help="model whose decode step the mask is compared with")
    parser.add_argument("--no-model", action="store_true", help="skip the decode-step comparison")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from f1.decoding.engines import get_engine
    from f1.decoding.grammar import joiner_grammar

    sizes = [int(size) for size in args.sizes.split(",")]
    if args.engine == "outlines":
        if not args.outlines_core:
            raise ConfigError("the outlines engine takes minutes to hours per grammar at 100+ tools; pass --outlines-core")
        sizes = [size for size in sizes if size <= 10] or [10]
    catalogue = seal_catalogue()
    model, tokenizer = _model_and_tokenizer(args)
    step_s = None if model is None else decode_step_seconds(model, tokenizer)
    engine = get_engine(args.engine)
    tokenizer_s = _time(lambda: engine.matcher(tokenizer, joiner_grammar()))  # builds the engine's vocabulary
    rows = [_measure(engine, tokenizer, catalogue[:size], step_s) for size in sizes]
    result: dict[str, Any] = {
        "engine": args.engine,
        "catalogue_tools": len(catalogue),
        "engine_tokenizer_s": round(tokenizer_s, 3),
        "decode_step_ms": None if step_s is None else round(step_s * 1e3, 2),
        "targets": TARGETS,
        "table": rows,
    }
    largest = rows[-1]
    result["met"] = {
        "cold": largest["cold_s"] <= TARGETS["cold_s_at_500"] if largest["tools"] >= 500 else None,
        "cached": all(row["cached_ms"] <= TARGETS["cached_ms"] for row in rows),
        "mask": None if step_s is None else all(
            row["mask_fraction_of_decode_step"] <= TARGETS["mask_fraction_of_decode_step"] for row in rows
        ),
    }
    return result


def seal_catalogue() -> list[ToolSpec]:
    """Seal-Tools' catalogue as specs (first of repeated names; entries that are not valid specs are skipped)."""
    from f1.bench.retrieval import load_catalogue, seal_dir

    return load_catalogue(seal_dir() / "tool.jsonl")[0]


def sample_plan(tools: list[ToolSpec], steps: int = 3) -> str:
    """A realistic compact plan over the first `steps` tools: typed sample values, later steps reference earlier."""
    body = []
    for index, spec in enumerate(tools[:steps], start=1):
        args = {}
        for position, (name, schema) in enumerate(spec.parameters.get("properties", {}).items()):
            refer = index > 1 and position == 0
            args[name] = f"${index - 1}.result" if refer else _sample_value(schema)
        body.append({"id": index, "tool": spec.name, "args": args})
    return json.dumps({"steps": body}, separators=(",", ":"), ensure_ascii=False)


def decode_step_seconds(model: Any, tokenizer: Any, *, context: int = 400, steps: int = 8) -> float:
    """Median time of one cached decode step after a `context`-token prompt, on the model's numeric path."""
    from f1.decoding.runtime import as_causal_lm

    lm = as_causal_lm(model)
    ids = tokenizer("word " * context, add_special_tokens=False)["input_ids"][:context]
    cache = lm.new_cache()
    token = int(lm.forward(ids, cache, 1)[-1].argmax())
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        token = int(lm.forward([token], cache, 1)[-1].argmax())
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _measure(engine: Any, tokenizer: Any, tools: list[ToolSpec], step_s: float | None) -> dict[str, Any]:
    import torch

    from f1.decoding.grammar import plan_grammar

    started = time.perf_counter()
    grammar = plan_grammar(tools)
    build_s = time.perf_counter() - started
    engine.clear_cache()  # cold: compiled grammars forgotten (the engine's vocabulary stays built)
    cold_s = _time(lambda: engine.compile(tokenizer, grammar))
    cached = [_time(lambda: engine.matcher(tokenizer, grammar)) for _ in range(20)]
    matcher = engine.matcher(tokenizer, grammar)
    logits = torch.zeros(len(tokenizer))
    masks = []
    for token in tokenizer(sample_plan(tools), add_special_tokens=False)["input_ids"]:
        started = time.perf_counter()
        matcher.mask_logits(logits)
        masks.append(time.perf_counter() - started)
        if not matcher.consume([token]):
            raise GrammarError(f"the sample plan does not fit the grammar at token {token}")
    mean = statistics.mean(masks)
    return {
        "tools": len(tools),
        "lark_kb": round(len(grammar.lark) / 1024, 1),
        "build_s": round(build_s, 3),
        "cold_s": round(cold_s, 3),
        "cached_ms": round(statistics.median(cached) * 1e3, 3),
        "mask_mean_us": round(mean * 1e6, 1),
        "mask_p99_us": round(sorted(masks)[max(0, round(0.99 * len(masks)) - 1)] * 1e6, 1),
        "plan_tokens": len(masks),
        "mask_fraction_of_decode_step": None if step_s is None else round(mean / step_s, 4),
    }


def _model_and_tokenizer(args: argparse.Namespace) -> tuple[Any, Any]:
    from f1.planner import load_model

    loaded = load_model(args.model)
    return (None if args.no_model else loaded.model), loaded.tokenizer


def _sample_value(schema: Any) -> Any:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(schema, dict) and "enum" in schema:
        return schema["enum"][0]
    return {
        "integer": 42,
        "number": 3.75,
        "boolean": True,
        "array": ["first item", "second item"],
        "object": {"key": "value"},
    }.get(kind, "San Francisco, California")


def _time(action: Any) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started
