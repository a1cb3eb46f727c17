"""Planner model backends behind the `ModelBackend` protocol."""

from f1.planner.backends.base import Chunk, ModelBackend
from f1.planner.backends.local import LocalModel, chat_dicts, model_lock, prefix_cache, prompt_ids
from f1.planner.backends.remote import RemoteModel
from f1.planner.backends.resolve import resolve_model
from f1.planner.backends.scripted import ScriptedModel

__all__ = [
    "Chunk",
    "LocalModel",
    "ModelBackend",
    "RemoteModel",
    "ScriptedModel",
    "chat_dicts",
    "model_lock",
    "prefix_cache",
    "prompt_ids",
    "resolve_model",
]
