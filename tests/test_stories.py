"""Stories: online grouping of the articles that cover one happening, with the shipped pair model."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest
from helpers import ingest

from pipeline.config import PROJECT_ROOT, Settings, StorageSettings
from pipeline.flow import Pipeline
from pipeline.stories import PAIR_FEATURES, StoryClusterer, StoryDoc, StoryModel, pair_features

# Two confusable happenings: the same company opens a plant twice, in other places and other years.
OHIO = [
    (
        "Korvath Energy opens battery plant in Lordstown",
        "Korvath Energy opened its battery cell plant in Lordstown, Ohio, on Tuesday, with 1,200 jobs "
        "and an annual capacity of 30 gigawatt-hours.\nGovernor Mike DeWine cut the ribbon alongside "
        "chief executive Lena Marsh, who said the $2.3 billion site would supply pickup trucks built "
        "in Michigan.\nProduction starts in the second quarter of 2025.",
    ),
    (
        "Korvath starts up $2.3 billion Ohio cell factory",
        "Battery maker Korvath Energy on Tuesday opened a $2.3 billion cell factory in Lordstown, Ohio, "
        "that will employ 1,200 people.\nChief executive Lena Marsh said the plant's 30 gigawatt-hours "
        "a year would go to pickup trucks assembled in Michigan. Ohio Governor Mike DeWine attended.",
    ),
    (
        "Lordstown welcomes Korvath battery jobs",
        "Lordstown celebrated on Tuesday as Korvath Energy opened its battery plant, bringing 1,200 jobs "
        "to the Ohio village.\nThe 30 gigawatt-hour factory cost $2.3 billion, Lena Marsh, Korvath's "
        "chief executive, told reporters. Mike DeWine, the governor, spoke at the opening.",
    ),
]
POLAND = [
    (
        "Korvath Energy opens battery plant in Wroclaw",
        "Korvath Energy opened a battery cell plant near Wroclaw, Poland, on Thursday, its first in "
        "Europe, with 800 jobs and 12 gigawatt-hours of annual capacity.\nPolish Deputy Prime Minister "
        "Krzysztof Gawkowski attended; the site cost 1.4 billion euros and will supply Volkswagen.\n"
        "The company said output would reach full speed in 2028.",
    ),
    (
        "Korvath's first European cell factory opens in Poland",
        "Battery maker Korvath Energy on Thursday opened its 1.4 billion euro cell factory outside "
        "Wroclaw, Poland, employing 800 people.\nThe 12 gigawatt-hour plant will sell to Volkswagen, "
        "and Krzysztof Gawkowski, Poland's deputy prime minister, called it a milestone.",
    ),
]


# One listing told four ways: the second report shares few words with the first; the third and the
# fourth, fuller, share most of their words with both.
LISTING = [
    (
        "Treasury blacklists Varnholt shipping network",
        "The US Treasury on Tuesday added the Varnholt shipping network to its sanctions list, accusing "
        "the Limassol-based firm of moving Iranian crude through a fleet of eleven tankers.",
    ),
    (
        "OFAC names tanker operator in oil smuggling case",
        "Washington's Office of Foreign Assets Control named a Limassol ship manager and its eleven "
        "tankers a specially designated national, freezing its assets over sanctioned Iranian petroleum.",
    ),
    (
        "US sanctions Varnholt, Cyprus tanker operator, over Iranian oil",
        "The US Treasury on Tuesday added the Varnholt shipping network to its sanctions list. Its Office "
        "of Foreign Assets Control named Varnholt Maritime, a Limassol-based company, a specially "
        "designated national and froze its assets, saying its eleven tankers carried sanctioned Iranian "
        "crude and petroleum.",
    ),
    (
        "Cyprus shipper Varnholt hit by US sanctions",
        "Varnholt, a Limassol-based shipping network, was added to the US sanctions list on Tuesday: the "
        "Treasury's Office of Foreign Assets Control named it a specially designated national, froze its "
        "assets and said its eleven tankers moved sanctioned Iranian crude and petroleum.",
    ),
]


def _doc(title: str, text: str) -> StoryDoc:
    return StoryDoc.of(title, text)


def test_shipped_model_reads_only_features_that_exist():
    data = json.loads((PROJECT_ROOT / "models" / "story_pair_v2.json").read_text())
    model = StoryModel.load()
    assert model.name == data["name"] == "story_pair_v2"
    names = set(pair_features(_doc(*OHIO[0]), _doc(*OHIO[1])))
    assert names == set(PAIR_FEATURES) and set(model.features) <= names
    assert len(model.weights) == len(model.features)
    assert 0.0 < model.threshold < 1.0
    assert model.link is not None and 0.0 < model.link < 1.0


def test_regrouping_brings_in_a_report_the_first_guess_left_out():
    """The second report alone is too unlike the first to join it; the fuller ones that follow link
    both, and the regrouping moves the second into the story, reporting the move for the store."""
    model = StoryModel.load()
    docs = [_doc(*x) for x in LISTING]
    assert model.probability(docs[1], docs[0]) < model.threshold  # (the premise)
    c = StoryClusterer(model)
    placed = [c.place(k, d) for k, d in enumerate(docs)]
    assert placed[1].story == 1  # on arrival: a story of its own
    assert [p.story for p in placed[2:]] == [0, 0]
    moves = [m for p in placed for m in p.moved.items()]
    assert moves == [(1, 0)]  # reported once, for the store
    assert c.members == {0: [0, 1, 2, 3]}
    # the greedy rule alone (a v1 model, no linkage level) leaves the second report apart
    greedy = StoryClusterer(replace(model, link=None))
    assert [greedy.assign(k, d) for k, d in enumerate(docs)] == [0, 1, 0, 0]


def test_regrouping_undoes_a_wrong_join():
    """With a joining threshold far too low, the greedy rule puts the Polish opening in the Ohio story;
    the regrouping takes it out again, and the article split off names its own story."""
    loose = replace(StoryModel.load(), threshold=0.02)
    greedy = StoryClusterer(replace(loose, link=None))
    assert greedy.assign(0, _doc(*OHIO[0])) == greedy.assign(1, _doc(*POLAND[0])) == 0
    c = StoryClusterer(loose)
    assert c.assign(0, _doc(*OHIO[0])) == 0
    assert c.assign(1, _doc(*POLAND[0])) == 1
    assert c.assign(2, _doc(*OHIO[1])) == 0
    assert c.assign(3, _doc(*POLAND[1])) == 1


def test_coverage_of_one_opening_groups_and_the_other_opening_stays_apart():
    c = StoryClusterer(StoryModel.load(), window_days=3)
    articles = [("ohio", i, t, x) for i, (t, x) in enumerate(OHIO)] + [
        ("poland", i, t, x) for i, (t, x) in enumerate(POLAND)
    ]
    # interleave arrivals: Poland arrives between Ohio reports
    order = [articles[0], articles[3], articles[1], articles[4], articles[2]]
    story = {(g, i): c.assign(k, _doc(t, x)) for k, (g, i, t, x) in enumerate(order)}
    assert story["ohio", 0] == story["ohio", 1] == story["ohio", 2]
    assert story["poland", 0] == story["poland", 1]
    assert story["ohio", 0] != story["poland", 0]
    assert story["ohio", 0] == 0  # a story's id is the key of its first article


def test_same_text_outside_the_window_is_another_story():
    c = StoryClusterer(StoryModel.load(), window_days=3)
    first = c.assign(1, _doc(*OHIO[0]), "2026-03-10")
    assert c.assign(2, _doc(*OHIO[1]), "2026-03-11") == first
    assert c.assign(2, _doc(*OHIO[1]), "2026-03-11") == first  # idempotent for a key already seen
    assert c.assign(3, _doc(*OHIO[2]), "2026-03-20") != first  # nine days later: never compared


def test_old_articles_are_forgotten():
    c = StoryClusterer(StoryModel.load(), window_days=3)
    c.assign(1, _doc(*OHIO[0]), "2026-03-01")
    c.assign(2, _doc(*POLAND[0]), "2026-03-02")
    assert len(c) == 2
    c.assign(3, _doc(*POLAND[1]), "2026-03-12")  # more than twice the window after the first two
    assert len(c) == 1
    assert all(k in c.articles for k in c.postings.get("korvath", set()))
    capped = StoryClusterer(StoryModel.load(), max_articles=2)
    for k, (t, x) in enumerate(OHIO):
        capped.assign(k, _doc(t, x))
    assert sorted(capped.articles) == [1, 2]  # the oldest is forgotten first
    assert sum(len(m) for m in capped.members.values()) == 2
    assert set(capped.df) == set().union(*(a.doc.vocabulary() for a in capped.articles.values()))
    # pair probabilities with a forgotten article are forgotten with it
    assert all(set(a.pairs) <= set(capped.articles) for a in capped.articles.values())
    assert any(a.pairs for a in capped.articles.values())


def test_stories_are_stored_and_survive_a_restart(tmp_path, models):
    settings = Settings(storage=StorageSettings(db=str(tmp_path / "s.db")))
    path = tmp_path / "s.db"

    def process(p: Pipeline, n: int, title: str, text: str) -> int:
        return ingest(p, f"https://outlet{n}.test/a", title, text, "2026-03-10", mentions=()).article

    with Pipeline(settings, env={}) as p:
        first = process(p, 1, *OHIO[0])
        other = process(p, 2, *POLAND[0])
    # a new process: the clusterer is restored from the file, and the follow-up joins the first story
    with Pipeline(settings, env={}) as p:
        follow = process(p, 3, *OHIO[1])
    con = sqlite3.connect(path)
    rows = dict(con.execute("select id, story_id from articles").fetchall())
    con.close()
    assert rows[first] == first
    assert rows[follow] == first
    assert rows[other] == other
    # a regrouping moves an earlier article; the move is stored with the article that caused it
    with Pipeline(settings, env={}) as p:
        ids = [process(p, 10 + n, *x) for n, x in enumerate(LISTING)]
        assert [r["id"] for r in p.store.queries.story(ids[0])] == ids


def _earnings(i: int) -> tuple[str, str]:
    company = ["Quillon", "Varda", "Ostrel", "Bexley", "Morrow", "Tansy", "Halvard", "Crestine"][i % 8]
    return (
        f"{company} Corp quarterly net",
        f"Qtr shr {10 + i} cts vs {20 + 2 * i} cts\nQtr net {1.5 + i} mln dlrs vs {3.5 + i} mln dlrs\n"
        f"Revs {40 + 3 * i} mln dlrs vs {45 + 3 * i} mln dlrs\nNOTE: {company} Corp is based in Delaware.",
    )


def test_a_feeds_boilerplate_does_not_join_unrelated_articles():
    """Templated items (earnings tables) share words rare in English but common in the stream; once
    enough articles are remembered those words stop counting, and each company is its own story."""
    model = StoryModel.load()
    plain = StoryClusterer(model, common_after=10**9)
    filtered = StoryClusterer(model, common_after=6, common_share=0.3)
    stories_plain, stories_filtered = set(), set()
    for i in range(16):
        stories_plain.add(plain.assign(i, _doc(*_earnings(i))))
        stories_filtered.add(filtered.assign(i, _doc(*_earnings(i))))
    assert len(stories_plain) < 8  # without the filter, the template groups different companies
    assert len(stories_filtered) >= 8  # with it, at least one story per company
    probe = filtered.without_common(_doc(*_earnings(3)))
    assert "mln" not in probe.text and "dlrs" not in probe.text and "bexley" in probe.text


def test_a_model_file_that_does_not_match_the_features_is_refused(tmp_path):
    data = json.loads((PROJECT_ROOT / "models" / "story_pair_v2.json").read_text())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data | {"features": [*data["features"][:-1], "colour_cosine"]}))
    with pytest.raises(ValueError, match="colour_cosine"):
        StoryModel.load(bad)


def test_a_date_that_is_not_a_day_counts_as_undated():
    c = StoryClusterer(StoryModel.load(), window_days=3)
    first = c.assign(1, _doc(*OHIO[0]), "2026-13-45")  # no such day: compared with everything
    assert c.assign(2, _doc(*OHIO[1]), "2026-03") == first  # a month only: the same
    assert c.assign(3, _doc(*OHIO[2]), "2026-03-11T09:00:00Z") == first
    assert c.articles[1].day is None and c.articles[3].day == "2026-03-11"


def test_the_clusterers_knobs_come_from_the_model_file_and_an_old_file_still_loads(tmp_path):
    shipped = json.loads((PROJECT_ROOT / "models" / "story_pair_v2.json").read_text())
    assert StoryClusterer(StoryModel.load()).max_hood == shipped["clusterer"]["max_hood"]
    tuned = dict(shipped, clusterer=dict(shipped["clusterer"], max_hood=7, hood_floor=0.3))
    (tmp_path / "tuned.json").write_text(json.dumps(tuned))
    c = StoryClusterer(StoryModel.load(tmp_path / "tuned.json"))
    assert (c.max_hood, c.hood_floor) == (7, 0.3)
    old = {k: v for k, v in shipped.items() if k != "clusterer"}  # a file written before the knobs moved
    (tmp_path / "old.json").write_text(json.dumps(old))
    c = StoryClusterer(StoryModel.load(tmp_path / "old.json"))
    assert (c.max_members, c.max_hood, c.max_articles) == (10, 80, 5000)
    bad = dict(shipped, clusterer={"max_hod": 3})
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="max_hod"):
        StoryModel.load(tmp_path / "bad.json")
