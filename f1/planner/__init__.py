"""The planner's public face: what the ways in (server, CLI, benchmarks, evals) and the rest of the core use.

The vocabulary (messages, chunks, plan events), the `ModelBackend` contract and its backends, the `Planner`, and
the model weights and numeric paths. Retrieval's names load on first use (they import numpy).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from f1.planner.backends import (
    Chunk,
    LocalModel,
    ModelBackend,
    RemoteModel,
    ScriptedModel,
    chat_dicts,
    model_lock,
    prefix_cache,
    prompt_ids,
    resolve_model,
)
from f1.planner.complete import Completion, complete
from f1.planner.events import PlanDone, PlanEvent, StepDecoded, TextDelta, Usage
from f1.planner.messages import ChatMessage, ToolCall
from f1.planner.numeric import NUMERIC_PATH_ENV, NumericPath, available_paths, choose_path
from f1.planner.planner import Planner, PlanRequest, ToolChoice, forced_tool_name
from f1.planner.prompt import PLAN_EXAMPLES, join_messages, plan_messages
from f1.planner.weights import (
    DEFAULT_MODEL,
    KNOWN_MODELS,
    KnownModel,
    LoadedModel,
    assemble,
    cache_root,
    ensure_converted,
    ensure_exported,
    is_converted,
    known_model,
    load_model,
    models_dir,
    verify,
)

if TYPE_CHECKING:
    from f1.planner.retrieval import ToolRetriever, clear_memory, default_encoder, retriever_for

_RETRIEVAL = ("ToolRetriever", "clear_memory", "default_encoder", "retriever_for")

__all__ = [
    "DEFAULT_MODEL",
    "KNOWN_MODELS",
    "NUMERIC_PATH_ENV",
    "PLAN_EXAMPLES",
    "ChatMessage",
    "Chunk",
    "Completion",
    "KnownModel",
    "LoadedModel",
    "LocalModel",
    "ModelBackend",
    "NumericPath",
    "PlanDone",
    "PlanEvent",
    "PlanRequest",
    "Planner",
    "RemoteModel",
    "ScriptedModel",
    "StepDecoded",
    "TextDelta",
    "ToolCall",
    "ToolChoice",
    "ToolRetriever",
    "Usage",
    "assemble",
    "available_paths",
    "cache_root",
    "chat_dicts",
    "choose_path",
    "clear_memory",
    "complete",
    "default_encoder",
    "ensure_converted",
    "ensure_exported",
    "forced_tool_name",
    "is_converted",
    "join_messages",
    "known_model",
    "load_model",
    "model_lock",
    "models_dir",
    "plan_messages",
    "prefix_cache",
    "prompt_ids",
    "resolve_model",
    "retriever_for",
    "verify",
]


def __getattr__(name: str) -> object:
    """Retrieval's names, imported when first asked for."""
    if name in _RETRIEVAL:
        return getattr(importlib.import_module("f1.planner.retrieval"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
