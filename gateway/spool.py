"""The durable spool: line-protocol chunks on local disk, oldest first (SQLite, WAL).

Every point passes through here before InfluxDB. The committer appends one group of
messages' lines together with the de-duplication state they changed in one
transaction; only after that commit are the messages acknowledged to the broker, so a
crash at any moment loses nothing and the restarted gateway knows what it stored. The
writer reads chunks in order, deletes them once InfluxDB has them, and moves a chunk
that InfluxDB refuses as bad data (HTTP 4xx) to `quarantine`, where it stays for a
person to look at instead of blocking everything behind it.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunk (
    id INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL, lines INTEGER NOT NULL,
    body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS dedup (device TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL, lines INTEGER NOT NULL,
    body BLOB NOT NULL, error TEXT NOT NULL);
"""


class SpoolFull(Exception):
    """The spool holds its maximum; the caller waits for the writer to drain it."""


@dataclass(frozen=True, slots=True)
class Chunk:
    id: int
    created_ms: int
    lines: int
    body: bytes


class Spool:
    """Thread-safe: the committer appends while the writer reads and deletes."""

    def __init__(self, path: Path, max_bytes: int, fsync: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
        self._db.executescript(SCHEMA)
        lines, size = self._db.execute(
            "SELECT COALESCE(SUM(lines), 0), COALESCE(SUM(LENGTH(body)), 0) FROM chunk"
        ).fetchone()
        self.lines: int = lines
        self.bytes: int = size

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def dedup_rows(self) -> list[tuple[str, str]]:
        with self._lock:
            return self._db.execute("SELECT device, state FROM dedup").fetchall()

    def append(self, chunks: list[list[str]], dedup: list[tuple[str, str]], now_ms: int) -> None:
        """Store line chunks and de-duplication state atomically and durably."""
        bodies = [("\n".join(c).encode(), len(c)) for c in chunks if c]
        size = sum(len(b) for b, _ in bodies)
        if bodies and self.bytes + size > self.max_bytes:
            raise SpoolFull(f"spool {self.path} holds {self.bytes} of {self.max_bytes} bytes")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO chunk (created_ms, lines, body) VALUES (?, ?, ?)",
                    [(now_ms, n, b) for b, n in bodies],
                )
                self._db.executemany(
                    "INSERT INTO dedup (device, state) VALUES (?, ?) "
                    "ON CONFLICT (device) DO UPDATE SET state = excluded.state",
                    dedup,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self.lines += sum(n for _, n in bodies)
            self.bytes += size

    def oldest(self, max_lines: int) -> list[Chunk]:
        """The oldest chunks, as many as fit in max_lines (at least one)."""
        out: list[Chunk] = []
        total = 0
        with self._lock:
            cur = self._db.execute(
                "SELECT id, created_ms, lines, body FROM chunk ORDER BY id LIMIT 1000"
            )
            for row in cur:
                if out and total + row[2] > max_lines:
                    break
                out.append(Chunk(*row))
                total += row[2]
            cur.close()
        return out

    def delete(self, chunks: list[Chunk]) -> None:
        with self._lock:
            # One transaction (one fsync) for the batch, not one per chunk.
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM chunk WHERE id = ?", [(c.id,) for c in chunks])
            self._db.execute("COMMIT")
            self.lines -= sum(c.lines for c in chunks)
            self.bytes -= sum(len(c.body) for c in chunks)

    def quarantine(self, chunks: list[Chunk], error: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO quarantine (created_ms, lines, body, error) VALUES (?, ?, ?, ?)",
                [(c.created_ms, c.lines, c.body, error) for c in chunks],
            )
            self._db.executemany("DELETE FROM chunk WHERE id = ?", [(c.id,) for c in chunks])
            self._db.execute("COMMIT")
            self.lines -= sum(c.lines for c in chunks)
            self.bytes -= sum(len(c.body) for c in chunks)

    def quarantined(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0])
