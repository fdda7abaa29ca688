"""Watch-lists in the log: the entities an alert route is restricted to, added and removed with
``run.py watch`` while the daemon runs (it reads them once per processing pass)."""

from __future__ import annotations

from typing import Any

from ..dates import iso, utcnow
from .db import Part


class WatchStore(Part):
    def add(self, route: str, entity: str, canonical: str, added_by: str = "") -> bool:
        """Watch ``canonical`` (as ``entity`` was typed) on ``route``; False when it already was."""
        with self.db.conn:
            cur = self.db.execute(
                "insert into watches (route, entity, canonical, added_by, added_at) values (?, ?, ?, ?, ?)"
                " on conflict (route, canonical) do nothing",
                [route, entity, canonical, added_by or None, iso(utcnow())],
            )
            return cur.rowcount == 1

    def remove(self, route: str, names: list[str]) -> int:
        """Stop watching an entity on ``route``, by any of its ``names`` (canonical or as typed)."""
        if not names:
            return 0
        marks = ",".join("?" * len(names))
        with self.db.conn:
            cur = self.db.execute(
                f"delete from watches where route = ? and (canonical collate nocase in ({marks})"
                f" or entity collate nocase in ({marks}))",
                [route, *names, *names],
            )
            return cur.rowcount

    def listed(self, route: str | None = None) -> list[dict[str, Any]]:
        where, params = ("where route = ?", [route]) if route else ("", [])
        return list(
            self.db.query(
                f"select route, entity, canonical, added_by, added_at from watches {where}"
                " order by route, canonical collate nocase",
                params,
            )
        )

    def by_route(self) -> dict[str, list[str]]:
        """route -> the canonical entities it watches."""
        out: dict[str, list[str]] = {}
        for r in self.db.query("select route, canonical from watches order by id"):
            out.setdefault(r["route"], []).append(r["canonical"])
        return out
