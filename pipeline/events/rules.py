"""Event rules and modality cues: loaded from ``rules/``, validated against the vocabulary, compiled once.

A rule names its type, its milestone (``vocab.RULE_MILESTONES``) and the versioned role function that
reads its parties (``roles.ROLE_FUNCTIONS``, e.g. ``"tariff.v1"``); a rule or cue naming anything else
is refused at load with a message naming its id.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RulesError
from ..vocab import EVENT_TYPES, RULE_MILESTONES, STATUSES
from . import syntax
from .lexicon import Lexicon
from .roles import ROLE_FUNCTIONS

CUE_EFFECTS = ("status", "background", "drop")
CUE_SCOPES = ("clause", "sentence")


@dataclass(frozen=True)
class Rule:
    id: str
    type: str
    milestone: str
    roles: str  # versioned name of the role function (``roles.ROLE_FUNCTIONS``)
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
    effect: str  # "status", "background" or "drop"
    status: str | None
    types: tuple[str, ...]
    phrases: tuple[str, ...]
    head_lemmas: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    scope: str = "clause"  # "clause": the trigger's clause without unrelated relative clauses; "sentence"
    examples: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def phrase_rx(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    parts = sorted({re.escape(p.lower()) for p in phrases}, key=len, reverse=True)
    return re.compile(r"(?<![a-z])(?:" + "|".join(parts) + r")")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RulesError(f"{path}:{n}: {exc}") from exc
    return rows


def _rule(r: dict[str, Any]) -> Rule:
    rid = r.get("id", "<no id>")
    try:
        rule = Rule(
            id=r["id"],
            type=r["type"],
            milestone=r["milestone"],
            roles=r["roles"],
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
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RulesError(f"rule {rid}: missing or malformed field: {exc}") from exc
    if rule.type not in EVENT_TYPES:
        raise RulesError(f"rule {rid}: unknown type {rule.type!r} (one of {', '.join(EVENT_TYPES)})")
    allowed = RULE_MILESTONES[rule.type]
    if rule.milestone not in allowed:
        raise RulesError(
            f"rule {rid}: unknown milestone {rule.milestone!r} for {rule.type} ({', '.join(allowed)})"
        )
    if rule.roles not in ROLE_FUNCTIONS:
        raise RulesError(f"rule {rid}: unknown role function {rule.roles!r} ({', '.join(ROLE_FUNCTIONS)})")
    if rule.status is not None and rule.status not in STATUSES:
        raise RulesError(f"rule {rid}: unknown status {rule.status!r}")
    return rule


def _cue(c: dict[str, Any]) -> Cue:
    cid = c.get("id", "<no id>")
    try:
        cue = Cue(
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
    except (KeyError, TypeError, ValueError) as exc:
        raise RulesError(f"cue {cid}: missing or malformed field: {exc}") from exc
    if cue.effect not in CUE_EFFECTS:
        raise RulesError(f"cue {cid}: unknown effect {cue.effect!r} (one of {', '.join(CUE_EFFECTS)})")
    if cue.status is not None and cue.status not in STATUSES:
        raise RulesError(f"cue {cid}: unknown status {cue.status!r}")
    bad = [t for t in cue.types if t not in EVENT_TYPES]
    if bad:
        raise RulesError(f"cue {cid}: unknown type(s) {', '.join(bad)}")
    if cue.scope not in CUE_SCOPES:
        raise RulesError(f"cue {cid}: unknown scope {cue.scope!r}")
    return cue


class RuleSet:
    """Event rules and modality cues loaded from ``rules/``; compiled once."""

    def __init__(self, rules: list[Rule], cues: list[Cue], lexicon: Lexicon) -> None:
        ids = [r.id for r in rules] + [c.id for c in cues]
        dupes = [i for i, n in Counter(ids).items() if n > 1]
        if dupes:
            raise RulesError(f"duplicate rule ids: {dupes}")
        self.rules = rules
        self.cues = cues
        self.lexicon = lexicon
        self._context = {r.id: phrase_rx(r.context) for r in rules}
        self._exclude = {r.id: phrase_rx(r.exclude) for r in rules}
        self._requires = {r.id: phrase_rx(r.requires) for r in rules}
        self._cue_rx = {c.id: phrase_rx(c.phrases) for c in cues}
        self._cue_exclude = {c.id: phrase_rx(c.exclude) for c in cues}
        self.prefilter = phrase_rx(tuple({p for r in rules for p in r.context}))
        by_type: dict[str, set[str]] = {}
        for r in rules:
            by_type.setdefault(r.type, set()).update(r.context)
        self._type_context = {t: phrase_rx(tuple(sorted(ps))) for t, ps in by_type.items()}

    @classmethod
    def load(cls, rules_dir: str | Path) -> RuleSet:
        d = Path(rules_dir)
        rules = [_rule(r) for r in read_jsonl(d / "events.jsonl")]
        cues = [_cue(c) for c in read_jsonl(d / "modality.jsonl")]
        return cls(rules, cues, Lexicon.load(d / "lexicon.json"))

    def candidate(self, sentence: str) -> bool:
        return bool(self.prefilter and self.prefilter.search(sentence.lower()))

    def context_types(self, sentence: str) -> set[str]:
        """The types one of whose rules' context phrases the sentence names."""
        lower = sentence.lower()
        return {t for t, rx in self._type_context.items() if rx is not None and rx.search(lower)}

    def paragraph_filter(self, lexicon: Lexicon) -> Any:
        """A cheap test that skips paragraphs (lines) no candidate can come from."""

        def keep(line: str) -> bool:
            return self.candidate(line) or bool(lexicon.candidate_types(line))

        return keep

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
        top = syntax.governing_verb(trig)
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
            [(doc[i].idx, doc[i].idx + len(doc[i])) for i in syntax.relative_tokens(doc, trig)]
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

    def cues_of(self, effect: str) -> list[Cue]:
        return [c for c in self.cues if c.effect == effect]
