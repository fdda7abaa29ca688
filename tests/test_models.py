"""The shipped trained models: each records what it was trained on (the data's hash), its features and
its cross-validated figures; the rules propose every event the decisions could keep; a broken model
file is refused with one line, not a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHARED, demo_config, needs_shared, run_cli

from pipeline.config import load_settings
from pipeline.dedup.model import MergeModel
from pipeline.dedup.pairs import PAIR_FEATURE_SET
from pipeline.events.decisions import DecisionModel
from pipeline.events.features import FEATURE_SET
from pipeline.training import data

SHIPPED = load_settings(None)
TRAIN = SHARED / "train" / "articles.jsonl"


def _model(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", [SHIPPED.nlp.decisions, SHIPPED.dedup.model])
def test_each_model_file_records_its_data_features_and_cross_validated_figures(path):
    m = _model(path)
    assert m["feature_set"] and m["made_by"].startswith("run.py train")
    trained = m["trained_on"]
    assert trained["articles"] > 0 and len(trained["sha256"]) == 16
    cv = m["cross_validation"]
    assert "grouped" in cv["method"] and cv["figures"], cv
    assert m["params"]["seed"] is not None and m["params"]["folds"] == 5


def test_the_shipped_models_load_and_read_the_features_this_code_computes():
    merge = MergeModel.load(SHIPPED.dedup.model)
    assert merge.meta["feature_set"] == PAIR_FEATURE_SET and 0 < merge.threshold < 1
    decisions = DecisionModel.load(SHIPPED.nlp.decisions)
    assert decisions.meta["feature_set"] == FEATURE_SET
    assert 0 < decisions.keep_threshold < 1 and decisions.reading.weights and decisions.event.weights


@needs_shared("train", "articles.jsonl")
def test_the_shipped_models_were_trained_on_the_training_set_as_it_is():
    digest = data.data_hash([TRAIN])
    for path in (SHIPPED.nlp.decisions, SHIPPED.dedup.model):
        assert _model(path)["trained_on"]["sha256"] == digest, f"{path}: retrain with make train"


@needs_shared("train", "articles.jsonl")
def test_the_rules_propose_the_evidence_of_nearly_every_training_event(extractor):
    """The decisions only keep or drop what the rules propose: at least 95% of the training events'
    evidence sentences must be candidates."""
    found, located, missed = data.evidence_coverage(data.load([TRAIN]), extractor.candidates)
    assert located >= 200
    assert found / located >= 0.95, missed


@pytest.mark.parametrize("section, key", [("nlp", "decisions"), ("dedup", "model")])
@pytest.mark.parametrize("content", ["{not json", '{"feature_set": "someone-else.v9"}'])
def test_a_broken_model_file_is_one_line_and_a_nonzero_exit(tmp_path, demo_site, section, key, content):
    bad = tmp_path / "model.json"
    bad.write_text(content, encoding="utf-8")
    cfg = demo_config(tmp_path, demo_site, extra=f'[{section}]\n{key} = "{bad}"\n')
    r = run_cli("once", "--config", str(cfg))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert str(bad) in r.stderr


def test_a_malformed_gold_file_for_eval_is_one_line_naming_the_line(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"url": "https://a.test/x"}\n', encoding="utf-8")
    r = run_cli("eval", str(gold))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and f"{gold}:1:" in r.stderr.strip(), r.stderr


@needs_shared("train", "articles.jsonl")
def test_the_error_budget_bounds_the_event_head_and_the_family_figures_add_up(rules_extractor):
    """``bench/cv_budget.py``'s two measures on 60 training articles: a perfect event head over the
    candidates recalls exactly what keeping every candidate recalls, and more precisely; the figures
    counted per event family over every family are the figures of the whole export."""
    from pipeline import scoring
    from pipeline.training import cv
    from pipeline.training.fit import Params
    from pipeline.vocab import EVENT_TYPES

    recs = data.load([TRAIN])[:60]
    readings = rules_extractor.read_many([data.article(r) for r in recs])
    params = Params(seed=7)
    top, kept = cv.ceiling(rules_extractor, recs, readings, params, 0.7)
    p = cv.oof_readings(recs, readings, cv.reading_rows(recs, readings), params)
    every: list[dict] = []
    for c in cv.candidates(rules_extractor, recs, readings, p, 0.7):
        every.extend(cv.export([c.event], recs[c.article]["url"], len(every)))
    everything = scoring.score(recs, every).figures
    assert top["core_r"] == everything["core_r"] and top["core_r"] > 0.5
    assert top["core_p"] >= everything["core_p"] and top["event_p"] == 1.0
    assert cv.by_type(recs, every, tuple(EVENT_TYPES)) == everything
    assert len(kept) == sum(1 for c in cv.candidates(rules_extractor, recs, readings, p, 0.7) if c.right)
