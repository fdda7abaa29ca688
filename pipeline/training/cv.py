"""Cross-validation of the decisions at the level the product is judged on: events.

Articles are split by group (all reports of one event on the same side). Within a training part:
the reading head's out-of-fold probabilities make each article's candidate events (the rules'
firings and the likely readings, grouped by the extractor's own code); the candidates are labelled
right or wrong by the scorer the export is measured with (``scoring``); the event head's out-of-fold
probabilities choose the two thresholds (the best core F1 averaged with the neighbouring keep
thresholds', so a plateau wins over a spike) and the calibration. ``nested`` does all of
that inside each outer training part and measures the outer part it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .. import scoring
from ..events.decisions import DecisionModel, Decisions
from ..events.features import event_features, features
from ..events.readings import Reading
from ..logistic import Head
from ..records import EventMention
from . import data
from .fit import Params, head, platt


def reading_rows(
    recs: list[dict[str, Any]], readings: list[list[Reading]]
) -> list[list[tuple[dict[str, float], int]]]:
    out = []
    for rec, rs in zip(recs, readings, strict=True):
        row = []
        for r in rs:
            f = r.cache.get("features")
            if f is None:
                f = r.cache["features"] = features(r, r.doc, r.published)
            row.append((f, int(data.label(rec, r).event)))
        out.append(row)
    return out


def export(events: list[EventMention], url: str, first_id: int) -> list[dict[str, Any]]:
    """News events as the export contract has them (one source: the article), with fresh ids."""
    out = []
    for e in events:
        if not e.background:
            out.append(
                {
                    "id": first_id + len(out),
                    "type": e.type,
                    "status": e.status,
                    "actors": list(e.actors),
                    "targets": list(e.targets),
                    "confidence": e.confidence,
                    "sources": [{"url": url}],
                }
            )
    return out


@dataclass
class Candidate:
    article: int
    event: EventMention  # as news (background False)
    features: dict[str, float]
    right: bool = False
    background: bool = False  # the rules read it as background


class _Given(Decisions):
    """Decisions whose reading probabilities are given (out of fold) and that keep every candidate."""

    def __init__(self, p: dict[int, float], add_threshold: float) -> None:
        self.p = p
        self.model = DecisionModel(Head(0.0, {}), Head(0.0, {}), add_threshold, 0.0, (1.0, 0.0), {})

    def p_reading(self, r: Reading) -> float:
        return self.p[id(r)]

    def judge(self, grouped: list[tuple[EventMention, list[Any]]]) -> list[EventMention]:
        groups = [g for _, g in grouped]
        self.last = [
            (e, event_features(e, g, groups, max(m.confidence for m in g)))
            for e, g in grouped
            if not e.background
        ]
        return [e for e, _ in self.last]


def candidates(
    extractor: Any, recs: list[dict[str, Any]], readings: list[list[Reading]], p: dict[int, float], add: float
) -> list[Candidate]:
    """Every article's candidate events at an add threshold, labelled right or wrong."""
    out: list[Candidate] = []
    for i, (rec, rs) in enumerate(zip(recs, readings, strict=True)):
        given = _Given(p, add)
        extractor.events(rs, given)
        cands = [
            Candidate(i, replace(e, background=False), f, background=e.background) for e, f in given.last
        ]
        result = scoring.score([rec], export([c.event for c in cands], rec["url"], 0))
        for k, ok in result.outcomes:
            cands[k].right = cands[k].right or ok
        out.extend(cands)
    return out


def oof_readings(
    recs: list[dict[str, Any]],
    readings: list[list[Reading]],
    rows: list[list[tuple[dict[str, float], int]]],
    params: Params,
) -> dict[int, float]:
    """Out-of-fold reading probabilities, keyed by reading."""
    fold_of = data.folds(data.groups(recs), params.folds, params.seed)
    p: dict[int, float] = {}
    for k in range(params.folds):
        train = [row for i, rs in enumerate(rows) if fold_of[i] != k for row in rs]
        h = head([f for f, _ in train], [y for _, y in train], params.c_reading, params.seed)
        for i in (i for i in range(len(recs)) if fold_of[i] == k):
            for r, (f, _) in zip(readings[i], rows[i], strict=True):
                p[id(r)] = h.probability(f)
    return p


def oof_events(recs: list[dict[str, Any]], cands: list[Candidate], params: Params) -> list[float]:
    fold_of = data.folds(data.groups(recs), params.folds, params.seed)
    p = [0.0] * len(cands)
    for k in range(params.folds):
        train = [c for c in cands if fold_of[c.article] != k]
        h = head([c.features for c in train], [int(c.right) for c in train], params.c_event, params.seed)
        for j, c in enumerate(cands):
            if fold_of[c.article] == k:
                p[j] = h.probability(c.features)
    return p


def kept_figures(
    recs: list[dict[str, Any]], cands: list[Candidate], p: list[float], threshold: float, promote: float
) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    for c, pc in zip(cands, p, strict=True):
        if pc >= (promote if c.background else threshold):
            events.extend(
                export([replace(c.event, confidence=round(pc, 3))], recs[c.article]["url"], len(events))
            )
    return scoring.score(recs, events).figures


@dataclass
class Choice:
    add_threshold: float
    keep_threshold: float
    promote_threshold: float
    calibration: tuple[float, float]
    figures: dict[str, Any]  # out-of-fold, at the chosen thresholds (chosen on them: not a claim)
    candidates: list[Candidate]


def choose(
    extractor: Any, recs: list[dict[str, Any]], readings: list[list[Reading]], params: Params
) -> Choice:
    """Thresholds and calibration for a training part, from its own out-of-fold probabilities."""
    rows = reading_rows(recs, readings)
    p_read = oof_readings(recs, readings, rows, params)
    best: tuple[Any, ...] | None = None  # (key, add, keep, promote, figures); key: core f1, event f1, ...
    pools = {}
    for add in params.add_thresholds:
        cands = candidates(extractor, recs, readings, p_read, add)
        p_ev = oof_events(recs, cands, params)
        pools[add] = (cands, p_ev)
        for promote in params.promote_thresholds:
            figs = [kept_figures(recs, cands, p_ev, keep, promote) for keep in params.keep_thresholds]
            for k, (keep, f) in enumerate(zip(params.keep_thresholds, figs, strict=True)):
                # a threshold on a plateau, not on a spike: its neighbours' core F1 counts with its own
                near = [g["core_f1"] for g in figs[max(0, k - 1) : k + 2]]
                key = (round(sum(near) / len(near), 4), round(f["core_f1"], 4), -add, keep, promote)
                if best is None or key > best[0]:
                    best = (key, add, keep, promote, f)
    assert best is not None
    _, add, keep, promote, figures = best
    cands, p_ev = pools[add]
    cal = platt(p_ev, [int(c.right) for c in cands], params.seed)
    return Choice(add, keep, promote, cal, figures, cands)


def fit_model(
    extractor: Any, recs: list[dict[str, Any]], readings: list[list[Reading]], params: Params
) -> tuple[DecisionModel, Choice]:
    """The model for these articles: heads fitted on all of them, thresholds and calibration chosen
    out of fold (the event head learns from out-of-fold reading probabilities, as it will meet them).
    """
    choice = choose(extractor, recs, readings, params)
    rows = [row for rs in reading_rows(recs, readings) for row in rs]
    reading_head = head([f for f, _ in rows], [y for _, y in rows], params.c_reading, params.seed)
    event_head = head(
        [c.features for c in choice.candidates],
        [int(c.right) for c in choice.candidates],
        params.c_event,
        params.seed,
    )
    model = DecisionModel(
        reading=reading_head,
        event=event_head,
        add_threshold=choice.add_threshold,
        keep_threshold=choice.keep_threshold,
        calibration=choice.calibration,
        meta={},
        promote_threshold=choice.promote_threshold,
    )
    return model, choice


def nested(
    extractor: Any, recs: list[dict[str, Any]], readings: list[list[Reading]], params: Params
) -> tuple[scoring.Score, list[dict[str, Any]], list[Choice], list[tuple[EventMention, ...]]]:
    """Outer grouped k-fold: everything chosen inside each outer training part, figures on the rest.
    Also returns every article's held-out events (what the merge decision is trained on: the
    extraction as it is on news it was not trained on)."""
    fold_of = data.folds(data.groups(recs), params.folds, params.seed)
    events: list[dict[str, Any]] = []
    held_out: list[tuple[EventMention, ...]] = [() for _ in recs]
    choices = []
    for f in range(params.folds):
        tr = [i for i in range(len(recs)) if fold_of[i] != f]
        model, choice = fit_model(extractor, [recs[i] for i in tr], [readings[i] for i in tr], params)
        choices.append(choice)
        dec = Decisions(model)
        for i in (i for i in range(len(recs)) if fold_of[i] == f):
            held_out[i] = tuple(extractor.events(readings[i], dec))
            events.extend(export(list(held_out[i]), recs[i]["url"], len(events)))
    return scoring.score(recs, events), events, choices, held_out


def by_type(
    recs: list[dict[str, Any]], events: list[dict[str, Any]], types: tuple[str, ...]
) -> dict[str, Any]:
    """The export's figures counting only events (gold and exported) of ``types``."""
    only = [
        {**r, "gold": {**r["gold"], "events": [g for g in r["gold"]["events"] if g["type"] in types]}}
        for r in recs
    ]
    return scoring.score(only, [e for e in events if e["type"] in types]).figures


def ceiling(
    extractor: Any, recs: list[dict[str, Any]], readings: list[list[Reading]], params: Params, add: float
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The figures an event head that never errs would reach over the candidate events at ``add``
    (reading probabilities out of fold): what is lost before the event head (candidates, grouping,
    parties, status), as against what the head loses. Its recall bounds any head's at that threshold.
    Returns the figures and the events kept (the right candidates, as exported)."""
    p = oof_readings(recs, readings, reading_rows(recs, readings), params)
    kept: list[dict[str, Any]] = []
    for c in candidates(extractor, recs, readings, p, add):
        if c.right:
            kept.extend(export([c.event], recs[c.article]["url"], len(kept)))
    return scoring.score(recs, kept).figures, kept
