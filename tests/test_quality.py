"""Quality gates on real data in ../shared (skipped when it is absent): the hand-labelled news in dev,
and stories on ECB+."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SHARED, needs_shared

from pipeline.config import PROJECT_ROOT, Settings
from pipeline.evaluation import evaluate
from pipeline.stories import PAIR_FEATURES, StoryModel

FLOORS = json.loads((Path(__file__).parent / "quality_floors.json").read_text())
GOLD = SHARED / "dev" / "articles.jsonl"


@pytest.fixture(scope="module")
def result():
    return evaluate(Settings(), GOLD)


@needs_shared("dev", "articles.jsonl")
def test_core_events(result):
    assert result["core"]["precision"] >= FLOORS["core_precision"], result["core"]
    assert result["core"]["recall"] >= FLOORS["core_recall"], result["core"]


@needs_shared("dev", "articles.jsonl")
def test_all_events_and_status(result):
    assert result["all_events"]["f1"] >= FLOORS["all_events_f1"], result["all_events"]
    assert result["status_accuracy"] >= FLOORS["status_accuracy"]


@needs_shared("dev", "articles.jsonl")
def test_dedup(result):
    assert result["dedup"]["f1"] >= FLOORS["dedup_f1"], {
        k: v for k, v in result["dedup"].items() if k != "missed_merges"
    }
    assert result["dedup"]["precision"] >= FLOORS["dedup_precision"]


@needs_shared("dev", "articles.jsonl")
def test_no_alert_from_background_threat_plan_or_denial(result):
    assert len(result["false_alerts"]) <= FLOORS["false_alerts"], result["false_alerts"]


@needs_shared("dev", "articles.jsonl")
def test_confidence_means_something(result):
    curve = {c["min_confidence"]: c["precision"] for c in result["confidence_curve"]}
    assert curve[0.9] >= curve[0.0]  # the most confident events are at least as precise as all of them


def _ecbplus_bench():
    spec = importlib.util.spec_from_file_location("ecbplus", PROJECT_ROOT / "bench" / "ecbplus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


@needs_shared("corpus", "dedup", "ecbplus", "docs.jsonl")
def test_stories_on_held_out_ecbplus_topics():
    """Two-fold by topic: pair weights fitted on one half of ECB+ (the shipped threshold and linkage
    level), the stories of all 982 articles streamed online, pairwise F1 on the other half's topics."""
    bench = _ecbplus_bench()
    corpus = bench.read_corpus()
    shipped = StoryModel.load()
    scores = []
    for fitted in (0, 1):
        weights, bias, _, _ = bench.fit_weights(corpus, (fitted,))
        model = replace(shipped, weights=weights, bias=bias, features=PAIR_FEATURES)
        held_out = corpus.pairs_of((1 - fitted,))
        for order in (100, 101):
            stories = bench.stream(model, corpus.ids, corpus.docs, order)
            scores.append(bench.pairwise(stories, corpus.gold, held_out))
    f1 = sum(s["f1"] for s in scores) / len(scores)
    assert f1 >= FLOORS["ecbplus_story_f1"], scores
