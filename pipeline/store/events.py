"""The event log's writes and the dedup stage's reads: candidates narrowed by type, milestone, acting
party and date window, and the commit of one article (events, sources, parties, links, outbox rows, the
article's state) in one transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from ..dates import iso, utcnow
from ..parties import union_names
from ..records import Decision, EventMention, StoredEvent
from .articles import ArticleStore
from .db import Part
from .outbox import OutboxStore

EMBEDDING_DIMENSIONS = 384


def _shift(day: str, days: int) -> str:
    base = day + "-01" if len(day) == 7 else (day + "-01-01" if len(day) == 4 else day)
    try:
        d = datetime.strptime(base[:10], "%Y-%m-%d")
    except ValueError:
        return day
    return (d + timedelta(days=days)).strftime("%Y-%m-%d")


def _coarse_keys(lo: str, hi: str) -> list[str]:
    """The years and months ("2024", "2024-03") that a date range touches."""
    keys: list[str] = []
    y, m = int(lo[:4]), int(lo[5:7]) if len(lo) >= 7 else 1
    end = (int(hi[:4]), int(hi[5:7]) if len(hi) >= 7 else 12)
    while (y, m) <= end:
        keys.append(f"{y:04d}-{m:02d}")
        if f"{y:04d}" not in keys:
            keys.append(f"{y:04d}")
        m += 1
        if m > 12:
            y, m = y + 1, 1
    return keys


def _evidence_json(m: EventMention) -> str:
    return json.dumps(
        [
            {"sentence": e.sentence, "start": e.start, "end": e.end}
            | ({"field": e.field} if e.field != "text" else {})
            for e in m.evidence
        ]
    )


class EventStore(Part):
    def __init__(self, db: Database, articles: ArticleStore, outbox: OutboxStore) -> None:
        super().__init__(db)
        self.articles = articles
        self.outbox = outbox

    # -- what dedup reads ---------------------------------------------------------------------

    def candidate_vectors(
        self,
        type_: str,
        milestones: Iterable[str],
        event_date: str | None,
        window_days: int,
        seen_after: str,
        actors: Iterable[str] = (),
    ) -> tuple[list[int], list[str | None], Any]:
        """(ids, event dates, L2-normalised vectors) of the events a mention could join, for one matrix product."""
        import numpy as np

        ms = list(milestones)
        where = f"embedding is not null and type = ? and milestone in ({','.join('?' * len(ms))})"
        params: list[Any] = [type_, *ms]
        keys = sorted({a.lower() for a in actors})
        if keys:  # the same acting party, or an event whose actor is unknown
            where += f" and actor_key in ({','.join('?' * (len(keys) + 1))})"
            params += [*keys, ""]
        select = "select id, event_date, embedding from events where " + where
        if event_date:
            # anchor_date is the event date, else the first report's publication date. Days in the
            # window are one index range; coarse anchors ("2024", "2024-03") are matched by value. Two
            # searches joined, not one OR: with the OR, SQLite walked every anchor of the party's
            # events (a 1M-event log: 4 ms a lookup instead of a fraction of one).
            lo, hi = _shift(event_date, -window_days), _shift(event_date, window_days)
            coarse = _coarse_keys(lo, hi)
            sql = (
                f"{select} and anchor_date >= ? and anchor_date <= ? and length(anchor_date) >= 10"
                f" union all {select} and anchor_date in ({','.join('?' * len(coarse))})"
            )
            params = [*params, lo, hi, *params, *coarse]
        else:
            sql = select + " and last_seen >= ?"
            params.append(seen_after)
        rows = self.db.execute(sql, params).fetchall()
        if not rows:
            return [], [], np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return [r[0] for r in rows], [r[1] for r in rows], matrix

    def events_by_id(self, ids: list[int]) -> list[StoredEvent]:
        if not ids:
            return []
        rows = self.db.query(f"select * from events where id in ({','.join('?' * len(ids))})", ids)
        return [
            StoredEvent(
                id=r["id"],
                type=r["type"],
                status=r["status"],
                milestone=r["milestone"],
                actors=tuple(json.loads(r["actors"] or "[]")),
                targets=tuple(json.loads(r["targets"] or "[]")),
                event_date=r["event_date"],
                first_seen=r["first_seen"],
                embedding=r["embedding"],
                anchor_date=r["anchor_date"],
                amounts=tuple(json.loads(r["amounts"] or "[]")),
                evidence=r["evidence"] or "",
                location=r["location"],
            )
            for r in rows
        ]

    def story_event_ids(self, story_id: int) -> set[int]:
        """Events that articles of a story already report."""
        rows = self.db.execute(
            "select distinct s.event_id from articles a join sources s on s.article_id = a.id where a.story_id = ?",
            [story_id],
        ).fetchall()
        return {r[0] for r in rows}

    # -- the commit ---------------------------------------------------------------------------

    def commit_article(
        self,
        article_id: int,
        decisions: list[Decision],
        alert_delay_seconds: float = 0.0,
        story_id: int | None = None,
        story_moves: Mapping[int, int] | None = None,
    ) -> list[int]:
        """Write an article's events, sources and outbox rows, and mark it done, in one transaction.

        Returns the ids of the events created. A new event's alert routes were decided before the commit
        (``Decision.routes``); merges never alert. ``story_moves`` (article id -> story id) records, in
        the same transaction, earlier articles that the story clusterer regrouped.
        """
        art = self.articles.get(article_id)
        now = iso(utcnow())
        created: list[int] = []
        with self.db.atomic():
            for d in decisions:
                if d.event_id is None:
                    event_id = self._insert(d, now)
                    created.append(event_id)
                else:
                    event_id = d.event_id
                    self._merge_into(event_id, d, now)
                self._add_source(event_id, art, d, now)
                self._refresh_event(event_id)
                if d.event_id is None:
                    self.outbox.queue(event_id, d.routes, now=now, delay_seconds=alert_delay_seconds)
            self.articles.mark_done(
                article_id, now=now, story_id=story_id, events=len(decisions), story_moves=story_moves or {}
            )
        return created

    def _insert(self, d: Decision, now: str) -> int:
        m = d.mention
        event_id = (
            self.db["events"]
            .insert(
                {
                    "type": m.type,
                    "status": m.status,
                    "milestone": m.milestone,
                    "actors": json.dumps(list(m.actors)),
                    "targets": json.dumps(list(m.targets)),
                    "location": m.location,
                    "event_date": m.event_date,
                    "confidence": m.confidence,
                    "first_seen": now,
                    "last_seen": now,
                    "evidence": m.evidence[0].sentence if m.evidence else "",
                    "amounts": json.dumps(list(m.amounts)),
                    "rule_ids": json.dumps(list(m.rule_ids)),
                    "search_text": "",
                    "embedding": d.embedding,
                    "anchor_date": m.event_date or d.anchor_date or now[:10],
                    "actor_key": m.actors[0].lower() if m.actors else "",
                }
            )
            .last_pk
        )
        self._add_entities(event_id, m)
        for rel in d.related_to:
            for a, b in ((event_id, rel), (rel, event_id)):
                self.db["event_links"].insert(
                    {"event_id": a, "related_id": b, "relation": "lifecycle"}, ignore=True
                )
        return event_id

    def _add_entities(self, event_id: int, m: EventMention) -> None:
        for role, names in (("actor", m.actors), ("target", m.targets)):
            for n in names:
                self.db["event_entities"].insert(
                    {"event_id": event_id, "entity": n, "role": role}, ignore=True
                )

    def _add_source(self, event_id: int, art: dict[str, Any], d: Decision, now: str) -> None:
        self.db["sources"].insert(
            {
                "event_id": event_id,
                "article_id": art["id"],
                "url": art["url"],
                "title": art["title"],
                "outlet": art["outlet"],
                "published": art["published"],
                "status": d.mention.status,
                "evidence": _evidence_json(d.mention),
                "origin": art["copy_of"],
                "similarity": round(d.similarity, 4),
                "merge_score": None if d.merge_score is None else round(d.merge_score, 4),
                "added_at": now,
            },
            ignore=True,
        )

    def _merge_into(self, event_id: int, d: Decision, now: str) -> None:
        row = self.one("select * from events where id = ?", [event_id])
        if row is None:
            raise KeyError(event_id)
        m = d.mention
        actors = union_names(json.loads(row["actors"] or "[]"), m.actors)
        targets = union_names(json.loads(row["targets"] or "[]"), m.targets)
        update: dict[str, Any] = {
            "actors": json.dumps(actors),
            "targets": json.dumps(targets),
            "last_seen": now,
            "confidence": round(max(row["confidence"] or 0.0, m.confidence), 3),
            "location": row["location"] or m.location,
            "event_date": row["event_date"] or m.event_date,
        }
        # "will take effect" then "took effect": the log follows the latest milestone reached.
        if row["status"] == "announced" and m.status == "done":
            update["status"] = "done"
        if not row["actor_key"] and actors:
            update["actor_key"] = actors[0].lower()
        self.db["events"].update(event_id, update)
        self._add_entities(event_id, m)

    def _refresh_event(self, event_id: int) -> None:
        """Recompute derived columns: source counts, independent sources, the full-text field."""
        counts = self.one(
            "select count(*) as n, count(distinct coalesce(s.origin, s.article_id)) as independent "
            "from sources s where s.event_id = ?",
            [event_id],
        )
        row = self.one("select actors, targets, location from events where id = ?", [event_id])
        assert counts is not None and row is not None
        texts = [
            r["title"] or ""
            for r in self.db.query("select title from sources where event_id = ?", [event_id])
        ]
        for r in self.db.query("select evidence from sources where event_id = ?", [event_id]):
            texts.extend(e["sentence"] for e in json.loads(r["evidence"] or "[]"))
        search = " ".join(
            [
                *json.loads(row["actors"] or "[]"),
                *json.loads(row["targets"] or "[]"),
                row["location"] or "",
                *texts,
            ]
        )
        self.db["events"].update(
            event_id,
            {
                "source_count": counts["n"],
                "independent_sources": counts["independent"],
                "search_text": search[:20000],
            },
        )
