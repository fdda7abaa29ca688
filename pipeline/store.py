"""Stage 6: the SQLite event log. The only module that writes SQL.

The schema changes only through the sqlite-utils migrations below. One writer, short transactions,
WAL and a busy timeout; an article's events, sources and alert outbox rows are written in one
transaction, so a crash leaves either all of it or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlean
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from .nlp import name_key
from .records import Decision, FeedEntry, StoredEvent

migrations = Migrations("tradewire")
ARTICLE_MAX_ATTEMPTS = 5
COMMON_ENTITY = 2000  # events naming an entity above which an entity query walks the newest events


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@migrations()
def m001_initial(db: Database) -> None:
    db["feeds"].create(
        {
            "name": str,
            "url": str,  # effective URL (a repeated permanent redirect updates it)
            "config_url": str,
            "category": str,
            "outlet": str,
            "etag": str,
            "last_modified": str,
            "last_polled": str,
            "last_success": str,
            "last_status": int,
            "last_error": str,
            "last_error_reason": str,
            "last_error_at": str,
            "error_count": int,
            "next_poll": str,
            "redirect_to": str,
            "redirect_seen": int,
            "entries_total": int,
        },
        pk="name",
        defaults={"error_count": 0, "redirect_seen": 0, "entries_total": 0},
    )
    db["entries"].create(
        {
            "feed": str,
            "key": str,
            "url": str,
            "title": str,
            "published": str,
            "first_seen": str,
            "article_id": int,
        },
        pk=("feed", "key"),
    )
    db["articles"].create(
        {
            "id": int,
            "url": str,  # as found in the feed (or given to `process`)
            "canonical_url": str,
            "final_url": str,
            "feed": str,
            "category": str,
            "outlet": str,
            "title": str,
            "published": str,
            "text": str,
            "content_hash": str,
            "lead_hash": str,
            "copy_of": int,
            "state": str,  # queued -> fetched -> done | failed
            "attempts": int,
            "next_attempt": str,
            "error_reason": str,
            "error": str,
            "queued_at": str,
            "fetched_at": str,
            "processed_at": str,
            "event_count": int,
        },
        pk="id",
        defaults={"attempts": 0, "state": "queued", "event_count": 0},
    )
    db["articles"].create_index(["canonical_url"], unique=True)
    db["articles"].create_index(["state", "next_attempt"])
    db["articles"].create_index(["content_hash"])
    db["articles"].create_index(["lead_hash"])
    db["events"].create(
        {
            "id": int,
            "type": str,
            "status": str,
            "milestone": str,
            "actors": str,  # JSON list of canonical names
            "targets": str,
            "location": str,
            "event_date": str,
            "confidence": float,
            "first_seen": str,
            "last_seen": str,
            "source_count": int,
            "independent_sources": int,
            "evidence": str,  # lead evidence sentence
            "amounts": str,
            "rule_ids": str,
            "search_text": str,
            "embedding": bytes,
        },
        pk="id",
        defaults={"source_count": 0, "independent_sources": 0},
    )
    db["events"].create_index(["type", "milestone", "event_date"])
    db["events"].create_index(["type", "first_seen"])
    db["events"].create_index(["first_seen"])
    db["events"].create_index(["event_date"])
    db["sources"].create(
        {
            "id": int,
            "event_id": int,
            "article_id": int,
            "url": str,
            "title": str,
            "outlet": str,
            "published": str,
            "status": str,  # the status as this source reported it
            "evidence": str,  # JSON list of {sentence, start, end}
            "origin": int,  # article id of the original when this is a syndicated copy
            "similarity": float,
            "added_at": str,
        },
        pk="id",
        foreign_keys=[("event_id", "events", "id"), ("article_id", "articles", "id")],
    )
    db["sources"].create_index(["event_id", "article_id"], unique=True)
    db["sources"].create_index(["article_id"])
    db["event_entities"].create(
        {"event_id": int, "entity": str, "role": str},
        pk=("event_id", "entity", "role"),
        foreign_keys=[("event_id", "events", "id")],
    )
    db["event_entities"].create_index(["entity"])
    db["event_links"].create(
        {"event_id": int, "related_id": int, "relation": str},
        pk=("event_id", "related_id"),
    )
    db["outbox"].create(
        {
            "id": int,
            "event_id": int,
            "route": str,
            "kind": str,  # "new"
            "created_at": str,
            "state": str,  # pending -> sent | parked
            "attempts": int,
            "next_attempt": str,
            "last_error": str,
            "sent_at": str,
        },
        pk="id",
        defaults={"attempts": 0, "state": "pending"},
        foreign_keys=[("event_id", "events", "id")],
    )
    db["outbox"].create_index(["event_id", "route", "kind"], unique=True)
    db["outbox"].create_index(["state", "next_attempt"])
    db["webhooks"].create(
        {"route": str, "state": str, "reason": str, "updated_at": str, "last_sent_at": str}, pk="route"
    )
    db["failures"].create(
        {"id": int, "at": str, "stage": str, "item": str, "reason": str, "message": str}, pk="id"
    )
    db["failures"].create_index(["at"])
    db["events"].enable_fts(["search_text"], fts_version="FTS5", create_triggers=True, tokenize="porter")


@migrations()
def m002_views(db: Database) -> None:
    db.create_view(
        "event_sources",
        """
        select e.id as event_id, e.type, e.status, e.event_date, e.actors, e.targets, e.confidence,
               s.url, s.title, s.outlet, s.published, s.status as reported_status, s.evidence,
               s.origin is not null as syndicated_copy
        from events e join sources s on s.event_id = e.id
        """,
    )
    db.create_view(
        "entity_events",
        """
        select ee.entity, ee.role, e.id as event_id, e.type, e.status, e.event_date, e.first_seen,
               e.independent_sources, e.evidence
        from event_entities ee join events e on e.id = ee.event_id
        """,
    )


@migrations()
def m003_anchor_date(db: Database) -> None:
    """Events without a stated date are placed in time by their first report's publication date."""
    db["events"].add_column("anchor_date", str)
    db.execute("update events set anchor_date = coalesce(event_date, substr(first_seen, 1, 10))")
    db["events"].create_index(["type", "milestone", "anchor_date"])


@migrations()
def m004_query_indexes(db: Database) -> None:
    """Analyst queries sort by the event's place in time; index it per type."""
    db["events"].create_index(["anchor_date", "id"])
    db["events"].create_index(["type", "anchor_date", "id"])
    db["events"].create_index(["status", "anchor_date"])


@migrations()
def m005_event_list_view(db: Database) -> None:
    """The log as an analyst browses it: no vectors, no search blob, newest first."""
    db.create_view(
        "event_list",
        """
        select id, type, status, event_date, actors, targets, location, confidence, independent_sources,
               source_count, evidence, first_seen, last_seen
        from events order by anchor_date desc, id desc
        """,
    )


@migrations()
def m006_entity_nocase_index(db: Database) -> None:
    """Entity filters compare without case; give them an index that does too."""
    db.execute(
        "create index if not exists idx_event_entities_entity_nocase on event_entities(entity collate nocase)"
    )


@migrations()
def m007_actor_key(db: Database) -> None:
    """Dedup candidates share the acting party: index it with type, milestone and time."""
    db["events"].add_column("actor_key", str)
    db.execute("update events set actor_key = lower(coalesce(json_extract(actors, '$[0]'), ''))")
    db["events"].create_index(["type", "milestone", "actor_key", "anchor_date"])


@migrations()
def m008_story(db: Database) -> None:
    """Every processed article joins a story (the id of one of its articles, normally the first)."""
    db["articles"].add_column("story_id", int)
    db["articles"].create_index(["story_id"])
    db["articles"].create_index(["processed_at"])


# -- URL identity -------------------------------------------------------------------------------

_TRACKING = re.compile(
    r"^(utm_|fbclid$|gclid$|mc_cid$|mc_eid$|ocid$|cmpid$|ref$|ref_src$|src$|taid$|guccounter$|"
    r"ncid$|sr_share$|rss$|feed$|partner$|_ga$|igshid$|smid$|cid$|outputType$|amp$)",
    re.I,
)


def canonical_url(url: str) -> str:
    """Identity of an article URL: tracking parameters, fragments, AMP and mobile variants removed."""
    try:
        p = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    host = (p.hostname or "").lower()
    for prefix in ("www.", "m.", "amp.", "mobile."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    if p.port and p.port not in (80, 443):
        host = f"{host}:{p.port}"
    path = re.sub(r"/amp/?$|/amp\.html$|\.amp$|\.amp(?=\.html$)", "", p.path or "/")
    path = re.sub(r"/+$", "", path) or "/"
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(p.query, keep_blank_values=True) if not _TRACKING.match(k))
    )
    scheme = "https" if p.scheme in ("http", "https") else p.scheme
    return urlunsplit((scheme, host, path, query, ""))


def _norm_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def text_hashes(text: str) -> tuple[str, str]:
    """(hash of the whole normalised text, hash of its first 60 words): syndicated copies share them."""
    words = _norm_words(text)
    whole = hashlib.sha256(" ".join(words).encode()).hexdigest()[:32]
    lead = hashlib.sha256(" ".join(words[:60]).encode()).hexdigest()[:32] if len(words) >= 40 else ""
    return whole, lead


# -- rows handed to other stages ----------------------------------------------------------------


@dataclass(frozen=True)
class FeedState:
    name: str
    url: str
    category: str
    outlet: str
    etag: str | None
    last_modified: str | None
    error_count: int
    next_poll: str | None
    redirect_to: str | None
    redirect_seen: int


@dataclass(frozen=True)
class ArticleRow:
    id: int
    url: str
    feed: str | None
    category: str | None
    outlet: str
    title: str
    published: str | None
    text: str | None
    attempts: int


@dataclass(frozen=True)
class OutboxItem:
    id: int
    event_id: int
    route: str
    kind: str
    attempts: int


class Store:
    """The event log. Open with ``Store.open(path)``; not shared between threads."""

    def __init__(self, db: Database, path: str) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, busy_timeout_ms: int = 5000) -> Store:
        p = Path(path)
        if str(p) != ":memory:":
            p.parent.mkdir(parents=True, exist_ok=True)
            if not p.exists():
                fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
                os.close(fd)
        conn = sqlean.connect(str(p), check_same_thread=False, timeout=busy_timeout_ms / 1000)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if str(p) != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn)
        migrations.apply(db)
        if str(p) != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                f = Path(str(p) + suffix)
                if f.exists():
                    os.chmod(f, stat.S_IRUSR | stat.S_IWUSR)
        return cls(db, str(p))

    def close(self) -> None:
        self.db.close()

    # -- feeds --------------------------------------------------------------------------------

    def sync_feeds(self, feeds: Iterable[Any]) -> None:
        """Make the feeds table follow the configuration (a changed URL resets its state)."""
        with self.db.atomic():
            for f in feeds:
                row = self._one("select name, config_url from feeds where name = ?", [f.name])
                outlet = f.outlet or (urlsplit(f.url).hostname or "").removeprefix("www.")
                if row is None:
                    self.db["feeds"].insert(
                        {
                            "name": f.name,
                            "url": f.url,
                            "config_url": f.url,
                            "category": f.category,
                            "outlet": outlet,
                        }
                    )
                elif row["config_url"] != f.url:
                    self.db["feeds"].update(
                        f.name,
                        {
                            "url": f.url,
                            "config_url": f.url,
                            "etag": None,
                            "last_modified": None,
                            "redirect_to": None,
                            "redirect_seen": 0,
                            "category": f.category,
                            "outlet": outlet,
                        },
                    )
                else:
                    self.db["feeds"].update(f.name, {"category": f.category, "outlet": outlet})

    def feed_state(self, name: str) -> FeedState:
        r = self._one("select * from feeds where name = ?", [name])
        if r is None:
            raise KeyError(name)
        return FeedState(
            name=r["name"],
            url=r["url"],
            category=r["category"],
            outlet=r["outlet"] or "",
            etag=r["etag"],
            last_modified=r["last_modified"],
            error_count=r["error_count"] or 0,
            next_poll=r["next_poll"],
            redirect_to=r["redirect_to"],
            redirect_seen=r["redirect_seen"] or 0,
        )

    def feed_polled(
        self,
        name: str,
        *,
        status: int,
        etag: str | None,
        last_modified: str | None,
        next_poll: datetime,
        redirect_to: str | None,
        warning: str | None = None,
    ) -> None:
        """A successful poll (200 or 304). ETag and Last-Modified are stored exactly as received."""
        st = self.feed_state(name)
        update: dict[str, Any] = {
            "last_polled": iso(utcnow()),
            "last_success": iso(utcnow()),
            "last_status": status,
            "error_count": 0,
            "next_poll": iso(next_poll),
        }
        if status == 200:
            update["etag"] = etag
            update["last_modified"] = last_modified
        if warning:
            update["last_error"] = f"recovered from ill-formed feed: {warning}"[:500]
            update["last_error_reason"] = "bozo"
            update["last_error_at"] = iso(utcnow())
        # A permanent redirect moves the feed only when it repeats on the next poll.
        if redirect_to and redirect_to != st.url:
            if st.redirect_to == redirect_to and st.redirect_seen >= 1:
                update.update({"url": redirect_to, "redirect_to": None, "redirect_seen": 0})
            else:
                update.update({"redirect_to": redirect_to, "redirect_seen": 1})
        else:
            update.update({"redirect_to": None, "redirect_seen": 0})
        self.db["feeds"].update(name, update)

    def feed_failed(
        self, name: str, *, reason: str, message: str, next_poll: datetime, status: int | None
    ) -> None:
        st = self.feed_state(name)
        self.db["feeds"].update(
            name,
            {
                "last_polled": iso(utcnow()),
                "last_status": status,
                "last_error": message[:500],
                "last_error_reason": reason,
                "last_error_at": iso(utcnow()),
                "error_count": st.error_count + 1,
                "next_poll": iso(next_poll),
            },
        )
        self.record_failure("feed", name, reason, message)

    def enqueue(self, feed: FeedState, entries: Iterable[FeedEntry]) -> int:
        """Record entries in the permanent seen-ledger; queue each new article once. Returns new articles."""
        now = iso(utcnow())
        new = 0
        with self.db.atomic():
            for e in entries:
                if self._one("select 1 from entries where feed = ? and key = ?", [feed.name, e.key]):
                    continue
                article_id = None
                if e.url:
                    article_id, created = self._queue_article(
                        url=e.url,
                        feed=feed.name,
                        category=feed.category,
                        outlet=feed.outlet,
                        title=e.title,
                        published=e.published,
                        now=now,
                    )
                    new += int(created)
                self.db["entries"].insert(
                    {
                        "feed": feed.name,
                        "key": e.key,
                        "url": e.url,
                        "title": e.title,
                        "published": e.published,
                        "first_seen": now,
                        "article_id": article_id,
                    }
                )
            self.db.execute(
                "update feeds set entries_total = (select count(*) from entries where feed = ?) where name = ?",
                [feed.name, feed.name],
            )
        return new

    def _queue_article(
        self,
        *,
        url: str,
        feed: str | None,
        category: str | None,
        outlet: str,
        title: str,
        published: str | None,
        now: str,
        text: str | None = None,
    ) -> tuple[int, bool]:
        canon = canonical_url(url)
        row = self._one("select id from articles where canonical_url = ?", [canon])
        if row:
            return row["id"], False
        record: dict[str, Any] = {
            "url": url,
            "canonical_url": canon,
            "feed": feed,
            "category": category,
            "outlet": outlet or (urlsplit(url).hostname or "").removeprefix("www."),
            "title": title,
            "published": published,
            "state": "queued",
            "queued_at": now,
            "next_attempt": now,
        }
        if text is not None:
            whole, lead = text_hashes(text)
            record.update(
                {
                    "text": text,
                    "state": "fetched",
                    "fetched_at": now,
                    "content_hash": whole,
                    "lead_hash": lead,
                    "copy_of": self._original_of(whole, lead),
                }
            )
        return self.db["articles"].insert(record).last_pk, True

    def add_article(
        self,
        *,
        url: str,
        title: str,
        published: str | None,
        text: str | None,
        outlet: str = "",
        feed: str | None = None,
    ) -> tuple[int, bool]:
        """Backfill: an article given directly (text, or queued for fetching when text is None)."""
        with self.db.atomic():
            return self._queue_article(
                url=url,
                feed=feed,
                category=None,
                outlet=outlet,
                title=title,
                published=published,
                now=iso(utcnow()),
                text=text,
            )

    def due_articles(self, state: str, limit: int = 100) -> list[ArticleRow]:
        rows = self.db.query(
            "select * from articles where state = ? and (next_attempt is null or next_attempt <= ?) order by id limit ?",
            [state, iso(utcnow()), limit],
        )
        return [
            ArticleRow(
                id=r["id"],
                url=r["url"],
                feed=r["feed"],
                category=r["category"],
                outlet=r["outlet"] or "",
                title=r["title"] or "",
                published=r["published"],
                text=r["text"],
                attempts=r["attempts"] or 0,
            )
            for r in rows
        ]

    def article_fetched(
        self,
        article_id: int,
        *,
        text: str,
        title: str,
        published: str | None,
        final_url: str,
        outlet: str = "",
    ) -> None:
        """Store extracted text; ``outlet`` (the page's own site name) replaces the feed's when given."""
        whole, lead = text_hashes(text)
        extra = {"outlet": outlet} if outlet else {}
        with self.db.atomic():
            self.db["articles"].update(
                article_id,
                {
                    **extra,
                    "text": text,
                    "title": title,
                    "published": published,
                    "final_url": final_url,
                    "state": "fetched",
                    "fetched_at": iso(utcnow()),
                    "content_hash": whole,
                    "lead_hash": lead,
                    "copy_of": self._original_of(whole, lead, exclude=article_id),
                    "error_reason": None,
                    "error": None,
                },
            )

    def article_failed(
        self, article_id: int, *, stage: str, reason: str, message: str, retryable: bool
    ) -> None:
        row = self._one("select attempts from articles where id = ?", [article_id])
        attempts = (row["attempts"] or 0) + 1 if row else 1
        final = not retryable or attempts >= ARTICLE_MAX_ATTEMPTS
        delay = timedelta(minutes=min(2**attempts, 360))
        with self.db.atomic():
            self.db["articles"].update(
                article_id,
                {
                    "attempts": attempts,
                    "error_reason": reason,
                    "error": message[:500],
                    "state": "failed" if final else ("queued" if stage == "fetch" else "fetched"),
                    "next_attempt": iso(utcnow() + delay),
                },
            )
            self.record_failure(stage, str(article_id), reason, message)

    def _original_of(self, whole: str, lead: str, exclude: int | None = None) -> int | None:
        row = self._one(
            "select id, copy_of from articles where (content_hash = ? or (? != '' and lead_hash = ?)) and id != ? "
            "order by id limit 1",
            [whole, lead, lead, exclude or -1],
        )
        if row is None:
            return None
        return row["copy_of"] or row["id"]

    # -- events -------------------------------------------------------------------------------

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
        params: list[Any] = [type_, *ms]
        sql = (
            "select id, event_date, embedding from events where embedding is not null "
            f"and type = ? and milestone in ({','.join('?' * len(ms))})"
        )
        keys = sorted({a.lower() for a in actors})
        if keys:  # the same acting party, or an event whose actor is unknown
            sql += f" and actor_key in ({','.join('?' * (len(keys) + 1))})"
            params += [*keys, ""]
        if event_date:
            # anchor_date is the event date, else the first report's publication date; coarse anchors
            # ("2024", "2024-03") are matched by value, so the range stays a narrow index scan.
            lo, hi = _shift(event_date, -window_days), _shift(event_date, window_days)
            coarse = _coarse_keys(lo, hi)
            sql += f" and ((anchor_date >= ? and anchor_date <= ?) or anchor_date in ({','.join('?' * len(coarse))}))"
            params += [lo, hi, *coarse]
        else:
            sql += " and last_seen >= ?"
            params.append(seen_after)
        rows = self.db.execute(sql, params).fetchall()
        if not rows:
            return [], [], np.zeros((0, 384), dtype=np.float32)
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return [r[0] for r in rows], [r[1] for r in rows], matrix

    def story_articles(self, processed_after: str, limit: int) -> Iterator[dict[str, Any]]:
        """The newest ``limit`` processed articles with a story, oldest first: what the story clusterer
        restores at start."""
        yield from self.db.query(
            "select * from (select id, title, text, published, processed_at, story_id from articles "
            "where processed_at >= ? and story_id is not null order by processed_at desc, id desc limit ?) "
            "order by processed_at, id",
            [processed_after, limit],
        )

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

    def story_event_ids(self, story_id: int) -> set[int]:
        """Events that articles of a story already report."""
        rows = self.db.execute(
            "select distinct s.event_id from articles a join sources s on s.article_id = a.id "
            "where a.story_id = ?",
            [story_id],
        ).fetchall()
        return {r[0] for r in rows}

    def events_by_id(self, ids: list[int]) -> list[StoredEvent]:
        if not ids:
            return []
        rows = self.db.query(f"select * from events where id in ({','.join('?' * len(ids))})", ids)
        return [self._stored(r) for r in rows]

    def _stored(self, r: dict[str, Any]) -> StoredEvent:
        return StoredEvent(
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
        )

    def commit_article(
        self,
        article_id: int,
        decisions: list[Decision],
        routes_for: Callable[[dict[str, Any]], list[str]],
        alert_delay_seconds: float = 0.0,
        story_id: int | None = None,
        story_moves: Mapping[int, int] | None = None,
    ) -> list[int]:
        """Write an article's events, sources and outbox rows, and mark it done, in one transaction.

        Returns the ids of the events created. ``routes_for`` gets the new event as exported and names
        the alert routes it goes to; merges never alert. ``story_moves`` (article id -> story id) records,
        in the same transaction, earlier articles that the story clusterer regrouped.
        """
        art = self._one("select * from articles where id = ?", [article_id])
        if art is None:
            raise KeyError(article_id)
        now = iso(utcnow())
        created: list[int] = []
        with self.db.atomic():
            for d in decisions:
                m = d.mention
                evidence = json.dumps(
                    [
                        {"sentence": e.sentence, "start": e.start, "end": e.end}
                        | ({"field": e.field} if e.field != "text" else {})
                        for e in m.evidence
                    ]
                )
                if d.event_id is None:
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
                    created.append(event_id)
                    for role, names in (("actor", m.actors), ("target", m.targets)):
                        for n in names:
                            self.db["event_entities"].insert(
                                {"event_id": event_id, "entity": n, "role": role}, ignore=True
                            )
                    for rel in d.related_to:
                        self.db["event_links"].insert(
                            {"event_id": event_id, "related_id": rel, "relation": "lifecycle"}, ignore=True
                        )
                        self.db["event_links"].insert(
                            {"event_id": rel, "related_id": event_id, "relation": "lifecycle"}, ignore=True
                        )
                else:
                    event_id = d.event_id
                    self._merge_into(event_id, d, now)
                self.db["sources"].insert(
                    {
                        "event_id": event_id,
                        "article_id": article_id,
                        "url": art["url"],
                        "title": art["title"],
                        "outlet": art["outlet"],
                        "published": art["published"],
                        "status": m.status,
                        "evidence": evidence,
                        "origin": art["copy_of"],
                        "similarity": round(d.similarity, 4),
                        "added_at": now,
                    },
                    ignore=True,
                )
                self._refresh_event(event_id)
                if d.event_id is None:
                    for route in routes_for(self.export_event(event_id)):
                        self.db["outbox"].insert(
                            {
                                "event_id": event_id,
                                "route": route,
                                "kind": "new",
                                "created_at": now,
                                "state": "pending",
                                "next_attempt": iso(utcnow() + timedelta(seconds=alert_delay_seconds)),
                            },
                            ignore=True,
                        )
            self.db["articles"].update(
                article_id,
                {
                    "state": "done",
                    "processed_at": now,
                    "story_id": story_id,
                    "event_count": len(decisions),
                    "error_reason": None,
                    "error": None,
                },
            )
            for moved, story in (story_moves or {}).items():
                self.db.execute("update articles set story_id = ? where id = ?", [story, moved])
        return created

    def _merge_into(self, event_id: int, d: Decision, now: str) -> None:
        row = self._one("select * from events where id = ?", [event_id])
        m = d.mention
        actors = _union(json.loads(row["actors"] or "[]"), m.actors)
        targets = _union(json.loads(row["targets"] or "[]"), m.targets)
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
        for role, names in (("actor", m.actors), ("target", m.targets)):
            for n in names:
                self.db["event_entities"].insert(
                    {"event_id": event_id, "entity": n, "role": role}, ignore=True
                )

    def _refresh_event(self, event_id: int) -> None:
        """Recompute derived columns: source counts, independent sources, the full-text field."""
        counts = self._one(
            "select count(*) as n, count(distinct coalesce(s.origin, s.article_id)) as independent "
            "from sources s where s.event_id = ?",
            [event_id],
        )
        row = self._one("select actors, targets, location from events where id = ?", [event_id])
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

    def export_event(self, event_id: int) -> dict[str, Any]:
        """An event in the public export contract (see README)."""
        r = self._one("select * from events where id = ?", [event_id])
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
    ) -> list[dict[str, Any]]:
        """Filter the log; every filter is optional and they combine with AND."""
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
            marks = ",".join("?" * len(entities))
            # A rare entity: collect its few events. A common one: walk the newest events and probe each.
            common = (
                self.db.execute(
                    f"select count(*) from (select 1 from event_entities where entity in ({marks}) collate nocase "
                    f"limit {COMMON_ENTITY})",
                    entities,
                ).fetchone()[0]
                >= COMMON_ENTITY
            )
            if common:
                where.append(
                    f"exists (select 1 from event_entities ee where ee.event_id = e.id and ee.entity in ({marks}) "
                    "collate nocase)"
                )
            else:
                where.append(
                    f"e.id in (select event_id from event_entities where entity in ({marks}) collate nocase)"
                )
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
        sql += " order by e.anchor_date desc, e.id desc"
        if limit:
            sql += f" limit {int(limit)}"
        return [self.export_event(r["id"]) for r in self.db.query(sql, params)]

    # -- alerts outbox ------------------------------------------------------------------------

    def due_alerts(self, route: str, limit: int = 50) -> list[OutboxItem]:
        rows = self.db.query(
            "select * from outbox where route = ? and state = 'pending' and next_attempt <= ? order by id limit ?",
            [route, iso(utcnow()), limit],
        )
        return [
            OutboxItem(
                id=r["id"],
                event_id=r["event_id"],
                route=r["route"],
                kind=r["kind"],
                attempts=r["attempts"] or 0,
            )
            for r in rows
        ]

    def next_alert_time(self, route: str) -> str | None:
        r = self._one(
            "select min(next_attempt) as t from outbox where route = ? and state = 'pending'", [route]
        )
        return r["t"] if r else None

    def alert_sent(self, item_id: int) -> None:
        now = iso(utcnow())
        with self.db.atomic():
            row = self._one("select route from outbox where id = ?", [item_id])
            self._outbox_attempt(item_id, state="sent", sent_at=now)
            self.db["webhooks"].upsert(
                {
                    "route": row["route"],
                    "state": "ok",
                    "reason": None,
                    "updated_at": now,
                    "last_sent_at": now,
                },
                pk="route",
            )

    def alert_retry(self, item_id: int, *, wait_seconds: float, error: str) -> None:
        next_attempt = iso(utcnow() + timedelta(seconds=wait_seconds + 0.001))
        self._outbox_attempt(item_id, last_error=error[:300], next_attempt=next_attempt)

    def alert_parked(self, item_id: int, *, reason: str) -> None:
        with self.db.atomic():
            self._outbox_attempt(item_id, state="parked", last_error=reason[:300])
            self.record_failure("alerts", str(item_id), "parked", reason)

    def _outbox_attempt(self, item_id: int, **columns: Any) -> None:
        """Record one delivery attempt of an outbox row, with the columns it changes."""
        sets = ", ".join(f"{c} = ?" for c in columns)
        self.db.execute(
            f"update outbox set attempts = coalesce(attempts, 0) + 1, {sets} where id = ?",
            [*columns.values(), item_id],
        )

    def webhook_stopped(self, route: str, reason: str) -> None:
        now = iso(utcnow())
        with self.db.atomic():
            self.db["webhooks"].upsert(
                {"route": route, "state": "stopped", "reason": reason[:300], "updated_at": now}, pk="route"
            )
            self.db.execute(
                "update outbox set state = 'parked', last_error = ? where route = ? and state = 'pending'",
                [f"webhook stopped: {reason}"[:300], route],
            )
            self.record_failure("alerts", route, "webhook_stopped", reason)

    def webhook_state(self, route: str) -> dict[str, Any] | None:
        return self._one("select * from webhooks where route = ?", [route])

    def resume_webhook(self, route: str) -> int:
        """Re-queue a stopped webhook's parked alerts (after the URL was fixed)."""
        with self.db.atomic():
            self.db["webhooks"].upsert(
                {"route": route, "state": "ok", "reason": None, "updated_at": iso(utcnow())}, pk="route"
            )
            cur = self.db.execute(
                "update outbox set state = 'pending', next_attempt = ? where route = ? and state = 'parked'",
                [iso(utcnow()), route],
            )
            return cur.rowcount

    # -- failures and status ------------------------------------------------------------------

    def record_failure(self, stage: str, item: str, reason: str, message: str) -> None:
        self.db["failures"].insert(
            {"at": iso(utcnow()), "stage": stage, "item": item, "reason": reason, "message": message[:500]}
        )

    def status(self) -> dict[str, Any]:
        feeds = list(
            self.db.query(
                "select name, url, last_success, last_status, last_error_reason, last_error, last_error_at, error_count, "
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
        oldest = self._one("select min(created_at) as t from outbox where state = 'pending'")
        webhooks = list(self.db.query("select * from webhooks order by route"))
        parked = list(
            self.db.query(
                "select id, event_id, route, last_error from outbox where state = 'parked' order by id desc limit 20"
            )
        )
        failures = list(self.db.query("select * from failures order by id desc limit 20"))
        events = self._one("select count(*) as n from events")["n"]
        size = sum(os.path.getsize(self.path + s) for s in ("", "-wal") if os.path.exists(self.path + s))
        return {
            "database": self.path,
            "database_bytes": size,
            "events": events,
            "feeds": feeds,
            "articles": queue,
            "outbox": outbox,
            "oldest_pending_alert": oldest["t"] if oldest else None,
            "webhooks": webhooks,
            "parked_alerts": parked,
            "recent_failures": failures,
        }

    def backup(self, target: str | os.PathLike[str]) -> dict[str, Any]:
        """Copy the log with VACUUM INTO, then check the copy's integrity."""
        target = str(target)
        if os.path.exists(target):
            raise FileExistsError(target)
        self.db.execute("VACUUM INTO ?", [target])
        os.chmod(target, stat.S_IRUSR | stat.S_IWUSR)
        check = sqlean.connect(target)
        try:
            result = check.execute("PRAGMA integrity_check").fetchone()[0]
            events = check.execute("select count(*) from events").fetchone()[0]
        finally:
            check.close()
        return {"path": target, "integrity": result, "events": events, "bytes": os.path.getsize(target)}

    def _one(self, sql: str, params: list[Any] | None = None) -> dict[str, Any] | None:
        for row in self.db.query(sql, params or []):
            return row
        return None


def _union(a: list[str], b: Iterable[str]) -> list[str]:
    seen = {name_key(x) for x in a}
    out = list(a)
    for x in b:
        if name_key(x) not in seen:
            seen.add(name_key(x))
            out.append(x)
    return out[:20]


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


def _shift(day: str, days: int) -> str:
    base = day + "-01" if len(day) == 7 else (day + "-01-01" if len(day) == 4 else day)
    try:
        d = datetime.strptime(base[:10], "%Y-%m-%d")
    except ValueError:
        return day
    return (d + timedelta(days=days)).strftime("%Y-%m-%d")


def _fts_query(q: str) -> str:
    """Plain words become an AND of quoted terms, so user text never breaks FTS syntax."""
    terms = re.findall(r"[\w.-]+", q)
    return " ".join('"' + t.replace('"', "") + '"' for t in terms) or '""'
