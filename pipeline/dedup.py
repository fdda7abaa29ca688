"""Stage 5: one real-world event, one row.

A new mention joins a stored event only when it is the same event: same type and milestone,
compatible actors, compatible dates, and similar evidence (MiniLM cosine) with a shared target, or
very similar evidence. Otherwise it becomes a new event, linked to the other milestones of the same
thing (a threat, the tariff, its pause) as its lifecycle.

Candidates come from the store already narrowed by type, milestone and date window, so the vector
step is a brute-force dot product over a few rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from . import dates
from .config import DedupSettings
from .events import GROUP_RX, _amounts_compatible
from .nlp import Models
from .records import Article, Decision, EventMention, StoredEvent
from .store import Store, iso, utcnow

LIFECYCLE_WINDOW_DAYS = 400
MAX_CANDIDATES = 50
LIFECYCLE_SIMILARITY = 0.45
GENERIC_TARGETS = {"united states", "china", "european union"}


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


GENERIC_WORDS = {
    "plant",
    "factory",
    "fab",
    "fabs",
    "site",
    "facility",
    "facilities",
    "new",
    "first",
    "second",
    "its",
    "the",
    "company",
    "companies",
    "entities",
    "firms",
    "chinese",
    "american",
    "us",
    "u",
    "s",
    "inc",
    "co",
    "corp",
    "ltd",
    "group",
    "technologies",
    "technology",
    "holdings",
    "and",
    "of",
    "in",
    "on",
    "for",
    "a",
    "an",
}


def _actors_shared(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return bool({x.lower() for x in a} & {x.lower() for x in b})


def _actors_clash(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Both reports name an acting party, and none in common."""
    return bool(a and b) and not _actors_shared(a, b)


def _specific(names: tuple[str, ...] | list[str]) -> set[str]:
    """Distinctive words of the named parties ("giga", "berlin", "ymtc"), generic words left out."""
    out: set[str] = set()
    for n in names:
        if GROUP_RX.fullmatch(n) or n.lower() in GENERIC_TARGETS:
            continue
        out.update(
            w for w in re.findall(r"[a-z0-9][a-z0-9.]*", n.lower()) if w not in GENERIC_WORDS and len(w) > 2
        )
    return out


@dataclass(frozen=True)
class Match:
    event: StoredEvent
    similarity: float
    shared_targets: int


class Deduplicator:
    def __init__(self, settings: DedupSettings, models: Models) -> None:
        self.settings = settings
        self.models = models

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
        self, store: Store, article: Article, mentions: tuple[EventMention, ...], vectors: Any | None = None
    ) -> list[Decision]:
        """A decision per non-background mention: join an event or create one.

        ``vectors`` (from ``embed_batch``) saves a model call per article; decide and commit article by
        article all the same, so that each sees the events the previous one created.
        """
        news = [m for m in mentions if not m.background]
        if not news:
            return []
        vecs = vectors if vectors is not None else self.models.embed([mention_text(article, m) for m in news])
        decisions: list[Decision] = []
        claimed: set[int] = set()
        anchor = _day(article.published)
        for m, v in zip(news, vecs, strict=True):
            best = self.best_match(store, m, v, exclude=claimed, anchor=anchor)
            related = self.lifecycle(store, m, v) if best is None else ()
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

    def same_event(self, m: EventMention, v: Any, ev: StoredEvent, anchor: str | None = None) -> Match | None:
        """Whether mention ``m`` (embedding ``v``) reports stored event ``ev``."""
        if ev.type != m.type or ev.milestone != m.milestone or ev.embedding is None:
            return None
        if _actors_clash(m.actors, ev.actors):
            return None
        if not dates.compatible(
            m.event_date or anchor, ev.event_date or ev.anchor_date, self.settings.window_days
        ):
            return None
        if not _amounts_compatible(set(m.amounts), set(ev.amounts)):
            return None
        sim = float(np.dot(v, np.frombuffer(ev.embedding, dtype=np.float32)))
        shared = len(_specific(m.targets) & _specific(ev.targets))
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
            sim >= self.settings.strong_similarity
            or (shared and sim >= self.settings.similarity)
            or (same_actor and sim >= self.settings.actor_similarity)
            or (same_actor and shared and same_day)  # same authority, same party, same day
        ):
            return Match(ev, sim, shared)
        return None

    def best_match(
        self, store: Store, m: EventMention, v: Any, exclude: set[int], anchor: str | None = None
    ) -> Match | None:
        when = m.event_date or anchor
        seen_after = iso(utcnow() - timedelta(days=max(self.settings.window_days * 3, 60)))
        # vectors first: one matrix product over the window, full rows only for plausible candidates
        ids, dates_, matrix = store.candidate_vectors(
            m.type, [m.milestone], when, self.settings.window_days, seen_after, m.actors
        )
        if not ids:
            return None
        sims = matrix @ np.asarray(v, dtype=np.float32)
        floor = min(self.settings.similarity, self.settings.actor_similarity, self.settings.strong_similarity)
        keep = [
            i
            for i in np.argsort(-sims)[:MAX_CANDIDATES].tolist()
            if sims[i] >= floor or (m.event_date and dates_[i] == m.event_date)
        ]
        cands = store.events_by_id([ids[i] for i in keep])
        best: Match | None = None
        for ev in cands:
            if ev.id in exclude:
                continue
            match = self.same_event(m, v, ev, anchor)
            if match and (
                best is None
                or (match.shared_targets, match.similarity) > (best.shared_targets, best.similarity)
            ):
                best = match
        return best

    def lifecycle(self, store: Store, m: EventMention, v: Any) -> tuple[int, ...]:
        """Other milestones of the same thing: same type, shared actor and target, similar evidence."""
        others = [ms for ms in _MILESTONES.get(m.type, ()) if ms != m.milestone]
        if not others:
            return ()
        ids, _, matrix = store.candidate_vectors(
            m.type, others, m.event_date, LIFECYCLE_WINDOW_DAYS, "", m.actors
        )
        if not ids:
            return ()
        sims = matrix @ np.asarray(v, dtype=np.float32)
        near = [
            ids[i] for i in np.argsort(-sims)[:MAX_CANDIDATES].tolist() if sims[i] >= LIFECYCLE_SIMILARITY
        ]
        out = []
        for ev in store.events_by_id(near):
            if _actors_clash(m.actors, ev.actors):
                continue
            if _specific(m.targets) & _specific(ev.targets):
                out.append(ev.id)
        return tuple(sorted(out)[:10])


_MILESTONES = {
    "sanctions_listing": ("listing", "prospective_listing", "removal"),
    "sanctions_removal": ("removal", "prospective_removal"),
    "tariff_announcement": ("imposed", "prospective_imposed", "threat", "pause", "cut", "denial"),
    "factory_opening": ("announcement", "plan", "construction", "production", "delay", "cancellation"),
}


@dataclass
class _Story:
    id: int
    vectors: list[Any]
    entities: dict[str, int]


class StoryClusterer:
    """Online story-level clustering, article by article: the lead's embedding and its named parties.

    An article joins the story whose members it resembles most (best single member: embedding cosine,
    blended with the share of its named people, organisations and places already in the story), when
    that score passes ``threshold``; otherwise it starts a story. Groups coverage of one story across
    outlets; calibrated on ECB+ by ``bench/ecbplus.py``.
    """

    def __init__(self, models: Models, threshold: float = 0.6, entity_weight: float = 0.2) -> None:
        self.models = models
        self.threshold = threshold
        self.entity_weight = entity_weight
        self.stories: list[_Story] = []

    @staticmethod
    def lead(text: str, sentences: int = 3) -> str:
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("http")]
        return " ".join(lines[:sentences])[:1500]

    def features(self, texts: list[str]) -> list[tuple[Any, set[str]]]:
        leads = [self.lead(t) for t in texts]
        vecs = self.models.embed(leads)
        out = []
        for v, doc in zip(vecs, self.models.nlp.pipe(leads, batch_size=32), strict=True):
            ents = {
                w
                for e in doc.ents
                if e.label_
                in ("PERSON", "ORG", "GPE", "FAC", "LOC", "EVENT", "NORP", "COMPANY", "GOV", "AUTHORITY")
                for w in re.findall(r"[a-z0-9]+", (e.ent_id_ or e.text).lower())
                if len(w) > 2
            }
            out.append((v, ents))
        return out

    def score(self, v: Any, ents: set[str], story: _Story) -> float:
        sim = max(float(np.dot(v, m)) for m in story.vectors)
        if not ents or not story.entities:
            return sim
        overlap = sum(1 for e in ents if e in story.entities) / len(ents)
        return (1 - self.entity_weight) * sim + self.entity_weight * overlap

    def add(self, v: Any, ents: set[str]) -> int:
        best, best_score = None, self.threshold
        for s in self.stories:
            sc = self.score(v, ents, s)
            if sc >= best_score:
                best, best_score = s, sc
        if best is None:
            best = _Story(id=len(self.stories), vectors=[], entities={})
            self.stories.append(best)
        best.vectors.append(v)
        for e in ents:
            best.entities[e] = best.entities.get(e, 0) + 1
        return best.id
