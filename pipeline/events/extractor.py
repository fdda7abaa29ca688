"""Article text -> event mentions: batching, the prefilter, the parse, then roles, modality and grouping.

Per article: a cheap split into sentences; a cheap prefilter keeps sentences that name a rule's context
(a list, a tariff word, a facility word); only those go through the full spaCy pipeline (tagger,
parser, gazetteer, NER). Each rule's trigger lemma or phrase must appear with its context and none of
its exclusions; its role function (``roles``) reads the parties, ``modality`` the status, date and
background, and ``grouping`` merges the mentions of one article that report the same thing.
"""

from __future__ import annotations

import re
from typing import Any

from ..config import NlpSettings
from ..gazetteer import Gazetteer
from ..nlp import Models, Sentence
from ..records import Article, EventMention
from . import modality, syntax
from .grouping import Grouper, Mention, fill_actors
from .roles import read_roles
from .rules import Rule, RuleSet

_NEWS_IN_CLAUSE = ("pause", "threat", "denial")  # milestones a participle or relative clause may still report


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


class Extractor:
    """Turns an article into event mentions. One per process; models come from ``Models``."""

    def __init__(self, settings: NlpSettings, models: Models | None = None) -> None:
        self.settings = settings
        self.models = models or Models.get(settings.spacy_model, settings.rules_dir)
        self.rules = RuleSet.load(settings.rules_dir)
        self.grouper = Grouper(self.models.gazetteer, self.rules.lexicon)

    @property
    def gazetteer(self) -> Gazetteer:
        return self.models.gazetteer

    def extract(self, article: Article) -> tuple[EventMention, ...]:
        return self.extract_many([article])[0]

    def extract_many(self, articles: list[Article]) -> list[tuple[EventMention, ...]]:
        """Batch several articles through the parser at once (one nlp.pipe call)."""
        flat: list[tuple[int, Sentence]] = []
        for i, art in enumerate(articles):
            flat.extend((i, s) for s in self.candidates(art))
        docs = list(self.models.parse([s.text for _, s in flat], batch_size=self.settings.batch_size))
        by_article: list[list[tuple[Sentence, Any]]] = [[] for _ in articles]
        for (i, s), doc in zip(flat, docs, strict=True):
            by_article[i].append((s, doc))
        return [self._article_events(art, pairs) for art, pairs in zip(articles, by_article, strict=True)]

    def candidates(self, art: Article) -> list[Sentence]:
        """The sentences worth parsing: the prefilter's, and the headline when the body does not repeat it."""
        sents = [
            s
            for s in self.models.sentences(art.text, keep=self.rules.candidate)
            if self.rules.candidate(s.text)
        ]
        title = art.title.strip()
        if (
            title
            and not title.isupper()  # an ALL-CAPS wire headline does not parse
            and self.rules.candidate(title)
            and _norm(title)[:60] not in _norm(art.text[:1500])
        ):
            # the headline often states the news the body only refers to; read it first
            sents.insert(0, Sentence(text=title, start=0, end=len(title), field="title"))
        return sents

    def _article_events(
        self, article: Article, pairs: list[tuple[Sentence, Any]]
    ) -> tuple[EventMention, ...]:
        mentions: list[Mention] = []
        for order, (sent, doc) in enumerate(pairs):
            mentions.extend(self._sentence_mentions(article, sent, doc, order))
        fill_actors(mentions)
        return tuple(self.grouper.events(mentions))

    def _sentence_mentions(self, article: Article, sent: Sentence, doc: Any, order: int) -> list[Mention]:
        lower = doc.text.lower()
        index = syntax.TokenIndex.of(doc)
        found: dict[str, tuple[Mention, int, int]] = {}  # type -> (mention, trigger index, context distance)
        for rule in self.rules.rules:
            if rule.type in found and found[rule.type][0].rule.weight >= rule.weight:
                continue
            if not self.rules.context_ok(rule, lower):
                continue
            trig = index.trigger(rule.triggers, rule.trigger_pos)
            if trig is None:
                continue
            dist = self.rules.context_distance(rule, doc, trig)
            if dist is None:
                continue
            m = self._analyse(article, sent, doc, rule, trig, order)
            if m is not None and (rule.type not in found or m.confidence > found[rule.type][0].confidence):
                found[rule.type] = (m, trig.i, dist)
        # One word reports one thing: when two types fire on the same trigger, the nearer context wins.
        by_trigger: dict[int, tuple[Mention, int, int]] = {}
        for m, ti, dist in found.values():
            if ti not in by_trigger or dist < by_trigger[ti][2]:
                by_trigger[ti] = (m, ti, dist)
        return [m for m, _, _ in by_trigger.values()]

    def _describes_a_thing(self, rule: Rule, trig: Any) -> bool:
        """A participle or relative clause describes a thing; it does not report news ("its announcement
        that it will build" does)."""
        return (
            trig.dep_ in ("acl", "relcl", "amod")
            and rule.milestone not in _NEWS_IN_CLAUSE
            and trig.sent.root.pos_ in ("VERB", "AUX")
            and trig.head.lemma_.lower() not in self.rules.lexicon.reporting_nouns
        )

    def _dropped(self, rule: Rule, trig: Any) -> bool:
        """Requests ("Washington asked Seoul to lower tariffs") and concessive clauses are not acts."""
        heads = syntax.ancestor_lemmas(trig)
        for cue in self.rules.cues_of("drop"):
            if rule.type in cue.types and heads & set(cue.head_lemmas):
                return True
        return syntax.in_concessive_clause(trig, self.rules.lexicon)

    def _analyse(
        self, article: Article, sent: Sentence, doc: Any, rule: Rule, trig: Any, order: int
    ) -> Mention | None:
        lower = syntax.clause_text(doc, trig).lower()
        if self._describes_a_thing(rule, trig):
            return None
        roles = read_roles(rule.roles, doc, trig, self.gazetteer, self.rules.lexicon)
        if rule.requires_actor and not roles.explicit:
            return None
        if self._dropped(rule, trig):
            return None
        factory = rule.type == "factory_opening"
        event_date, future_date = modality.event_date(doc, trig, article.published)
        if factory and future_date and rule.milestone in ("announcement", "construction", "delay"):
            event_date = None  # "operation by the end of 2027" is the plan's target, not the event's date
        if factory and syntax.negated(trig, self.rules.lexicon):
            return None  # "the plant was not scrapped"
        today = bool(event_date and article.published and event_date == article.published[:10])
        status, cue_id = modality.status(self.rules, rule, trig, lower, future_date, doc.text.lower(), today)
        background = modality.background(
            self.rules, lower, trig, event_date, article.published, self.settings.background_days
        )
        if factory and not roles.targets:
            return None
        return Mention(
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
        )


def _confidence(
    rule: Rule, actors: list[str], targets: list[str], location: str | None, cue_id: str
) -> float:
    conf = rule.weight
    conf *= 1.0 if actors else 0.8
    conf *= 1.0 if (targets or rule.type == "tariff_announcement") else 0.85
    conf *= 1.0 if cue_id else 0.92
    if rule.type == "factory_opening" and location is None:
        conf *= 0.9
    return round(min(conf, 0.99), 3)
