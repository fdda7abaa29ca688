"""Stories: which articles cover the same real-world happening, whatever it is.

Event rows are deduplicated by ``dedup``, mention by mention. Independently of our event types, every
article also joins a story, online, as it arrives (``clusterer``): a pair model (``model``, logistic
regression over the lexical overlaps of ``text``, weighted by background word rarity) scores the
article against the recent members of each candidate story, and the stories it could plausibly belong
to are then re-grouped by average linkage over the same pair probabilities, so an early wrong guess is
corrected as evidence arrives. The model's weights, thresholds, the clusterer's knobs and their
training provenance live in ``models/story_pair_v2.json`` (trained and measured on ECB+ by
``bench/ecbplus.py``). Stories feed the event merge (a report of the same type in the same story is
the same event) and are visible to analysts as ``articles.story_id``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ..dates import iso, utcnow
from ..records import Article
from .clusterer import Placement, StoryClusterer
from .model import STORY_MODEL_PATH, ClustererKnobs, StoryModel, story_score
from .text import PAIR_FEATURES, StoryDoc, pair_features, rarity

if TYPE_CHECKING:
    from ..store.articles import ArticleStore

__all__ = [
    "PAIR_FEATURES",
    "STORY_MODEL_PATH",
    "ClustererKnobs",
    "Placement",
    "Stories",
    "StoryClusterer",
    "StoryDoc",
    "StoryModel",
    "pair_features",
    "rarity",
    "story_score",
]


class Stories:
    """The stories stage: places each processed article in a story. The clusterer's memory is restored
    from the store (the articles of the last window) on first use."""

    def __init__(self, window_days: int, articles: ArticleStore, model: StoryModel | None = None) -> None:
        self.window_days = window_days
        self.articles = articles
        self.model = model
        self._clusterer: StoryClusterer | None = None

    def place(self, article: Article) -> Placement:
        """The story an article belongs to (its own id when it opens one), and the earlier articles the
        regrouping moved."""
        if self._clusterer is None:
            self._clusterer = self._restore()
        assert article.id is not None
        return self._clusterer.place(article.id, StoryDoc.of(article.title, article.text), article.published)

    def _restore(self) -> StoryClusterer:
        c = StoryClusterer(self.model or StoryModel.load(), window_days=self.window_days)
        since = iso(utcnow() - timedelta(days=self.window_days))
        for r in self.articles.story_articles(since, c.max_articles):
            c.restore(r["id"], StoryDoc.of(r["title"] or "", r["text"] or ""), r["published"], r["story_id"])
        return c
