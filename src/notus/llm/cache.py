"""A persistent request cache around any model: the same request is never generated or judged twice.

    model = CachedModel(load_model(...), "runs/feedback/cache.sqlite")
    model.generate(conversations, params)   # a re-run (even after kill -9) costs only the misses

The key is a SHA-256 of the exact request (model name, conversation, generation parameters). Each
finished chunk of misses is committed to SQLite at once, so a killed process loses at most the
chunk in flight (whose answers never arrived). `stats` counts hits, misses and tokens.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from notus.core.errors import DataError
from notus.core.types import Conversation
from notus.llm.contract import Completion, GenerationParams, Model


def request_key(model_name: str, conversation: Conversation, params: GenerationParams) -> str:
    payload = {"model": model_name, "messages": conversation, "params": dataclasses.asdict(params)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class CachedModel:
    def __init__(self, model: Model, path: str | Path, chunk_size: int = 8):
        self.inner = model
        self.name = model.name
        constraint = getattr(model, "grammar", "")  # a constrained model answers differently: its own keys
        self.key_name = (
            f"{model.name}+grammar:{hashlib.sha256(constraint.encode()).hexdigest()[:16]}"
            if constraint
            else model.name
        )
        self.chunk_size = max(1, chunk_size)
        self.stats = CacheStats()
        self._lock = threading.Lock()
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS completions (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            self._db.commit()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise DataError(
                f"{path}: cannot be used as the request cache (SQLite: {exc}); delete it or choose another "
                "cache file"
            ) from None

    def _get(self, key: str) -> Completion | None:
        """The cached completion, or None (a miss) when there is none or its row is unreadable."""
        with self._lock:
            row = self._db.execute("SELECT value FROM completions WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return Completion(**json.loads(row[0]))
        except (TypeError, ValueError, RecursionError):  # a damaged row is asked again and replaced
            return None

    def _put(self, items: list[tuple[str, Completion]]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO completions VALUES (?, ?)",
                [(k, json.dumps(dataclasses.asdict(c), ensure_ascii=False)) for k, c in items],
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def generate(self, conversations: list[Conversation], params: GenerationParams) -> list[Completion]:
        keys = [request_key(self.key_name, c, params) for c in conversations]
        out: list[Completion | None] = [self._get(k) for k in keys]
        self.stats.hits += sum(c is not None for c in out)
        missing = [i for i, c in enumerate(out) if c is None]
        for start in range(0, len(missing), self.chunk_size):
            chunk = missing[start : start + self.chunk_size]
            results = self.inner.generate([conversations[i] for i in chunk], params)
            self._put([(keys[i], r) for i, r in zip(chunk, results, strict=True)])
            for i, r in zip(chunk, results, strict=True):
                out[i] = r
                self.stats.misses += 1
                self.stats.prompt_tokens += r.prompt_tokens
                self.stats.completion_tokens += r.completion_tokens
        return out  # type: ignore[return-value]

    def close(self) -> None:
        self._db.close()
