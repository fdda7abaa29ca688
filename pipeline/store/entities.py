"""The gazetteer's names in the log (``entity_aliases``): alias -> canonical, for SQL and the UI."""

from __future__ import annotations

from collections.abc import Iterable

from .db import Part


class EntityStore(Part):
    def sync_aliases(self, pairs: Iterable[tuple[str, str]]) -> int:
        """Replace the aliases with ``pairs`` (alias, canonical), in one transaction; how many."""
        rows = sorted({(a.strip(), c) for a, c in pairs if a.strip()})
        with self.db.conn:
            self.db.execute("delete from entity_aliases")
            self.db.conn.executemany(
                "insert or ignore into entity_aliases (alias, canonical) values (?, ?)", rows
            )
        return len(rows)
