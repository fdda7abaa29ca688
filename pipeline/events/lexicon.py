"""Word lists the rules read, from ``rules/lexicon.json`` (extend them there, not in code)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import RulesError
from ..vocab import EVENT_TYPES

WORD_LISTS = (
    "news_agencies",
    "reporting_nouns",
    "speech_verbs",
    "speaker_titles",
    "negatable_heads",
    "market_moves",
    "concessive_marks",
    "antecedent_marks",
    "facility_words",
    "away_prepositions",
    "generic_party_words",
    "generic_parties",
    "subsidiary_nouns",
)


@dataclass(frozen=True)
class Lexicon:
    news_agencies: frozenset[str]
    junk_names: frozenset[str]
    government_body: re.Pattern[str]
    reporting_nouns: frozenset[str]
    speech_verbs: frozenset[str]
    speaker_titles: frozenset[str]  # "said Under Secretary ... X": the title nouns of who speaks
    negatable_heads: frozenset[str]
    market_moves: frozenset[str]
    concessive_marks: frozenset[str]
    antecedent_marks: frozenset[str]
    facility_words: frozenset[str]
    away_prepositions: frozenset[str]  # "its first plant outside the United States": not the site
    generic_party_words: frozenset[str]  # words that do not make two parties' names alike ("plant", "inc")
    generic_parties: frozenset[str]  # parties too broad to count as shared ("china")
    subsidiary_nouns: frozenset[
        str
    ]  # "X's subsidiary Y", "a unit of X": X is the parent, not the listed party
    candidate_patterns: dict[str, re.Pattern[str]]  # type -> what makes a sentence a candidate for it

    def candidate_types(self, text: str) -> tuple[str, ...]:
        """The event types a sentence could state, by its words (high recall; the decisions sort)."""
        return tuple(t for t, rx in self.candidate_patterns.items() if rx.search(text))

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            gov = "|".join(re.escape(w) for w in d["government_body_words"])
            junk = frozenset(n.upper() for n in d["junk_names"]["names"])
            words = {k: frozenset(d[k]) for k in WORD_LISTS}
            cands = d["candidate_patterns"]
            unknown = set(cands) - set(EVENT_TYPES) - {"_about"}
            if unknown:
                raise RulesError(
                    f"{path}: candidate_patterns for unknown type(s) {', '.join(sorted(unknown))}"
                )
            patterns = {
                t: re.compile(r"(?<![a-z0-9])(?:" + "|".join(cands[t]) + ")", re.I)
                for t in EVENT_TYPES
                if t in cands
            }
        except (OSError, KeyError, TypeError, re.error, json.JSONDecodeError) as exc:
            raise RulesError(f"{path}: bad lexicon: {type(exc).__name__}: {exc}") from exc
        return cls(
            junk_names=junk,
            government_body=re.compile(rf"\b({gov})\b", re.I),
            candidate_patterns=patterns,
            **words,
        )
