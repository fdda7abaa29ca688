"""Training the merge decision (``models/merge_v1.json``): P(a report and a stored event are one
real-world event), learned from the multi-outlet event clusters of labelled articles.

The pairs are what the product meets: every article's events as the extraction reads them on news it
was not trained on (the held-out events of the extraction's cross-validation), replayed through the
product's own per-article step (stories, dedup, commit into a temporary log) oldest publication
first. While pairs are collected a teacher makes the merges (a report joins the event of its gold
cluster, when that event is among the candidates), so every report meets the events the log would
hold if every earlier merge had been right: same-cluster candidates are the positives; the other
events of the milestone in the window (same actor, another event; same day, a government left
unnamed) the hard negatives. Other milestones of one thing are never candidates: they are linked, not
merged (a listing merged into the report that announced it would never alert).

Validation is cross-validation grouped by event cluster (articles sharing a cluster stay on one
side): the model is fitted on the pairs of the training part, the whole stream is replayed with it
making every merge, and pairwise precision and recall are scored over the held-out part's reports as
``../shared/tools/score.py`` scores them. The threshold is chosen inside each training part (nested);
the shipped model's threshold by the same cross-validation over all articles.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import scoring
from ..config import Settings, StorageSettings
from ..dedup import Candidate, Deduplicator, MergeModel
from ..dedup.model import MODEL_NAME
from ..dedup.pairs import PAIR_FEATURE_SET
from ..flow import Pipeline
from ..logistic import Head
from ..records import Article, EventMention
from . import cv, data
from .fit import head

THRESHOLDS = (0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


# Grouped cross-validation on ../shared/train (pairwise F1 at the best threshold, same folds), while
# this was chosen: every feature, C 1.0: 0.66; C 0.3 / 3 / 10: 0.58 / 0.65 / 0.64; per-type copies of
# every feature 0.45-0.52; pairs also collected over 4 arrival orders 0.49; the rules' decision with
# the similarity alone 0.63; the rules alone 0.56.
@dataclass(frozen=True)
class MergeParams:
    c: float = 1.0
    folds: int = 5
    seed: int = 7
    thresholds: tuple[float, ...] = THRESHOLDS
    # thresholds are chosen by F-beta over the pairs: precision first (a wrong merge hides an event)
    beta: float = 0.5


@dataclass
class Stream:
    """The labelled articles as dedup sees them: events (news only), vectors, and each event's gold
    cluster (a unique label for an event that is not a gold news event)."""

    recs: list[dict[str, Any]]
    articles: list[Article]
    mentions: list[tuple[EventMention, ...]]
    vectors: list[Any]
    clusters: list[list[str]]  # per article, per news mention

    def order(self, idx: list[int]) -> list[int]:
        """The product's processing order: oldest publication first (``ArticleStore.due``)."""
        return sorted(idx, key=lambda i: (self.articles[i].published or "~", i))


def stream(
    recs: list[dict[str, Any]], mentions: list[tuple[EventMention, ...]], dedup: Deduplicator
) -> Stream:
    arts = [data.article(r) for r in recs]
    news = [tuple(m for m in ms if not m.background) for ms in mentions]
    vectors = dedup.embed_batch(arts, news)
    clusters = []
    for i, (rec, ms) in enumerate(zip(recs, news, strict=True)):
        allg = [g for g in rec["gold"]["events"] if not g.get("background")]
        allg += [g for g in rec["gold"]["events"] if g.get("background")]
        labels = [f"none:{i}:{k}" for k in range(len(ms))]
        for gi, pi in scoring.match_article(allg, cv.export(list(ms), rec["url"], 0)):
            if not allg[gi].get("background"):
                labels[pi] = str(allg[gi]["cluster"])
        clusters.append(labels)
    return Stream(recs, arts, news, vectors, clusters)


class Teacher(Deduplicator):
    """Merges as the gold clusters say, and records every (report, candidate) pair it was shown."""

    def __init__(
        self, base: Deduplicator, cluster_of: Callable[[EventMention], str], event_cluster: dict[int, str]
    ):
        super().__init__(base.settings, base.models, base.events, base.generic_words, base.generic_parties)
        self.cluster_of = cluster_of
        self.event_cluster = event_cluster
        self.pairs: list[tuple[dict[str, float], int]] = []

    @property
    def learned(self) -> bool:
        return True

    def score(self, f: dict[str, float]) -> float:
        return 0.0

    def choose(self, m: EventMention, cands: list[Candidate]) -> Candidate | None:
        mine = self.cluster_of(m)
        right = []
        for c in cands:
            same = self.event_cluster.get(c.event.id) == mine
            self.pairs.append((c.features, int(same)))
            if same:
                right.append(c)
        return max(right, key=lambda c: c.similarity, default=None)


@dataclass
class Replay:
    """A stream replayed through the product's per-article step into a temporary log."""

    export: list[dict[str, Any]]
    pairs: list[tuple[dict[str, float], int]] = field(default_factory=list)


def replay(
    settings: Settings,
    s: Stream,
    idx: list[int],
    model: MergeModel | None,
    *,
    teach: bool = False,
) -> Replay:
    """``model`` makes the merges (None: the rules), or with ``teach`` the gold clusters do."""
    with tempfile.TemporaryDirectory(prefix="tradewire-merges-") as tmp:
        conf = replace(settings, storage=StorageSettings(db=str(Path(tmp) / "replay.db")), feeds=())
        with Pipeline(conf, env={}) as p:
            event_cluster: dict[int, str] = {}
            current: dict[int, str] = {}
            teacher = Teacher(p.dedup, lambda m: current[id(m)], event_cluster) if teach else None
            p.dedup = teacher or p.dedup.with_model(model)
            for i in s.order(idx):
                a = s.articles[i]
                aid, _ = p.store.articles.add(
                    url=a.url, title=a.title, published=a.published, text=a.text, outlet=a.outlet
                )
                current.clear()
                current.update({id(m): c for m, c in zip(s.mentions[i], s.clusters[i], strict=True)})
                done = p.process_article(replace(a, id=aid), s.mentions[i], s.vectors[i])
                new = iter(done.created)
                for d in done.decisions:
                    eid = d.event_id if d.event_id is not None else next(new)
                    event_cluster.setdefault(eid, current[id(d.mention)])
            return Replay(p.store.queries.query_events(), teacher.pairs if teacher else [])


def fit(
    settings: Settings, s: Stream, idx: list[int], params: MergeParams, threshold: float = 0.5
) -> MergeModel:
    pairs = replay(settings, s, idx, None, teach=True).pairs
    h: Head = head([f for f, _ in pairs], [y for _, y in pairs], params.c, params.seed)
    return MergeModel(h, threshold, {"pairs": len(pairs), "positives": sum(y for _, y in pairs)})


def pair_counts(s: Stream, idx: list[int], export: list[dict[str, Any]]) -> dict[str, int]:
    return scoring.score([s.recs[i] for i in idx], export).figures["dedup_pairs"]


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b[k] for k in b}


def prf(c: dict[str, int], beta: float = 1.0) -> tuple[float, float, float]:
    p = c["right"] / c["merged"] if c["merged"] else 1.0
    r = c["right"] / c["same_event"] if c["same_event"] else 1.0
    b2 = beta * beta
    return p, r, ((1 + b2) * p * r / (b2 * p + r) if p + r else 0.0)


def grouped(
    settings: Settings, s: Stream, idx: list[int], params: MergeParams, folds: int
) -> dict[float, dict[str, int]]:
    """Pair counts per threshold over ``idx``, grouped ``folds``-fold: each part's pairs scored with the
    model fitted on the rest, the whole of ``idx`` replayed with it."""
    fold_of = data.folds(data.groups([s.recs[i] for i in idx]), folds, params.seed)
    out: dict[float, dict[str, int]] = {t: {} for t in params.thresholds}
    for f in range(folds):
        held = [i for i, k in zip(idx, fold_of, strict=True) if k == f]
        model = fit(settings, s, [i for i, k in zip(idx, fold_of, strict=True) if k != f], params)
        for t in params.thresholds:
            run = replay(settings, s, idx, replace(model, threshold=t))
            out[t] = _add(out[t], pair_counts(s, held, run.export))
    return out


def _figures(c: dict[str, int]) -> dict[str, Any]:
    p, r, f1 = prf(c)
    return {"dedup_p": round(p, 3), "dedup_r": round(r, 3), "dedup_f1": round(f1, 3), "pairs": c}


def best_threshold(counts: dict[float, dict[str, int]], beta: float) -> float:
    return max(counts, key=lambda t: (round(prf(counts[t], beta)[2], 6), t))


def nested(settings: Settings, s: Stream, params: MergeParams) -> tuple[dict[str, int], list[float]]:
    """Outer grouped k-fold with the threshold chosen inside each training part: held-out pair counts."""
    idx = list(range(len(s.recs)))
    fold_of = data.folds(data.groups(s.recs), params.folds, params.seed)
    total: dict[str, int] = {}
    chosen = []
    for f in range(params.folds):
        tr = [i for i in idx if fold_of[i] != f]
        t = best_threshold(grouped(settings, s, tr, params, params.folds - 1), params.beta)
        chosen.append(t)
        model = replace(fit(settings, s, tr, params), threshold=t)
        total = _add(
            total, pair_counts(s, [i for i in idx if fold_of[i] == f], replay(settings, s, idx, model).export)
        )
    return total, chosen


def train_merges(
    settings: Settings,
    recs: list[dict[str, Any]],
    held_out: list[tuple[EventMention, ...]],
    paths: list[str | Path],
    out: str | Path,
    params: MergeParams | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Cross-validate the merge decision (nested, grouped by event cluster), fit it on every article
    with the threshold chosen by grouped cross-validation, and write ``out``."""
    params = params or MergeParams()
    settings = replace(settings, dedup=replace(settings.dedup, model=""))  # the pairs: the rules' log
    with (
        tempfile.TemporaryDirectory(prefix="tradewire-merges-") as tmp,
        Pipeline(
            replace(settings, storage=StorageSettings(db=str(Path(tmp) / "s.db")), feeds=()), env={}
        ) as p,
    ):
        s = stream(recs, held_out, p.dedup)
    idx = list(range(len(recs)))
    rules = pair_counts(s, idx, replay(settings, s, idx, None).export)
    total, chosen = nested(settings, s, params)
    counts = grouped(settings, s, idx, params, params.folds)
    threshold = best_threshold(counts, params.beta)
    model = fit(settings, s, idx, params, threshold)
    held, alone = _figures(total), _figures(rules)
    # the head decides only where it beats the rules out of fold, by the measure its threshold is
    # chosen with (F-beta: precision first)
    decides = "head" if prf(total, params.beta)[2] > prf(rules, params.beta)[2] else "rules"
    say(
        f"merge decision, nested cross-validation: pairwise P {held['dedup_p']:.3f} R {held['dedup_r']:.3f}"
        f" F1 {held['dedup_f1']:.3f} (the rules: P {alone['dedup_p']:.3f} R {alone['dedup_r']:.3f});"
        f" decides: {decides}"
    )
    doc = {
        "name": MODEL_NAME,
        "about": "P(a report and a stored event of its type are one real-world event), over the features of "
        "pipeline/dedup/pairs.py; a report joins its best candidate from threshold, else it is a new event.",
        "feature_set": PAIR_FEATURE_SET,
        "decides": decides,
        "decides_rule": f"the head when its nested cross-validated pairwise F{params.beta:g} beats the rules "
        "alone over the same stream, else the rules (pipeline/dedup: the rules' merge)",
        "head": model.head.as_dict(),
        "threshold": threshold,
        "trained_on": {
            "files": [str(Path(x).name) for x in paths],
            "sha256": data.data_hash(paths),
            "articles": len(recs),
            "pairs": model.meta["pairs"],
            "same_event_pairs": model.meta["positives"],
            "events": "held-out events of the extraction's cross-validation (as on unseen news)",
        },
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(params).items()},
        "cross_validation": {
            "method": f"nested grouped {params.folds}-fold over articles (those sharing an event cluster on one "
            "side); the whole stream replayed through the product's per-article step with the fold's model "
            "making every merge; pairs of held-out reports scored as ../shared/tools/score.py scores dedup",
            "figures": held,
            "rules_alone": alone,
            "outer_thresholds": chosen,
            "by_threshold": {
                str(t): dict(zip(("p", "r", "f1"), (round(x, 3) for x in prf(c)), strict=True))
                for t, c in counts.items()
            },
        },
        "made_by": "run.py train (make train)",
    }
    Path(out).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    MergeModel.load(out)  # what was written reads back
    return doc
