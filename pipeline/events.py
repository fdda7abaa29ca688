"""Stage 4b: article text -> event mentions, by rules that are data (``rules/*.jsonl``).

Per article: a cheap split into sentences; a cheap prefilter keeps sentences that name a rule's
context (a list, a tariff word, a facility word); only those go through the full spaCy pipeline
(tagger, parser, gazetteer, NER). Each rule's trigger lemma or phrase must appear with its context
and none of its exclusions. Roles, status, date and background are then read from the parse; the
mentions of one article that report the same thing are merged into one event with several
evidence sentences.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import dates
from .config import NlpSettings
from .nlp import Gazetteer, Models, Sentence, name_key
from .records import Article, EventMention, Evidence

GROUP_RX = re.compile(
    r"\b((?:\d[\d,]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a dozen|dozens of|several|more than \d[\d,]*|"
    r"about \d[\d,]*|nearly \d[\d,]*|over \d[\d,]*)\s+(?:of its\s+)?(?:[\w.'-]+\s+){0,3}?(?:entities|companies|firms|individuals|"
    r"persons|people|organizations|organisations|addresses|vessels|parties|businesses|chipmakers|suppliers|exchanges|"
    r"affiliates|subsidiaries|designers|makers|banks|traders|networks))\b"
)
_YEAR_IN_CLAUSE = re.compile(r"\b(?:in|since|during|back in)\s+((?:19|20)\d\d)\b")
FUTURE_PREP = {"from", "starting", "effective", "beginning", "by", "after", "until"}
_STATUS_DEFAULT = {
    "listing": "done",
    "removal": "done",
    "imposed": "done",
    "production": "done",
    "construction": "announced",
    "announcement": "announced",
}
_FUTURE_AUX = {"will", "shall", "'ll", "wo"}
_PLANNED_AUX = {"could", "may", "might", "would", "should"}
_PAST_TAGS = {"VBD", "VBN"}


@dataclass(frozen=True)
class Rule:
    id: str
    type: str
    milestone: str
    triggers: tuple[str, ...]
    context: tuple[str, ...]
    exclude: tuple[str, ...]
    status: str | None
    weight: float
    trigger_pos: tuple[str, ...] = ()
    context_in_clause: bool = False  # the context phrase must occur in the trigger's own clause
    requires: tuple[str, ...] = ()  # when set, one of these must occur in the sentence as well
    requires_actor: bool = False  # fire only with an explicit acting government or company
    temporary: tuple[str, ...] = ()  # phrases that make this milestone temporary (status "paused")
    examples: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Cue:
    id: str
    effect: str  # "status" or "background"
    status: str | None
    types: tuple[str, ...]
    phrases: tuple[str, ...]
    head_lemmas: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    scope: str = "clause"  # "clause": the trigger's clause without unrelated relative clauses; "sentence"
    examples: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Lexicon:
    """Word lists the rules read, from ``rules/lexicon.json``."""

    news_agencies: frozenset[str]
    junk_names: frozenset[str]
    government_body: re.Pattern[str]
    reporting_nouns: frozenset[str]
    speech_verbs: frozenset[str]
    negatable_heads: frozenset[str]
    market_moves: frozenset[str]
    concessive_marks: frozenset[str]
    antecedent_marks: frozenset[str]
    facility_words: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        d = json.loads(path.read_text(encoding="utf-8"))
        words = {k: frozenset(v) for k, v in d.items() if isinstance(v, list)}
        gov = "|".join(re.escape(w) for w in d["government_body_words"])
        return cls(
            news_agencies=words["news_agencies"],
            junk_names=frozenset(n.upper() for n in d["junk_names"]["names"]),
            government_body=re.compile(rf"\b({gov})\b", re.I),
            reporting_nouns=words["reporting_nouns"],
            speech_verbs=words["speech_verbs"],
            negatable_heads=words["negatable_heads"],
            market_moves=words["market_moves"],
            concessive_marks=words["concessive_marks"],
            antecedent_marks=words["antecedent_marks"],
            facility_words=words["facility_words"],
        )


def _phrase_rx(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    parts = sorted({re.escape(p.lower()) for p in phrases}, key=len, reverse=True)
    return re.compile(r"(?<![a-z])(?:" + "|".join(parts) + r")")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: {exc}") from exc
    return rows


class RuleSet:
    """Event rules and modality cues loaded from ``rules/``; compiled once."""

    def __init__(self, rules: list[Rule], cues: list[Cue], lexicon: Lexicon) -> None:
        ids = [r.id for r in rules] + [c.id for c in cues]
        dupes = [i for i, n in Counter(ids).items() if n > 1]
        if dupes:
            raise ValueError(f"duplicate rule ids: {dupes}")
        self.rules = rules
        self.cues = cues
        self.lexicon = lexicon
        self._context = {r.id: _phrase_rx(r.context) for r in rules}
        self._exclude = {r.id: _phrase_rx(r.exclude) for r in rules}
        self._requires = {r.id: _phrase_rx(r.requires) for r in rules}
        self._cue_rx = {c.id: _phrase_rx(c.phrases) for c in cues}
        self._cue_exclude = {c.id: _phrase_rx(c.exclude) for c in cues}
        self.prefilter = _phrase_rx(tuple({p for r in rules for p in r.context}))

    @classmethod
    def load(cls, rules_dir: str | Path) -> RuleSet:
        d = Path(rules_dir)
        rules = [
            Rule(
                id=r["id"],
                type=r["type"],
                milestone=r["milestone"],
                triggers=tuple(t.lower() for t in r["triggers"]),
                context=tuple(r["context"]),
                exclude=tuple(r.get("exclude", ())),
                status=r.get("status"),
                weight=float(r.get("weight", 0.8)),
                trigger_pos=tuple(r.get("trigger_pos", ())),
                context_in_clause=bool(r.get("context_in_clause", False)),
                requires=tuple(r.get("requires", ())),
                requires_actor=bool(r.get("requires_actor", False)),
                temporary=tuple(r.get("temporary", ())),
                examples=r.get("examples", {}),
            )
            for r in _jsonl(d / "events.jsonl")
        ]
        cues = [
            Cue(
                id=c["id"],
                effect=c["effect"],
                status=c.get("status"),
                types=tuple(c.get("types", ())),
                phrases=tuple(c.get("phrases", ())),
                head_lemmas=tuple(c.get("head_lemmas", ())),
                exclude=tuple(c.get("exclude", ())),
                scope=c.get("scope", "clause"),
                examples=c.get("examples", {}),
            )
            for c in _jsonl(d / "modality.jsonl")
        ]
        return cls(rules, cues, Lexicon.load(d / "lexicon.json"))

    def candidate(self, sentence: str) -> bool:
        return bool(self.prefilter and self.prefilter.search(sentence.lower()))

    def context_ok(self, rule: Rule, lower: str) -> bool:
        ctx, exc, req = self._context[rule.id], self._exclude[rule.id], self._requires[rule.id]
        if req is not None and not req.search(lower):
            return False
        return bool(ctx and ctx.search(lower)) and not (exc and exc.search(lower))

    def context_distance(self, rule: Rule, doc: Any, trig: Any) -> int | None:
        """Characters from the trigger to the nearest context phrase inside its clause (None: not there)."""
        ctx = self._context[rule.id]
        if ctx is None:
            return None
        top = _governing_verb(trig)
        while (
            top.dep_ in ("xcomp", "ccomp", "conj", "advcl")
            and top.head is not top
            and not rule.context_in_clause
        ):
            top = top.head
        verbal = trig.sent.root.pos_ in ("VERB", "AUX")  # a headline-like parse has no clause to speak of
        span = doc[top.left_edge.i : top.right_edge.i + 1] if (rule.context_in_clause and verbal) else doc[:]
        if trig.i < span.start or trig.i >= span.end:
            span = doc[min(span.start, trig.i) : max(span.end, trig.i + 1)]
        text = span.text.lower()
        # a list named inside a relative clause about someone else ("Huawei, which was placed on the
        # Entity List in 2019, unveiled ...") is not the context of this trigger
        aside = (
            [(doc[i].idx, doc[i].idx + len(doc[i])) for i in _relative_tokens(doc, trig)]
            if rule.context_in_clause
            else []
        )
        best = None
        for m in ctx.finditer(text):
            pos = span.start_char + m.start()
            if any(a <= pos < b for a, b in aside):
                continue
            dist = abs(pos - trig.idx)
            best = dist if best is None else min(best, dist)
        return best

    def cue_matches(self, cue: Cue, lower: str, heads: set[str] | None = None) -> bool:
        exc = self._cue_exclude[cue.id]
        if exc and exc.search(lower):
            return False
        rx = self._cue_rx[cue.id]
        return bool(rx and rx.search(lower)) or bool(heads and heads & set(cue.head_lemmas))


# -- per-sentence analysis ---------------------------------------------------------------------


@dataclass
class _Mention:
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


@dataclass
class _TokenIndex:
    """One pass over a parsed sentence: tokens by lemma and by lower-case form, for trigger lookup."""

    tokens: list[Any]
    lemmas: list[str]
    lowers: list[str]
    by_word: dict[str, list[int]]

    @classmethod
    def of(cls, doc: Any) -> _TokenIndex:
        tokens = list(doc)
        lemmas = [t.lemma_.lower() for t in tokens]
        lowers = [t.lower_ for t in tokens]
        by_word: dict[str, list[int]] = {}
        for i, (lem, low) in enumerate(zip(lemmas, lowers, strict=True)):
            by_word.setdefault(lem, []).append(i)
            if low != lem:
                by_word.setdefault(low, []).append(i)
        return cls(tokens, lemmas, lowers, by_word)


def _find_trigger(rule: Rule, idx: _TokenIndex) -> Any | None:
    """The token that triggers ``rule`` (first token of a multiword trigger).

    Of several candidates the one highest in the parse wins, and a trigger inside a participle or
    relative clause only when there is no other.
    """
    found = []
    for trig in rule.triggers:
        words = trig.split()
        for i in idx.by_word.get(words[0], ()):
            if len(words) > 1:
                n = len(words)
                if idx.lemmas[i : i + n] == words or idx.lowers[i : i + n] == words:
                    found.append(idx.tokens[i])
            elif not rule.trigger_pos or idx.tokens[i].pos_ in rule.trigger_pos:
                found.append(idx.tokens[i])
    if not found:
        return None
    return min(found, key=lambda t: (t.dep_ in ("acl", "relcl", "amod"), _depth(t), t.i))


def _depth(tok: Any) -> int:
    d = 0
    while tok.head is not tok and d < 50:
        tok = tok.head
        d += 1
    return d


def _speaker(tok: Any, lex: Lexicon) -> bool:
    """Whether a name is the subject of a speech verb ("said X", "X told reporters")."""
    t = tok
    for _ in range(3):
        if t.dep_ == "nsubj" and t.head.lemma_.lower() in lex.speech_verbs:
            return True
        if t.head is t or t.dep_ not in ("appos", "compound", "nsubj", "pobj", "prep"):
            return False
        t = t.head
    return False


def _negated(trig: Any, lex: Lexicon) -> bool:
    """'has not (actually) agreed to roll back tariffs': the trigger or a verb above it is negated."""
    t = trig
    for _ in range(3):
        if t.lemma_.lower() in lex.negatable_heads and any(c.dep_ == "neg" for c in t.children):
            return True
        if t.head is t:
            break
        t = t.head
    return False


def _governing_verb(tok: Any) -> Any:
    t = tok
    for _ in range(4):
        if t.pos_ in ("VERB", "AUX") or t.dep_ == "ROOT":
            return t
        t = t.head
    return t


def _ancestor_lemmas(tok: Any) -> set[str]:
    out = set()
    t = tok
    for _ in range(6):
        if t.head is t:
            break
        t = t.head
        out.add(t.lemma_.lower())
    return out


class Extractor:
    """Turns an article into event mentions. One per process; models come from ``Models``."""

    def __init__(self, settings: NlpSettings, models: Models | None = None) -> None:
        self.settings = settings
        self.models = models or Models.get(settings.spacy_model, settings.rules_dir)
        self.rules = RuleSet.load(settings.rules_dir)

    @property
    def gazetteer(self) -> Gazetteer:
        return self.models.gazetteer

    # -- public ----------------------------------------------------------------------------

    def extract(self, article: Article) -> tuple[EventMention, ...]:
        return self.extract_many([article])[0]

    def extract_many(self, articles: list[Article]) -> list[tuple[EventMention, ...]]:
        """Batch several articles through the parser at once (one nlp.pipe call)."""
        per_article: list[list[Sentence]] = []
        flat: list[tuple[int, Sentence]] = []
        for i, art in enumerate(articles):
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
            per_article.append(sents)
            flat.extend((i, s) for s in sents)
        docs = list(self.models.parse([s.text for _, s in flat], batch_size=self.settings.batch_size))
        by_article: list[list[tuple[Sentence, Any]]] = [[] for _ in articles]
        for (i, s), doc in zip(flat, docs, strict=True):
            by_article[i].append((s, doc))
        return [self._article_events(art, pairs) for art, pairs in zip(articles, by_article, strict=True)]

    # -- internals -------------------------------------------------------------------------

    def _article_events(
        self, article: Article, pairs: list[tuple[Sentence, Any]]
    ) -> tuple[EventMention, ...]:
        mentions: list[_Mention] = []
        for order, (sent, doc) in enumerate(pairs):
            mentions.extend(self._sentence_mentions(article, sent, doc, order))
        self._fill_actors(mentions, pairs)
        return tuple(self._merge(mentions))

    def _sentence_mentions(self, article: Article, sent: Sentence, doc: Any, order: int) -> list[_Mention]:
        lower = doc.text.lower()
        index = _TokenIndex.of(doc)
        found: dict[str, tuple[_Mention, int, int]] = {}  # type -> (mention, trigger index, context distance)
        for rule in self.rules.rules:
            if rule.type in found and found[rule.type][0].rule.weight >= rule.weight:
                continue
            if not self.rules.context_ok(rule, lower):
                continue
            trig = _find_trigger(rule, index)
            if trig is None:
                continue
            dist = self.rules.context_distance(rule, doc, trig)
            if dist is None:
                continue
            m = self._analyse(article, sent, doc, rule, trig, lower, order)
            if m is not None and (rule.type not in found or m.confidence > found[rule.type][0].confidence):
                found[rule.type] = (m, trig.i, dist)
        # One word reports one thing: when two types fire on the same trigger, the nearer context wins.
        by_trigger: dict[int, tuple[_Mention, int, int]] = {}
        for m, ti, dist in found.values():
            if ti not in by_trigger or dist < by_trigger[ti][2]:
                by_trigger[ti] = (m, ti, dist)
        return [m for m, _, _ in by_trigger.values()]

    def _analyse(
        self, article: Article, sent: Sentence, doc: Any, rule: Rule, trig: Any, lower: str, order: int
    ) -> _Mention | None:
        lower = _clause_text(doc, trig).lower()
        if (
            trig.dep_ in ("acl", "relcl", "amod")
            and rule.milestone not in ("pause", "threat", "denial")
            and trig.sent.root.pos_ in ("VERB", "AUX")
            and trig.head.lemma_.lower()
            not in self.rules.lexicon.reporting_nouns  # "its announcement that it will build": news
        ):
            return None  # a participle or relative clause describes a thing; it does not report news
        actors, explicit, targets, location = self._roles(rule, doc, trig)
        if rule.requires_actor and not explicit:
            return None
        heads = _ancestor_lemmas(trig)
        for cue in self.rules.cues:  # "Washington asked Seoul to lower tariffs": a request, not an act
            if cue.effect == "drop" and rule.type in cue.types and heads & set(cue.head_lemmas):
                return None
        if _in_concessive_clause(trig, self.rules.lexicon):
            return None  # "although agreements to build the plant were mired in doubt"
        event_date, future_date = self._event_date(doc, trig, article.published)
        if (
            rule.type == "factory_opening"
            and future_date
            and rule.milestone in ("announcement", "construction", "delay")
        ):
            event_date = None  # "operation by the end of 2027" is the plan's target, not the event's date
        if rule.type == "factory_opening" and _negated(trig, self.rules.lexicon):
            return None  # "the plant was not scrapped"
        today = bool(event_date and article.published and event_date == article.published[:10])
        status, cue_id = self._status(rule, doc, trig, lower, future_date, doc.text.lower(), today)
        background = self._background(lower, trig, event_date, article.published)
        amounts = [e.text for e in doc.ents if e.label_ in ("PERCENT", "MONEY", "QUANTITY")]
        if rule.type == "factory_opening" and not targets:
            return None
        conf = rule.weight
        conf *= 1.0 if actors else 0.8
        conf *= 1.0 if (targets or rule.type == "tariff_announcement") else 0.85
        conf *= 1.0 if cue_id else 0.92
        if rule.type == "factory_opening" and location is None:
            conf *= 0.9
        return _Mention(
            rule=rule,
            status=status,
            status_cue=cue_id,
            actors=actors,
            explicit_actor=explicit,
            targets=targets,
            location=location,
            event_date=event_date,
            background=background,
            amounts=amounts,
            sentence=sent,
            confidence=round(min(conf, 0.99), 3),
            order=order,
        )

    def _ent_entity(self, ent: Any) -> Any:
        return self.gazetteer.get(ent.ent_id_) if ent.ent_id_ else None

    def _roles(self, rule: Rule, doc: Any, trig: Any) -> tuple[list[str], bool, list[str], str | None]:
        """(actors, actor_is_explicit, targets, location) of a rule firing at ``trig``."""
        lex = self.rules.lexicon
        subj, passive_subj = _subject_tokens(trig)
        aside = _aside_tokens(doc, trig)
        subj -= aside
        actors: list[tuple[int, str]] = []
        targets: list[str] = []
        location = None
        lists: list[str] = []
        sanctions = rule.type in ("sanctions_listing", "sanctions_removal")
        for ent in doc.ents:
            ge = self._ent_entity(ent)
            idx = {t.i for t in ent}
            if (
                ent.root.dep_ in ("nsubj", "appos", "compound")
                and ge is None
                and ent.label_ in ("PERSON", "ORG")
                and _speaker(ent.root, lex)
                and not (trig.left_edge.i <= ent.root.i <= trig.right_edge.i)
            ):
                continue  # "..., said Under Secretary Brian Nelson": the speaker, not a party
            in_subj = bool(idx & subj)
            in_aside = bool(idx & aside) and not in_subj
            if ge is not None and ge.kind == "list":
                lists.append(ge.id)
                continue
            if ent.label_ == "DEMONYM":
                if ge is not None and not sanctions:
                    targets.append(ge.canonical)
                continue
            if ge is not None:
                if sanctions:
                    if ge.kind == "authority" and "sanctions" in ge.roles:
                        actors.append((5 if in_subj else 3, ge.canonical))
                    elif ge.kind == "government" and in_subj:
                        actors.append((1, self._sanctions_authority(ge.country, lists) or ge.canonical))
                    elif ge.kind == "company" and not in_subj:
                        targets.append(ge.canonical)
                elif rule.type == "tariff_announcement":
                    if ge.kind in ("authority", "government"):
                        gov = self._tariff_government(ge)
                        prep = ent.root.head.lower_ if ent.root.dep_ == "pobj" else ""
                        if in_subj:
                            actors.append((5, gov))
                        elif (
                            prep in ("on", "against", "from", "to", "with", "for", "in")
                            or (idx & passive_subj)
                            or in_aside
                        ):
                            targets.append(ge.canonical)
                        else:
                            actors.append((2 if ge.kind == "authority" else 1, gov))
                    else:
                        targets.append(ge.canonical)
                else:  # factory_opening
                    if ge.kind == "company":
                        actors.append((5 if in_subj else 3, ge.canonical))
                    elif ge.kind == "government" and location is None and not in_subj:
                        location = ge.canonical
                continue
            name = _clean_name(ent.text)
            if not name or name.lower() in lex.news_agencies or name.upper() in lex.junk_names:
                continue
            if sanctions:
                if ent.label_ in ("ORG", "PERSON", "FAC", "PRODUCT", "WORK_OF_ART") and not in_subj:
                    targets.append(name)
            elif rule.type == "factory_opening":
                if ent.label_ == "ORG" and not lex.government_body.search(name):
                    actors.append((2 if in_subj else 1, name))
                elif ent.label_ in ("GPE", "LOC", "FAC") and location is None:
                    location = name
            elif rule.type == "tariff_announcement" and ent.label_ in ("GPE", "NORP") and not in_subj:
                targets.append(name)
        explicit = bool(actors) and max(a[0] for a in actors) >= 3
        if sanctions:
            targets.extend(
                m.group(1)
                for m in GROUP_RX.finditer(doc.text)
                if not doc.text[max(0, m.start() - 14) : m.start()].lower().strip().endswith("according to")
            )
            by_list = self._sanctions_authority("", lists)
            if by_list and not explicit:
                actors.append((2, by_list))
        if rule.type == "factory_opening":
            facility = _facility_phrase(doc, trig, lex)
            if facility is None:
                return [], False, [], None  # the facility word is not what the trigger speaks of
            targets.append(facility)
        actors.sort(key=lambda x: -x[0])
        actor_names = _unique([a for _, a in actors])[:1]
        keys = {name_key(a) for a in actor_names}
        targets = [t for t in _unique(targets) if name_key(t) not in keys]
        return actor_names, explicit, targets[:8], location

    def _sanctions_authority(self, country: str, lists: list[str]) -> str | None:
        by_list = {
            "list.entity": "auth.us.bis",
            "list.uvl": "auth.us.bis",
            "list.dpl": "auth.us.bis",
            "list.mil_end_user": "auth.us.bis",
            "list.sdn": "auth.us.ofac",
            "list.uel": "auth.cn.mofcom",
            "list.export_control_cn": "auth.cn.mofcom",
        }
        for lid in lists:
            if lid in by_list:
                e = self.gazetteer.get(by_list[lid])
                if e:
                    return e.canonical
        by_country = {
            "EU": "auth.eu.council",
            "CN": "auth.cn.mofcom",
            "GB": "auth.uk.ofsi",
            "US": "auth.us.ofac",
        }
        if country in by_country:
            e = self.gazetteer.get(by_country[country])
            return e.canonical if e else None
        return None

    def _tariff_government(self, ge: Any) -> str:
        """Tariffs are set by governments: map ministries and leaders to the acting government."""
        mapping = {"US": "auth.us.president", "CN": "auth.cn.tariff", "EU": "auth.eu.commission"}
        target = mapping.get(ge.country)
        if target:
            e = self.gazetteer.get(target)
            if e:
                return e.canonical
        return ge.canonical

    def _event_date(self, doc: Any, trig: Any, published: str | None) -> tuple[str | None, bool]:
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

    def _status(
        self,
        rule: Rule,
        doc: Any,
        trig: Any,
        lower: str,
        future_date: bool,
        sentence: str = "",
        today: bool = False,
    ) -> tuple[str, str]:
        heads = _ancestor_lemmas(trig) | {trig.lemma_.lower()}
        if rule.type in ("tariff_announcement", "sanctions_listing", "sanctions_removal") and _negated(
            trig, self.rules.lexicon
        ):
            return "denied", "negation"
        if rule.temporary and any(p in lower for p in rule.temporary):
            return "paused", rule.id  # "cut the tariff to 30% for 90 days"
        if rule.status:
            for cue in self.rules.cues:
                if (
                    cue.status == "denied"
                    and rule.status != "denied"
                    and rule.type in cue.types
                    and self.rules.cue_matches(cue, lower, heads)
                ):
                    return "denied", cue.id
            return rule.status, rule.id
        for cue in self.rules.cues:
            if cue.effect != "status" or (cue.types and rule.type not in cue.types):
                continue
            if self.rules.cue_matches(
                cue, sentence if cue.scope == "sentence" and sentence else lower, heads
            ):
                return cue.status or "", cue.id
        verb = _governing_verb(trig)
        auxes = {c.lower_ for c in verb.children if c.dep_ in ("aux", "auxpass")}
        for anc in (verb.head,) if verb.dep_ in ("xcomp", "ccomp") else ():
            auxes |= {c.lower_ for c in anc.children if c.dep_ in ("aux", "auxpass")}
        if rule.milestone in ("construction", "announcement"):
            return "announced", "tense"
        if "to" in auxes and verb.tag_ in ("VB", "VBN"):
            return "announced", "tense.infinitive"  # "expected to be energized", "to take effect"
        if rule.type == "factory_opening" and verb.tag_ == "VBG" and auxes & {"is", "are", "am", "'s", "'re"}:
            return "announced", "tense.progressive"  # "the plant is opening"
        if today and rule.type != "factory_opening" and auxes & _FUTURE_AUX:
            return "done", "tense.today"  # "will impose ... from Sunday" in Sunday's paper: in force
        if auxes & _FUTURE_AUX or future_date:
            return "announced", "tense.future"
        if auxes & {"would"} and rule.type != "factory_opening":
            return "announced", "tense.would"
        if verb.tag_ in _PAST_TAGS or auxes & {"has", "have", "had", "was", "were", "been"}:
            return "done", "tense.past"
        return _STATUS_DEFAULT.get(rule.milestone, "announced"), ""

    def _background(self, lower: str, trig: Any, event_date: str | None, published: str | None) -> bool:
        if published and len(published) >= 4 and published[:4].isdigit():
            # "..., which was placed on the Entity List in 2019, ...": a year before the article's is history
            years = [int(y) for y in _YEAR_IN_CLAUSE.findall(lower)]
            if years and max(years) < int(published[:4]):
                return True
        if event_date and published:
            gap = dates.days_between(event_date, published)
            if gap is not None:
                slack = 31 if len(event_date) == 7 else (365 if len(event_date) == 4 else 0)
                if gap - slack > self.settings.background_days:
                    return True
        t = _governing_verb(trig)
        if _in_antecedent_clause(trig, self.rules.lexicon):
            return True  # "... came just after the tariffs took effect": the cause, not the news
        for _ in range(4):
            if any(c.lower_ == "had" and c.dep_ in ("aux", "auxpass") for c in t.children):
                return True  # past perfect: told as history
            if t.head is t:
                break
            t = t.head
        for cue in self.rules.cues:
            if cue.effect == "background" and self.rules.cue_matches(cue, lower):
                return True
        return False

    def _fill_actors(self, mentions: list[_Mention], pairs: list[tuple[Sentence, Any]]) -> None:
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

    def _countries(self, names: set[str] | list[str]) -> set[str]:
        out = set()
        for n in names:
            e = self.gazetteer.resolve(n)
            if e is not None and e.kind in ("government", "authority"):
                out.add(e.country or e.canonical)
        return out

    def _same_story(self, g: list[_Mention], m: _Mention) -> bool:
        """Whether mention ``m`` reports the same event as the group ``g`` (one article)."""
        g0 = g[0]
        if g0.rule.type != m.rule.type or g0.background != m.background:
            return False
        gk, mk = _group_key(g0), _group_key(m)
        if gk[1] != mk[1]:
            return False
        gt = {t for x in g for t in x.targets if not GROUP_RX.fullmatch(t)}
        mt = {t for t in m.targets if not GROUP_RX.fullmatch(t)}
        if gk[2] != mk[2]:
            # the same tariff seen from the other side ("the tariffs are on pause", said the target's leader)
            swapped = (
                m.rule.type == "tariff_announcement"
                and gk[1] in ("pause", "cut", "denial")
                and (
                    (mk[2] and self._countries(set(m.actors)) & self._countries(gt))
                    or (gk[2] and self._countries(set(g0.actors)) & self._countries(mt))
                )
            )
            if not (swapped or not gk[2] or not mk[2]):
                return False
            if not gk[2] and not mk[2]:
                pass
            elif not swapped and gk[2] and mk[2]:
                return False
        if m.rule.type == "tariff_announcement":
            gc, mc = self._countries(gt), self._countries(mt)
            if gc and mc and not (gc & mc):
                return False  # a pause for Mexico and a pause for Canada are two events
            if not _amounts_compatible({a for x in g for a in x.amounts}, set(m.amounts)):
                return False
        if m.rule.type == "factory_opening":
            go, mo = _ordinals(gt), _ordinals(mt)
            if go and mo and not (go & mo):
                return False  # "first plant" and "second plant" are two sites
        return True

    def _merge(self, mentions: list[_Mention]) -> list[EventMention]:
        groups: list[list[_Mention]] = []
        for m in sorted(mentions, key=lambda x: x.order):
            for g in groups:
                if self._same_story(g, m):
                    g.append(m)
                    break
            else:
                groups.append([m])
        groups = self._fold_headlines(groups)
        groups = self._fold_threats(groups)
        self._mark_earlier_than_lead(groups)
        self._mark_lifted_listings(groups)
        out = []
        for g in groups:
            lead = max(g, key=lambda x: (x.confidence, -x.order))
            first = g[0]
            status = _group_status(g)
            conf = min(0.99, lead.confidence + 0.03 * (len(g) - 1))
            event_date = next((x.event_date for x in g if x.event_date), None)
            location = next((x.location for x in g if x.location), None)
            actors = _unique([a for x in g for a in x.actors if x.explicit_actor]) or _unique(
                [a for x in g for a in x.actors]
            )
            if len(actors) > 1:  # a party that other reports of this event name as the target is the target
                named_targets = self._countries({t for x in g for t in x.targets})
                kept = [a for a in actors if not (self._countries({a}) & named_targets)]
                actors = kept or actors[:1]
            out.append(
                EventMention(
                    type=first.rule.type,
                    status=status,
                    milestone=_milestone(
                        lead.rule.milestone if first.rule.type == "factory_opening" else first.rule.milestone,
                        status,
                    ),
                    actors=tuple(actors[:3]),
                    targets=_targets(g, actors, self.rules.lexicon),
                    location=location,
                    event_date=event_date,
                    confidence=round(conf, 3),
                    evidence=tuple(
                        Evidence(
                            sentence=x.sentence.text,
                            start=x.sentence.start,
                            end=x.sentence.end,
                            field=x.sentence.field,
                        )
                        for x in g[:5]
                    ),
                    rule_ids=tuple(_unique([x.rule.id for x in g])),
                    background=all(x.background for x in g),
                    amounts=tuple(_unique([a for x in g for a in x.amounts]))[:8],
                )
            )
        return out

    def _fold_headlines(self, groups: list[list[_Mention]]) -> list[list[_Mention]]:
        """A headline compresses: when the body reports the same type by the same actor, the body's modality wins."""
        out = []
        for g in groups:
            if all(x.sentence.field == "title" for x in g):
                g0 = g[0]
                body = [
                    b
                    for b in groups
                    if b is not g
                    and b[0].rule.type == g0.rule.type
                    and not b[0].background
                    and any(x.sentence.field != "title" for x in b)
                    and (
                        not g0.actors or not b[0].actors or name_key(g0.actors[0]) == name_key(b[0].actors[0])
                    )
                    and _family(b[0]) == _family(g0)
                ]
                if len(body) == 1:
                    body[0].extend(g)
                    continue
            out.append(g)
        return out

    def _mark_lifted_listings(self, groups: list[list[_Mention]]) -> None:
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

    def _fold_threats(self, groups: list[list[_Mention]]) -> list[list[_Mention]]:
        """A conditional statement colours an announcement of the same tariff: both are one threat."""
        threats = [
            g for g in groups if g[0].rule.type == "tariff_announcement" and g[0].status == "threatened"
        ]
        if not threats:
            return groups
        out = []
        for g in groups:
            g0 = g[0]
            if g0.rule.type == "tariff_announcement" and g0.status == "announced" and not g0.background:
                for t in threats:
                    same_actor = (
                        not g0.actors or not t[0].actors or name_key(g0.actors[0]) == name_key(t[0].actors[0])
                    )
                    tc = self._countries({x for m in t for x in m.targets})
                    gc = self._countries({x for m in g for x in m.targets})
                    ta, ga = {a for m in t for a in m.amounts}, {a for m in g for a in m.amounts}
                    bare = not gc and not ga  # "The tariff will go into effect June 10."
                    if (
                        same_actor
                        and (not tc or not gc or tc & gc)
                        and _amounts_compatible(ta, ga)
                        and (tc & gc or ta & ga or (bare and len(threats) == 1))
                    ):
                        t.extend(g)
                        break
                else:
                    out.append(g)
                continue
            out.append(g)
        return out

    def _mark_earlier_than_lead(self, groups: list[list[_Mention]]) -> None:
        """Events dated before the article's lead event are its context (background), not its news."""
        news = [g for g in groups if not g[0].background]
        if not news:
            return
        lead = min(news, key=lambda g: g[0].order)
        lead_date = next((x.event_date for x in lead if x.event_date and len(x.event_date) == 10), None)
        if not lead_date:
            return
        for g in news:
            if g is lead or g[0].rule.type != lead[0].rule.type:
                continue
            d = next((x.event_date for x in g if x.event_date and len(x.event_date) == 10), None)
            gap = dates.days_between(d, lead_date) if d else None
            if gap is not None and gap > 0:
                for x in g:
                    x.background = True


_ORDINALS = re.compile(
    r"\b(first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th|fab \d+|phase \d+|phase (?:one|two|three))\b"
)
_MONEY = re.compile(r"\$?\s?(\d[\d,.]*)\s*(billion|million|bn|trillion)", re.I)


_ORDINAL_WORDS = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth"}


def _ordinals(targets: set[str]) -> set[str]:
    return {
        _ORDINAL_WORDS.get(m.group(1), m.group(1)) for t in targets for m in _ORDINALS.finditer(t.lower())
    }


def _money(amounts: set[str]) -> set[str]:
    return {m.group(1).replace(",", "") + m.group(2).lower()[:1] for x in amounts for m in _MONEY.finditer(x)}


def _amounts_compatible(a: set[str], b: set[str]) -> bool:
    """Money amounts named by both sides must share one ("$34 billion" vs "$200 billion": different tariffs)."""
    ma, mb = _money(a), _money(b)
    return not ma or not mb or bool(ma & mb)


def _targets(g: list[_Mention], actors: list[str], lex: Lexicon) -> tuple[str, ...]:
    """The group's parties; of a factory's several descriptions of its site, the most specific one."""
    names = [
        t
        for t in _unique([t for x in g for t in x.targets])
        if name_key(t) not in {name_key(a) for a in actors}
    ]
    if g[0].rule.type == "factory_opening":
        facility = [
            t
            for t in names
            if any(w in t.lower().split() for w in lex.facility_words) or t.startswith("site in")
        ]
        others = [t for t in names if t not in facility]
        if facility:

            def specific(t: str) -> tuple[int, int]:
                words = [
                    w
                    for w in re.findall(r"[a-z0-9$]+", t.lower())
                    if w not in ("its", "the", "a", "new", "plant")
                ]
                return (len(words), -len(t))

            names = [max(facility, key=specific), *others]
    return tuple(names[:10])


def _group_status(g: list[_Mention]) -> str:
    """The status of one event reported by several sentences of an article.

    The first body sentence is the news lead; a headline only speaks when the body says nothing of the
    modality; a fixed-status rule (pause, threat, cancellation) or a modality cue outranks bare tense.
    """
    body = [x for x in g if x.sentence.field != "title"] or g
    lead = body[0]
    if lead.rule.status or lead.status_cue.startswith(("modality", "negation")):
        return lead.status
    cued = [x for x in body if x.rule.status or x.status_cue.startswith(("modality", "negation"))]
    if cued and cued[0].status in ("threatened", "denied", "paused", "cancelled", "planned"):
        return cued[0].status
    return lead.status


def _family(m: _Mention) -> str:
    """Milestones of one kind of act: a listing and its prospect, a tariff and its threat, a plant's stages."""
    return {
        "listing": "list",
        "removal": "delist",
        "imposed": "tariff",
        "threat": "tariff",
        "pause": "pause",
        "cut": "pause",
        "denial": "denial",
    }.get(
        m.rule.milestone,
        m.rule.milestone
        if m.rule.type != "factory_opening"
        else ("active" if m.status not in ("paused", "cancelled") else m.status),
    )


def _group_key(m: _Mention) -> tuple[str, str, tuple[str, ...]]:
    """Mentions of one article with the same key report the same event."""
    milestone = _milestone(m.rule.milestone, m.status)
    if m.rule.type == "factory_opening" and m.status in ("announced", "planned"):
        milestone = (
            "prospective_factory"  # a plant's announcement, groundbreaking and future start are one story
        )
    return (m.rule.type, milestone, tuple(name_key(a) for a in m.actors[:1]))


def _milestone(rule_milestone: str, status: str) -> str:
    """The stage of a thing's life a report speaks of; different milestones never merge."""
    if status == "threatened":
        return "threat"
    if status == "planned" and rule_milestone in ("listing", "imposed", "removal"):
        return "prospective_" + rule_milestone
    if status == "planned" and rule_milestone in ("announcement", "construction", "production"):
        return "plan"
    if status == "denied":
        return "denial"
    return rule_milestone


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _clean_name(text: str) -> str:
    t = re.sub(r"^(the|a|an)\s+", "", text.strip(), flags=re.I)
    t = re.sub(r"['’]s$", "", t).strip(" ,.;:\"'()")
    return t if len(t) > 1 else ""


def _facility_phrase(doc: Any, trig: Any, lex: Lexicon) -> str | None:
    """The facility the trigger speaks of: a facility noun it governs, its subject, or itself."""
    verb = _governing_verb(trig)
    related = {t.i for t in trig.subtree} | {t.i for t in verb.subtree if t.i >= verb.i}
    t = verb
    for _ in range(
        4
    ):  # subjects up the xcomp chain: "the plant is set to open", "Giga Berlin is up and running"
        for c in t.children:
            if c.dep_ in ("nsubj", "nsubjpass", "expl"):
                related.update(x.i for x in c.subtree)
        if t.dep_ not in ("xcomp", "ccomp", "conj", "acomp") or t.head is t:
            break
        t = t.head
    related -= _aside_tokens(doc, trig)
    if trig.head is not trig and trig.head.pos_ in ("NOUN", "PROPN"):
        related.update(x.i for x in trig.head.subtree)
    best = None
    for chunk in doc.noun_chunks:
        root = chunk.root
        at_root = root.lemma_.lower() in lex.facility_words or root.lower_ in lex.facility_words
        inside = any(
            t.lower_ in lex.facility_words for t in chunk if t.pos_ == "PROPN"
        )  # "Giga Berlin", "Fab 52"
        if (at_root or inside) and root.i in related:
            dist = abs(root.i - trig.i) + (0 if at_root else 3)
            if best is None or dist < best[0]:
                best = (dist, chunk.text)
    if best is None:
        for (
            ent
        ) in doc.ents:  # "opening ceremony for JASM in Kumamoto Prefecture": the place stands for the site
            if ent.label_ in ("FAC", "GPE", "LOC") and ent.root.i in related and ent.root.i > trig.i:
                return f"site in {_clean_name(ent.text)}"[:120]
        return None
    return _clean_name(best[1])[:120] or None


def _unique(items: list[str]) -> list[str]:
    """Drop repeats; of two spellings of one name the longer is kept, in first-seen position."""
    out: list[str] = []
    pos: dict[str, int] = {}
    for it in items:
        k = name_key(it)
        if not k:
            continue
        if k in pos:
            if len(it) > len(out[pos[k]]):
                out[pos[k]] = it
            continue
        pos[k] = len(out)
        out.append(it)
    return out


def _subject_tokens(trig: Any) -> tuple[set[int], set[int]]:
    """Token indices of the acting subject nearest above ``trig``, and of passive subjects (targets)."""
    subj: set[int] = set()
    passive: set[int] = set()
    t = trig
    for _ in range(5):
        for c in t.children:
            if c.dep_ in ("nsubj", "csubj", "agent"):
                subj.update(x.i for x in c.subtree)
            elif c.dep_ == "nsubjpass":
                passive.update(x.i for x in c.subtree)
        if subj or t.head is t:
            break
        t = t.head
    return subj, passive


def _enclosing_clause(trig: Any, marks: frozenset[str], pcomp_heads: tuple[str, ...] = ()) -> Any | None:
    """The adverbial clause around the trigger that ``marks`` introduce ("after", "although"...), or the
    verb under a preposition in ``pcomp_heads`` ("after imposing ..."); None when there is none."""
    t = _governing_verb(trig)
    for _ in range(4):
        if t.dep_ == "advcl" and any(c.dep_ == "mark" and c.lower_ in marks for c in t.children):
            return t
        if pcomp_heads and t.dep_ == "pcomp" and t.head.lower_ in pcomp_heads:
            return t
        if t.head is t:
            return None
        t = t.head
    return None


def _in_concessive_clause(trig: Any, lex: Lexicon) -> bool:
    return _enclosing_clause(trig, lex.concessive_marks) is not None


def _in_antecedent_clause(trig: Any, lex: Lexicon) -> bool:
    """Whether the trigger sits in an adverbial clause introduced by "after", "since", "because"..."""
    clause = _enclosing_clause(trig, lex.antecedent_marks, ("after", "following", "since"))
    if clause is None:
        return False
    if clause.dep_ == "advcl":
        # "shares fell after China placed them on its list": a market move is no news; the cause is
        return clause.head.lemma_.lower() not in lex.market_moves
    return True


def _side_clause_tokens(doc: Any, trig: Any, deps: tuple[str, ...]) -> set[int]:
    """Tokens of clauses of the given kinds that do not contain the trigger."""
    out: set[int] = set()
    for tok in doc:
        if tok.dep_ in deps and not (tok.left_edge.i <= trig.i <= tok.right_edge.i):
            out.update(x.i for x in tok.subtree)
    return out


def _relative_tokens(doc: Any, trig: Any) -> set[int]:
    """Tokens of relative clauses that do not contain the trigger."""
    return _side_clause_tokens(doc, trig, ("relcl",))


def _clause_text(doc: Any, trig: Any) -> str:
    """The sentence without relative clauses that do not contain the trigger ("..., which opened last year,")."""
    skip = _relative_tokens(doc, trig)
    return "".join(t.text_with_ws for t in doc if t.i not in skip)


def _aside_tokens(doc: Any, trig: Any) -> set[int]:
    """Tokens in adverbial or relative clauses that do not contain the trigger ("unless X does Y")."""
    return _side_clause_tokens(doc, trig, ("advcl", "relcl"))
