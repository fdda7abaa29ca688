"""Feeds of events, served with the analyst UI (``run.py serve``): what integrators subscribe to.

- ``/feeds/events.atom``: an Atom 1.0 feed of events, newest activity first, with the filters of
  ``run.py events`` as query parameters: ``type`` and ``status`` (repeatable or comma-separated),
  ``entity`` (alias-aware, repeatable: a watched entity's feed), ``country``, ``since``, ``until``,
  ``seen_since``, ``seen_until``, ``min_sources``, ``query`` (full text), ``related``, ``limit``. Each
  entry's id is the event's and stays; its ``updated`` moves when the event gains a source, so a
  reader shows it again.
- ``/feeds/events.jsonl``: the nested export contract, one event per line, the same filters.
- ``/event/ID``: the event's page in the UI (what Slack messages link to when ``serve.public_url``
  is set).

A bad parameter is a 400 with one line. The log is read on a read-only connection of each request's
own; the entity filter resolves names with the gazetteer of ``nlp.rules_dir``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .dates import date_filter
from .gazetteer import Gazetteer, filter_names
from .store import Store
from .vocab import EVENT_TYPES, STATUSES, TYPE_LABEL

FEED_LIMIT = 50  # entries when no limit is asked
TAG = "tag:tradewire,2026"  # a tag URI's authority and date: ids that never change


DATES = ("since", "until", "seen_since", "seen_until")
PARAMETERS = ("type", "status", "entity", "country", *DATES, "min_sources", "query", "related", "limit")


@dataclass(frozen=True)
class FeedQuery:
    """The filters of ``run.py events``, as a feed's URL gives them."""

    types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    dates: tuple[tuple[str, str], ...] = ()  # (since | until | seen_since | seen_until, value)
    min_sources: int | None = None
    query: str | None = None
    related: int | None = None
    limit: int = FEED_LIMIT

    def canonical(self) -> str:
        """The filters as one stable string (the feed's id: the same filters, the same feed)."""
        parts = [f"type={t}" for t in sorted(self.types)] + [f"status={s}" for s in sorted(self.statuses)]
        parts += [f"entity={e.lower()}" for e in sorted(self.entities, key=str.lower)]
        parts += [f"country={c.upper()}" for c in sorted(self.countries, key=str.upper)]
        parts += [f"{k}={v}" for k, v in sorted(self.dates)]
        parts += [f"min_sources={self.min_sources}"] if self.min_sources else []
        parts += [f"query={self.query}"] if self.query else []
        parts += [f"related={self.related}"] if self.related else []
        return "&".join(parts)


def _values(params: Mapping[str, Sequence[str]], key: str) -> list[str]:
    return [v.strip() for raw in params.get(key, ()) for v in raw.split(",") if v.strip()]


def parse_query(params: Mapping[str, Sequence[str]], max_rows: int) -> FeedQuery:
    """The filters of a feed's URL; a ValueError (one line) for anything it does not take."""
    unknown = set(params) - set(PARAMETERS)
    if unknown:
        raise ValueError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    types, statuses = _values(params, "type"), _values(params, "status")
    for t in types:
        if t not in EVENT_TYPES:
            raise ValueError(f"type {t!r} is not one of {', '.join(EVENT_TYPES)}")
    for s in statuses:
        if s not in STATUSES:
            raise ValueError(f"status {s!r} is not one of {', '.join(STATUSES)}")
    entities = [e for e in params.get("entity", ()) if e.strip()]
    if any(len(e) > 200 for e in entities):
        raise ValueError("an entity name is at most 200 characters")

    def number(key: str, lo: int, hi: int) -> int | None:
        raw = _values(params, key)
        if not raw:
            return None
        if len(raw) > 1 or not raw[0].isdigit() or not lo <= int(raw[0]) <= hi:
            raise ValueError(f"{key} must be one whole number from {lo} to {hi}")
        return int(raw[0])

    found_dates = []
    for key in DATES:
        for v in _values(params, key)[:1]:
            found_dates.append((key, date_filter(v)))  # ValueError: "'x' is not a date (...)"
    query = " ".join(q.strip() for q in params.get("query", ()) if q.strip())[:500] or None
    return FeedQuery(
        types=tuple(types),
        statuses=tuple(statuses),
        entities=tuple(e.strip() for e in entities),
        countries=tuple(_values(params, "country")),
        dates=tuple(found_dates),
        min_sources=number("min_sources", 1, 10**6),
        query=query,
        related=number("related", 1, 2**63 - 1),
        limit=number("limit", 1, max_rows) or min(FEED_LIMIT, max_rows),
    )


def read_events(db_path: str, q: FeedQuery, gazetteer: Gazetteer | None) -> list[dict[str, Any]]:
    """The events of a feed, newest activity first, over a read-only connection."""
    if gazetteer is not None:
        names, places = filter_names(gazetteer, q.entities, q.countries)  # ValueError: unknown country
    else:
        names, places = list(q.entities), list(q.countries)
    with Store.reading(db_path) as queries:
        return queries.query_events(
            types=q.types,
            statuses=q.statuses,
            entities=names,
            country_entities=places,
            min_sources=q.min_sources,
            query=q.query,
            related_to=q.related,
            limit=q.limit,
            newest_activity=True,
            **dict(q.dates),
        )


def _title(e: dict[str, Any]) -> str:
    label = TYPE_LABEL.get(e["type"], e["type"])
    actors = ", ".join(e["actors"]) or "unnamed authority"
    targets = ", ".join(e["targets"][:4]) + (" and more" if len(e["targets"]) > 4 else "")
    return f"{label} ({e['status']}): {actors}" + (f": {targets}" if targets else "")


def _summary(e: dict[str, Any]) -> str:
    lead = next(
        (ev["sentence"] for s in e["sources"] for ev in s["evidence"] if ev.get("field") != "title"), ""
    )
    facts = [f"{e['independent_sources']} independent source(s)", f"confidence {e['confidence']:.2f}"]
    if e.get("event_date"):
        facts.insert(0, f"event date {e['event_date']}")
    if e.get("amounts"):
        facts.append("amounts " + ", ".join(e["amounts"]))
    return (lead + " " if lead else "") + "(" + "; ".join(facts) + ")"


def atom(events: list[dict[str, Any]], q: FeedQuery, *, base_url: str, self_url: str, db_name: str) -> str:
    """An Atom 1.0 document of ``events`` (feed-supplied text escaped throughout)."""
    base = base_url.rstrip("/")
    what = " ".join(
        x
        for x in (
            "/".join(TYPE_LABEL.get(t, t) for t in q.types) or "All events",
            f"({', '.join(q.statuses)})" if q.statuses else "",
            f"naming {', '.join(q.entities)}" if q.entities else "",
        )
        if x
    )
    updated = max((e["last_seen"] for e in events), default="1970-01-01T00:00:00Z")
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"  <id>{escape(f'{TAG}:feed/{db_name}?{q.canonical()}')}</id>",
        f"  <title>{escape('tradewire: ' + what)}</title>",
        f"  <updated>{escape(updated)}</updated>",
        f'  <link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>',
        f'  <link rel="alternate" type="text/html" href={quoteattr(f"{base}/{db_name}/event_list")}/>',
        "  <author><name>tradewire</name></author>",
        '  <generator uri="https://github.com/tradewire/tradewire">tradewire</generator>',
    ]
    for e in events:
        eid = e["id"]
        out += [
            "  <entry>",
            f"    <id>{escape(f'{TAG}:event/{db_name}/{eid}')}</id>",
            f"    <title>{escape(_title(e))}</title>",
            f"    <published>{escape(e['first_seen'])}</published>",
            f"    <updated>{escape(e['last_seen'])}</updated>",
            f'    <link rel="alternate" type="text/html" href={quoteattr(f"{base}/event/{eid}")}/>',
            f"    <category term={quoteattr(e['type'])} label={quoteattr(TYPE_LABEL.get(e['type'], e['type']))}/>",
            f"    <category term={quoteattr('status:' + e['status'])} label={quoteattr(e['status'])}/>",
            *(
                f'    <link rel="related" href={quoteattr(s["url"])} title={quoteattr(s["outlet"] or s["title"] or "")}/>'
                for s in e["sources"][:20]
                if s["url"].startswith(("http://", "https://"))
            ),
            f'    <summary type="text">{escape(_summary(e))}</summary>',
            "  </entry>",
        ]
    out.append("</feed>")
    return "\n".join(out) + "\n"


def jsonl(events: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
