"""Stage 6: the SQLite event log. The only package that writes SQL.

Small parts share one connection, each handed to the stage that needs it (so a stage's dependency on
storage shows in its constructor): ``feeds`` (polling state, entries), ``articles`` (the queue),
``events`` (dedup candidates and the commit), ``outbox`` (alerts, webhooks), ``queries`` (read only:
the export contract, filters, status, backup; also over a read-only connection, ``Store.reading``),
``watches`` (watch-lists), ``entities`` (the gazetteer's aliases) and ``failures``. The schema changes
only through the migrations in ``migrations``. One writer, short transactions, WAL and a busy timeout; an article's
events, sources and alert outbox rows are written in one transaction, so a crash leaves either all of
it or none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import sqlean
from sqlite_utils import Database

from ..errors import LogError
from .articles import ArticleRow, ArticleStore, canonical_url, text_hashes
from .db import FailureLog, connect, make_private
from .entities import EntityStore
from .events import EventStore
from .feeds import FeedState, FeedStore
from .migrations import migrations
from .outbox import OutboxItem, OutboxStore
from .queries import Queries
from .watches import WatchStore

DatabaseError = sqlean.DatabaseError  # what a damaged log raises past opening it

__all__ = [
    "ArticleRow",
    "DatabaseError",
    "FeedState",
    "OutboxItem",
    "Queries",
    "Store",
    "canonical_url",
    "migrations",
    "text_hashes",
]


class Store:
    """The event log. Open with ``Store.open(path)``; not shared between threads."""

    def __init__(self, db: Database, path: str) -> None:
        self.db = db
        self.path = path
        self.failures = FailureLog(db)
        self.articles = ArticleStore(db, self.failures)
        self.feeds = FeedStore(db, self.failures, self.articles)
        self.outbox = OutboxStore(db, self.failures)
        self.events = EventStore(db, self.articles, self.outbox)
        self.queries = Queries(db, path)
        self.watches = WatchStore(db)
        self.entities = EntityStore(db)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, busy_timeout_ms: int = 5000, create: bool = True) -> Store:
        """The log at ``path``, its migrations applied; a missing file is a new log when ``create``.
        A file that is empty, not SQLite, damaged, or another program's database is refused
        (``LogError``, one line), never taken as a new log or half-migrated."""
        p = str(path)
        if p != ":memory:":
            if not os.path.exists(p):
                if not create:
                    raise LogError(f"{p}: no log there (run, once or process creates it)")
            elif os.path.getsize(p) == 0:
                raise LogError(f"{p}: an empty file, not a tradewire log (remove it to start a new log)")
        try:
            db = connect(path, busy_timeout_ms)
            tables = set(db.table_names())
            if tables and "_sqlite_migrations" not in tables:
                db.close()
                raise LogError(f"{p}: a SQLite database, but not a tradewire log")
            migrations.apply(db)
        except sqlean.DatabaseError as exc:
            raise LogError(f"{p}: not a readable tradewire log ({exc}); restore it from a backup") from None
        make_private(p)
        return cls(db, p)

    @staticmethod
    @contextmanager
    def reading(path: str | os.PathLike[str], busy_timeout_ms: int = 5000) -> Iterator[Queries]:
        """The log's queries over a read-only connection, closed after use (the web server's and the
        metrics': they never write, and never migrate; ``serve`` and the daemon opened it as a Store)."""
        p = os.path.abspath(str(path))
        if not os.path.exists(p):
            raise LogError(f"{path}: no log there (run, once or process creates it)")
        conn = sqlean.connect(
            f"file:{p}?mode=ro", uri=True, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        try:
            yield Queries(Database(conn), str(path))
        finally:
            conn.close()

    def writable(self) -> bool:
        """Whether the log takes a write lock now (within the busy timeout); nothing is written."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("ROLLBACK")
            return True
        except sqlean.DatabaseError:
            return False

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
