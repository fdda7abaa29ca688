"""Stage 5: one real-world event, one row.

A new mention joins a stored event only when it is the same event: same type and milestone,
compatible actors, compatible dates, and similar evidence (MiniLM cosine) with a shared target, or
very similar evidence. Otherwise it becomes a new event, linked to the other milestones of the same
thing (a threat, the tariff, its pause) as its lifecycle.

Candidates come from the store already narrowed by type, milestone and date window, so the vector
step is a brute-force dot product over a few rows.

Every article also joins a story (``StoryClusterer``, below): the coverage of one happening across
outlets, whatever it is. A report of an event its story already carries merges more readily.
"""

from __future__ import annotations

import bisect
import heapq
import json
import math
import re
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from . import dates
from .config import PROJECT_ROOT, DedupSettings
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
        self._stories: StoryClusterer | None = None

    def assign_story(self, store: Store, article: Article) -> Placement:
        """The story an article belongs to (its own id when it opens one), and the earlier articles
        the regrouping moved; see ``StoryClusterer``."""
        if self._stories is None:
            self._stories = self._restore_stories(store)
        assert article.id is not None
        doc = StoryDoc.of(article.title, article.text)
        return self._stories.place(article.id, doc, article.published)

    def _restore_stories(self, store: Store) -> StoryClusterer:
        """The clusterer as it stood: the articles of the last window, from the store."""
        c = StoryClusterer(StoryModel.load(), window_days=self.settings.story_window_days)
        since = iso(utcnow() - timedelta(days=self.settings.story_window_days))
        for r in store.story_articles(since, c.max_articles):
            doc = StoryDoc.of(r["title"] or "", r["text"] or "")
            c.restore(r["id"], doc, r["published"], r["story_id"])
        return c

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
        store: Store,
        article: Article,
        mentions: tuple[EventMention, ...],
        vectors: Any | None = None,
        story: int | None = None,
    ) -> list[Decision]:
        """A decision per non-background mention: join an event or create one.

        ``vectors`` (from ``embed_batch``) saves a model call per article; decide and commit article by
        article all the same, so that each sees the events the previous one created. ``story`` (from
        ``assign_story``) lets a report join an event its story already carries at a lower similarity.
        """
        news = [m for m in mentions if not m.background]
        if not news:
            return []
        vecs = vectors if vectors is not None else self.models.embed([mention_text(article, m) for m in news])
        decisions: list[Decision] = []
        claimed: set[int] = set()
        anchor = _day(article.published)
        in_story = store.story_event_ids(story) if story is not None else set()
        for m, v in zip(news, vecs, strict=True):
            best = self.best_match(store, m, v, exclude=claimed, anchor=anchor, in_story=in_story)
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

    def same_event(
        self, m: EventMention, v: Any, ev: StoredEvent, anchor: str | None = None, in_story: bool = False
    ) -> Match | None:
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
            # the same story, type, milestone and acting party
            or (in_story and _actors_shared(m.actors, ev.actors) and sim >= self.settings.story_similarity)
        ):
            return Match(ev, sim, shared)
        return None

    def best_match(
        self,
        store: Store,
        m: EventMention,
        v: Any,
        exclude: set[int],
        anchor: str | None = None,
        in_story: set[int] | frozenset[int] = frozenset(),
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
            if sims[i] >= floor or (m.event_date and dates_[i] == m.event_date) or ids[i] in in_story
        ]
        cands = store.events_by_id([ids[i] for i in keep])
        best: Match | None = None
        for ev in cands:
            if ev.id in exclude:
                continue
            match = self.same_event(m, v, ev, anchor, in_story=ev.id in in_story)
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


# ---------------------------------------------------------------------------------------------------
# Stories: which articles cover the same real-world happening, whatever it is.
#
# Event rows are deduplicated above, mention by mention. Independently of our event types, every
# article also joins a story, online, as it arrives: a pair model (logistic regression over lexical
# overlaps weighted by background word rarity) scores the article against the recent members of each
# candidate story, and the stories it could plausibly belong to are then re-grouped by average
# linkage over the same pair probabilities, so an early wrong guess is corrected as evidence arrives.
# The model's weights, thresholds and training provenance live in models/story_pair_v2.json (trained
# and measured on ECB+ by bench/ecbplus.py). Stories feed the event merge (a report of the same type
# in the same story is the same event) and are visible to analysts as articles.story_id.

STORY_MODEL_PATH = PROJECT_ROOT / "models" / "story_pair_v2.json"
_WORD = re.compile(r"[a-z][a-z'’\-]+|\d[\d.,]*")
_NAME = re.compile(r"[A-Za-z][A-Za-z'’\-]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z])|\n")
_POSSESSIVE = re.compile(r"['’]s?$")
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")
_SMALL = re.compile(r"[12]?\d|3[01]")  # a day of the month or a small count: shared by chance
_FIGURE = re.compile(r"\b\d+\.\d+\b|\b\d+-\d+\b")
LEAD_CHARS = 1500
TEXT_CHARS = 5000
VECTOR_TERMS = 120  # a text's vector keeps its heaviest terms (memory per remembered article)
POSTING_TERMS = 10  # terms under which an article is found as a candidate


@lru_cache(maxsize=200_000)
def rarity(word: str) -> float:
    """Background inverse document frequency: -log of the word's frequency in general English text."""
    from wordfreq import word_frequency  # lazy: loads its English list once per process

    return min(-math.log(max(word_frequency(word, "en"), 1e-8)), 18.0)


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS  # lazy: importing spacy pulls in torch

    return frozenset(STOP_WORDS)


def _vector(text: str) -> dict[str, float]:
    stop = _stop_words()
    counts: dict[str, int] = {}
    for w in _WORD.findall(text.lower()):
        w = _POSSESSIVE.sub("", w)
        if w not in stop:
            w = sys.intern(w)  # one copy of each word across the remembered articles
            counts[w] = counts.get(w, 0) + 1
    v = {w: (1 + math.log(n)) * rarity(w) for w, n in counts.items()}
    if len(v) > VECTOR_TERMS:
        v = dict(sorted(v.items(), key=lambda kv: -kv[1])[:VECTOR_TERMS])
    return _unit(v)


def _unit(v: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
    return {w: x / norm for w, x in v.items()}


def _names(text: str) -> dict[str, float]:
    """Capitalised words that do not open a sentence, weighted by rarity: a cheap proxy for names."""
    stop = _stop_words()
    out: dict[str, float] = {}
    for chunk in _SENTENCE_END.split(text):
        for k, w in enumerate(_NAME.findall(chunk)):
            lw = _POSSESSIVE.sub("", w.lower())
            if k and w[0].isupper() and not w.isupper() and lw not in stop:
                out[sys.intern(lw)] = rarity(lw)
    return _unit(out)


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(w, 0.0) for w, x in a.items())


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass(frozen=True)
class StoryDoc:
    """What the story model reads of one article."""

    lead: dict[str, float]
    text: dict[str, float]
    names: dict[str, float]
    numbers: frozenset[str]
    figures: frozenset[str]
    years: frozenset[str]

    @classmethod
    def of(cls, title: str, text: str) -> StoryDoc:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("http")]
        if title and (not lines or lines[0] != title.strip()):
            lines.insert(0, title.strip())
        lead = " ".join(lines[:3])[:LEAD_CHARS]
        body = "\n".join(lines)[:TEXT_CHARS]
        years = frozenset(_YEAR.findall(body))
        return cls(
            lead=_vector(lead),
            text=_vector(body),
            names=_names(body),
            numbers=frozenset(n for n in _NUMBER.findall(body) if not _SMALL.fullmatch(n)) - years,
            figures=frozenset(_FIGURE.findall(body)),
            years=years,
        )

    def vocabulary(self) -> set[str]:
        return set(self.lead) | set(self.text) | set(self.names)

    @cached_property
    def terms(self) -> list[tuple[str, float]]:
        """The heaviest words of the lead and the names, with weights: where candidates are looked up."""
        weights = dict(self.names)
        for w, x in self.lead.items():
            weights[w] = max(weights.get(w, 0.0), x)
        return sorted(weights.items(), key=lambda kv: -kv[1])[:POSTING_TERMS]


PAIR_FEATURES = (
    "lead_cosine",
    "text_cosine",
    "names_cosine",
    "numbers_jaccard",
    "figures_jaccard",
    "figures_clash",
    "years_clash",
)


def pair_features(a: StoryDoc, b: StoryDoc) -> dict[str, float]:
    """The pair model's inputs; the story model file names the ones it weighs."""
    return {
        "lead_cosine": _cosine(a.lead, b.lead),
        "text_cosine": _cosine(a.text, b.text),
        "names_cosine": _cosine(a.names, b.names),
        "numbers_jaccard": _jaccard(a.numbers, b.numbers),
        "figures_jaccard": _jaccard(a.figures, b.figures),
        "figures_clash": float(bool(a.figures and b.figures and not a.figures & b.figures)),
        "years_clash": float(bool(a.years and b.years and not a.years & b.years)),
    }


@dataclass(frozen=True)
class StoryModel:
    """Logistic regression over ``pair_features``, the story-joining threshold, and the linkage level.

    ``threshold``: an arriving article joins the best candidate story whose ``story_score`` reaches it.
    ``link``: then, the neighbourhood of plausible stories is re-grouped by average linkage, joining
    groups while their mean pair probability is at least ``link``; None skips that step (v1 models).
    """

    name: str
    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    link: float | None = None

    @classmethod
    def load(cls, path: str | Path = STORY_MODEL_PATH) -> StoryModel:
        data = json.loads(Path(path).read_text())
        unknown = set(data["features"]) - set(PAIR_FEATURES)
        if unknown or len(data["weights"]) != len(data["features"]):
            raise ValueError(f"{path}: weights do not match the pair features ({', '.join(sorted(unknown))})")
        return cls(
            name=data["name"],
            features=tuple(data["features"]),
            weights=tuple(float(w) for w in data["weights"]),
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            link=float(data["link_probability"]) if data.get("link_probability") is not None else None,
        )

    def probability(self, a: StoryDoc, b: StoryDoc) -> float:
        f = pair_features(a, b)
        z = self.bias + sum(w * f[n] for n, w in zip(self.features, self.weights, strict=True))
        return 1.0 / (1.0 + math.exp(-z))


def story_score(probabilities: list[float]) -> float:
    """An article against a story's members: mean pair probability, pulled up by the best member."""
    return (2 * sum(probabilities) / len(probabilities) + max(probabilities)) / 3


def _calendar_day(day: str | None) -> date | None:
    """The date when ``day`` starts with a real calendar date, else None (a month, a typo)."""
    d, grain = dates.parse_anchor(day)
    return d if grain == "day" else None


@dataclass
class _Remembered:
    doc: StoryDoc
    when: date | None  # parsed once: compared with every later candidate
    story: int
    pairs: dict[int, float] = field(default_factory=dict)  # pair probabilities with other remembered

    @property
    def day(self) -> str | None:
        return self.when.isoformat() if self.when else None


@dataclass(frozen=True)
class Placement:
    """Where an arriving article went, and the earlier articles the regrouping moved (key -> story)."""

    story: int
    moved: dict[int, int] = field(default_factory=dict)


class StoryClusterer:
    """Online story clustering, article by article, over the articles of the last ``window_days``.

    ``place`` scores a new article against the recent members of every story that shares one of its
    heaviest words and joins the best story whose score passes the model's threshold; otherwise the
    article opens a story whose id is its own key. Then, when the model has a ``link`` level, the
    article and the stories it could plausibly belong to (score at least ``hood_floor``) are grouped
    again by average linkage over their pair probabilities: a greedy decision taken on the first few
    reports is revised as the coverage grows, whatever the arrival order. A group keeps the id of the
    story most of its members came from; a group split off takes its first member's key. The earlier
    articles that changed story are reported in ``Placement.moved`` for the store to record.

    Keys grow with arrival (article ids). Articles dated more than ``window_days`` apart are never
    compared. Memory is bounded: at most ``max_articles`` are remembered (the oldest forgotten first),
    none dated more than twice the window before the newest, each with the pair probabilities of the
    remembered articles it was compared with (at most ``max_hood`` at a time). State is in memory: the
    pipeline restores it from the store at start.
    """

    def __init__(
        self,
        model: StoryModel,
        window_days: int = 3,
        max_members: int = 10,
        max_candidates: int = 20,
        max_posting: int = 500,
        max_articles: int = 5000,
        common_share: float = 0.05,
        common_after: int = 200,
        max_hood: int = 80,
        hood_floor: float = 0.1,
    ) -> None:
        self.model = model
        self.window_days = window_days
        self.max_members = max_members
        self.max_candidates = max_candidates
        self.max_posting = max_posting
        self.max_articles = max_articles
        self.common_share = common_share
        self.common_after = common_after
        self.max_hood = max_hood
        self.hood_floor = hood_floor
        self.df: dict[str, int] = {}  # remembered articles per word
        self.articles: dict[int, _Remembered] = {}
        self.members: dict[int, list[int]] = {}
        self.postings: dict[str, set[int]] = {}
        self.newest: date | None = None

    def __len__(self) -> int:
        return len(self.articles)

    def assign(self, key: int, doc: StoryDoc, day: str | None = None) -> int:
        """The story id for a new article; see ``place``."""
        return self.place(key, doc, day).story

    def place(self, key: int, doc: StoryDoc, day: str | None = None) -> Placement:
        """Place a new article in a story (idempotent for a key already seen).

        ``day`` is the publication date (YYYY-MM-DD); without it the article is compared with every
        article remembered.
        """
        if key in self.articles:
            return Placement(self.articles[key].story)
        when = _calendar_day(day)
        probe = self.without_common(doc)
        best, best_score = key, self.model.threshold
        hood: list[int] = []
        scored: dict[int, float] = {}
        for story, near in self._candidates(probe, when).items():
            recent = near[-self.max_members :]
            probabilities = [self.model.probability(probe, self.articles[k].doc) for k in recent]
            scored.update(zip(recent, probabilities, strict=True))
            score = story_score(probabilities)
            if score >= self.hood_floor:
                hood.extend(near)
            if score >= best_score:
                best, best_score = story, score
        self._remember(key, doc, when, best)
        for k, p in scored.items():
            if k in self.articles:  # (remembering may have forgotten the oldest)
                self.articles[k].pairs[key] = self.articles[key].pairs[k] = p
        hood = [k for k in hood if k in self.articles]
        moved = self._regroup(key, hood) if self.model.link is not None and hood else {}
        return Placement(self.articles[key].story, moved)

    def _pair(self, a: int, b: int, probes: dict[int, StoryDoc]) -> float:
        """Pair probability of two remembered articles, computed once and kept while both are
        remembered (the newer one read without the stream's common words, as a new article is;
        ``probes`` keeps those readings for one regrouping)."""
        pa = self.articles[a].pairs
        p = pa.get(b)
        if p is None:
            new, old = (a, b) if a > b else (b, a)
            if new not in probes:
                probes[new] = self.without_common(self.articles[new].doc)
            p = self.model.probability(probes[new], self.articles[old].doc)
            pa[b] = p
            self.articles[b].pairs[a] = p
        return p

    def _regroup(self, key: int, hood: list[int]) -> dict[int, int]:
        """Average-link the new article and the plausible stories' members; returns the moves."""
        from scipy.cluster.hierarchy import fcluster, linkage  # lazy: only when regrouping

        assert self.model.link is not None
        near = list(dict.fromkeys(hood))
        keys = [*near[max(0, len(near) - self.max_hood + 1) :], key]  # the newest, at most max_hood
        n = len(keys)
        distance = np.ones(n * (n - 1) // 2)  # condensed: (0,1), (0,2), ... (n-2,n-1)
        at = 0
        probes: dict[int, StoryDoc] = {}
        for i in range(n - 1):
            for j in range(i + 1, n):
                distance[at] = 1.0 - self._pair(keys[i], keys[j], probes)
                at += 1
        groups: dict[int, list[int]] = {}
        labels = fcluster(linkage(distance, "average"), 1.0 - self.model.link, "distance")
        for k, g in zip(keys, labels, strict=True):
            groups.setdefault(int(g), []).append(k)
        taken: set[int] = set()
        moved: dict[int, int] = {}
        for members in sorted(groups.values(), key=lambda m: (-len(m), m[0])):
            counts = Counter(self.articles[k].story for k in members)
            ranked = sorted(counts, key=lambda s: (-counts[s], s))
            story = next((s for s in ranked if s not in taken), None)
            if story is None:  # split off: the first member whose key names no live story
                story = next((k for k in members if k not in self.members and k not in taken), None)
            if story is None:
                continue  # cannot name it: leave these articles where they are
            taken.add(story)
            for k in members:
                if self.articles[k].story != story:
                    self._move(k, story)
                    if k != key:
                        moved[k] = story
        return moved

    def _move(self, key: int, story: int) -> None:
        a = self.articles[key]
        self._leave(key, a.story)
        a.story = story
        bisect.insort(self.members.setdefault(story, []), key)  # members stay in arrival order

    def _leave(self, key: int, story: int) -> None:
        self.members[story].remove(key)
        if not self.members[story]:
            del self.members[story]

    def without_common(self, doc: StoryDoc) -> StoryDoc:
        """``doc`` without the words of this stream's boilerplate ("mln", "qtr", "price"): words in more
        than ``common_share`` of the remembered articles, once ``common_after`` are remembered. Rare in
        English, common in one feed's template, they would otherwise join unrelated articles."""
        n = len(self.articles)
        if n < self.common_after:
            return doc
        limit = self.common_share * n
        common = {w for w in doc.vocabulary() if self.df.get(w, 0) > limit}
        if not common:
            return doc

        def keep(v: dict[str, float]) -> dict[str, float]:
            return _unit({w: x for w, x in v.items() if w not in common})

        return replace(doc, lead=keep(doc.lead), text=keep(doc.text), names=keep(doc.names))

    def restore(self, key: int, doc: StoryDoc, day: str | None, story: int) -> None:
        """Remember an article already assigned to ``story``."""
        self._remember(key, doc, _calendar_day(day), story)

    def _remember(self, key: int, doc: StoryDoc, when: date | None, story: int) -> None:
        self.articles[key] = _Remembered(doc, when, story)
        for w in doc.vocabulary():
            self.df[w] = self.df.get(w, 0) + 1
        self.members.setdefault(story, []).append(key)
        for w, _ in doc.terms:
            self.postings.setdefault(w, set()).add(key)
        if len(self.articles) > self.max_articles:
            self._forget(next(iter(self.articles)))  # the oldest remembered (dicts keep insertion order)
        if when and (self.newest is None or when > self.newest):
            self.newest = when
            self._evict()

    def _candidates(self, doc: StoryDoc, when: date | None) -> dict[int, list[int]]:
        """Stories of the remembered articles sharing the most weight of the new one's heaviest words;
        words in more than ``max_posting`` remembered articles point nowhere in particular."""
        shared: dict[int, float] = {}
        for w, x in doc.terms:
            keys = self.postings.get(w, ())
            if len(keys) <= self.max_posting:
                for k in keys:
                    shared[k] = shared.get(k, 0.0) + x
        top = heapq.nlargest(self.max_candidates, shared, key=shared.__getitem__)
        stories: dict[int, list[int]] = {}
        for story in dict.fromkeys(self.articles[k].story for k in top):
            near = [
                k
                for k in self.members[story]
                if when is None
                or (other := self.articles[k].when) is None
                or abs((when - other).days) <= self.window_days
            ]
            if near:
                stories[story] = near
        return stories

    def _evict(self) -> None:
        """Forget articles dated more than twice the window before the newest one."""
        assert self.newest is not None
        cutoff = self.newest - timedelta(days=2 * self.window_days)
        for k in [k for k, a in self.articles.items() if a.when and a.when < cutoff]:
            self._forget(k)

    def _forget(self, key: int) -> None:
        a = self.articles.pop(key)
        for other in a.pairs:
            if other in self.articles:
                self.articles[other].pairs.pop(key, None)
        for w in a.doc.vocabulary():
            if self.df[w] > 1:
                self.df[w] -= 1
            else:
                del self.df[w]
        self._leave(key, a.story)
        for w, _ in a.doc.terms:
            keys = self.postings.get(w)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.postings[w]
