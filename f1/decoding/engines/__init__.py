"""Grammar engines behind one protocol: llguidance (default), xgrammar and outlines (optional extras)."""

from __future__ import annotations

import importlib
from functools import cache

from f1.decoding.engines.base import CompileCache, GrammarEngine, Matcher, apply_bitmask
from f1.errors import ConfigError

# name -> (module, class, the pip extra that provides it)
ENGINES: dict[str, tuple[str, str, str | None]] = {
    "llguidance": ("f1.decoding.engines.llguidance", "LLGuidanceEngine", None),
    "xgrammar": ("f1.decoding.engines.xgrammar", "XGrammarEngine", "xgrammar"),
    "outlines": ("f1.decoding.engines.outlines", "OutlinesEngine", "outlines"),
}


@cache
def get_engine(name: str) -> GrammarEngine:
    """The (shared, cache-holding) engine called `name`; a clear error names the extra to install."""
    if name not in ENGINES:
        raise ConfigError(f"unknown grammar engine {name!r}; choose one of {', '.join(ENGINES)}")
    module_name, class_name, extra = ENGINES[name]
    try:
        module = importlib.import_module(module_name)
        engine: GrammarEngine = getattr(module, class_name)()
    except ModuleNotFoundError as exc:
        hint = f"pip install 'f1[{extra}]'" if extra else "pip install llguidance"
        raise ConfigError(f"grammar engine {name!r} needs {exc.name!r}: {hint}") from None
    return engine


__all__ = ["ENGINES", "CompileCache", "GrammarEngine", "Matcher", "apply_bitmask", "get_engine"]
