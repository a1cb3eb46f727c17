"""BFCL's multi-turn worlds (bfcl-eval's executable classes: a file system, a trading bot, a car...) as tools.

A `BfclWorld` owns fresh instances of the classes a conversation involves, loaded with its initial config the way
BFCL does (`_load_scenario`); its tools are the instances' bound methods, described by BFCL's function docs. Two
worlds never share state; calls into one world are serialised (the classes are not thread-safe).

The executable tools carry no result schema: BFCL's documented responses are not what the code returns for ~7%
of the ground-truth calls of multi_turn_base (`touch`/`mkdir` return None, `list_all_airports` a list...), and a
step must not fail where BFCL itself would show the result. `bfcl_specs` keeps the documented responses. Values
that are not JSON (mpmath numbers from MathAPI) become floats, or strings as BFCL's own executor does."""

from __future__ import annotations

import copy
import importlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from functools import cache, wraps
from pathlib import Path
from typing import Any

from f1.errors import ConfigError
from f1.tools.registry import Tool, ToolPolicy, ToolRegistry
from f1.tools.spec import ToolSpec

# The multi-turn suite's classes and their function-doc files (bfcl_eval/data/multi_turn_func_doc/).
CLASSES: dict[str, str] = {
    "GorillaFileSystem": "gorilla_file_system",
    "MathAPI": "math_api",
    "MessageAPI": "message_api",
    "TwitterAPI": "posting_api",
    "TicketAPI": "ticket_api",
    "TradingBot": "trading_bot",
    "TravelAPI": "travel_booking",
    "VehicleControlAPI": "vehicle_control",
}
STATELESS = frozenset({"MathAPI"})
_PACKAGE = "bfcl_eval"
_SOURCE = f"{_PACKAGE}.eval_checker.multi_turn_eval.func_source_code"


def _package_root() -> Path:
    try:
        package = importlib.import_module(_PACKAGE)
    except ImportError:
        raise ConfigError("the BFCL worlds need the bfcl-eval package: pip install --no-deps bfcl-eval") from None
    return Path(package.__path__[0])


def check_class(name: str) -> str:
    """`name` if it is a known class, else an `F1Error` listing them."""
    if name not in CLASSES:
        raise ConfigError(f"unknown BFCL class {name!r}; known: {', '.join(CLASSES)}")
    return name


@cache
def bfcl_specs(name: str) -> tuple[ToolSpec, ...]:
    """The specs of one class's functions, read from BFCL's function docs."""
    path = _package_root() / "data" / "multi_turn_func_doc" / f"{CLASSES[check_class(name)]}.json"
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(ToolSpec.from_bfcl(json.loads(line), source=str(path)) for line in lines if line.strip())


def _class(name: str) -> type:
    _package_root()
    return getattr(importlib.import_module(f"{_SOURCE}.{CLASSES[check_class(name)]}"), name)


class BfclWorld:
    """Fresh instances of `classes`, loaded with `initial_config` (keyed by class name, as in BFCL's data).

    `tools`: a `ToolRegistry` of their methods; `instances`: the objects, by class name (for state checks)."""

    def __init__(
        self, classes: Iterable[str], initial_config: Mapping[str, Any] | None = None, *, long_context: bool = False
    ) -> None:
        config = initial_config or {}
        self._lock = threading.Lock()
        self.instances: dict[str, Any] = {}
        tools: list[Tool] = []
        for name in dict.fromkeys(classes):  # ordered, without repeats
            instance = _class(name)()
            if name not in STATELESS:
                instance._load_scenario(copy.deepcopy(dict(config.get(name, {}))), long_context=long_context)
            self.instances[name] = instance
            for spec in bfcl_specs(name):
                method = self._serialised(getattr(instance, spec.name))
                tools.append(Tool(spec.model_copy(update={"result_schema": None}), method, _POLICY))
        self.tools = ToolRegistry(tools)

    @property
    def specs(self) -> dict[str, ToolSpec]:
        return self.tools.specs

    def _serialised(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(method)
        def call(**kwargs: Any) -> Any:
            with self._lock:
                return _jsonable(method(**kwargs))

        return call


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(item) for item in value]
    if hasattr(value, "__float__"):
        return float(value)
    return str(value)


_POLICY = ToolPolicy(timeout=30)
