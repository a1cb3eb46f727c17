"""Planner model backends behind the `ModelBackend` protocol."""

from f1.planner.backends.base import Chunk, ModelBackend
from f1.planner.backends.scripted import ScriptedModel

__all__ = ["Chunk", "ModelBackend", "ScriptedModel"]
