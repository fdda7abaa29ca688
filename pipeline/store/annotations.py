"""Annotations: what analysts say of events (``run.py annotate``, the UI's form), kept apart from the
event log in a database of their own beside it (``<log>.annotations.db``), so the web server writes
there and never to the log. Append-only: every annotation is kept with who made it and when; the
latest of an event is what counts (``latest``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from ..dates import iso, utcnow
from .db import connect, make_private

annotation_migrations = Migrations("tradewire-annotations")


@annotation_migrations()
def a001_annotations(db: Database) -> None:
    db["annotations"].create(
        {
            "id": int,
            "event_id": int,
            "verdict": str,  # vocab.VERDICTS
            "reason": str,  # vocab.FALSE_REASONS, for "false"
            "duplicate_of": int,
            "type": str,  # corrections: the right type, status and parties, when given
            "status": str,
            "actors": str,  # JSON list
            "targets": str,  # JSON list
            "note": str,
            "author": str,
            "at": str,
        },
        pk="id",
    )
    db["annotations"].create_index(["event_id", "id"])


@dataclass(frozen=True)
class Annotation:
    event_id: int
    verdict: str
    author: str
    reason: str | None = None
    duplicate_of: int | None = None
    type: str | None = None
    status: str | None = None
    actors: tuple[str, ...] | None = None
    targets: tuple[str, ...] | None = None
    note: str | None = None


def annotations_path(log_path: str | os.PathLike[str]) -> str:
    """The annotations' file beside the log: ``data/tradewire.db`` -> ``data/tradewire.annotations.db``."""
    p = Path(log_path)
    return str(p.with_name(p.stem + ".annotations.db"))


class AnnotationLog:
    """The annotations database (created on first use, mode 0600)."""

    def __init__(self, path: str, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.db = connect(path, busy_timeout_ms)
        annotation_migrations.apply(self.db)
        make_private(path)

    def add(self, a: Annotation) -> int:
        row = asdict(a)
        for k in ("actors", "targets"):
            row[k] = json.dumps(list(row[k]), ensure_ascii=False) if row[k] is not None else None
        row["at"] = iso(utcnow())
        with self.db.conn:
            return int(self.db["annotations"].insert(row).last_pk)

    def history(self, event_id: int | None = None) -> list[dict[str, Any]]:
        where, params = ("where event_id = ?", [event_id]) if event_id is not None else ("", [])
        return [_row(r) for r in self.db.query(f"select * from annotations {where} order by id", params)]

    def latest(self) -> dict[int, dict[str, Any]]:
        """event id -> its latest annotation."""
        rows = self.db.query(
            "select * from annotations where id in (select max(id) from annotations group by event_id)"
        )
        return {r["event_id"]: _row(r) for r in rows}

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> AnnotationLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {**r, **{k: json.loads(r[k]) if r[k] else None for k in ("actors", "targets")}}
