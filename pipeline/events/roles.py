"""Who acts, on whom, where: one role function per event type, found by the versioned name a rule
carries (``"roles": "tariff.v1"``), as spaCy finds registered components.

A role function reads the named entities of one parsed sentence around the rule's trigger and returns
``Roles``. The walk shared by all of them (speakers skipped, list names collected, names cleaned) is
``RoleContext.entities``; what an entity means for the event is the type's own business.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..gazetteer import GazEntity, Gazetteer
from ..parties import GROUP_RX, name_key, unique_names
from . import syntax
from .lexicon import Lexicon


@dataclass(frozen=True)
class Roles:
    actors: list[str]
    explicit: bool  # the actor is named in the sentence as the acting party (not inferred)
    targets: list[str]
    location: str | None

    @classmethod
    def none(cls) -> Roles:
        return cls([], False, [], None)


@dataclass(frozen=True)
class EntityRef:
    """One named entity of the sentence, as a role function sees it."""

    ent: Any
    entity: GazEntity | None  # the gazetteer entity, when the name is one
    name: str  # cleaned surface name (plain names only; "" for gazetteer entities)
    in_subj: bool  # inside the trigger's acting subject
    in_aside: bool  # inside a side clause that does not contain the trigger
    in_passive_subj: bool

    @property
    def demonym(self) -> bool:
        return self.ent.label_ == "DEMONYM"


@dataclass
class RoleContext:
    doc: Any
    trig: Any
    gazetteer: Gazetteer
    lexicon: Lexicon
    lists: list[str] = field(default_factory=list)  # ids of the lists named so far, in order
    _actors: list[tuple[int, str, bool]] = field(default_factory=list)  # (priority, name, in the subject)
    _targets: list[str] = field(default_factory=list)
    location: str | None = None

    def parties(self) -> Iterator[EntityRef]:
        """``entities`` but demonyms, each of which ("Chinese steel") names its country as a target."""
        for r in self.entities():
            if not r.demonym:
                yield r
            elif r.entity is not None:
                self.target(r.entity.canonical)

    def entities(self) -> Iterator[EntityRef]:
        """The sentence's entities that can be parties; list names are collected in ``lists`` as met."""
        doc, trig, lex = self.doc, self.trig, self.lexicon
        subj, passive = syntax.subject_tokens(trig)
        aside = syntax.aside_tokens(doc, trig)
        subj -= aside
        for ent in doc.ents:
            ge = self.gazetteer.get(ent.ent_id_) if ent.ent_id_ else None
            idx = {t.i for t in ent}
            if (
                ent.root.dep_ in ("nsubj", "appos", "compound", "pobj", "nmod", "conj")
                and ge is None
                and ent.label_ in ("PERSON", "ORG")
                and syntax.speaker(ent.root, lex)
                and not (trig.left_edge.i <= ent.root.i <= trig.right_edge.i)
            ):
                continue  # "..., said Under Secretary Brian Nelson": the speaker, not a party
            in_subj = bool(idx & subj)
            ref = EntityRef(ent, ge, "", in_subj, bool(idx & aside) and not in_subj, bool(idx & passive))
            if ge is not None and ge.kind == "list":
                self.lists.append(ge.id)
                continue
            if ge is None and ent.label_ != "DEMONYM":
                name = clean_name(ent.text)
                if not name or name.lower() in lex.news_agencies or name.upper() in lex.junk_names:
                    continue
                ref = EntityRef(ent, None, name, ref.in_subj, ref.in_aside, ref.in_passive_subj)
            yield ref

    def actor(self, priority: int, name: str, subject: bool = False) -> None:
        self._actors.append((priority, name, subject))

    def target(self, name: str) -> None:
        self._targets.append(name)

    @property
    def explicit(self) -> bool:
        return bool(self._actors) and max(a[0] for a in self._actors) >= 3

    def result(self, explicit: bool, coordinated: bool = False) -> Roles:
        """The roles read. ``coordinated``: several acting bodies of the same standing in the subject
        ("the UK and the US imposed sanctions") are all kept, one event each, as one government's act is
        one event; otherwise the best-placed actor."""
        ranked = sorted(self._actors, key=lambda x: -x[0])
        actor_names = unique_names([a for _, a, _ in ranked])[:1]
        in_subject = [x for x in ranked if x[2]]
        if coordinated and in_subject:
            # ("sanctioned by the United States and the United Kingdom, said the Treasury"): the
            # subject's bodies act, whatever else the sentence names
            top = in_subject[0][0]
            joint = unique_names([a for p, a, _ in in_subject if p == top])
            if len(joint) > 1:
                actor_names = joint
        keys = {name_key(a) for a in actor_names}
        targets = [t for t in unique_names(self._targets) if name_key(t) not in keys]
        return Roles(actor_names, explicit, targets[:8], self.location)

    def acting_body(self, entity: GazEntity, role: str) -> str:
        """The body that acts on ``role`` for a government or ministry named in the sentence."""
        if role == "sanctions":
            keeper = self.gazetteer.keeper_of(self.lists)
            if keeper is not None:
                return keeper.canonical
        default = self.gazetteer.default_actor(entity.country, role)
        return default.canonical if default is not None else entity.canonical


RoleFunction = Callable[[RoleContext], Roles]
ROLE_FUNCTIONS: dict[str, RoleFunction] = {}


def role(name: str) -> Callable[[RoleFunction], RoleFunction]:
    """Register a role function under a versioned name (``"<type>.v<N>"``)."""

    def register(fn: RoleFunction) -> RoleFunction:
        ROLE_FUNCTIONS[name] = fn
        return fn

    return register


@role("sanctions.v1")
def sanctions_v1(ctx: RoleContext) -> Roles:
    """Listings and removals: the listing authority acts; companies, persons and counted groups are listed."""
    for r in ctx.entities():
        ge = r.entity
        if r.demonym:
            continue
        if ge is not None:
            if ge.kind == "authority" and "sanctions" in ge.roles:
                ctx.actor(5 if r.in_subj else 3, ge.canonical, r.in_subj)
            elif ge.kind == "government" and r.in_subj:
                ctx.actor(1, ctx.acting_body(ge, "sanctions"), True)
            elif ge.kind == "company" and not r.in_subj and not parent_company(r.ent, ctx.lexicon):
                ctx.target(ge.canonical)
        elif (
            r.ent.label_ in ("ORG", "PERSON", "FAC", "PRODUCT", "WORK_OF_ART")
            and not r.in_subj
            and not parent_company(r.ent, ctx.lexicon)
        ):
            ctx.target(r.name)
    explicit = ctx.explicit
    text = ctx.doc.text
    for m in GROUP_RX.finditer(text):
        if not text[max(0, m.start() - 14) : m.start()].lower().strip().endswith("according to"):
            ctx.target(m.group(1))
    keeper = ctx.gazetteer.keeper_of(ctx.lists)
    if keeper is not None and not explicit:
        ctx.actor(2, keeper.canonical)
    return ctx.result(explicit, coordinated=True)


@role("tariff.v1")
def tariff_v1(ctx: RoleContext) -> Roles:
    """Tariffs: the government that sets them acts; countries and products named after "on", "against"... are hit.
    A demonym in the acting subject ("Turkish President Erdogan raised tariffs") names the acting
    government; elsewhere ("tariffs on Chinese steel") the country hit."""
    for r in ctx.entities():
        ge = r.entity
        if r.demonym:
            if ge is not None:
                if r.in_subj and ge.kind == "government":
                    ctx.actor(4, ctx.acting_body(ge, "tariffs"), True)
                else:
                    ctx.target(ge.canonical)
            continue
        if ge is None:
            if r.ent.label_ in ("GPE", "NORP") and not r.in_subj:
                ctx.target(r.name)
            continue
        if ge.kind not in ("authority", "government"):
            ctx.target(ge.canonical)
            continue
        gov = ctx.acting_body(ge, "tariffs")
        root = r.ent.root
        prep = root.head.lower_ if root.dep_ == "pobj" else ""
        if r.in_subj:
            ctx.actor(5, gov, True)
        elif prep in ("on", "against", "from", "to", "with", "for", "in") or r.in_passive_subj or r.in_aside:
            ctx.target(ge.canonical)
        else:
            ctx.actor(2 if ge.kind == "authority" else 1, gov)
    for product in tariff_objects(ctx.doc, ctx.trig, ctx.lexicon):
        ctx.target(product)
    return ctx.result(ctx.explicit, coordinated=True)


@role("factory.v1")
def factory_v1(ctx: RoleContext) -> Roles:
    """Factories: the company acts; the site is the facility phrase the trigger speaks of, with its place."""
    lex = ctx.lexicon
    refs = list(ctx.parties())
    described = _descriptors(
        [r for r in refs if r.entity is not None and r.entity.kind == "company" and r.in_subj]
    )
    for r in refs:
        ge = r.entity
        root = r.ent.root  # "outside Germany" (its preposition, or the word parsed as its modifier)
        away = (root.dep_ == "pobj" and root.head.lower_ in lex.away_prepositions) or any(
            c.lower_ in lex.away_prepositions for c in root.children
        )
        if ge is not None:
            if ge.kind == "company":
                ctx.actor((4 if r in described else 5) if r.in_subj else 3, ge.canonical)
            elif ge.kind == "government" and ctx.location is None and not r.in_subj and not away:
                ctx.location = ge.canonical
            continue
        if r.ent.label_ == "ORG" and not lex.government_body.search(r.name):
            ctx.actor(2 if r.in_subj else 1, r.name)
        elif r.ent.label_ in ("GPE", "LOC", "FAC") and ctx.location is None and not away:
            ctx.location = r.name
    explicit = ctx.explicit
    facility = facility_phrase(ctx.doc, ctx.trig, lex)
    if facility is None:
        return Roles.none()  # the facility word is not what the trigger speaks of
    ctx.target(facility)
    roles = ctx.result(explicit)
    if roles.actors and facility.startswith(
        "site in "
    ):  # a site known by its place: its company's site there
        targets = [f"{roles.actors[0]} {t}" if t == facility else t for t in roles.targets]
        return Roles(roles.actors, roles.explicit, targets, roles.location)
    return roles


def _descriptors(subject: list[EntityRef]) -> set[EntityRef]:
    """Companies that only describe the subject's head ("Apple supplier Foxconn", "Tesla rival BYD"):
    in an English noun-noun compound the rightmost name is the one meant, so a company followed,
    through common nouns and adjectives alone, by another company of the subject describes it."""
    out = set()
    for a in subject:
        for b in subject:
            if b.ent.start <= a.ent.start:
                continue
            between = a.ent.doc[a.ent.end : b.ent.start]
            if len(between) <= 3 and all(t.pos_ in ("NOUN", "ADJ", "PROPN") for t in between):
                out.add(a)
    return out


_TARIFF_NOUNS = {
    "tariff",
    "duty",
    "levy",
    "surtax",
    "surcharge",
    "tax",
    "countermeasure",
    "measure",
    "safeguard",
}
_GOODS = {"import", "good", "product", "export", "item", "shipment", "purchase"}


def tariff_objects(doc: Any, trig: Any, lex: Lexicon) -> list[str]:
    """What a tariff is on: the objects of "on"/"against" after a tariff word or the trigger ("tariffs on
    imports of large residential washers", "duties on Chinese electric vehicles"), names of countries
    left to the entities."""
    out = []
    heads = [t for t in doc if t.lemma_.lower() in _TARIFF_NOUNS] + [trig]
    for h in heads:
        for prep in h.children:
            if prep.dep_ != "prep" or prep.lower_ not in ("on", "against"):
                continue
            for obj in prep.children:
                if obj.dep_ != "pobj":
                    continue
                # "imports of X", "goods from X": the goods are X
                inner = [
                    c
                    for p in obj.children
                    if p.dep_ == "prep" and p.lower_ == "of"
                    for c in p.children
                    if c.dep_ == "pobj"
                ]
                if obj.lemma_.lower() in _GOODS and inner:
                    obj = inner[0]
                words = [
                    t
                    for t in obj.subtree
                    if t.i <= obj.i or t.dep_ in ("conj", "cc") or t.head.dep_ == "conj"
                ]
                span = doc[min(t.i for t in words) : max(t.i for t in words) + 1]
                if any(
                    t.pos_ in ("NOUN", "PROPN")
                    and t.ent_type_ not in ("GPE", "NORP", "GOV", "DEMONYM", "MONEY", "PERCENT", "DATE")
                    for t in span
                ):
                    phrase = clean_name(span.text)
                    if 2 < len(phrase) <= 90 and phrase.lower() not in lex.news_agencies:
                        out.append(phrase)
    return out[:3]


def parent_company(ent: Any, lex: Lexicon) -> bool:
    """ "Bitmain's subsidiary Sophgo", "Sophgo, a unit of Bitmain": the parent is named, the unit is listed."""
    root = ent.root
    nouns = lex.subsidiary_nouns
    if root.dep_ == "poss" and (
        root.head.lower_ in nouns
        or any(c.dep_ == "compound" and c.lower_ in nouns for c in root.head.children)
    ):
        return True
    return root.dep_ == "pobj" and root.head.lower_ == "of" and root.head.head.lower_ in lex.subsidiary_nouns


def read_roles(name: str, doc: Any, trig: Any, gazetteer: Gazetteer, lexicon: Lexicon) -> Roles:
    return ROLE_FUNCTIONS[name](RoleContext(doc, trig, gazetteer, lexicon))


def clean_name(text: str) -> str:
    t = re.sub(r"^(the|a|an)\s+", "", text.strip(), flags=re.I)
    t = re.sub(r"['’]s$", "", t).strip(" ,.;:\"'()")
    return t if len(t) > 1 else ""


def facility_phrase(doc: Any, trig: Any, lex: Lexicon) -> str | None:
    """The facility the trigger speaks of: a facility noun it governs, its subject, or itself."""
    verb = syntax.governing_verb(trig)
    related = {t.i for t in trig.subtree} | {t.i for t in verb.subtree if t.i >= verb.i}
    t = verb
    # subjects up the xcomp chain: "the plant is set to open", "Giga Berlin is up and running"
    for _ in range(4):
        for c in t.children:
            if c.dep_ in ("nsubj", "nsubjpass", "expl"):
                related.update(x.i for x in c.subtree)
        if t.dep_ not in ("xcomp", "ccomp", "conj", "acomp") or t.head is t:
            break
        t = t.head
    related -= syntax.aside_tokens(doc, trig)
    if trig.head is not trig and trig.head.pos_ in ("NOUN", "PROPN"):
        related.update(x.i for x in trig.head.subtree)
    best = None
    for chunk in doc.noun_chunks:
        root = chunk.root
        at_root = root.lemma_.lower() in lex.facility_words or root.lower_ in lex.facility_words
        # "Giga Berlin", "Fab 52": a facility word inside a proper name
        inside = any(t.lower_ in lex.facility_words for t in chunk if t.pos_ == "PROPN")
        if (at_root or inside) and root.i in related:
            dist = abs(root.i - trig.i) + (0 if at_root else 3)
            if best is None or dist < best[0]:
                best = (dist, chunk.text)
    if best is None:
        # "opening ceremony for JASM in Kumamoto Prefecture": the place stands for the site
        for ent in doc.ents:
            if ent.label_ in ("FAC", "GPE", "LOC", "GOV") and ent.root.i in related and ent.root.i > trig.i:
                return f"site in {clean_name(ent.text)}"[:120]
        return None
    return clean_name(best[1])[:120] or None
