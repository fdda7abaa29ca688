"""The one connection the store's parts share, and what every part needs of it."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import sqlean
from sqlite_utils import Database

from ..dates import iso, utcnow


def connect(path: str | os.PathLike[str], busy_timeout_ms: int) -> Database:
    """Open (creating with mode 0600) the SQLite file: WAL, a busy timeout, foreign keys on."""
    p = Path(path)
    memory = str(p) == ":memory:"
    if not memory:
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists():
            fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
    conn = sqlean.connect(str(p), check_same_thread=False, timeout=busy_timeout_ms / 1000)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    if not memory:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return Database(conn)


def make_private(path: str) -> None:
    """The log and its WAL are readable by their owner only."""
    if path == ":memory:":
        return
    for suffix in ("", "-wal", "-shm"):
        f = Path(path + suffix)
        if f.exists():
            os.chmod(f, stat.S_IRUSR | stat.S_IWUSR)


class Part:
    """A part of the store: one noun's reads and writes over the shared connection."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def one(self, sql: str, params: list[Any] | None = None) -> dict[str, Any] | None:
        for row in self.db.query(sql, params or []):
            return row
        return None


class FailureLog(Part):
    """Failures as data: which stage, which item, a reason code and the message."""

    def record(self, stage: str, item: str, reason: str, message: str) -> None:
        self.db["failures"].insert(
            {"at": iso(utcnow()), "stage": stage, "item": item, "reason": reason, "message": message[:500]}
        )
