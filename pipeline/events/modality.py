"""Modality of one rule firing: its status, whether it is background, and its event date.

Status comes from the strongest signal present: negation, a rule's fixed status (pause, threat,
cancellation), a modality cue from ``rules/modality.jsonl``, then tense and aspect of the governing
verb. Background: a year or a date well before the article, an antecedent clause ("after the tariffs
took effect"), the past perfect, or a background cue.
"""

from __future__ import annotations

import re
from typing import Any

from .. import dates
from ..vocab import DEFAULT_STATUS, SANCTIONS_TYPES
from . import syntax
from .rules import Rule, RuleSet

FUTURE_PREP = {"from", "starting", "effective", "beginning", "by", "after", "until"}
FUTURE_AUX = {"will", "shall", "'ll", "wo"}
POSSIBLE_AUX = {"could", "may", "might"}  # "the administration could blacklist": a possibility, not an act
PAST_TAGS = {"VBD", "VBN"}
# verbs that report another act: its tense is the reported act's ("announced that it will impose")
REPORTING = {"announce", "say", "tell", "state", "confirm", "declare", "unveil", "add"}
# a tariff that is "not" imposed, levied or raised as scheduled is held off (a pause), not a denial
IMPOSING = {"impose", "levy", "raise", "collect", "charge", "apply", "hike", "increase", "place", "slap"}
_YEAR_IN_CLAUSE = re.compile(r"\b(?:in|since|during|back in)\s+((?:19|20)\d\d)\b")
_NEGATION_DENIES = ("tariff_announcement", *SANCTIONS_TYPES)  # for factories a negation drops the mention


def event_date(doc: Any, trig: Any, published: str | None) -> tuple[str | None, bool]:
    """The date nearest the trigger, normalised against the publication date, and whether it lies ahead."""
    best = None
    for ent in doc.ents:
        if ent.label_ != "DATE":
            continue
        prev = doc[ent.start - 1].lower_ if ent.start > 0 else ""
        future = prev in FUTURE_PREP
        value = dates.normalise(ent.text, published, future=future)
        if not value:
            continue
        dist = abs(ent.root.i - trig.i)
        if best is None or dist < best[0]:
            best = (dist, value, future)
    if best is None:
        return None, False
    _, value, future = best
    if not published or len(published) < 10:
        return value, False  # "December 18" in a story dated only "2020-12" is not a future date
    gap = dates.days_between(published[:10], value)
    if gap is not None and len(value) == 10:
        return value, gap > 0
    return value, future


def status(
    rules: RuleSet,
    rule: Rule,
    trig: Any,
    lower: str,
    future_date: bool,
    sentence: str = "",
    today: bool = False,
) -> tuple[str, str]:
    """(status, the id of what decided it: a rule, a cue, "negation" or a "tense.*" reading)."""
    heads = syntax.ancestor_lemmas(trig) | {trig.lemma_.lower()}
    if rule.type in _NEGATION_DENIES:
        neg = syntax.negated_head(trig, rules.lexicon)
        if neg is not None and rule.type == "tariff_announcement" and neg.lemma_.lower() in IMPOSING:
            return "paused", "negation.imposition"  # "will not impose the tariffs slated for Sunday"
        if neg is not None:
            return "denied", "negation"
    if rule.temporary and any(p in lower for p in rule.temporary):
        return "paused", rule.id  # "cut the tariff to 30% for 90 days"
    if rule.status:
        for cue in rules.cues_of("status"):
            if (
                cue.status == "denied"
                and rule.status != "denied"
                and rule.type in cue.types
                and rules.cue_matches(cue, lower, heads)
            ):
                return "denied", cue.id
        return rule.status, rule.id
    for cue in rules.cues_of("status"):
        if cue.types and rule.type not in cue.types:
            continue
        if rules.cue_matches(cue, sentence if cue.scope == "sentence" and sentence else lower, heads):
            return cue.status or "", cue.id
    return _tense(rule, trig, future_date, today)


def _tense(rule: Rule, trig: Any, future_date: bool, today: bool) -> tuple[str, str]:
    verb = syntax.governing_verb(trig)
    if verb.lemma_.lower() in REPORTING:
        reported = [c for c in verb.children if c.dep_ in ("ccomp", "xcomp") and c.pos_ in ("VERB", "AUX")]
        if reported and any(a.dep_ in ("aux", "auxpass") for a in reported[0].children):
            verb = reported[0]  # "announced Monday that the United States will impose a duty"
    auxes = {c.lower_ for c in verb.children if c.dep_ in ("aux", "auxpass")}
    for anc in (verb.head,) if verb.dep_ in ("xcomp", "ccomp") else ():
        auxes |= {c.lower_ for c in anc.children if c.dep_ in ("aux", "auxpass")}
    factory = rule.type == "factory_opening"
    if auxes & POSSIBLE_AUX:
        return "planned", "tense.possible"  # "could build a plant", "may impose tariffs"
    if rule.milestone in ("construction", "announcement"):
        return "announced", "tense"
    if "to" in auxes and verb.tag_ in ("VB", "VBN"):
        return "announced", "tense.infinitive"  # "expected to be energized", "to take effect"
    if factory and verb.tag_ == "VBG" and auxes & {"is", "are", "am", "'s", "'re"}:
        return "announced", "tense.progressive"  # "the plant is opening"
    if today and not factory and auxes & FUTURE_AUX:
        return "done", "tense.today"  # "will impose ... from Sunday" in Sunday's paper: in force
    if auxes & FUTURE_AUX or future_date:
        return "announced", "tense.future"
    if auxes & {"would"} and not factory:
        return "announced", "tense.would"
    if verb.tag_ in PAST_TAGS or auxes & {"has", "have", "had", "was", "were", "been"}:
        return "done", "tense.past"
    return DEFAULT_STATUS.get(rule.milestone, "announced"), ""


def background(
    rules: RuleSet, lower: str, trig: Any, event_date: str | None, published: str | None, background_days: int
) -> bool:
    """Whether the firing tells of an earlier event as context rather than reporting news."""
    if published and len(published) >= 4 and published[:4].isdigit():
        # "..., which was placed on the Entity List in 2019, ...": a year before the article's is history
        years = [int(y) for y in _YEAR_IN_CLAUSE.findall(lower)]
        if years and max(years) < int(published[:4]):
            return True
    if event_date and published:
        gap = dates.days_between(event_date, published)
        if gap is not None:
            slack = 31 if len(event_date) == 7 else (365 if len(event_date) == 4 else 0)
            if gap - slack > background_days:
                return True
    if syntax.in_antecedent_clause(trig, rules.lexicon):
        return True  # "... came just after the tariffs took effect": the cause, not the news
    if syntax.past_perfect_above(trig):
        return True  # past perfect: told as history
    return any(rules.cue_matches(cue, lower) for cue in rules.cues_of("background"))
