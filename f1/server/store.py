"""Stored responses for the Responses API's `previous_response_id`: a small store protocol, and SQLite behind it.

A stored response is its JSON (what GET /v1/responses/{id} returns) and its conversation: the input items that
led to it plus its output items, which a request naming it as `previous_response_id` continues. The SQLite store
keeps them in a file (a restart loses nothing), at most `max_responses` of them, each for `ttl` seconds. A
deployment of several replicas implements `ResponseStore` over a shared database instead.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread

from f1.errors import ConfigError
from f1.planner import cache_root

DEFAULT_MAX_RESPONSES = 10_000
DEFAULT_TTL = 30 * 24 * 3600.0  # seconds: OpenAI keeps responses 30 days


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response as returned (`response`, JSON) and the conversation it ends (`items`, input items as JSON)."""

    response: dict[str, Any]
    items: list[dict[str, Any]]


class ResponseStore(Protocol):
    """Where responses are kept between requests (and, for a persistent store, restarts)."""

    async def get(self, response_id: str) -> StoredResponse | None:
        """The stored response, or None when there is none (never stored, deleted or expired)."""
        ...

    async def put(self, response_id: str, stored: StoredResponse) -> None:
        """Keep `stored` under `response_id`."""
        ...

    async def delete(self, response_id: str) -> bool:
        """Forget a response; whether there was one."""
        ...


class SQLiteResponseStore:
    """A `ResponseStore` in one SQLite file; the oldest responses go past `max_responses`, any past `ttl`."""

    def __init__(
        self, path: str | Path, *, max_responses: int = DEFAULT_MAX_RESPONSES, ttl: float = DEFAULT_TTL
    ) -> None:
        if max_responses < 1 or ttl <= 0:
            raise ConfigError(f"a response store needs max_responses >= 1 and ttl > 0, not {max_responses} and {ttl}")
        self.path = Path(path).expanduser()
        self.max_responses = max_responses
        self.ttl = ttl
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, created REAL NOT NULL, body TEXT NOT NULL)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS responses_created ON responses (created)")
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the response store {self.path}: {exc}") from None

    async def get(self, response_id: str) -> StoredResponse | None:
        return await anyio.to_thread.run_sync(self._get, response_id)

    async def put(self, response_id: str, stored: StoredResponse) -> None:
        body = json.dumps({"response": stored.response, "items": stored.items}, ensure_ascii=False)
        await anyio.to_thread.run_sync(self._put, response_id, body)

    async def delete(self, response_id: str) -> bool:
        return await anyio.to_thread.run_sync(self._delete, response_id)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _get(self, response_id: str) -> StoredResponse | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM responses WHERE id = ? AND created >= ?", (response_id, time.time() - self.ttl)
            ).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return StoredResponse(response=data["response"], items=data["items"])

    def _put(self, response_id: str, body: str) -> None:
        now = time.time()
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?)", (response_id, now, body))
            self._db.execute("DELETE FROM responses WHERE created < ?", (now - self.ttl,))
            self._db.execute(
                "DELETE FROM responses WHERE id IN (SELECT id FROM responses ORDER BY created DESC LIMIT -1 OFFSET ?)",
                (self.max_responses,),
            )

    def _delete(self, response_id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM responses WHERE id = ?", (response_id,)).rowcount > 0


def default_store_path() -> Path:
    """`<f1 cache folder>/responses.sqlite` ($F1_CACHE_DIR, by default ~/.cache/f1)."""
    return cache_root() / "responses.sqlite"
