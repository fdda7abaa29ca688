"""What the rules see in one candidate sentence, for each event type it could state: a ``Reading``.

The rules used to decide (a rule fires, or the sentence is dropped). Here every check they make is kept
as a signal instead: whether a rule's trigger and context are there, whether its exclusions or filters
(a participle, a request, a concessive clause, a negated factory verb, no site) would have dropped it,
what status, date and background the modality reading gives, who the parties are. ``fires`` says what
the rules alone would have decided, and is one signal among the others; the trained decisions
(``decisions``) weigh them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..gazetteer import Gazetteer
from ..nlp import Sentence
from ..records import Article
from ..vocab import EVENT_TYPES, RULE_MILESTONES
from . import modality, syntax
from .grouping import Mention
from .roles import read_roles
from .rules import Rule, RuleSet

_NEWS_IN_CLAUSE = ("pause", "threat", "denial")  # milestones a participle or relative clause may still report
FILTERS = ("describes_thing", "needs_actor", "request", "concessive", "negated", "no_site")


@dataclass
class Reading:
    """One event type's reading of one candidate sentence."""

    type: str
    order: int
    sentence: Sentence
    rule: Rule  # the rule that anchors the reading (its trigger, milestone and role function)
    fires: bool  # the rules alone would report this
    mention: Mention  # parties, status, date and background as the rules read them
    checks: dict[str, float] = field(default_factory=dict)  # named signals for the decisions
    headline: bool = False
    continuation: bool = False  # a candidate only as the sentence after one
    doc: Any = None  # the sentence's parse
    published: str | None = None  # the article's publication date
    cache: dict[str, Any] = field(default_factory=dict)  # what the decisions computed of it (features)


def fallback_rule(type_: str, roles: str) -> Rule:
    """The anchor of a reading no rule's trigger appears in: the type's first milestone, no fixed status."""
    return Rule(
        id=f"{type_}.lexicon.v1",
        type=type_,
        milestone=RULE_MILESTONES[type_][0],
        roles=roles,
        triggers=(),
        context=(),
        exclude=(),
        status=None,
        weight=0.5,
    )


class Reader:
    """Reads candidate sentences with the rules; one per extractor."""

    def __init__(self, rules: RuleSet, gazetteer: Gazetteer, background_days: int) -> None:
        self.rules = rules
        self.gazetteer = gazetteer
        self.background_days = background_days
        self.by_type = {t: [r for r in rules.rules if r.type == t] for t in EVENT_TYPES}
        self.fallback = {t: fallback_rule(t, rs[0].roles) for t, rs in self.by_type.items() if rs}

    def read(
        self,
        article: Article,
        sent: Sentence,
        doc: Any,
        order: int,
        types: tuple[str, ...],
        continuation: bool,
        headline: bool = False,
    ) -> list[Reading]:
        lower = doc.text.lower()
        index = syntax.TokenIndex.of(doc)
        out: dict[str, tuple[Reading, int, int | None]] = {}
        for t in types:
            if t in self.fallback:
                out[t] = self._read_type(article, sent, doc, order, t, index, lower)
        # One word reports one thing: when two types fire on the same trigger, the nearer context wins.
        winner: dict[int, tuple[str, int]] = {}
        for t, (r, ti, dist) in out.items():
            if r.fires and dist is not None and (ti not in winner or dist < winner[ti][1]):
                winner[ti] = (t, dist)
        readings = []
        for t, (r, ti, _) in out.items():
            if r.fires and winner.get(ti, (t,))[0] != t:
                r.fires = False
                r.checks["lost_trigger"] = 1.0
            readings.append(r)
            readings.extend(self._other_clauses(article, sent, doc, order, r, index, lower))
        for r in readings:
            r.continuation = continuation
            r.headline = r.mention.headline = headline or sent.field == "title"
            r.doc = doc
            r.published = article.published
        return readings

    def _other_clauses(
        self, article: Article, sent: Sentence, doc: Any, order: int, primary: Reading, index: Any, lower: str
    ) -> list[Reading]:
        """Readings of the same type in other clauses of the sentence, each with its own subject: "the US
        removed its tariffs, while Canada and Mexico would scrap theirs" reports two acts."""
        anchor = primary.mention.trigger
        if anchor is None:
            return []
        out: list[Reading] = []
        taken = {syntax.governing_verb(anchor).i}
        for rule in self.by_type[primary.type]:
            for trig in index.triggers(rule.triggers, rule.trigger_pos):
                verb = syntax.governing_verb(trig)
                if verb.i in taken or not syntax.own_clause(trig, anchor):
                    continue
                taken.add(verb.i)
                m, failed = self._analyse(article, sent, doc, rule, trig, order)
                ctx = (
                    self.rules.context_ok(rule, lower)
                    and self.rules.context_distance(rule, doc, trig) is not None
                )
                checks = {"other_clause": 1.0, **{f"filter:{f}": 1.0 for f in failed}}
                fires = ctx and not failed
                if fires:
                    checks[f"fires:{rule.id}"] = 1.0
                out.append(Reading(primary.type, order, sent, rule, fires, m, checks))
        return out

    def _read_type(
        self, article: Article, sent: Sentence, doc: Any, order: int, type_: str, index: Any, lower: str
    ) -> tuple[Reading, int, int | None]:
        checks: dict[str, float] = {}
        fired: tuple[Mention, Any, int, Rule] | None = None
        anchor: tuple[Rule, Any, int | None] | None = None
        for rule in self.by_type[type_]:
            trig = index.trigger(rule.triggers, rule.trigger_pos)
            ctx = self.rules.context_ok(rule, lower)
            if trig is not None:
                checks[f"trigger:{rule.id}"] = 1.0
            if ctx:
                checks[f"context:{rule.id}"] = 1.0
            if trig is None:
                continue
            dist = self.rules.context_distance(rule, doc, trig) if ctx else None
            if anchor is None or (dist is not None and anchor[2] is None):
                anchor = (rule, trig, dist)
            if dist is None or (fired is not None and fired[0].rule.weight >= rule.weight):
                continue
            m, failed = self._analyse(article, sent, doc, rule, trig, order)
            if not failed and (fired is None or m.confidence > fired[0].confidence):
                fired = (m, trig, dist, rule)
        if fired is not None:
            m, trig, dist, rule = fired
            checks[f"fires:{rule.id}"] = 1.0
            return Reading(type_, order, sent, rule, True, m, checks), trig.i, dist
        if anchor is not None:
            rule, trig, dist = anchor
        else:
            rule, trig, dist = self.fallback[type_], self._keyword_token(doc, type_), None
        m, failed = self._analyse(article, sent, doc, rule, trig, order)
        for f in failed:
            checks[f"filter:{f}"] = 1.0
        return Reading(type_, order, sent, rule, False, m, checks), trig.i, dist

    def _keyword_token(self, doc: Any, type_: str) -> Any:
        """Where a reading without a rule trigger is anchored: the word that made it a candidate."""
        rx = self.rules.lexicon.candidate_patterns.get(type_)
        for tok in doc:
            if rx is not None and rx.match(tok.text):
                return tok
        return doc[0].sent.root

    def _analyse(
        self, article: Article, sent: Sentence, doc: Any, rule: Rule, trig: Any, order: int
    ) -> tuple[Mention, list[str]]:
        """The rules' reading of ``rule`` firing at ``trig``, and the filters that would have dropped it."""
        lex = self.rules.lexicon
        failed: list[str] = []
        lower = syntax.clause_text(doc, trig).lower()
        if (
            trig.dep_ in ("acl", "relcl", "amod")
            and rule.milestone not in _NEWS_IN_CLAUSE
            and trig.sent.root.pos_ in ("VERB", "AUX")
            and trig.head.lemma_.lower()
            not in lex.reporting_nouns  # "its announcement that it will build": news
        ):
            failed.append("describes_thing")  # a participle or relative clause describes a thing
        roles = read_roles(rule.roles, doc, trig, self.gazetteer, lex)
        if rule.requires_actor and not roles.explicit:
            failed.append("needs_actor")
        heads = syntax.ancestor_lemmas(trig)
        if any(rule.type in c.types and heads & set(c.head_lemmas) for c in self.rules.cues_of("drop")):
            failed.append("request")  # "Washington asked Seoul to lower tariffs": a request, not an act
        if syntax.in_concessive_clause(trig, lex):
            failed.append("concessive")  # "although agreements to build the plant were mired in doubt"
        factory = rule.type == "factory_opening"
        event_date, future_date = modality.event_date(doc, trig, article.published)
        if factory and future_date and rule.milestone in ("announcement", "construction", "delay"):
            event_date = None  # "operation by the end of 2027" is the plan's target, not the event's date
        if factory and syntax.negated(trig, lex):
            failed.append("negated")  # "the plant was not scrapped"
        today = bool(event_date and article.published and event_date == article.published[:10])
        status, cue_id = modality.status(self.rules, rule, trig, lower, future_date, doc.text.lower(), today)
        background = modality.background(
            self.rules, lower, trig, event_date, article.published, self.background_days
        )
        if factory and not roles.targets:
            failed.append("no_site")
        mention = Mention(
            rule=rule,
            status=status,
            status_cue=cue_id,
            actors=list(roles.actors),
            explicit_actor=roles.explicit,
            targets=list(roles.targets),
            location=roles.location,
            event_date=event_date,
            background=background,
            amounts=[e.text for e in doc.ents if e.label_ in ("PERCENT", "MONEY", "QUANTITY")],
            sentence=sent,
            confidence=_confidence(rule, roles.actors, roles.targets, roles.location, cue_id),
            order=order,
            trigger=trig,
            future_date=future_date,
        )
        return mention, failed


def _confidence(
    rule: Rule, actors: list[str], targets: list[str], location: str | None, cue_id: str
) -> float:
    """The rules' own score of a firing (their confidence before the trained decisions)."""
    conf = rule.weight
    conf *= 1.0 if actors else 0.8
    conf *= 1.0 if (targets or rule.type == "tariff_announcement") else 0.85
    conf *= 1.0 if cue_id else 0.92
    if rule.type == "factory_opening" and location is None:
        conf *= 0.9
    return round(min(conf, 0.99), 3)
