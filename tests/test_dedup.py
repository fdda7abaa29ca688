"""Dedup with the real embedding model: same event joins, other milestones and parties do not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.config import DedupSettings
from pipeline.dedup import Deduplicator
from pipeline.records import Article
from pipeline.store import Store


@pytest.fixture
def env(tmp_path, extractor, models):
    store = Store.open(tmp_path / "d.db")
    dedup = Deduplicator(DedupSettings(), models)
    n = [0]

    def ingest(title: str, text: str, published: str = "2026-03-11") -> list[int]:
        n[0] += 1
        aid, _ = store.add_article(url=f"https://o{n[0]}.test/a", title=title, published=published, text=text)
        art = Article(
            id=aid, url=f"https://o{n[0]}.test/a", title=title, outlet="o", published=published, text=text
        )
        decisions = dedup.decide(store, art, extractor.extract(art))
        created = iter(store.commit_article(aid, decisions, lambda _e: []))
        return [d.event_id if d.event_id is not None else next(created) for d in decisions]

    yield ingest, store
    store.close()


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
    assert store.export_event(e1)["source_count"] == 2


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
    related = store.export_event(pause)["related"]
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


def test_settings_are_used(env, models):
    strict = Deduplicator(replace(DedupSettings(), similarity=1.01, strong_similarity=1.01), models)
    assert strict.settings.similarity > 1
