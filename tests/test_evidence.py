"""Every stored evidence span slices the stored text exactly: an analyst who follows the offsets finds
the very words the log quotes."""

from __future__ import annotations

import json

from conftest import SHARED, demo_config, needs_shared

from pipeline.config import load_settings
from pipeline.flow import Pipeline
from pipeline.store import Store


def _bad_spans(store: Store) -> tuple[int, list[str]]:
    checked, bad = 0, []
    for row in store.db.query(
        "select s.evidence, a.text, a.title, a.id from sources s join articles a on a.id = s.article_id"
    ):
        for ev in json.loads(row["evidence"]):
            field = ev.get("field", "text")
            source = row["title"] if field == "title" else row["text"]
            checked += 1
            if source[ev["start"] : ev["end"]] != ev["sentence"]:
                bad.append(f"article {row['id']} {field}[{ev['start']}:{ev['end']}]: {ev['sentence'][:80]!r}")
    return checked, bad


def test_evidence_offsets_slice_the_stored_text_on_the_demo_site(tmp_path, demo_site):
    settings = load_settings(demo_config(tmp_path, demo_site))
    with Pipeline(settings, env={}) as p:
        p.run_once()
        checked, bad = _bad_spans(p.store)
    assert checked >= 5 and not bad, bad


def test_furniture_inside_a_sentence_is_quoted_as_stored(flow):
    """Markup and links inside an event sentence are blanked for the parser, not for the quote."""
    text = (
        "WASHINGTON (Wire) - The Commerce Department on Tuesday added <b>Acme Photonics</b> and "
        "[Borealis Semi](https://borealis.example/about) to the Entity List, citing https://fr.example/x "
        "military end use.\nShares of both fell."
    )
    flow.add_articles(
        [("t:1", {"url": "https://one.test/a", "title": "Two firms blacklisted", "text": text})]
    )
    flow.process_backlog(flow_report())
    checked, bad = _bad_spans(flow.store)
    assert checked >= 1 and not bad, bad


@needs_shared("train", "articles.jsonl")
def test_evidence_offsets_slice_the_stored_text_on_real_news(flow):
    """Real excerpts carry furniture inside sentences (links, markup, escaped newlines)."""
    records = [json.loads(line) for line in (SHARED / "train" / "articles.jsonl").read_text().splitlines()]
    flow.add_articles((r["id"], r) for r in records)
    flow.process_backlog(flow_report())
    checked, bad = _bad_spans(flow.store)
    assert checked >= 100 and not bad, bad[:10]


def flow_report():
    from pipeline.flow import CycleReport

    return CycleReport()
