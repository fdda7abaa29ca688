"""The features the trained decisions read off a ``Reading``: named, sparse, and about language, never
about particular parties.

What the rules saw (a rule fires, which rule's trigger and context are present, which filter would
have dropped it, the modality reading's status and cue, its background reasons), the parse (an
explicit actor, parties, a site, a date and where it lies from the publication date), position
(headline, lead, a continuation sentence), and the sentence's words: lemmas of common words, never
names, numbers or entity tokens, so that nothing learnt names a party. Each feature also exists
prefixed with the reading's type, so that the types share what they have in common and keep what
they do not.
"""

from __future__ import annotations

import re
from typing import Any

from .. import dates
from .readings import Reading

_KEEP_POS = {"NOUN", "VERB", "ADJ", "ADV", "AUX", "PART", "ADP", "SCONJ", "DET"}
_QUOTES = re.compile(r"[\"“”]")
FEATURE_SET = "readings.v2+events.v2"


def _bucket(n: int, edges: tuple[int, ...]) -> str:
    for e in edges:
        if n <= e:
            return str(e)
    return f">{edges[-1]}"


def _date_feature(event_date: str | None, published: str | None, future: bool) -> str:
    if not event_date:
        return "none"
    if future:
        return "future"
    gap = dates.days_between(event_date, published) if published else None
    if gap is None:
        return "undated_article"
    if gap < 0:
        return "after"
    if gap == 0:
        return "same_day"
    return "week" if gap <= 7 else ("year" if gap <= 365 else "older")


def words(doc: Any) -> set[str]:
    """Lemmas of the sentence's common words (no names, numbers or entity tokens)."""
    ents = {t.i for e in doc.ents for t in e}
    return {
        t.lemma_.lower()
        for t in doc
        if (t.pos_ in _KEEP_POS and t.i not in ents and t.is_alpha and not t.is_stop)
        or t.lemma_.lower() in _MODALS
    }


_MODALS = {"will", "would", "could", "may", "might", "should", "must", "not", "no", "if", "unless", "to"}


def features(r: Reading, doc: Any, published: str | None) -> dict[str, float]:
    """Named features of one reading; ``doc`` is its sentence's parse."""
    m = r.mention
    f: dict[str, float] = {"bias": 1.0}
    if r.fires:
        f["fires"] = 1.0
    f.update(r.checks)
    f[f"rule:{r.rule.milestone}"] = 1.0
    f[f"rstatus:{m.status}"] = 1.0
    cue = m.status_cue
    f[
        "cue:"
        + ("rule" if cue == r.rule.id else (cue.split(".")[0] if cue.startswith("tense") else cue or "none"))
    ] = 1.0
    if cue.startswith("tense"):
        f[f"cue:{cue}"] = 1.0
    if m.background:
        f["rbackground"] = 1.0
    f[f"date:{_date_feature(m.event_date, published, m.future_date)}"] = 1.0
    f["actor:" + ("explicit" if m.explicit_actor else ("inferred" if m.actors else "none"))] = 1.0
    f[f"targets:{_bucket(len(m.targets), (0, 1, 3))}"] = 1.0
    if m.location:
        f["location"] = 1.0
    if m.amounts:
        f["amounts"] = 1.0
    if r.headline:
        f["headline"] = 1.0
    elif r.order <= 1:
        f["lead"] = 1.0
    if r.continuation:
        f["continuation"] = 1.0
    f[f"order:{_bucket(r.order, (0, 1, 2, 5, 10))}"] = 1.0
    f[f"length:{_bucket(len(doc), (8, 15, 30, 50))}"] = 1.0
    if _QUOTES.search(doc.text):
        f["quote"] = 1.0
    trig = m.trigger
    if trig is not None:
        f[f"trigger_tag:{trig.tag_}"] = 1.0
        f[f"trigger_dep:{trig.dep_}"] = 1.0
    for w in words(doc):
        f[f"w:{w}"] = 1.0
    typed = {f"{r.type}|{k}": v for k, v in f.items()}
    f.update(typed)
    return f


def _against_the_others(group: list[Any], others: list[list[Any]]) -> dict[str, float]:
    """How a candidate stands against the article's other candidates of its type: a second event is
    real when it differs (its own actor, amounts, parties, milestone), a restatement when it does not."""
    from ..parties import money, name_key

    def actor(g: list[Any]) -> str:
        return next((name_key(a) for m in g for a in m.actors[:1]), "")

    def amounts(g: list[Any]) -> set[str]:
        return money({a for m in g for a in m.amounts})

    def targets(g: list[Any]) -> set[str]:
        return {name_key(t) for m in g for t in m.targets}

    f: dict[str, float] = {}
    if any(actor(g) and actor(group) and actor(g) != actor(group) for g in others):
        f["other_actor"] = 1.0
    # a restatement has the same acting party (or names none): only those can make this one a copy
    others = [g for g in others if not actor(g) or not actor(group) or actor(g) == actor(group)]
    if not others:
        return f
    mine = amounts(group)
    theirs = set().union(*(amounts(g) for g in others))
    if any(actor(g) == actor(group) for g in others):
        f["other_same_actor"] = 1.0
    if mine & theirs:
        f["other_shares_amount"] = 1.0
    if mine - theirs:
        f["own_amount"] = 1.0
    if any(targets(g) & targets(group) for g in others):
        f["other_shares_targets"] = 1.0
    if any(g[0].rule.milestone == group[0].rule.milestone and g[0].status == group[0].status for g in others):
        f["other_same_milestone"] = 1.0
    return f


def event_features(
    e: Any, group: list[Any], article_groups: list[list[Any]], p_reading: float
) -> dict[str, float]:
    """Named features of one candidate event (``e``, made of the mentions ``group``) in its article.

    ``article_groups`` are all the article's candidate events (for "is it the first of its type");
    ``p_reading`` the best reading probability among its mentions."""
    f: dict[str, float] = {"bias": 1.0, f"type:{e.type}": 1.0, f"status:{e.status}": 1.0}
    f[f"type_status:{e.type}:{e.status}"] = 1.0
    f["mentions"] = min(len(group), 4) / 4
    if len(group) > 1:
        f["several"] = 1.0
    titles = [m.headline for m in group]
    if all(titles):
        f["headline_only"] = 1.0
    elif any(titles):
        f["headline_too"] = 1.0
    first = min(m.order for m in group)
    f[f"lead:{_bucket(first, (0, 1, 2, 5))}"] = 1.0
    same = [g for g in article_groups if g[0].rule.type == e.type]
    if first == min(min(m.order for m in g) for g in same):
        f["first_of_type"] = 1.0
    f[f"of_type:{_bucket(len(same), (1, 2, 3))}"] = 1.0
    f.update(_against_the_others(group, [g for g in same if g is not group]))
    if any(m.explicit_actor for m in group):
        f["explicit_actor"] = 1.0
    if not e.actors:
        f["no_actor"] = 1.0
    f[f"targets:{_bucket(len(e.targets), (0, 1, 3))}"] = 1.0
    if any(m.background for m in group):
        f["background_reading"] = 1.0
    reading = group[0].reading
    published = reading.published if reading is not None else None
    f[f"date:{_date_feature(e.event_date, published, any(m.future_date for m in group))}"] = 1.0
    fires = [m for m in group if m.reading is not None and m.reading.fires]
    f["fires"] = len(fires) / len(group)
    if not fires:
        f["no_rule_fires"] = 1.0
    f["p_reading"] = p_reading
    for m in group:
        f[f"rule:{m.rule.id}"] = 1.0
        f["cue:" + ((m.status_cue or "none").split(".")[0] if m.status_cue != m.rule.id else "rule")] = 1.0
    typed = {f"{e.type}|{k}": v for k, v in f.items() if not k.startswith(("type", "rule:"))}
    f.update(typed)
    return f
