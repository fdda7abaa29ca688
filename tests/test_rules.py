"""Rules are data: every rule's example sentences run through the real extractor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import NlpSettings
from pipeline.records import Article

RULES = Path(NlpSettings().rules_dir)


def _jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (RULES / name).read_text().splitlines() if line.strip()]


EVENT_RULES = _jsonl("events.jsonl")
CUES = _jsonl("modality.jsonl")
ENTITIES = _jsonl("entities.jsonl")


def _article(sentence: str) -> Article:
    return Article(
        id=None,
        url="http://example.test/a",
        title="",
        outlet="example.test",
        published="2026-05-14",
        text=sentence,
    )


def test_rule_ids_are_unique_and_versioned():
    ids = [r["id"] for r in EVENT_RULES] + [c["id"] for c in CUES] + [e["id"] for e in ENTITIES]
    assert len(ids) == len(set(ids))
    for r in EVENT_RULES + CUES:
        assert r["id"].rsplit(".", 1)[-1].startswith("v"), r["id"]
        assert r["examples"]["positive"] and r["examples"]["negative"], r["id"]


@pytest.mark.parametrize("rule", EVENT_RULES, ids=[r["id"] for r in EVENT_RULES])
def test_event_rule_examples(rule, rules_extractor):
    extractor = rules_extractor
    for sentence, status in rule["examples"]["positive"]:
        events = [m for m in extractor.extract(_article(sentence)) if m.type == rule["type"]]
        assert events, f"{rule['id']}: no {rule['type']} in {sentence!r}"
        assert events[0].status == status, f"{rule['id']}: {sentence!r} -> {events[0].status}, want {status}"
        assert not events[0].background, sentence
    for sentence in rule["examples"]["negative"]:
        fired = [
            m for m in extractor.extract(_article(sentence)) if rule["id"] in m.rule_ids and not m.background
        ]
        assert not fired, f"{rule['id']}: fired on {sentence!r}: {fired}"


@pytest.mark.parametrize("cue", CUES, ids=[c["id"] for c in CUES])
def test_modality_cue_examples(cue, rules_extractor):
    extractor = rules_extractor
    for sentence in cue["examples"]["positive"]:
        events = extractor.extract(_article(sentence))
        if cue["effect"] == "drop":  # a request is not an act
            assert events == (), sentence
        elif cue["effect"] == "background":  # background never becomes news
            assert all(e.background for e in events), sentence
        else:
            assert events, f"{cue['id']}: no event in {sentence!r}"
            assert events[0].status == cue["status"], f"{cue['id']}: {sentence!r} -> {events[0].status}"
    for sentence in cue["examples"]["negative"]:
        events = extractor.extract(_article(sentence))
        if cue["effect"] in ("background", "drop"):
            assert events and not any(e.background for e in events), sentence
        else:
            assert all(e.status != cue["status"] for e in events), sentence


def test_gazetteer_aliases_resolve_to_one_canonical_entity(models):
    gaz = models.gazetteer
    assert gaz.canonical("Commerce Department") == "U.S. Department of Commerce (BIS)"
    assert gaz.canonical("OFAC") == "U.S. Department of the Treasury (OFAC)"
    assert gaz.canonical("MOFCOM") == "China Ministry of Commerce"
    for e in ENTITIES:
        for alias in e["aliases"]:
            resolved = gaz.resolve(alias)
            assert resolved is not None, alias


def test_gazetteer_fixes_what_the_small_model_gets_wrong(models):
    doc = models.nlp("Sophgo and Canaan were hit, and Trump said Bitcoin miners would pay.")
    labels = {e.text: (e.label_, e.ent_id_) for e in doc.ents}
    assert labels["Sophgo"][0] == "COMPANY" and labels["Canaan"][0] == "COMPANY"
    assert labels["Trump"] == ("GOV", "auth.us.president")


def test_word_lists_are_data_a_user_extends_without_code(tmp_path, models):
    import shutil
    from dataclasses import replace

    from pipeline.events import Extractor

    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    sentence = "OFAC sanctioned the Harbor Ledger exchange on Tuesday."
    base = Extractor(replace(NlpSettings(), rules_dir=str(rules)), models, decisions=None).extract(
        _article(sentence)
    )
    assert any("Harbor Ledger" in t for e in base for t in e.targets)
    lex = json.loads((rules / "lexicon.json").read_text())
    lex["news_agencies"].append("harbor ledger")  # say it is a news outlet, not a party
    (rules / "lexicon.json").write_text(json.dumps(lex))
    after = Extractor(replace(NlpSettings(), rules_dir=str(rules)), models, decisions=None).extract(
        _article(sentence)
    )
    assert not any("Harbor Ledger" in t for e in after for t in e.targets)


@pytest.mark.parametrize(
    "field,value,says",
    [
        ("type", "sanctions_lifting", "unknown type 'sanctions_lifting'"),
        ("milestone", "groundbreaking", "unknown milestone 'groundbreaking'"),
        ("roles", "tariff.v9", "unknown role function 'tariff.v9'"),
        ("status", "rumoured", "unknown status 'rumoured'"),
    ],
)
def test_a_rule_naming_an_unknown_type_milestone_or_role_is_refused_with_its_id(tmp_path, field, value, says):
    import shutil

    from pipeline.errors import RulesError
    from pipeline.events import RuleSet

    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    rows = _jsonl("events.jsonl")
    rows[3][field] = value
    (rules / "events.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(RulesError) as err:
        RuleSet.load(rules)
    assert rows[3]["id"] in str(err.value) and says in str(err.value)


def test_authority_links_are_data(tmp_path, models):
    """Which authority keeps a list is read from rules/entities.jsonl, not from code."""
    import shutil
    from dataclasses import replace

    from pipeline.events import Extractor
    from pipeline.nlp import Models

    sentence = "Acme Photonics and Borealis Semi were added to the SDN list on Tuesday."
    base = Extractor(NlpSettings(), models, decisions=None).extract(_article(sentence))
    assert base and base[0].actors == ("U.S. Department of the Treasury (OFAC)",)
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    rows = _jsonl("entities.jsonl")
    for r in rows:
        if r["id"] == "list.sdn":
            r["authority"] = "auth.us.state"
    (rules / "entities.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    settings = replace(NlpSettings(), rules_dir=str(rules))
    moved = Extractor(
        settings, Models.get(settings.spacy_model, settings.rules_dir, settings.numpy_ops), decisions=None
    ).extract(_article(sentence))
    assert moved and moved[0].actors == ("U.S. Department of State",)


@pytest.mark.parametrize(
    "text, type_, actors",
    [
        # a demonym in the acting subject names the acting government
        (
            "Turkish President Ahmet Demir raised tariffs on American rice and cars on Monday.",
            "tariff_announcement",
            [("Turkey",)],
        ),
        # the subject's bodies act, whatever else the sentence names
        (
            "Three shipping firms were sanctioned by the United States and the United Kingdom on Monday, "
            "the Treasury Department said.",
            "sanctions_listing",
            [("U.S. Department of the Treasury (OFAC)",), ("United Kingdom (FCDO)",)],
        ),
        # in "Apple supplier Foxconn" the rightmost name is the company meant
        (
            "Apple supplier Foxconn has started production at its new plant in Chennai.",
            "factory_opening",
            [("Foxconn",)],
        ),
    ],
)
def test_role_functions_find_the_acting_party(text, type_, actors, rules_extractor):
    events = [m for m in rules_extractor.extract(_article(text)) if m.type == type_]
    assert sorted(e.actors for e in events) == sorted(actors), events


@pytest.mark.parametrize(
    "text, targets",
    [
        # the name at the end of a long title after "said" speaks for the acting body; it is not listed
        (
            "The Treasury sanctioned the virtual currency mixer Quillwheel on Monday, said Under Secretary of "
            "the Treasury for Terrorism and Financial Intelligence Jane Q. Doe.",
            ("Quillwheel",),
        ),
        (
            "Orvald Shipping was added to the SDN list on Friday, Deputy Secretary of the Treasury for "
            "Finance John Roe said.",
            ("Orvald Shipping",),
        ),
        # what the speaker says was done keeps its parties
        (
            "The Treasury said on Monday that it had sanctioned Orvald Shipping, Minister Jane Q. Doe said.",
            ("Orvald Shipping",),
        ),
    ],
)
def test_speakers_and_their_titles_are_not_listed_parties(text, targets, rules_extractor):
    events = [m for m in rules_extractor.extract(_article(text)) if m.type == "sanctions_listing"]
    assert events and sorted(events[0].targets) == sorted(targets), events


@pytest.mark.parametrize(
    "text, site",
    [
        # "the plant" alone tells an analyst nothing: the company's plant, at its place
        ("Tesla began production at the new plant in Texas on Monday.", "Tesla plant in Texas"),
        ("Tesla opened the plant on Monday.", "Tesla plant"),
        ("The plant in Ohio started production on Monday.", "plant in Ohio"),
        # a place the site is away from is not its place
        ("Tesla started production at the plant, its first outside Germany, on Monday.", "Tesla plant"),
        # "its ..." is the company's
        ("Tesla opened its second battery factory in Nevada on Monday.", "Tesla's second battery factory"),
    ],
)
def test_a_bare_site_is_named_after_its_company_and_place(text, site, rules_extractor):
    events = [m for m in rules_extractor.extract(_article(text)) if m.type == "factory_opening"]
    assert events and events[0].targets[0] == site, events


def test_a_site_that_names_no_company_is_the_company_the_article_names(rules_extractor):
    text = (
        "Tesla reported record deliveries from its factory in Shanghai on Monday. "
        "Its first plant in Hungary is under construction, the company said."
    )
    events = [m for m in rules_extractor.extract(_article(text)) if m.type == "factory_opening"]
    assert [e.actors for e in events] == [("Tesla",)], events
    alone = [m for m in rules_extractor.extract(_article("A new plant in Hungary is under construction."))]
    assert [e.actors for e in alone] == [()], alone  # nothing to take it from: no company is made up
