"""Read-only queries: the export contract, the analyst filters, stories, status and backup.

Nothing here writes to the log (``backup`` writes a copy elsewhere).
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from typing import Any

import sqlean
from sqlite_utils import Database

from ..vocab import SANCTIONS_TYPES
from .db import Part

COMMON_ENTITY = 2000  # events naming an entity above which an entity query walks the newest events


class Queries(Part):
    def __init__(self, db: Database, path: str) -> None:
        super().__init__(db)
        self.path = path

    def export_event(self, event_id: int) -> dict[str, Any]:
        """An event in the public export contract (see README)."""
        r = self.one("select * from events where id = ?", [event_id])
        if r is None:
            raise KeyError(event_id)
        sources = []
        for s in self.db.query(
            "select s.*, a.story_id from sources s left join articles a on a.id = s.article_id "
            "where s.event_id = ? order by s.id",
            [event_id],
        ):
            sources.append(
                {
                    "url": s["url"],
                    "title": s["title"],
                    "outlet": s["outlet"],
                    "published": s["published"],
                    "evidence": json.loads(s["evidence"] or "[]"),
                    "status": s["status"],
                    "syndicated_copy": s["origin"] is not None,
                    "story_id": s["story_id"],
                    "merge_score": s["merge_score"],
                }
            )
        related = [
            x["related_id"]
            for x in self.db.query(
                "select related_id from event_links where event_id = ? order by related_id", [event_id]
            )
        ]
        return {
            "id": r["id"],
            "type": r["type"],
            "status": r["status"],
            "actors": json.loads(r["actors"] or "[]"),
            "targets": json.loads(r["targets"] or "[]"),
            "location": r["location"],
            "event_date": r["event_date"],
            "confidence": r["confidence"],
            "first_seen": r["first_seen"],
            "last_seen": r["last_seen"],
            "source_count": r["source_count"],
            "independent_sources": r["independent_sources"],
            "amounts": json.loads(r["amounts"] or "[]"),
            "related": related,
            "sources": sources,
        }

    def query_events(
        self,
        *,
        types: Iterable[str] = (),
        statuses: Iterable[str] = (),
        entities: Iterable[str] = (),
        country_entities: Iterable[str] = (),
        since: str | None = None,
        until: str | None = None,
        seen_since: str | None = None,
        seen_until: str | None = None,
        min_sources: int | None = None,
        query: str | None = None,
        related_to: int | None = None,
        limit: int | None = None,
        newest_activity: bool = False,
    ) -> list[dict[str, Any]]:
        """Filter the log; every filter is optional and they combine with AND. Newest event first, by
        its place in time, or with ``newest_activity`` by its last report (a feed of events)."""
        where: list[str] = []
        params: list[Any] = []
        types, statuses, entities = list(types), list(statuses), list(entities)
        country_entities = list(country_entities)
        if types:
            where.append(f"e.type in ({','.join('?' * len(types))})")
            params += types
        if statuses:
            where.append(f"e.status in ({','.join('?' * len(statuses))})")
            params += statuses
        if entities:
            where.append(self._entity_clause(len(entities), entities))
            params += entities
        if country_entities:
            marks = ",".join("?" * len(country_entities))
            where.append(
                f"(e.id in (select event_id from event_entities where entity in ({marks}) collate nocase) "
                f"or e.location in ({marks}))"
            )
            params += country_entities + country_entities
        if since:  # by the event's place in time: its date, else its first report's
            where.append("e.anchor_date >= ?")
            params.append(since)
        if until:
            where.append("e.anchor_date <= ?")
            params.append(until + "\uffff" if len(until) < 10 else until)
        if seen_since:
            where.append("e.first_seen >= ?")
            params.append(seen_since)
        if seen_until:
            where.append("e.first_seen <= ?")
            params.append(seen_until + "\uffff" if len(seen_until) <= 10 else seen_until)
        if min_sources:
            where.append("e.independent_sources >= ?")
            params.append(min_sources)
        if query:
            where.append("e.rowid in (select rowid from events_fts where events_fts match ?)")
            params.append(_fts_query(query))
        if related_to is not None:
            where.append("(e.id = ? or e.id in (select related_id from event_links where event_id = ?))")
            params += [related_to, related_to]
        sql = "select e.id from events e"
        if where:
            sql += " where " + " and ".join(where)
        sql += (
            " order by e.last_seen desc, e.id desc"
            if newest_activity
            else " order by e.anchor_date desc, e.id desc"
        )
        if limit:
            sql += f" limit {int(limit)}"
        return [self.export_event(r["id"]) for r in self.db.query(sql, params)]

    def reporting_articles(self, event_ids: list[int]) -> list[dict[str, Any]]:
        """The articles that report any of these events, oldest first, each with its text and every
        event it reports as its source row tells it (the status it reported, its evidence)."""
        ids = sorted(set(event_ids))
        found: set[int] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                r["article_id"]
                for r in self.db.query(f"select article_id from sources where event_id in ({marks})", chunk)
            )
        out = []
        for aid in sorted(found):
            a = self.one("select id, url, title, outlet, published, text from articles where id = ?", [aid])
            if a is None:
                continue
            a["events"] = [
                {
                    **e,
                    "actors": json.loads(e["actors"] or "[]"),
                    "targets": json.loads(e["targets"] or "[]"),
                    "evidence": json.loads(e["evidence"] or "[]"),
                }
                for e in self.db.query(
                    "select e.id, e.type, e.actors, e.targets, e.location, e.event_date, s.status, s.evidence "
                    "from sources s join events e on e.id = s.event_id where s.article_id = ? order by e.id",
                    [aid],
                )
            ]
            out.append(a)
        return out

    def chart_counts(self, sanctions_rows: int = 400) -> dict[str, Any]:
        """What the charts page draws: events per week (Monday), type and status, by each event's place
        in time (dated to the month: its first day); tariff actions per acting party and status; the
        latest sanctions listings and removals with their authority and date."""
        day = "coalesce(date(substr(anchor_date, 1, 10)), date(substr(anchor_date, 1, 7) || '-01'))"
        weekly = list(
            self.db.query(
                f"select date({day}, '-6 days', 'weekday 1') as week, type, status, count(*) as n from events "
                f"where {day} is not null group by 1, 2, 3 order by 1"
            )
        )
        tariffs = list(
            self.db.query(
                "select coalesce(json_extract(actors, '$[0]'), '') as actor, status, count(*) as n from events "
                "where type = 'tariff_announcement' group by 1, 2 order by 3 desc"
            )
        )
        marks = ",".join("?" * len(SANCTIONS_TYPES))
        sanctions = list(
            self.db.query(
                "select id, type, status, coalesce(json_extract(actors, '$[0]'), '') as authority, "
                f"{day} as day, targets from events where type in ({marks}) "
                f"and {day} is not null order by anchor_date desc, id desc limit ?",
                [*SANCTIONS_TYPES, sanctions_rows],
            )
        )
        for r in sanctions:
            r["targets"] = json.loads(r["targets"] or "[]")[:3]
        return {"weekly": weekly, "tariffs": tariffs, "sanctions": sanctions}

    def _entity_clause(self, n: int, entities: list[str]) -> str:
        """A rare entity: collect its few events. A common one: walk the newest events and probe each."""
        marks = ",".join("?" * n)
        common = (
            self.db.execute(
                f"select count(*) from (select 1 from event_entities where entity in ({marks}) collate nocase "
                f"limit {COMMON_ENTITY})",
                entities,
            ).fetchone()[0]
            >= COMMON_ENTITY
        )
        if common:
            return (
                f"exists (select 1 from event_entities ee where ee.event_id = e.id and ee.entity in ({marks}) "
                "collate nocase)"
            )
        return f"e.id in (select event_id from event_entities where entity in ({marks}) collate nocase)"

    def story(self, story_id: int) -> list[dict[str, Any]]:
        """The articles of one story, oldest first, with the events each reports."""
        rows = list(
            self.db.query(
                "select a.id, a.published, a.outlet, a.title, a.url, a.copy_of, "
                "(select json_group_array(distinct s.event_id) from sources s where s.article_id = a.id) "
                "as events from articles a where a.story_id = ? order by a.processed_at, a.id",
                [story_id],
            )
        )
        for r in rows:
            r["events"] = sorted(e for e in json.loads(r["events"] or "[]") if e is not None)
        return rows

    def relations(self) -> list[str]:
        """The names of the log's tables and views (FTS shadow tables included)."""
        return [
            r["name"] for r in self.db.query("select name from sqlite_master where type in ('table', 'view')")
        ]

    def status(self) -> dict[str, Any]:
        feeds = list(
            self.db.query(
                "select name, url, last_polled, last_success, last_status, last_error_reason, last_error, last_error_at, error_count, "
                "next_poll, entries_total from feeds order by name"
            )
        )
        queue = {
            r["state"]: r["n"]
            for r in self.db.query("select state, count(*) as n from articles group by state")
        }
        outbox = {
            r["state"]: r["n"]
            for r in self.db.query("select state, count(*) as n from outbox group by state")
        }
        oldest = self.one("select min(created_at) as t from outbox where state = 'pending'")
        webhooks = list(self.db.query("select * from webhooks order by route"))
        parked = list(
            self.db.query(
                "select id, event_id, route, last_error from outbox where state = 'parked' order by id desc limit 20"
            )
        )
        failures = list(self.db.query("select * from failures order by id desc limit 20"))
        by_type = {
            r["type"]: r["n"] for r in self.db.query("select type, count(*) as n from events group by type")
        }
        events = sum(by_type.values())
        size = sum(os.path.getsize(self.path + s) for s in ("", "-wal") if os.path.exists(self.path + s))
        return {
            "database": self.path,
            "database_bytes": size,
            "events": events,
            "events_by_type": by_type,
            "feeds": feeds,
            "articles": queue,
            "outbox": outbox,
            "oldest_pending_alert": oldest["t"] if oldest else None,
            "webhooks": webhooks,
            "parked_alerts": parked,
            "recent_failures": failures,
        }

    def backup(self, target: str | os.PathLike[str]) -> dict[str, Any]:
        """Copy the log with VACUUM INTO a temporary file beside ``target`` (mode 0600 from the
        start), check the copy's integrity, then rename it into place: a failure leaves no file."""
        target = str(target)
        if os.path.exists(target):
            raise FileExistsError(target)
        folder = os.path.dirname(os.path.abspath(target))
        fd, tmp = tempfile.mkstemp(prefix=".tradewire-backup-", dir=folder)
        os.close(fd)
        os.unlink(tmp)  # VACUUM INTO wants a path that does not exist; the name stays ours
        try:
            old = os.umask(0o077)
            try:
                self.db.execute("VACUUM INTO ?", [tmp])
            except sqlean.DatabaseError as exc:  # a full or read-only disk: the copy failed, not the log
                raise OSError(f"the copy could not be written ({exc})") from exc
            finally:
                os.umask(old)
            os.chmod(tmp, stat.S_IRUSR | stat.S_IWUSR)
            check = sqlean.connect(tmp)
            try:
                result = check.execute("PRAGMA integrity_check").fetchone()[0]
                events = check.execute("select count(*) from events").fetchone()[0]
            finally:
                check.close()
            os.link(tmp, target)  # fails if target appeared meanwhile; never overwrites
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return {"path": target, "integrity": result, "events": events, "bytes": os.path.getsize(target)}


def _fts_query(q: str) -> str:
    """Plain words become an AND of quoted terms, so user text never breaks FTS syntax."""
    terms = re.findall(r"[\w.-]+", q)
    return " ".join('"' + t.replace('"', "") + '"' for t in terms) or '""'
