"""A parse cache keyed by blob hash, under `.mapdown-cache/`.

Keys are git blob ids, so an entry can never be stale: the same id is the same bytes. Values are
JSON (never pickle: a cache folder restored in CI must not be able to run code). A damaged
database or entry is ignored and rebuilt, never fatal.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CACHE_DIR = ".mapdown-cache"
VERSION = 1  # bump when the cached shape changes: old entries are then never read


class ParseCache:
    """blob id → parsed front matter (plain JSON data), in one SQLite file."""

    def __init__(self, folder: Path | None) -> None:
        self._db: sqlite3.Connection | None = None
        self._pending: dict[str, str] = {}
        if folder is None:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            ignore = folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# mapdown's parse cache: safe to delete\n*\n", encoding="utf-8")
            self._db = self._open(folder / f"parse-v{VERSION}.sqlite")
        except (OSError, sqlite3.Error):
            self._db = None  # no cache this run; everything still works

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        for attempt in range(2):
            try:
                db = sqlite3.connect(path)
                db.execute("CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, data TEXT)")
                db.execute("SELECT count(*) FROM blobs LIMIT 1").fetchone()
                return db
            except sqlite3.DatabaseError:
                if attempt:
                    raise
                path.unlink(missing_ok=True)  # damaged: start again
        raise AssertionError("unreachable")  # pragma: no cover

    def get_many(self, ids: Iterable[str]) -> dict[str, Any]:
        """The cached values among `ids`; damaged entries are left out (and so re-parsed)."""
        found: dict[str, Any] = {}
        if self._db is None:
            return found
        wanted = list(ids)
        try:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT id, data FROM blobs WHERE id IN ({marks})", chunk
                ).fetchall()
                for blob, data in rows:
                    try:
                        found[blob] = json.loads(data)
                    except (ValueError, TypeError):
                        continue
        except sqlite3.Error:
            self._db = None
        return found

    def put(self, blob: str, value: Any) -> None:
        if self._db is not None:
            self._pending[blob] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    def flush(self) -> None:
        if self._db is None or not self._pending:
            return
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO blobs (id, data) VALUES (?, ?)", self._pending.items()
                )
        except sqlite3.Error:
            pass  # a cache that cannot be written only costs time next run
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None
