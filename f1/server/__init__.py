"""The OpenAI-compatible endpoint (`f1 serve`): model mode returns planned tool calls, compound mode answers
with server-side tools. Needs the `server` extra (starlette, uvicorn)."""

from f1.server.app import ServerSettings, create_app

__all__ = ["ServerSettings", "create_app"]
