"""Word lists the rules read, from ``rules/lexicon.json`` (extend them there, not in code)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import RulesError

WORD_LISTS = (
    "news_agencies",
    "reporting_nouns",
    "speech_verbs",
    "negatable_heads",
    "market_moves",
    "concessive_marks",
    "antecedent_marks",
    "facility_words",
    "generic_party_words",
    "generic_parties",
)


@dataclass(frozen=True)
class Lexicon:
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
    generic_party_words: frozenset[str]  # words that do not make two parties' names alike ("plant", "inc")
    generic_parties: frozenset[str]  # parties too broad to count as shared ("china")

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            gov = "|".join(re.escape(w) for w in d["government_body_words"])
            junk = frozenset(n.upper() for n in d["junk_names"]["names"])
            words = {k: frozenset(d[k]) for k in WORD_LISTS}
        except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise RulesError(f"{path}: bad lexicon: {type(exc).__name__}: {exc}") from exc
        return cls(junk_names=junk, government_body=re.compile(rf"\b({gov})\b", re.I), **words)
