"""Model specs as strings: "default", a known name or a path -> LocalModel; "openai:BASE_URL#MODEL" -> RemoteModel."""

from __future__ import annotations

import os

from f1.errors import ModelError
from f1.planner.backends.base import ModelBackend
from f1.planner.backends.local import LocalModel
from f1.planner.backends.remote import RemoteModel

REMOTE_PREFIX = "openai:"


def resolve_model(spec: str | ModelBackend) -> ModelBackend:
    """The backend a spec names; a backend passes through. The remote API key comes from F1_API_KEY or
    OPENAI_API_KEY. Nothing loads until the backend first streams."""
    if not isinstance(spec, str):
        if isinstance(spec, ModelBackend):
            return spec
        raise ModelError(f"not a model spec or backend: {spec!r}")
    if spec.startswith(REMOTE_PREFIX):
        base_url, _, model = spec[len(REMOTE_PREFIX) :].partition("#")
        if not base_url.startswith(("http://", "https://")) or not model:
            raise ModelError(f"remote model spec {spec!r} must look like openai:https://host/v1#model-name")
        return RemoteModel(base_url, model, os.environ.get("F1_API_KEY") or os.environ.get("OPENAI_API_KEY"))
    try:
        return LocalModel(spec)
    except ModelError as exc:
        raise ModelError(f"{exc}, nor a remote model (openai:BASE_URL#MODEL)") from None
