"""Triage that teaches the model: ``annotate`` on a real log, ``export-gold`` in the corpus schema,
and a retrained model that does otherwise on the article an analyst corrected."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED, demo_config, needs_shared, run_cli

from pipeline.training import data


def _events(config) -> dict[int, dict]:
    res = run_cli("events", "--config", str(config), "--format", "jsonl", timeout=60)
    assert res.returncode == 0, res.stderr
    return {e["id"]: e for e in map(json.loads, res.stdout.splitlines())}


def _annotate(config, *args, ok=True):
    res = run_cli("annotate", *map(str, args), "--config", str(config), timeout=60)
    assert (res.returncode == 0) == ok, res.stdout + res.stderr
    return res


@pytest.fixture
def demo_log(tmp_path, demo_site, slack):
    config = demo_config(tmp_path, demo_site, slack)
    assert run_cli("once", "--config", str(config), "--drain", "0").returncode == 0
    return config


def test_verdicts_become_labelled_articles_in_the_corpus_schema(demo_log, tmp_path):
    config = demo_log
    events = _events(config)
    by_type = {}
    for e in events.values():
        by_type.setdefault(e["type"], []).append(e)
    listing = by_type["sanctions_listing"][0]
    threat, other_tariff = sorted(by_type["tariff_announcement"], key=lambda e: e["id"])[:2]
    factory_a, factory_b = sorted(by_type["factory_opening"], key=lambda e: e["id"])[:2]

    _annotate(config, listing["id"], "--confirmed", "--by", "alice")
    _annotate(config, threat["id"], "--false", "not_event", "--by", "bob", "--note", "a teaser line")
    _annotate(config, factory_a["id"], "--status", "planned", "--by", "carol")  # corrected
    _annotate(config, factory_b["id"], "--false", "background")
    _annotate(config, other_tariff["id"], "--duplicate-of", listing["id"], ok=False)  # another type
    # a second word on an event replaces the first in what is exported, and both are kept
    _annotate(
        config,
        listing["id"],
        "--actor",
        "U.S. Department of Commerce (BIS)",
        "--target",
        "Longmen ASIC Technologies",
    )
    history = run_cli("annotations", str(listing["id"]), "--config", str(config)).stdout.splitlines()
    assert [json.loads(x)["verdict"] for x in history] == ["confirmed", "corrected"]

    out = tmp_path / "team-gold.jsonl"
    res = run_cli("export-gold", str(out), "--config", str(config), timeout=60)
    assert res.returncode == 0, res.stderr
    recs = data.load([out])  # what run.py train reads
    gold = {g["log_event_id"]: (r, g) for r in recs for g in r["gold"]["events"]}
    assert threat["id"] not in gold  # not an event: left out of its article
    assert gold[factory_a["id"]][1]["status"] == "planned" and gold[factory_a["id"]][1]["core"] is False
    assert gold[factory_b["id"]][1]["background"] is True
    _rec, g = gold[listing["id"]]
    assert g["targets"] == ["Longmen ASIC Technologies"] and g["annotation"]["by"] != "alice"
    # evidence sentences are the article's own, and one row is one cluster across its articles
    for r, g in gold.values():
        assert g["evidence"] and all(s in r["text"] or s == r["title"] for s in g["evidence"])
        assert g["type"] and g["status"] and "cluster" in g
    listing_articles = [
        r for r in recs if any(g["log_event_id"] == listing["id"] for g in r["gold"]["events"])
    ]
    assert len(listing_articles) == len(listing["sources"])
    assert len(set(data.groups(listing_articles))) == 1


def test_bad_annotations_are_one_line(demo_log):
    config = demo_log
    some = next(iter(_events(config)))
    for args, says in [
        ((99999, "--confirmed"), "no event 99999"),
        (
            (some, "--confirmed", "--false", "not_event"),
            "one of --confirmed, --false or --duplicate-of at a time",
        ),
        ((some,), "say what the event is"),
        ((some, "--duplicate-of", some), "a duplicate names the other event"),
        ((some, "--confirmed", "--status", "done"), "a confirmed event takes no corrections"),
        ((some, "--false", "maybe"), "Invalid value for '--false'"),
    ]:
        res = _annotate(config, *args, ok=False)
        assert says in res.stderr and "Traceback" not in res.stderr, res.stderr


@needs_shared("train", "articles.jsonl")
def test_one_corrected_article_changes_what_the_retrained_model_does_on_it(tmp_path):
    """An article of ../shared/train through the product; its event marked false and exported; the
    decisions retrained on the rest of train plus that article: the event loses its confidence, where
    the same training with the event confirmed keeps it."""
    from pipeline.config import NlpSettings
    from pipeline.events import Extractor
    from pipeline.events.decisions import Decisions
    from pipeline.training import cv
    from pipeline.training.fit import Params

    recs = data.load([SHARED / "train" / "articles.jsonl"])
    shipped = Extractor(NlpSettings())
    pick = None
    for i, r in enumerate(recs):  # the first article the product reads one core event from
        found = [m for m in shipped.extract(data.article(r)) if not m.background]
        if len(found) == 1 and found[0].type == "sanctions_listing" and len(r["gold"]["events"]) == 1:
            pick = i
            break
    assert pick is not None
    art = recs[pick]
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps({k: art[k] for k in ("url", "title", "published", "text")}) + "\n")

    def exported(verdict_args, name):
        config = tmp_path / f"{name}.toml"
        config.write_text(f'[storage]\ndb = "{tmp_path / (name + ".db")}"\n')
        assert run_cli("process", str(src), "--no-alerts", "--config", str(config)).returncode == 0
        (event_id,) = _events(config)
        _annotate(config, event_id, *verdict_args)
        out = tmp_path / f"{name}.jsonl"
        assert run_cli("export-gold", str(out), "--config", str(config)).returncode == 0
        return data.load([out])

    confirmed, marked_false = (
        exported(("--confirmed",), "kept"),
        exported(("--false", "not_event"), "dropped"),
    )
    assert len(confirmed[0]["gold"]["events"]) == 1 and marked_false[0]["gold"]["events"] == []

    rules = Extractor(NlpSettings(), decisions=None)
    rest = [r for i, r in enumerate(recs) if i != pick]
    rest_readings = rules.read_many([data.article(r) for r in rest])
    (mine,) = rules.read_many([data.article(art)])

    def confidence(team):
        model, _ = cv.fit_model(rules, [*rest, *team], [*rest_readings, mine], Params(seed=7))
        found = rules.events(mine, Decisions(model))
        return max(
            (m.confidence for m in found if m.type == "sanctions_listing" and not m.background), default=0.0
        )

    kept, dropped = confidence(confirmed), confidence(marked_false)
    assert kept > 0.5, kept  # confirmed, the listing stays
    assert dropped < kept, (kept, dropped)  # marked false, the retrained model trusts it less
    print(f"confidence on the corrected article: confirmed {kept:.3f}, marked false {dropped:.3f}")
