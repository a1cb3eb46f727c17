"""Tool sources opened from synchronous code (`--tools` refs): their I/O runs on one event loop in a daemon thread,
and a source that needs a session (an MCP server) keeps it there, so its tools are plain functions any thread or
event loop can call (the scheduler runs them in a worker thread). Everything opened is closed at exit."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, ExitStack
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from f1.tools.registry import Tool

T = TypeVar("T")

_lock = threading.Lock()
_opened = ExitStack()  # the portal first, then each session: closed in reverse at exit
_portal: BlockingPortal | None = None


def load_now(load: Callable[[], Awaitable[T]]) -> T:
    """Run `load()` on the background loop and wait for its result."""
    return _background().call(load)


def open_session(session: AbstractAsyncContextManager[Any], load: Callable[[], Awaitable[Sequence[Tool]]]) -> list[Tool]:
    """Enter `session` on the background loop (it stays open until exit) and return the tools `load()` gives,
    each calling into that loop."""
    portal = _background()
    with _lock:
        _opened.enter_context(portal.wrap_async_context_manager(session))
    return [replace(item, fn=partial(_call, portal, item.fn)) for item in portal.call(load)]


def close_all() -> None:
    """Close every session opened here and stop the background loop (at exit, or by a test)."""
    global _portal
    with _lock:
        _opened.close()
        _portal = None


def _call(portal: BlockingPortal, fn: Callable[..., Awaitable[Any]], **arguments: Any) -> Any:
    return portal.call(partial(fn, **arguments))


def _background() -> BlockingPortal:
    global _portal
    with _lock:
        if _portal is None:
            _portal = _opened.enter_context(start_blocking_portal())
        return _portal


atexit.register(close_all)
