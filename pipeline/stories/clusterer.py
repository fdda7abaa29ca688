"""Online story clustering, article by article, with regrouping by average linkage."""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np

from .. import dates
from .model import StoryModel, story_score
from .text import StoryDoc, unit


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

    def __init__(self, model: StoryModel, window_days: int = 3, **knobs: Any) -> None:
        """``knobs`` override the model file's (``ClustererKnobs``) for experiments and tests."""
        self.model = model
        self.window_days = window_days
        k = replace(model.knobs, **knobs)
        self.max_members = k.max_members
        self.max_candidates = k.max_candidates
        self.max_posting = k.max_posting
        self.max_articles = k.max_articles
        self.common_share = k.common_share
        self.common_after = k.common_after
        self.max_hood = k.max_hood
        self.hood_floor = k.hood_floor
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
            return unit({w: x for w, x in v.items() if w not in common})

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
