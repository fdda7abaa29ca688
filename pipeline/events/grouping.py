"""Within one article: the mentions (one rule firing in one sentence) that report the same thing become
one event with several evidence sentences.

Mentions group by type, milestone and acting party; a headline folds into the body's report of the
same act (the body's modality wins); a conditional statement folds an announcement of the same tariff
into one threat; reports dated before the article's lead event, and listings in a story about lifting
them, are background.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from .. import dates
from ..gazetteer import Gazetteer
from ..nlp import Sentence
from ..parties import amounts_compatible, is_group, name_key, unique_names
from ..records import EventMention, Evidence
from ..vocab import FAMILY, milestone
from .lexicon import Lexicon
from .rules import Rule

_ORDINALS = re.compile(
    r"\b(first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th|fab \d+|phase \d+|phase (?:one|two|three))\b"
)
_ORDINAL_WORDS = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth"}
_STRONG_CUES = ("modality", "negation")
MAX_EVIDENCE = 5


@dataclass
class Mention:
    """One rule firing in one sentence, with what the parse said about it (mutable while grouping)."""

    rule: Rule
    status: str
    status_cue: str
    actors: list[str]
    explicit_actor: bool
    targets: list[str]
    location: str | None
    event_date: str | None
    background: bool
    amounts: list[str]
    sentence: Sentence
    confidence: float
    order: int
    trigger: Any = None  # the token the reading is anchored at
    headline: bool = False  # a headline: the page's title, or the body's first line repeating it
    future_date: bool = False
    reading: Any = field(default=None, repr=False, compare=False)  # the reading it was taken from


def split_coordinated(mentions: list[Mention]) -> list[Mention]:
    """A mention naming several acting bodies as one subject ("the UK and the US imposed sanctions") is one
    event per body: each government's act is its own event (a factory's joint venture stays one)."""
    out = []
    for m in mentions:
        if len(m.actors) > 1 and m.rule.type != "factory_opening":  # (the role functions keep several only
            # when they stand together in the subject)
            out.extend(replace(m, actors=[a], targets=list(m.targets), explicit_actor=True) for a in m.actors)
        else:
            out.append(m)
    return out


def fill_actors(mentions: list[Mention]) -> None:
    """A mention with no explicit actor takes the article's most frequent explicit actor of its type."""
    explicit: dict[str, Counter[str]] = {}
    anyactor: dict[str, Counter[str]] = {}
    for m in mentions:
        for a in m.actors[:1]:
            anyactor.setdefault(m.rule.type, Counter())[a] += 1
            if m.explicit_actor:
                explicit.setdefault(m.rule.type, Counter())[a] += 1
    for m in mentions:
        if m.explicit_actor:
            continue
        pool = explicit.get(m.rule.type) or (anyactor.get(m.rule.type) if not m.actors else None)
        if pool:
            m.actors = [pool.most_common(1)[0][0]]


def fill_companies(mentions: list[Mention], named: list[list[str]]) -> None:
    """A factory mention that names no company ("its first plant in Hungary is under construction")
    takes the company the article's factory sentences name first most often (``named``: each
    candidate sentence's acting parties, whether or not a rule fired on it)."""
    pool = Counter(a[0] for a in named if a)
    if not pool:
        return
    company = pool.most_common(1)[0][0]
    for m in mentions:
        if m.rule.type == "factory_opening" and not m.actors:
            m.actors = [company]


def family(m: Mention) -> str:
    """Milestones of one kind of act: a listing and its prospect, a tariff and its threat, a plant's stages."""
    if m.rule.milestone in FAMILY:
        return FAMILY[m.rule.milestone]
    if m.rule.type != "factory_opening":
        return m.rule.milestone
    return "active" if m.status not in ("paused", "cancelled") else m.status


def group_key(m: Mention) -> tuple[str, str, tuple[str, ...]]:
    """Mentions of one article with the same key report the same event."""
    stage = milestone(m.rule.milestone, m.status)
    if m.rule.type == "factory_opening" and m.status in ("announced", "planned"):
        stage = "prospective_factory"  # a plant's announcement, groundbreaking and future start are one story
    return (m.rule.type, stage, tuple(name_key(a) for a in m.actors[:1]))


def group_status(g: list[Mention]) -> str:
    """The status of one event reported by several sentences of an article.

    The first body sentence is the news lead; a headline only speaks when the body says nothing of the
    modality; a fixed-status rule (pause, threat, cancellation) or a modality cue outranks bare tense;
    a tariff or a plant reported in the past tense whose other sentences put it ahead in time ("slapped
    tariffs on Tuesday" ... "the measures will take effect on September 24") is announced, not done.
    """
    status = _group_status(g)
    if (
        status == "done"
        and g[0].rule.type in _NOT_YET_TYPES
        and not any(x.status_cue.startswith("modality.in_effect") for x in g)
        and any(x.future_date or x.status_cue.startswith("modality.future_effect") for x in g)
    ):
        return "announced"
    return status


_NOT_YET_TYPES = ("tariff_announcement", "factory_opening")


def _group_status(g: list[Mention]) -> str:
    body = [x for x in g if not x.headline] or g
    lead = body[0]
    if lead.rule.status or lead.status_cue.startswith(_STRONG_CUES):
        return lead.status
    cued = [x for x in body if x.rule.status or x.status_cue.startswith(_STRONG_CUES)]
    if cued and cued[0].status in ("threatened", "denied", "paused", "cancelled", "planned"):
        return cued[0].status
    return lead.status


def _ordinals(targets: set[str]) -> set[str]:
    return {
        _ORDINAL_WORDS.get(m.group(1), m.group(1)) for t in targets for m in _ORDINALS.finditer(t.lower())
    }


def _named(g: list[Mention]) -> set[str]:
    return {t for x in g for t in x.targets if not is_group(t)}


def _day_date(g: list[Mention]) -> str | None:
    return next((x.event_date for x in g if x.event_date and len(x.event_date) == 10), None)


_DETERMINERS = frozenset({"its", "their", "the", "a", "an", "this", "that", "our"})
# words that do not tell one site of a company from another ("the new plant")
_SITE_ADJECTIVES = frozenset({"new", "latest", "planned", "proposed", "landmark"})
# words that tell the kind of site and stay in its name ("First Solar manufacturing facility")
_SITE_KINDS = frozenset({"manufacturing", "production", "assembly"})
_SITE_WORDS = _SITE_ADJECTIVES | _SITE_KINDS


class Grouper:
    """Groups one article's mentions into events; reads the gazetteer for countries and the lexicon for sites."""

    def __init__(self, gazetteer: Gazetteer, lexicon: Lexicon) -> None:
        self.gazetteer = gazetteer
        self.lexicon = lexicon

    def events(self, mentions: list[Mention]) -> list[EventMention]:
        return [e for e, _ in self.grouped(mentions)]

    def grouped(self, mentions: list[Mention]) -> list[tuple[EventMention, list[Mention]]]:
        """The events of one article's mentions, each with the mentions it was made of."""
        groups: list[list[Mention]] = []
        for m in sorted(mentions, key=lambda x: x.order):
            for g in groups:
                if self.same_event(g, m):
                    g.append(m)
                    break
            else:
                groups.append([m])
        groups = self._fold_headlines(groups)
        groups = self._fold_threats(groups)
        _mark_earlier_than_lead(groups)
        _mark_lifted_listings(groups)
        return [(self._event(g), g) for g in groups]

    def same_event(self, g: list[Mention], m: Mention) -> bool:
        """Whether mention ``m`` reports the same event as the group ``g`` (one article)."""
        g0 = g[0]
        if g0.rule.type != m.rule.type or g0.background != m.background:
            return False
        gk, mk = group_key(g0), group_key(m)
        if gk[1] != mk[1]:
            return False
        gt, mt = _named(g), {t for t in m.targets if not is_group(t)}
        countries = self.gazetteer.countries
        if gk[2] != mk[2] and gk[2] and mk[2]:
            # the same tariff seen from the other side ("the tariffs are on pause", said the target's leader)
            swapped = (
                m.rule.type == "tariff_announcement"
                and gk[1] in ("pause", "cut", "denial")
                and bool(
                    countries(set(m.actors)) & countries(gt) or countries(set(g0.actors)) & countries(mt)
                )
            )
            if not swapped:
                return False
        if m.rule.type == "tariff_announcement":
            gc, mc = countries(gt), countries(mt)
            if gc and mc and not (gc & mc):
                return False  # a pause for Mexico and a pause for Canada are two events
            if not amounts_compatible({a for x in g for a in x.amounts}, set(m.amounts)):
                return False
        if m.rule.type == "factory_opening":
            go, mo = _ordinals(gt), _ordinals(mt)
            if go and mo and not (go & mo):
                return False  # "first plant" and "second plant" are two sites
        return True

    def _event(self, g: list[Mention]) -> EventMention:
        lead = max(g, key=lambda x: (x.confidence, -x.order))
        first = g[0]
        actors = unique_names([a for x in g for a in x.actors if x.explicit_actor]) or unique_names(
            [a for x in g for a in x.actors]
        )
        if len(actors) > 1:  # a party that other reports of this event name as the target is the target
            named_targets = self.gazetteer.countries({t for x in g for t in x.targets})
            kept = [a for a in actors if not (self.gazetteer.countries({a}) & named_targets)]
            actors = kept or actors[:1]
        status = group_status(g)
        factory = first.rule.type == "factory_opening"
        location = next((x.location for x in g if x.location), None)
        return EventMention(
            type=first.rule.type,
            status=status,
            milestone=milestone(lead.rule.milestone if factory else first.rule.milestone, status),
            actors=tuple(actors[:3]),
            targets=self._targets(g, actors, location),
            location=location,
            event_date=next((x.event_date for x in g if x.event_date), None),
            confidence=round(min(0.99, lead.confidence + 0.03 * (len(g) - 1)), 3),
            evidence=tuple(
                Evidence(
                    sentence=x.sentence.quote,
                    start=x.sentence.start,
                    end=x.sentence.end,
                    field=x.sentence.field,
                )
                for x in g[:MAX_EVIDENCE]
            ),
            rule_ids=tuple(unique_names([x.rule.id for x in g])),
            background=all(x.background for x in g),
            amounts=tuple(unique_names([a for x in g for a in x.amounts]))[:8],
        )

    def _targets(self, g: list[Mention], actors: list[str], location: str | None = None) -> tuple[str, ...]:
        """The group's parties; of a factory's several descriptions of its site, the most specific one,
        named after its company and place when the text only says "the plant" or "its new facility"."""
        actor_keys = {name_key(a) for a in actors}
        names = [t for t in unique_names([t for x in g for t in x.targets]) if name_key(t) not in actor_keys]
        if g[0].rule.type == "factory_opening":
            words = self.lexicon.facility_words
            facility = [
                t for t in names if any(w in t.lower().split() for w in words) or t.startswith("site in")
            ]
            if facility:

                def specific(t: str) -> tuple[int, int]:
                    kept = [
                        w
                        for w in re.findall(r"[a-z0-9$]+", t.lower())
                        if w not in ("its", "the", "a", "new", "plant")
                    ]
                    return (len(kept), -len(t))

                best = max(facility, key=specific)
                names = [self._site_name(best, actors, location), *[t for t in names if t not in facility]]
        return tuple(names[:10])

    def _site_name(self, phrase: str, actors: list[str], location: str | None) -> str:
        """A bare facility phrase ("plant", "its new facility", "this project") named after the
        company and the place ("Tesla plant in Texas"); "its ..." becomes the company's."""
        tokens = phrase.split()
        if not tokens or phrase.startswith("site in") or not (actors or location):
            return phrase
        first = tokens[0].lower()
        rest = tokens[1:] if first in _DETERMINERS else tokens
        if not rest:
            return phrase
        bare = all(w.lower() in self.lexicon.facility_words or w.lower() in _SITE_WORDS for w in rest)
        if bare:
            noun = " ".join(w for w in rest if w.lower() not in _SITE_ADJECTIVES) or rest[-1]
            named = " ".join(x for x in (actors[0] if actors else "", noun) if x)
            return f"{named} in {location}" if location and location.lower() not in named.lower() else named
        if first in ("its", "their") and actors:
            return f"{actors[0]}'s {' '.join(rest)}"
        return phrase

    def _fold_headlines(self, groups: list[list[Mention]]) -> list[list[Mention]]:
        """A headline compresses: when the body reports the same type by the same actor, the body's modality wins."""
        out = []
        for g in groups:
            if all(x.headline for x in g):
                g0 = g[0]
                body = [
                    b
                    for b in groups
                    if b is not g
                    and b[0].rule.type == g0.rule.type
                    and not b[0].background
                    and any(not x.headline for x in b)
                    and (
                        not g0.actors or not b[0].actors or name_key(g0.actors[0]) == name_key(b[0].actors[0])
                    )
                    and family(b[0]) == family(g0)
                ]
                if len(body) == 1:
                    body[0].extend(g)
                    continue
            out.append(g)
        return out

    def _fold_threats(self, groups: list[list[Mention]]) -> list[list[Mention]]:
        """A conditional statement colours an announcement of the same tariff: both are one threat."""
        threats = [
            g for g in groups if g[0].rule.type == "tariff_announcement" and g[0].status == "threatened"
        ]
        if not threats:
            return groups
        out = []
        for g in groups:
            g0 = g[0]
            if not (g0.rule.type == "tariff_announcement" and g0.status == "announced" and not g0.background):
                out.append(g)
                continue
            for t in threats:
                if self._threat_covers(t, g, single=len(threats) == 1):
                    t.extend(g)
                    break
            else:
                out.append(g)
        return out

    def _threat_covers(self, t: list[Mention], g: list[Mention], single: bool) -> bool:
        same_actor = (
            not g[0].actors or not t[0].actors or name_key(g[0].actors[0]) == name_key(t[0].actors[0])
        )
        tc = self.gazetteer.countries({x for m in t for x in m.targets})
        gc = self.gazetteer.countries({x for m in g for x in m.targets})
        ta, ga = {a for m in t for a in m.amounts}, {a for m in g for a in m.amounts}
        bare = not gc and not ga  # "The tariff will go into effect June 10."
        return (
            same_actor
            and (not tc or not gc or bool(tc & gc))
            and amounts_compatible(ta, ga)
            and bool(tc & gc or ta & ga or (bare and single))
        )


def _mark_lifted_listings(groups: list[list[Mention]]) -> None:
    """In a story about lifting a listing, the listing itself is the background."""
    lifted = {
        name_key(t) for g in groups if g[0].rule.type == "sanctions_removal" for x in g for t in x.targets
    }
    if not lifted:
        return
    for g in groups:
        if g[0].rule.type == "sanctions_listing" and {name_key(t) for x in g for t in x.targets} & lifted:
            for x in g:
                x.background = True


def _mark_earlier_than_lead(groups: list[list[Mention]]) -> None:
    """Events dated before the article's lead event are its context (background), not its news."""
    news = [g for g in groups if not g[0].background]
    if not news:
        return
    lead = min(news, key=lambda g: g[0].order)
    lead_date = _day_date(lead)
    if not lead_date:
        return
    for g in news:
        if g is lead or g[0].rule.type != lead[0].rule.type:
            continue
        d = _day_date(g)
        gap = dates.days_between(d, lead_date) if d else None
        if gap is not None and gap > 0:
            for x in g:
                x.background = True
