"""Stage 6: the SQLite event log. The only package that writes SQL.

Small parts share one connection, each handed to the stage that needs it (so a stage's dependency on
storage shows in its constructor): ``feeds`` (polling state, entries), ``articles`` (the queue),
``events`` (dedup candidates and the commit), ``outbox`` (alerts, webhooks), ``queries`` (read only:
the export contract, filters, status, backup) and ``failures``. The schema changes only through the
migrations in ``migrations``. One writer, short transactions, WAL and a busy timeout; an article's
events, sources and alert outbox rows are written in one transaction, so a crash leaves either all of
it or none.
"""

from __future__ import annotations

import os

from sqlite_utils import Database

from .articles import ArticleRow, ArticleStore, canonical_url, text_hashes
from .db import FailureLog, connect, make_private
from .events import EventStore
from .feeds import FeedState, FeedStore
from .migrations import migrations
from .outbox import OutboxItem, OutboxStore
from .queries import Queries

__all__ = [
    "ArticleRow",
    "FeedState",
    "OutboxItem",
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

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, busy_timeout_ms: int = 5000) -> Store:
        db = connect(path, busy_timeout_ms)
        migrations.apply(db)
        make_private(str(path))
        return cls(db, str(path))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
