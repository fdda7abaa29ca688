"""The schema, changed only through these sqlite-utils migrations (small named functions, applied once,
in order, recorded in the database). Their names never change, so an existing log upgrades in place.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("tradewire")


def _feed_tables(db: Database) -> None:
    """Feeds and the permanent seen-ledger of their entries."""
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


def _article_table(db: Database) -> None:
    """The article queue: queued -> fetched -> done | failed."""
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


def _event_tables(db: Database) -> None:
    """The event log: one row per real-world event, its sources, parties and lifecycle links."""
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


def _outbox_tables(db: Database) -> None:
    """The alert outbox, written in the event's transaction, and the state of each webhook."""
    db["outbox"].create(
        {
            "id": int,
            "event_id": int,
            "route": str,
            "kind": str,  # "new"
            "created_at": str,
            "state": str,  # pending -> sending (claimed, m010) -> sent | parked | pending (retry)
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


def _failure_table(db: Database) -> None:
    """Failures as data, per stage and item."""
    db["failures"].create(
        {"id": int, "at": str, "stage": str, "item": str, "reason": str, "message": str}, pk="id"
    )
    db["failures"].create_index(["at"])


@migrations()
def m001_initial(db: Database) -> None:
    _feed_tables(db)
    _article_table(db)
    _event_tables(db)
    _outbox_tables(db)
    _failure_table(db)
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


@migrations()
def m009_merge_score(db: Database) -> None:
    """Each source keeps the score its report merged with (or, for a new event, the best refused)."""
    db["sources"].add_column("merge_score", float)


@migrations()
def m010_outbox_claim(db: Database) -> None:
    """An alert is claimed (state 'sending', with the time) before it is posted: a post whose
    delivery cannot be recorded is never repeated, and a claim left by a dead process is parked as
    uncertain instead of being sent a second time."""
    db["outbox"].add_column("claimed_at", str)


@migrations()
def m011_watches(db: Database) -> None:
    """Watch-lists kept in the log (``run.py watch``), per alert route, beside the configuration's:
    the name as given, the canonical entity it resolves to, who added it and when."""
    db.execute(
        """
        create table if not exists watches (
            id integer primary key,
            route text not null,
            entity text not null,
            canonical text not null,
            added_by text,
            added_at text not null,
            unique (route, canonical collate nocase)
        )
        """
    )


@migrations()
def m012_last_seen_index(db: Database) -> None:
    """Feeds of events list the newest activity first (``webfeeds``): index the last report's time."""
    db.execute("create index if not exists idx_events_last_seen on events(last_seen)")


@migrations()
def m013_entity_aliases(db: Database) -> None:
    """Every name of every gazetteer entity beside its canonical name, so that SQL and the UI's entity
    search find an entity by any alias (``serve`` refreshes it from ``rules/``)."""
    db.execute(
        "create table if not exists entity_aliases (alias text not null collate nocase, canonical text not null,"
        " primary key (alias, canonical))"
    )
