"""Stage 5: one real-world event, one row.

Each news mention is compared with the stored events it could be (``candidates``: same type and
milestone, a compatible acting party, inside the date window; the most similar by evidence, one matrix
product over a few rows). The trained merge decision (``model``, features in ``pairs``) gives every candidate
the probability that both are one real-world event; the report joins the best from the model's
threshold, else it is a new event, linked to the other milestones of the same thing (a threat, the
tariff, its pause) as its lifecycle. Every source keeps the score it merged with. Without a model
file the rules decide (same milestone, similar evidence with a shared party, or very similar).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import dates
from ..config import DedupSettings
from ..dates import iso, utcnow
from ..nlp import Models
from ..parties import amounts_compatible
from ..records import Article, Decision, EventMention, StoredEvent
from ..vocab import MILESTONES
from .model import MergeModel
from .pairs import pair_features, specific_words

if TYPE_CHECKING:
    from ..store.events import EventStore

MAX_LINKED = 50  # other milestones a new event is compared with
EMBED_CHARS = 600


@functools.lru_cache(maxsize=4)
def load_merge_model(path: str) -> MergeModel | None:
    """The trained merge decision of a model file, loaded once per process; None for "" and for a
    file whose cross-validation found the rules better (``decides: rules``): the rules decide."""
    model = MergeModel.load(path) if path else None
    return model if model is not None and model.decides == "head" else None


def _day(published: str | None) -> str | None:
    """A publication date as an anchor: YYYY-MM-DD (or YYYY-MM when that is all there is)."""
    if not published:
        return None
    p = published.strip()
    return p[:10] if len(p) >= 10 and p[4] == "-" else (p[:7] if len(p) >= 7 else None)


def mention_text(article: Article, m: EventMention) -> str:
    """What a mention is embedded as: the article's title and its lead evidence sentence (the first
    that is not the headline again)."""
    title = article.title.strip()
    lead = next((e.sentence for e in m.evidence if e.field != "title" and e.sentence.strip() != title), "")
    return f"{title}. {lead}"[:EMBED_CHARS]


def _actors_shared(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return bool({x.lower() for x in a} & {x.lower() for x in b})


def _actors_clash(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Both reports name an acting party, and none in common."""
    return bool(a and b) and not _actors_shared(a, b)


@dataclass(frozen=True)
class Candidate:
    event: StoredEvent
    similarity: float
    in_story: bool
    features: dict[str, float]
    score: float  # P(one event) by the model; by the rules 1.0 when they merge, else 0.0


class Deduplicator:
    """Decides, per news mention, which stored event it reports (or that it is new), over ``events``."""

    def __init__(
        self,
        settings: DedupSettings,
        models: Models,
        events: EventStore,
        generic_words: frozenset[str] = frozenset(),
        generic_parties: frozenset[str] = frozenset(),
        model: MergeModel | None = None,
    ) -> None:
        self.settings = settings
        self.models = models
        self.events = events
        self.generic_words = generic_words
        self.generic_parties = generic_parties
        self.model = model

    def with_model(self, model: MergeModel | None) -> Deduplicator:
        """The same stage over the same log, deciding with another merge model (None: the rules)."""
        return Deduplicator(
            self.settings, self.models, self.events, self.generic_words, self.generic_parties, model
        )

    def specific(self, names: tuple[str, ...] | list[str]) -> frozenset[str]:
        return specific_words(names, self.generic_words, self.generic_parties)

    def party_words(self, e: EventMention | StoredEvent) -> frozenset[str]:
        """The distinctive words of a report's targets, less its acting party's ("Tesla plant in Texas"
        shares "texas" with another report of that site, not "tesla" with every Tesla plant)."""
        return self.specific(e.targets) - self.specific(e.actors)

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
        the stories stage) tells which candidates the article's story already carries.
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
            cands = [c for c in self.candidates(m, v, anchor, in_story) if c.event.id not in claimed]
            best = self.choose(m, cands)
            related = self.lifecycle(m, v) if best is None else ()
            if best is not None:
                claimed.add(best.event.id)
            top = best or max(cands, key=lambda c: c.score, default=None)
            decisions.append(
                Decision(
                    mention=m,
                    embedding=v.astype(np.float32).tobytes(),
                    event_id=best.event.id if best else None,
                    similarity=best.similarity if best else 0.0,
                    related_to=related,
                    anchor_date=m.event_date or anchor,
                    merge_score=top.score if (top is not None and self.model is not None) else None,
                )
            )
        return decisions

    def candidates(
        self, m: EventMention, v: Any, anchor: str | None, in_story: set[int] | frozenset[int] = frozenset()
    ) -> list[Candidate]:
        """The stored events ``m`` could report, each scored (by the model, or by the rules)."""
        s = self.settings
        when = m.event_date or anchor
        seen_after = iso(utcnow() - timedelta(days=max(s.window_days * 3, 60)))
        ids, dates_, matrix = self.events.candidate_vectors(
            m.type, [m.milestone], when, s.window_days, seen_after, m.actors
        )
        if not ids:
            return []
        sims = matrix @ np.asarray(v, dtype=np.float32)
        floor = -1.0 if self.learned else min(s.similarity, s.actor_similarity, s.strong_similarity)
        keep = [
            i
            for i in np.argsort(-sims)[: s.max_candidates].tolist()
            if sims[i] >= floor or (m.event_date and dates_[i] == m.event_date) or ids[i] in in_story
        ]
        sim_of = {ids[i]: float(sims[i]) for i in keep}
        out = []
        for ev in self.events.events_by_id(list(sim_of)):
            story = ev.id in in_story
            f = pair_features(m, anchor, ev, sim_of[ev.id], story, self.generic_words, self.generic_parties)
            if self.same_event(m, ev, sim_of[ev.id], anchor, story):
                f["rules_merge"] = 1.0  # the rules' own decision, as evidence
            out.append(Candidate(ev, sim_of[ev.id], story, f, self.score(f)))
        return out

    @property
    def learned(self) -> bool:
        """A trained decision scores every event of the milestone in the window; the rules only similar ones."""
        return self.model is not None

    def score(self, f: dict[str, float]) -> float:
        """P(one event) by the model; by the rules 1.0 when they merge, else 0.0."""
        if self.model is not None:
            return self.model.head.probability(f)
        return f.get("rules_merge", 0.0)

    def choose(self, m: EventMention, cands: list[Candidate]) -> Candidate | None:
        """The candidate ``m`` joins, if any: the best-scored one that the decision accepts."""
        bar = self.model.threshold if self.model is not None else 0.5
        ok = [c for c in cands if c.score >= bar]
        if not ok:
            return None
        if self.model is not None:
            return max(ok, key=lambda c: c.score)
        return max(ok, key=lambda c: (len(self.party_words(m) & self.party_words(c.event)), c.similarity))

    def same_event(
        self, m: EventMention, ev: StoredEvent, sim: float, anchor: str | None, in_story: bool
    ) -> bool:
        """The rules' merge (without a model file): same milestone, compatible actors, dates and amounts,
        and similar evidence with a shared party, or very similar evidence."""
        s = self.settings
        if ev.type != m.type or ev.milestone != m.milestone or ev.embedding is None:
            return False
        if _actors_clash(m.actors, ev.actors):
            return False
        if not dates.compatible(m.event_date or anchor, ev.event_date or ev.anchor_date, s.window_days):
            return False
        if not amounts_compatible(set(m.amounts), set(ev.amounts)):
            return False
        shared = bool(self.party_words(m) & self.party_words(ev))
        placed = bool(m.event_date or anchor) and bool(ev.event_date or ev.anchor_date)
        same_actor = _actors_shared(m.actors, ev.actors) and placed
        same_day = bool(
            m.event_date and ev.event_date and len(m.event_date) == 10 and m.event_date == ev.event_date
        )
        return (
            sim >= s.strong_similarity
            or (shared and sim >= s.similarity)
            or (same_actor and sim >= s.actor_similarity)
            or (same_actor and shared and same_day)  # same authority, same party, same day
            or (in_story and _actors_shared(m.actors, ev.actors) and sim >= s.story_similarity)
        )

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
            for i in np.argsort(-sims)[:MAX_LINKED].tolist()
            if sims[i] >= self.settings.lifecycle_similarity
        ]
        out = []
        for ev in self.events.events_by_id(near):
            if _actors_clash(m.actors, ev.actors):
                continue
            if self.party_words(m) & self.party_words(ev):
                out.append(ev.id)
        return tuple(sorted(out)[:10])
