"""Serve an app with uvicorn on a background thread or in a child process (tests, benchmarks, notebooks)."""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from f1.errors import StartupError


@contextmanager
def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 10.0,
                    **config: Any) -> Iterator[str]:
    """Run `app` until the block ends; yields its base URL. Port 0 picks a free port."""
    import uvicorn

    sock = _bound_socket(host, port)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="f1-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise StartupError(f"the server did not start on {host}:{sock.getsockname()[1]}")
            time.sleep(0.01)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def serve_in_process(factory: Callable[[], Any], *, startup_timeout: float = 60.0) -> Iterator[tuple[str, int]]:
    """Run the app `factory()` builds in a spawned child process on a free loopback port until the block ends;
    yields its base URL and the child's process id. `factory` must be picklable (a module-level function)."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_serve_child, args=(factory, sender), name="f1-server", daemon=True)
    child.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not receiver.poll(0.05):
            if not child.is_alive() or time.monotonic() > deadline:
                raise StartupError(f"the server process did not start (exit code {child.exitcode})")
        yield receiver.recv(), child.pid
    finally:
        child.terminate()
        child.join(10)
        if child.is_alive():
            child.kill()


def _serve_child(factory: Callable[[], Any], sender: Any) -> None:
    import uvicorn

    from f1.server.memory import limit_malloc_arenas

    limit_malloc_arenas()  # as `f1 serve` does

    sock = _bound_socket("127.0.0.1", 0)
    sock.listen(2048)  # connections wait in the backlog until the server accepts them
    server = uvicorn.Server(uvicorn.Config(factory(), log_level="warning"))
    sender.send(f"http://127.0.0.1:{sock.getsockname()[1]}")
    server.run(sockets=[sock])


def _bound_socket(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP; without it, Nagle and
    # delayed ACKs add ~40 ms to every response written in two parts (headers, body).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock
