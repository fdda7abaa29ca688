"""Dedup with the real embedding model: same event joins, other milestones and parties do not."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from helpers import ingest as ingest_article

from pipeline.config import DedupSettings
from pipeline.dedup import Deduplicator, mention_text
from pipeline.records import Article, StoredEvent


@pytest.fixture
def env(flow):
    n = [0]

    def ingest(title: str, text: str, published: str = "2026-03-11") -> list[int]:
        n[0] += 1
        return ingest_article(flow, f"https://o{n[0]}.test/a", title, text, published).event_ids()

    return ingest, flow.store


def test_two_outlets_one_listing(env):
    ingest, store = env
    (e1,) = ingest(
        "US adds Acme Photonics to Entity List",
        "The Commerce Department on Tuesday added Acme Photonics and Borealis Semi to the Entity List.",
    )
    (e2,) = ingest(
        "Commerce blacklists two Chinese chip firms",
        "The U.S. Commerce Department placed Borealis Semi and Acme Photonics on its Entity List on "
        "Tuesday, citing military end use.",
    )
    assert e1 == e2
    assert store.queries.export_event(e1)["source_count"] == 2


def test_prospective_report_and_listing_stay_apart(env):
    ingest, _ = env
    (plan,) = ingest(
        "US set to blacklist Acme Photonics",
        "The Commerce Department is set to add Acme Photonics to the Entity List as early as this week, "
        "according to people familiar with the matter.",
        published="2026-03-09",
    )
    (done,) = ingest(
        "US adds Acme Photonics to Entity List",
        "The Commerce Department on Tuesday added Acme Photonics to the Entity List.",
    )
    assert plan != done


def test_tariff_threat_and_tariff_and_pause_are_three_events_linked_as_a_lifecycle(env):
    ingest, store = env
    (threat,) = ingest(
        "Trump threatens Mexico",
        "Trump threatened to impose a 25% tariff on all goods from Mexico "
        "unless it stops migrants at the border.",
        published="2026-03-01",
    )
    (imposed,) = ingest(
        "Tariffs on Mexico",
        "The United States imposed a 25% tariff on all goods from Mexico on Tuesday.",
        published="2026-03-11",
    )
    (pause,) = ingest(
        "Mexico tariffs paused",
        "The United States paused the 25% tariffs on goods from Mexico for one month.",
        published="2026-03-13",
    )
    assert len({threat, imposed, pause}) == 3
    related = store.queries.export_event(pause)["related"]
    assert imposed in related or threat in related


def test_same_words_other_party_does_not_merge(env):
    ingest, _ = env
    (a,) = ingest(
        "US adds Acme Photonics",
        "The Commerce Department on Tuesday added Acme Photonics to the Entity List.",
    )
    (b,) = ingest(
        "China blacklists Gamma Defense",
        "China's Ministry of Commerce on Tuesday added Gamma Defense to its unreliable entity list.",
    )
    assert a != b


def test_window_keeps_events_months_apart_separate(env):
    ingest, _ = env
    (a,) = ingest(
        "US adds Acme Photonics",
        "The Commerce Department on March 10, 2026 added Acme Photonics to the Entity List.",
    )
    (b,) = ingest(
        "US adds Acme Photonics",
        "The Commerce Department on July 14, 2026 added Acme Photonics to the Entity List.",
        published="2026-07-15",
    )
    assert a != b


def test_settings_are_used(flow, models):
    strict = Deduplicator(
        replace(DedupSettings(), similarity=1.01, strong_similarity=1.01), models, flow.store.events
    )
    assert strict.settings.similarity > 1


def test_a_report_in_the_same_story_merges_at_the_story_similarity(extractor, models, flow):
    """Two outlets on one designation, neither placed in time; the second's target came out as an
    official's title, so the reports share no party: only their shared story joins them."""
    dedup = flow.dedup

    def report(n: int, title: str, text: str) -> tuple[Any, Any]:
        art = Article(id=n, url=f"https://o{n}.test/a", title=title, outlet="o", published=None, text=text)
        (m,) = extractor.extract(art)
        return m, models.embed([mention_text(art, m)])[0]

    m1, v1 = report(
        1,
        "Treasury sanctions Korvex crypto mixer",
        "The U.S. Treasury Department's Office of Foreign Assets Control on Friday sanctioned Korvex, a "
        "virtual currency mixer it said laundered $20.5 million for North Korean hackers.",
    )
    m2, v2 = report(
        2,
        "US blacklists Korvex over North Korea laundering",
        "Korvex, a service that obscures the trail of bitcoin payments, was added to the SDN list on "
        "Friday after U.S. officials tied it to $20.5 million in stolen funds moved for North Korea.",
    )
    assert m1.type == m2.type and m1.milestone == m2.milestone and m1.actors == m2.actors
    ev = StoredEvent(
        id=7,
        type=m1.type,
        status=m1.status,
        milestone=m1.milestone,
        actors=m1.actors,
        targets=m1.targets,
        event_date=None,
        first_seen="2026-03-13T00:00:00Z",
        embedding=np.asarray(v1, dtype=np.float32).tobytes(),
    )
    other = replace(m2, targets=("Under Secretary",), event_date=None)
    s = DedupSettings()
    assert s.story_similarity <= float(v1 @ v2) < s.strong_similarity
    assert dedup.same_event(other, v2, ev) is None
    assert dedup.same_event(other, v2, ev, in_story=True) is not None
