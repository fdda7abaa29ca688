"""Stage 5: one real-world event, one row.

A new mention joins a stored event only when it is the same event: same type and milestone,
compatible actors, compatible dates, and similar evidence (MiniLM cosine) with a shared target, or
very similar evidence. Otherwise it becomes a new event, linked to the other milestones of the same
thing (a threat, the tariff, its pause) as its lifecycle.

Candidates come from the store's event part already narrowed by type, milestone and date window, so
the vector step is a brute-force dot product over a few rows. A report of an event its story
(``stories``) already carries merges more readily.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from . import dates
from .config import DedupSettings
from .dates import iso, utcnow
from .nlp import Models
from .parties import amounts_compatible, is_group
from .records import Article, Decision, EventMention, StoredEvent
from .vocab import MILESTONES

if TYPE_CHECKING:
    from .store.events import EventStore

MAX_CANDIDATES = 50


def _day(published: str | None) -> str | None:
    """A publication date as an anchor: YYYY-MM-DD (or YYYY-MM when that is all there is)."""
    if not published:
        return None
    p = published.strip()
    return p[:10] if len(p) >= 10 and p[4] == "-" else (p[:7] if len(p) >= 7 else None)


def mention_text(article: Article, m: EventMention) -> str:
    """What a mention is embedded as: the article title and its evidence."""
    ev = " ".join(e.sentence for e in m.evidence[:3])
    return f"{article.title}. {ev}"[:1200]


def _actors_shared(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return bool({x.lower() for x in a} & {x.lower() for x in b})


def _actors_clash(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Both reports name an acting party, and none in common."""
    return bool(a and b) and not _actors_shared(a, b)


@dataclass(frozen=True)
class Match:
    event: StoredEvent
    similarity: float
    shared_targets: int


class Deduplicator:
    """Decides, per news mention, which stored event it reports (or that it is new), over ``events``."""

    def __init__(
        self,
        settings: DedupSettings,
        models: Models,
        events: EventStore,
        generic_words: frozenset[str] = frozenset(),
        generic_parties: frozenset[str] = frozenset(),
    ) -> None:
        self.settings = settings
        self.models = models
        self.events = events
        self.generic_words = generic_words
        self.generic_parties = generic_parties

    def specific(self, names: tuple[str, ...] | list[str]) -> set[str]:
        """Distinctive words of the named parties ("giga", "berlin", "ymtc"), generic words left out."""
        out: set[str] = set()
        for n in names:
            if is_group(n) or n.lower() in self.generic_parties:
                continue
            out.update(
                w
                for w in re.findall(r"[a-z0-9][a-z0-9.]*", n.lower())
                if w not in self.generic_words and len(w) > 2
            )
        return out

    def embed_batch(self, articles: list[Article], mentions: list[tuple[EventMention, ...]]) -> list[Any]:
        """The news mentions of several articles embedded in one model call (one array per article)."""
        texts = [
            mention_text(a, m)
            for a, ms in zip(articles, mentions, strict=True)
            for m in ms
            if not m.background
        ]
        vecs = self.models.embed(texts)
        out, i = [], 0
        for ms in mentions:
            n = sum(1 for m in ms if not m.background)
            out.append(vecs[i : i + n])
            i += n
        return out

    def decide(
        self,
        article: Article,
        mentions: tuple[EventMention, ...],
        vectors: Any | None = None,
        story: int | None = None,
    ) -> list[Decision]:
        """A decision per non-background mention: join an event or create one.

        ``vectors`` (from ``embed_batch``) saves a model call per article; decide and commit article by
        article all the same, so that each sees the events the previous one created. ``story`` (from
        the stories stage) lets a report join an event its story already carries at a lower similarity.
        """
        news = [m for m in mentions if not m.background]
        if not news:
            return []
        vecs = vectors if vectors is not None else self.models.embed([mention_text(article, m) for m in news])
        decisions: list[Decision] = []
        claimed: set[int] = set()
        anchor = _day(article.published)
        in_story = self.events.story_event_ids(story) if story is not None else set()
        for m, v in zip(news, vecs, strict=True):
            best = self.best_match(m, v, exclude=claimed, anchor=anchor, in_story=in_story)
            related = self.lifecycle(m, v) if best is None else ()
            if best is not None:
                claimed.add(best.event.id)
            decisions.append(
                Decision(
                    mention=m,
                    embedding=v.astype(np.float32).tobytes(),
                    event_id=best.event.id if best else None,
                    similarity=best.similarity if best else 0.0,
                    related_to=related,
                    anchor_date=m.event_date or anchor,
                )
            )
        return decisions

    def same_event(
        self, m: EventMention, v: Any, ev: StoredEvent, anchor: str | None = None, in_story: bool = False
    ) -> Match | None:
        """Whether mention ``m`` (embedding ``v``) reports stored event ``ev``."""
        s = self.settings
        if ev.type != m.type or ev.milestone != m.milestone or ev.embedding is None:
            return None
        if _actors_clash(m.actors, ev.actors):
            return None
        if not dates.compatible(m.event_date or anchor, ev.event_date or ev.anchor_date, s.window_days):
            return None
        if not amounts_compatible(set(m.amounts), set(ev.amounts)):
            return None
        sim = float(np.dot(v, np.frombuffer(ev.embedding, dtype=np.float32)))
        shared = len(self.specific(m.targets) & self.specific(ev.targets))
        # the same acting party is enough only when both reports can be placed in time
        same_actor = (
            _actors_shared(m.actors, ev.actors)
            and bool(m.event_date or anchor)
            and bool(ev.event_date or ev.anchor_date)
        )
        same_day = bool(
            m.event_date and ev.event_date and len(m.event_date) == 10 and m.event_date == ev.event_date
        )
        if (
            sim >= s.strong_similarity
            or (shared and sim >= s.similarity)
            or (same_actor and sim >= s.actor_similarity)
            or (same_actor and shared and same_day)  # same authority, same party, same day
            # the same story, type, milestone and acting party
            or (in_story and _actors_shared(m.actors, ev.actors) and sim >= s.story_similarity)
        ):
            return Match(ev, sim, shared)
        return None

    def best_match(
        self,
        m: EventMention,
        v: Any,
        exclude: set[int],
        anchor: str | None = None,
        in_story: set[int] | frozenset[int] = frozenset(),
    ) -> Match | None:
        when = m.event_date or anchor
        seen_after = iso(utcnow() - timedelta(days=max(self.settings.window_days * 3, 60)))
        # vectors first: one matrix product over the window, full rows only for plausible candidates
        ids, dates_, matrix = self.events.candidate_vectors(
            m.type, [m.milestone], when, self.settings.window_days, seen_after, m.actors
        )
        if not ids:
            return None
        sims = matrix @ np.asarray(v, dtype=np.float32)
        floor = min(self.settings.similarity, self.settings.actor_similarity, self.settings.strong_similarity)
        keep = [
            i
            for i in np.argsort(-sims)[:MAX_CANDIDATES].tolist()
            if sims[i] >= floor or (m.event_date and dates_[i] == m.event_date) or ids[i] in in_story
        ]
        best: Match | None = None
        for ev in self.events.events_by_id([ids[i] for i in keep]):
            if ev.id in exclude:
                continue
            match = self.same_event(m, v, ev, anchor, in_story=ev.id in in_story)
            if match and (
                best is None
                or (match.shared_targets, match.similarity) > (best.shared_targets, best.similarity)
            ):
                best = match
        return best

    def lifecycle(self, m: EventMention, v: Any) -> tuple[int, ...]:
        """Other milestones of the same thing: same type, shared actor and target, similar evidence."""
        others = [ms for ms in MILESTONES.get(m.type, ()) if ms != m.milestone]
        if not others:
            return ()
        ids, _, matrix = self.events.candidate_vectors(
            m.type, others, m.event_date, self.settings.lifecycle_window_days, "", m.actors
        )
        if not ids:
            return ()
        sims = matrix @ np.asarray(v, dtype=np.float32)
        near = [
            ids[i]
            for i in np.argsort(-sims)[:MAX_CANDIDATES].tolist()
            if sims[i] >= self.settings.lifecycle_similarity
        ]
        out = []
        for ev in self.events.events_by_id(near):
            if _actors_clash(m.actors, ev.actors):
                continue
            if self.specific(m.targets) & self.specific(ev.targets):
                out.append(ev.id)
        return tuple(sorted(out)[:10])
