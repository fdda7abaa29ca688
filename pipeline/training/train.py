"""``run.py train``: rebuild the event decision model (and the merge decision, ``merges``) from
labelled articles, cross-validated.

Reads labelled articles (the corpus schema of ``../shared/dev``: ``text`` and ``gold.events`` with
their ``evidence`` sentences), reads every candidate with the rules, cross-validates the decisions
(nested, grouped by event cluster), fits the shipped model on all articles with thresholds and
calibration chosen out of fold, and writes the model file with the data's hash, the features, the
settings it was made with and the cross-validated figures. Deterministic for a seed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from .. import scoring
from ..config import PROJECT_ROOT, NlpSettings, Settings
from ..events import Extractor
from ..events.decisions import MODEL_NAME, DecisionModel
from ..events.features import FEATURE_SET
from . import cv, data, merges
from .fit import Params

DEFAULT_OUT = PROJECT_ROOT / "models" / f"{MODEL_NAME}.json"
FIGURES = (*scoring.EXTRACTION_FIGURES, "conf80_p", "conf80_n")


def reliability(
    events: list[dict[str, Any]], outcomes: list[tuple[int, bool]], bins: int = 5
) -> list[dict[str, Any]]:
    """Out-of-fold events by confidence bin: how many, their mean confidence, how many were right."""
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = [
            (events[i]["confidence"], ok)
            for i, ok in outcomes
            if lo <= events[i]["confidence"] < hi or (b == bins - 1 and events[i]["confidence"] == 1.0)
        ]
        if sel:
            out.append(
                {
                    "bin": f"{lo:.1f}-{hi:.1f}",
                    "events": len(sel),
                    "mean_confidence": round(sum(c for c, _ in sel) / len(sel), 3),
                    "right": round(sum(ok for _, ok in sel) / len(sel), 3),
                }
            )
    return out


def train(
    paths: list[str | Path],
    out: str | Path = DEFAULT_OUT,
    settings: NlpSettings | None = None,
    params: Params | None = None,
    say: Callable[[str], None] = print,
    merge_out: str | Path | None = None,
    full: Settings | None = None,
) -> dict[str, Any]:
    """Train the event decisions (``out``) and, given ``merge_out``, the merge decision over their
    held-out events (``training.merges``)."""
    settings = settings or NlpSettings()
    params = params or Params()
    t0 = time.perf_counter()
    recs = data.load(paths)
    extractor = Extractor(settings, decisions=None)  # the rules' readings; the decisions are what is trained
    readings = extractor.read_many([data.article(r) for r in recs])
    n_readings = sum(len(r) for r in readings)
    say(f"{len(recs)} articles, {n_readings} readings ({time.perf_counter() - t0:.0f}s)")
    score, events, choices, held_out = cv.nested(extractor, recs, readings, params)
    figures = {
        k: round(v, 3) if isinstance(v, float) else v for k, v in score.figures.items() if k in FIGURES
    }
    say("nested cross-validation: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    model, choice = cv.fit_model(extractor, recs, readings, params)
    doc = {
        "name": MODEL_NAME,
        "about": "Trained decisions over the rules' readings (pipeline/events/decisions.py): a reading head "
        "(P that a candidate sentence states an event of its type) adds readings the rules do not fire on "
        "from thresholds.add_reading; an event head (P that a candidate event is a right news event) keeps "
        "candidates from thresholds.keep_event; calibration.platt turns the event head's probability into "
        "the event's confidence (P that it is right).",
        "feature_set": FEATURE_SET,
        "heads": {
            "reading": model.reading.as_dict(),
            "event": model.event.as_dict(),
        },
        "thresholds": {
            "add_reading": model.add_threshold,
            "keep_event": model.keep_threshold,
            "promote_background": model.promote_threshold,
        },
        "calibration": {
            "platt": list(model.calibration),
            "fitted_on": f"{len(choice.candidates)} out-of-fold candidate events",
        },
        "trained_on": {
            "files": [str(Path(p).name) for p in paths],
            "sha256": data.data_hash(paths),
            "articles": len(recs),
            "readings": n_readings,
            "events": sum(1 for r in recs for g in r["gold"]["events"] if not g.get("background")),
        },
        "params": asdict(params),
        "rules": {"spacy_model": settings.spacy_model, "background_days": settings.background_days},
        "cross_validation": {
            "method": f"nested grouped {params.folds}-fold: articles that share an event cluster stay on one side; "
            "thresholds and calibration chosen inside each outer training part; figures on the held-out parts, "
            "scored as the export is (pipeline/scoring.py, the matching of ../shared/tools/score.py)",
            "figures": figures,
            "outer_choices": [
                {"add_reading": c.add_threshold, "keep_event": c.keep_threshold} for c in choices
            ],
            "reliability": reliability(events, score.outcomes),
        },
        "made_by": "run.py train (make train)",
    }
    Path(out).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    DecisionModel.load(out)  # what was written reads back
    say(f"wrote {out} ({time.perf_counter() - t0:.0f}s)")
    if merge_out is not None:
        full = replace(full or Settings(), nlp=replace(settings, decisions=str(out)))
        merges.train_merges(full, recs, held_out, paths, merge_out, merges.MergeParams(seed=params.seed), say)
        say(f"wrote {merge_out} ({time.perf_counter() - t0:.0f}s)")
    return doc
