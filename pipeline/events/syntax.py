"""Walks over a spaCy parse that the rules, roles and modality share.

Every walk up the tree goes through ``ancestors``; clause helpers name the parts of a sentence that do
not speak of the trigger (relative and adverbial side clauses).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .lexicon import Lexicon


def ancestors(tok: Any, limit: int) -> Iterator[Any]:
    """The heads above ``tok``, nearest first, at most ``limit`` of them."""
    t = tok
    for _ in range(limit):
        if t.head is t:
            return
        t = t.head
        yield t


def depth(tok: Any) -> int:
    return sum(1 for _ in ancestors(tok, 50))


def governing_verb(tok: Any) -> Any:
    """The nearest verb (or the root) at or above ``tok``, within four steps."""
    t = tok
    for _ in range(4):
        if t.pos_ in ("VERB", "AUX") or t.dep_ == "ROOT":
            return t
        t = t.head
    return t


def ancestor_lemmas(tok: Any) -> set[str]:
    return {t.lemma_.lower() for t in ancestors(tok, 6)}


@dataclass
class TokenIndex:
    """One pass over a parsed sentence: tokens by lemma and by lower-case form, for trigger lookup."""

    tokens: list[Any]
    lemmas: list[str]
    lowers: list[str]
    by_word: dict[str, list[int]]

    @classmethod
    def of(cls, doc: Any) -> TokenIndex:
        tokens = list(doc)
        lemmas = [t.lemma_.lower() for t in tokens]
        lowers = [t.lower_ for t in tokens]
        by_word: dict[str, list[int]] = {}
        for i, (lem, low) in enumerate(zip(lemmas, lowers, strict=True)):
            by_word.setdefault(lem, []).append(i)
            if low != lem:
                by_word.setdefault(low, []).append(i)
        return cls(tokens, lemmas, lowers, by_word)

    def trigger(self, triggers: tuple[str, ...], pos: tuple[str, ...]) -> Any | None:
        """The token of one of ``triggers`` (first token of a multiword trigger).

        Of several candidates the one highest in the parse wins, and a trigger inside a participle or
        relative clause only when there is no other.
        """
        found = self.triggers(triggers, pos)
        if not found:
            return None
        return min(found, key=lambda t: (t.dep_ in ("acl", "relcl", "amod"), depth(t), t.i))

    def triggers(self, triggers: tuple[str, ...], pos: tuple[str, ...]) -> list[Any]:
        """Every token of one of ``triggers`` (first tokens of multiword ones)."""
        found = []
        for trig in triggers:
            words = trig.split()
            for i in self.by_word.get(words[0], ()):
                if len(words) > 1:
                    n = len(words)
                    if self.lemmas[i : i + n] == words or self.lowers[i : i + n] == words:
                        found.append(self.tokens[i])
                elif not pos or self.tokens[i].pos_ in pos:
                    found.append(self.tokens[i])
        return found


def own_clause(tok: Any, other: Any) -> bool:
    """Whether ``tok`` heads a clause of its own beside ``other``'s: a coordinated, adverbial or
    complement clause with a subject of its own ("..., while those nations would scrap their tariffs")."""
    v, w = governing_verb(tok), governing_verb(other)
    if v is w or v.dep_ not in ("conj", "advcl", "ccomp", "ROOT"):
        return False
    subjects = [c for c in v.children if c.dep_ in ("nsubj", "nsubjpass")]
    if not subjects:
        return False
    theirs = {x.i for c in w.children if c.dep_ in ("nsubj", "nsubjpass") for x in c.subtree}
    return not any(x.i in theirs for c in subjects for x in c.subtree)


def speaker(tok: Any, lex: Lexicon) -> bool:
    """Whether a name is who speaks: the subject of a speech verb ("said X", "X told reporters"), or a
    name in the title phrase that follows one ("..., said Under Secretary of the Treasury for Terrorism
    and Financial Intelligence X": names, prepositions and title nouns up to the verb, no other word)."""
    t = tok
    for _ in range(3):
        if t.dep_ == "nsubj" and t.head.lemma_.lower() in lex.speech_verbs:
            return True
        if t.head.i == t.i or t.dep_ not in ("appos", "compound", "nsubj", "pobj", "prep"):
            break
        t = t.head
    return _in_speaker_title(tok, lex)


_TITLE_DEPS = ("appos", "compound", "nsubj", "pobj", "prep", "nmod", "conj", "cc")
_TITLE_POS = ("PROPN", "ADP", "DET", "CCONJ", "PUNCT")


def _in_speaker_title(tok: Any, lex: Lexicon) -> bool:
    t = tok
    for _ in range(8):
        h = t.head
        if h.i == t.i or t.dep_ not in _TITLE_DEPS:
            return False
        if h.pos_ in ("VERB", "AUX"):
            return h.lemma_.lower() in lex.speech_verbs and t.dep_ in ("nsubj", "prep")
        if h.pos_ not in _TITLE_POS and h.lemma_.lower() not in lex.speaker_titles:
            return False
        t = h
    return False


def negated_head(trig: Any, lex: Lexicon) -> Any | None:
    """'has not (actually) agreed to roll back tariffs': the trigger or the verb above it that is negated."""
    for t in (trig, *ancestors(trig, 2)):
        if t.lemma_.lower() in lex.negatable_heads and any(c.dep_ == "neg" for c in t.children):
            return t
    return None


def negated(trig: Any, lex: Lexicon) -> bool:
    return negated_head(trig, lex) is not None


def subject_tokens(trig: Any) -> tuple[set[int], set[int]]:
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


def enclosing_clause(trig: Any, marks: frozenset[str], pcomp_heads: tuple[str, ...] = ()) -> Any | None:
    """The adverbial clause around the trigger that ``marks`` introduce ("after", "although"...), or the
    verb under a preposition in ``pcomp_heads`` ("after imposing ..."); None when there is none."""
    t = governing_verb(trig)
    for _ in range(4):
        if t.dep_ == "advcl" and any(c.dep_ == "mark" and c.lower_ in marks for c in t.children):
            return t
        if pcomp_heads and t.dep_ == "pcomp" and t.head.lower_ in pcomp_heads:
            return t
        if t.head is t:
            return None
        t = t.head
    return None


def in_concessive_clause(trig: Any, lex: Lexicon) -> bool:
    return enclosing_clause(trig, lex.concessive_marks) is not None


def in_antecedent_clause(trig: Any, lex: Lexicon) -> bool:
    """Whether the trigger sits in an adverbial clause introduced by "after", "since", "because"..."""
    clause = enclosing_clause(trig, lex.antecedent_marks, ("after", "following", "since"))
    if clause is None:
        return False
    if clause.dep_ == "advcl":
        # "shares fell after China placed them on its list": a market move is no news; the cause is
        return clause.head.lemma_.lower() not in lex.market_moves
    return True


def side_clause_tokens(doc: Any, trig: Any, deps: tuple[str, ...]) -> set[int]:
    """Tokens of clauses of the given kinds that do not contain the trigger."""
    out: set[int] = set()
    for tok in doc:
        if tok.dep_ in deps and not (tok.left_edge.i <= trig.i <= tok.right_edge.i):
            out.update(x.i for x in tok.subtree)
    return out


def relative_tokens(doc: Any, trig: Any) -> set[int]:
    """Tokens of relative clauses that do not contain the trigger."""
    return side_clause_tokens(doc, trig, ("relcl",))


def aside_tokens(doc: Any, trig: Any) -> set[int]:
    """Tokens in adverbial or relative clauses that do not contain the trigger ("unless X does Y")."""
    return side_clause_tokens(doc, trig, ("advcl", "relcl"))


def clause_text(doc: Any, trig: Any) -> str:
    """The sentence without relative clauses that do not contain the trigger ("..., which opened last year,")."""
    skip = relative_tokens(doc, trig)
    return "".join(t.text_with_ws for t in doc if t.i not in skip)


def past_perfect_above(trig: Any) -> bool:
    """A "had" auxiliary on the trigger's verb or above it: told as history."""
    t = governing_verb(trig)
    for node in (t, *ancestors(t, 3)):
        if any(c.lower_ == "had" and c.dep_ in ("aux", "auxpass") for c in node.children):
            return True
    return False
