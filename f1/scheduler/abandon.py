"""How a sync tool learns that the scheduler gave up on it.

Sync tools run in worker threads, and Python threads cannot be killed: when a call times out or the run is
cancelled, the step ends at once and the thread is abandoned, running on in the background. A long-running sync
tool calls `abandoned()` now and then (between rows, files, chunks) and stops when it turns true."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")

_GIVEN_UP: ContextVar[threading.Event | None] = ContextVar("f1_tool_given_up", default=None)


def abandoned() -> bool:
    """Whether the scheduler has given up on the tool call running in this thread (always false elsewhere)."""
    event = _GIVEN_UP.get()
    return event is not None and event.is_set()


async def run_abandonable(call: Callable[[], T], limiter: anyio.CapacityLimiter) -> T:
    """Run `call` in a worker thread. When the caller is cancelled, the thread is abandoned and `abandoned()`
    turns true inside it."""
    given_up = threading.Event()

    def in_thread() -> T:
        _GIVEN_UP.set(given_up)  # anyio runs each call in a copy of the context: this stays with the call
        return call()

    try:
        return await anyio.to_thread.run_sync(in_thread, abandon_on_cancel=True, limiter=limiter)
    finally:
        given_up.set()  # harmless once the call has returned; a signal to it when it is still running
