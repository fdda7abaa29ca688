"""Quality gate on the hand-labelled real news in ../shared/dev (skipped when it is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHARED, needs_shared

from pipeline.config import Settings
from pipeline.evaluation import evaluate

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
