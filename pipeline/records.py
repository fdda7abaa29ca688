"""Frozen records passed between stages: feeds -> fetch -> extract -> events -> stories -> dedup -> store
-> alerts.

Dicts appear only at the SQLite edge (``store``) and in the JSON export.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .vocab import is_core


@dataclass(frozen=True)
class Response:
    """Bytes fetched over HTTP, after redirects."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int
    headers: tuple[tuple[str, str], ...]
    content: bytes
    permanent_redirect: str | None = None  # target when every hop was a 301/308

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed, identified by guid, else link, else a hash of title and date."""

    feed: str
    key: str
    url: str | None
    title: str
    published: str | None  # ISO 8601 in UTC
    summary: str = ""


@dataclass(frozen=True)
class ParsedFeed:
    entries: tuple[FeedEntry, ...]
    title: str = ""
    warning: str | None = None  # feedparser's bozo message when entries were still recovered


@dataclass(frozen=True)
class Article:
    """An article's text, ready for the NLP stage."""

    id: int | None
    url: str
    title: str
    outlet: str
    published: str | None  # YYYY-MM-DD, YYYY-MM or full ISO; the anchor for relative dates
    text: str


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str
    published: str | None
    sitename: str = ""


@dataclass(frozen=True)
class Evidence:
    sentence: str
    start: int  # character offsets into the article's text (or its title, when field == "title")
    end: int
    field: str = "text"


@dataclass(frozen=True)
class EventMention:
    """One event found in one article (several sentences of it may support it)."""

    type: str
    status: str
    milestone: str  # e.g. "listing", "prospective", "imposed", "threat", "pause", "production"
    actors: tuple[str, ...]
    targets: tuple[str, ...]
    location: str | None
    event_date: str | None
    confidence: float
    evidence: tuple[Evidence, ...]
    rule_ids: tuple[str, ...]
    background: bool = False
    amounts: tuple[str, ...] = ()

    @property
    def parties(self) -> frozenset[str]:
        return frozenset(self.actors) | frozenset(self.targets)

    @property
    def core(self) -> bool:
        return is_core(self.type, self.status, self.background)


@dataclass(frozen=True)
class StoredEvent:
    """An event row as the dedup stage sees its candidates."""

    id: int
    type: str
    status: str
    milestone: str
    actors: tuple[str, ...]
    targets: tuple[str, ...]
    event_date: str | None
    first_seen: str
    embedding: bytes | None = None
    anchor_date: str | None = None  # event date, else the first report's publication date
    amounts: tuple[str, ...] = ()
    evidence: str = ""  # the first report's lead evidence sentence
    location: str | None = None


@dataclass(frozen=True)
class Decision:
    """What dedup decided for one mention: join ``event_id`` or create a new event."""

    mention: EventMention
    embedding: bytes
    event_id: int | None = None
    similarity: float = 0.0
    related_to: tuple[int, ...] = field(default_factory=tuple)  # other milestones of the same thing
    anchor_date: str | None = None
    routes: tuple[str, ...] = ()  # alert routes a new event goes to, decided before the commit
    merge_score: float | None = None  # P(same event) of the event joined, or of the best one refused
