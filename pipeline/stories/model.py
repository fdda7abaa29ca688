"""The story pair model and the clusterer's knobs, from one model file (``models/story_pair_v*.json``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import PROJECT_ROOT
from ..errors import ModelError
from .text import PAIR_FEATURES, StoryDoc, pair_features

STORY_MODEL_PATH = PROJECT_ROOT / "models" / "story_pair_v2.json"


@dataclass(frozen=True)
class ClustererKnobs:
    """How the clusterer uses the pair model; chosen with the weights and kept in the model file beside
    them (a file without them, like story_pair_v1, gets these defaults)."""

    max_members: int = 10  # a story is scored against its newest members, at most this many
    max_candidates: int = 20  # remembered articles that share the most weight of an arrival's heaviest words
    max_posting: int = 500  # a word in more remembered articles than this points nowhere in particular
    max_articles: int = 5000  # remembered articles at most (the oldest forgotten first)
    common_share: float = (
        0.05  # a word in more than this share of remembered articles is the stream's boilerplate
    )
    common_after: int = 200  # ... once this many articles are remembered
    max_hood: int = 80  # articles regrouped after an arrival, at most
    hood_floor: float = 0.1  # stories scoring at least this against an arrival are regrouped with it

    @classmethod
    def of(cls, data: dict[str, Any] | None, path: str | Path) -> ClustererKnobs:
        data = data or {}
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ModelError(f"{path}: unknown clusterer knob(s) {', '.join(sorted(unknown))}")
        defaults = cls()
        return cls(**{k: type(getattr(defaults, k))(v) for k, v in data.items()})

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


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
    knobs: ClustererKnobs = field(default_factory=ClustererKnobs)

    @classmethod
    def load(cls, path: str | Path = STORY_MODEL_PATH) -> StoryModel:
        try:
            data = json.loads(Path(path).read_text())
            unknown = set(data["features"]) - set(PAIR_FEATURES)
            if unknown or len(data["weights"]) != len(data["features"]):
                raise ModelError(
                    f"{path}: weights do not match the pair features ({', '.join(sorted(unknown))})"
                )
            return cls(
                name=data["name"],
                features=tuple(data["features"]),
                weights=tuple(float(w) for w in data["weights"]),
                bias=float(data["bias"]),
                threshold=float(data["threshold"]),
                link=float(data["link_probability"]) if data.get("link_probability") is not None else None,
                knobs=ClustererKnobs.of(data.get("clusterer"), path),
            )
        except (OSError, KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ModelError):
                raise
            raise ModelError(f"{path}: not a story model: {type(exc).__name__}: {exc}") from exc

    def probability(self, a: StoryDoc, b: StoryDoc) -> float:
        f = pair_features(a, b)
        z = self.bias + sum(w * f[n] for n, w in zip(self.features, self.weights, strict=True))
        return 1.0 / (1.0 + math.exp(-z))


def story_score(probabilities: list[float]) -> float:
    """An article against a story's members: mean pair probability, pulled up by the best member."""
    return (2 * sum(probabilities) / len(probabilities) + max(probabilities)) / 3
