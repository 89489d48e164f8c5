"""The replay response cache: sqlite (stdlib), keyed on provider + model + request body.

Headers never enter the key or the store, so an API key cannot reach the disk. Only successful
completions are stored; the runner decides when to read or bypass it (``--no-cache``, ``--offline``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from llmaudit.providers.base import Completion

__all__ = ["CACHE_VERSION", "ResponseCache", "default_cache_path"]

# Bump when the key recipe or the stored Completion shape changes: old rows simply stop matching.
CACHE_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key        TEXT PRIMARY KEY,
    provider   TEXT NOT NULL,
    model      TEXT NOT NULL,
    created_at REAL NOT NULL,
    completion TEXT NOT NULL
)
"""


def default_cache_path() -> Path:
    from llmaudit.config import home_dir

    return home_dir() / "cache.db"


class ResponseCache:
    """``key_for(provider, model, body)`` → ``get(key)`` / ``put(key, completion)``."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection, guarded by a lock: the runner is asyncio on one thread, but tests and
        # callers may use worker threads; sqlite serialises writers anyway.
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # A cache may lose its last writes in a power cut (they are re-fetched), never its
            # integrity: WAL + NORMAL skips the fsync per write that cost ~4 ms a response.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)

    @staticmethod
    def key_for(provider: str, model: str, body: dict[str, Any], endpoint: str | None = None) -> str:
        """sha256 of canonical JSON of provider, model, the endpoint and the request body (never
        headers). The endpoint is part of the key: an answer from one server is not an answer from
        another that happens to share the provider's name (a local vLLM, a proxy, a base URL override)."""
        canonical = json.dumps(
            {"v": CACHE_VERSION, "provider": provider, "model": model, "body": body, "endpoint": endpoint},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def get(self, key: str) -> Completion | None:
        with self._lock:
            row = self._conn.execute("SELECT completion FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return Completion.from_dict(json.loads(row[0]))
        except (ValueError, TypeError):
            return None  # a row from an incompatible version: treat as a miss

    def put(self, key: str, completion: Completion, *, provider: str = "", model: str = "") -> None:
        payload = json.dumps(completion.to_dict(), sort_keys=True)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses (key, provider, model, created_at, completion)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, provider or completion.model_reported or "", model, time.time(), payload),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def clear(self) -> int:
        with self._lock:
            return self._conn.execute("DELETE FROM responses").rowcount

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
