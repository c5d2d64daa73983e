"""The cache under `.mapdown-cache/`: content-addressed, so an entry can never be stale.

Tables, each keyed by something that names its content exactly:

- `versions`: a hash of the blob ids of a deal's versions → those versions' parsed front
  matter (JSON lines: the blob ids, then one version per line; similar versions compress well
  together);
- `timelines`: a hash of a deal's list of (commit, blob) versions → its events and step tracks;
- `logs`: the deals folder → the parsed first-parent log up to a commit id (a commit id names
  its whole history, so the log of a later commit is the cached one plus the new commits);
- `scores`: a deal's history key, the as-of day, the settings and mapdown's version → its score;
- `site_deals`: a deal file's content, its history key, the as-of day, the settings and
  mapdown's code → everything its pages show (`mapdown build`).

Values are Zstandard-compressed JSON (or JSON lines), never pickle: a cache folder restored in
CI must not be able to run code. A damaged database or entry is ignored and rebuilt, never fatal.
Zstandard at level 1, not zlib: a cold build of 1,000 deals compresses some 200 MB of JSON for
the next build, a deal's data.json (196 KB) in 0.23 ms where zlib's fastest level took 1.03 ms,
into 11 KB where zlib made 19 KB; and reads it back in 0.08 ms, not 0.57.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import zstandard

from mapdown import jsontext, workers

CACHE_DIR = ".mapdown-cache"
VERSION = 3  # bump when a cached shape changes: old files are then never read
TABLES = ("versions", "timelines", "logs", "scores", "site_deals")


_codecs = threading.local()  # a compressor and a decompressor are each for one thread at a time
DAMAGED = (ValueError, TypeError, zstandard.ZstdError)  # what reading a damaged entry raises


def _compress(data: bytes) -> bytes:
    try:
        compressor = _codecs.compressor
    except AttributeError:
        compressor = _codecs.compressor = zstandard.ZstdCompressor(level=1)
    return compressor.compress(data)  # the frame records the size: `_decompress` needs it


def _decompress(data: bytes) -> bytes:
    try:
        decompressor = _codecs.decompressor
    except AttributeError:
        decompressor = _codecs.decompressor = zstandard.ZstdDecompressor()
    return decompressor.decompress(data)


def _pack(value: Any) -> bytes:
    return _compress(jsontext.dumpb(value))


def _unpack(data: bytes) -> Any:
    return jsontext.loads(_decompress(data))


def _write(db: sqlite3.Connection, pending: dict[str, dict[str, bytes]]) -> bool:
    """`pending`'s entries written in one transaction; False if they could not be (a cache
    that cannot be written only costs time next run)."""
    try:
        with db:
            for table, rows in pending.items():
                if rows:
                    db.executemany(
                        f"INSERT OR REPLACE INTO {table} (k, v) VALUES (?, ?)", rows.items()
                    )
    except sqlite3.Error:
        return False
    return True


class Cache:
    """Key → JSON value tables in one SQLite file; a no-op when `folder` is None."""

    def __init__(self, folder: Path | None) -> None:
        self._db: sqlite3.Connection | None = None
        self._path: Path | None = None
        self._pending: dict[str, dict[str, bytes]] = {t: {} for t in TABLES}
        # Entries another process writes (read here, never written): in a forked worker, what
        # its parent had not written yet; in a process whose writer is at work, what it writes
        self._inherited: dict[str, dict[str, bytes]] = {t: {} for t in TABLES}
        self._writer: workers.Worker | None = None  # writing entries in the background
        if folder is None:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            ignore = folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# mapdown's cache: safe to delete\n*\n", encoding="utf-8")
            self._path = folder / f"cache-v{VERSION}.sqlite"
            self._db = self._open(self._path)
        except (OSError, sqlite3.Error):
            self._db = None  # no cache this run; everything still works, only slower

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        for attempt in range(2):
            try:
                db = sqlite3.connect(path)
                db.execute("PRAGMA journal_mode=WAL")
                for table in TABLES:
                    db.execute(f"CREATE TABLE IF NOT EXISTS {table} (k TEXT PRIMARY KEY, v BLOB)")
                db.execute(f"SELECT count(*) FROM {TABLES[0]}").fetchone()
                return db
            except sqlite3.DatabaseError:
                if attempt:
                    raise
                for suffix in ("", "-wal", "-shm"):  # damaged: start again
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def get_many(self, table: str, keys: Iterable[str]) -> dict[str, Any]:
        """The cached values among `keys`; damaged entries are left out (and so rebuilt)."""
        found: dict[str, Any] = {}
        if self._db is None:
            return found
        pending, inherited = self._pending[table], self._inherited[table]
        wanted = []
        for key in keys:  # written this run but not flushed yet
            if key in pending:
                found[key] = _unpack(pending[key])
            elif key in inherited:
                found[key] = _unpack(inherited[key])
            else:
                wanted.append(key)
        try:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT k, v FROM {table} WHERE k IN ({marks})", chunk)
                for key, data in rows:
                    try:
                        found[key] = _unpack(data)
                    except DAMAGED:
                        continue
        except sqlite3.Error:
            self._db = None
        return found

    def has_many(self, table: str, keys: Iterable[str]) -> set[str]:
        """Which of `keys` have an entry (not read: it may still turn out damaged)."""
        if self._db is None:
            return set()
        wanted = list(keys)
        found = {k for k in wanted if k in self._pending[table] or k in self._inherited[table]}
        try:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT k FROM {table} WHERE k IN ({marks})", chunk)
                found.update(key for (key,) in rows)
        except sqlite3.Error:
            self._db = None
        return found

    def get(self, table: str, key: str) -> Any:
        return self.get_many(table, [key]).get(key)

    def put(self, table: str, key: str, value: Any) -> None:
        if self._db is not None:
            self._pending[table][key] = _pack(value)

    def put_text(self, table: str, key: str, text: str | bytes) -> None:
        """A value already written as text (JSON, or JSON lines; or that text UTF-8 encoded),
        stored compressed."""
        if self._db is not None:
            data = text if isinstance(text, bytes) else text.encode()
            self._pending[table][key] = _compress(data)

    def get_text(self, table: str, key: str) -> str | None:
        """A value written by `put_text`, or None (none, or damaged)."""
        data = self.get_bytes(table, key)
        try:
            return None if data is None else data.decode()
        except UnicodeDecodeError:
            return None

    def get_bytes(self, table: str, key: str) -> bytes | None:
        """A value written by `put_text`, UTF-8 encoded, or None (none, or damaged)."""
        if self._db is None:
            return None
        data = self._pending[table].get(key) or self._inherited[table].get(key)
        try:
            if data is None:
                row = self._db.execute(f"SELECT v FROM {table} WHERE k = ?", (key,)).fetchone()
                if row is None:
                    return None
                data = row[0]
            return _decompress(data)
        except sqlite3.Error:
            self._db = None
        except DAMAGED:
            pass
        return None

    # -- a forked worker's entries, written by its parent

    def in_child(self) -> None:
        """Call in a forked process: a connection of its own (SQLite connections must not cross
        a fork), and what the parent had not written yet kept for reading only, so that
        `take_pending` returns only what this process adds."""
        self._writer = None  # its parent's, which waits for it
        if self._db is None or self._path is None:
            return
        try:
            self._db = sqlite3.connect(self._path)
        except sqlite3.Error:
            self._db = None
            return
        for table in TABLES:
            self._inherited[table].update(self._pending[table])
            self._pending[table] = {}

    def take_pending(self) -> dict[str, dict[str, bytes]]:
        """The entries added since `in_child`, packed (they leave this cache)."""
        out = {t: rows for t, rows in self._pending.items() if rows}
        self._pending = {t: {} for t in TABLES}
        return out

    def add_pending(self, entries: dict[str, dict[str, bytes]]) -> None:
        """Entries a worker packed (`take_pending`), to be written with this cache's own."""
        if self._db is None:
            return
        for table, rows in entries.items():
            if table in self._pending:
                self._pending[table].update(rows)

    def flush(self) -> None:
        """Write what is pending, once a background writer (`flush_later`) is done."""
        self.wait()
        if self._db is None:
            return
        _write(self._db, self._pending)
        for rows in self._pending.values():
            rows.clear()

    def flush_later(self) -> None:
        """Write what is pending from a forked process, while this one goes on: at the end of
        a cold build, the cache's 50 MB took half a second of a process that had the pages
        across deals to make, with the other core idle. The entries stay readable here until
        the writer is done; `flush` and `close` wait for it. Without fork, they are written
        now."""
        self.wait()
        if self._db is None or self._path is None or not any(self._pending.values()):
            return
        if not workers.can_fork():
            self.flush()
            return
        path, pending = self._path, self._pending
        for table, rows in pending.items():
            self._inherited[table].update(rows)
        self._pending = {t: {} for t in TABLES}

        def write() -> bool:
            with contextlib.closing(sqlite3.connect(path)) as db:  # a connection of its own
                return _write(db, pending)

        self._writer = workers.fork(write)

    def wait(self) -> None:
        """Wait for the background writer, if there is one at work."""
        if self._writer is not None:
            workers.collect(self._writer)  # a failed write only costs time next run
            self._writer = None
            for rows in self._inherited.values():
                rows.clear()

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None
