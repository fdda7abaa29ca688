"""What the story model reads of an article: rarity-weighted word, name and number overlaps.

Word rarity is background English frequency (``wordfreq``'s bundled lists), so weights are right from
the first article and nothing is downloaded.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from functools import cached_property, lru_cache

_WORD = re.compile(r"[a-z][a-z'’\-]+|\d[\d.,]*")
_NAME = re.compile(r"[A-Za-z][A-Za-z'’\-]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z])|\n")
_POSSESSIVE = re.compile(r"['’]s?$")
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")
_SMALL = re.compile(r"[12]?\d|3[01]")  # a day of the month or a small count: shared by chance
_FIGURE = re.compile(r"\b\d+\.\d+\b|\b\d+-\d+\b")
LEAD_CHARS = 1500
TEXT_CHARS = 5000
VECTOR_TERMS = 120  # a text's vector keeps its heaviest terms (memory per remembered article)
POSTING_TERMS = 10  # terms under which an article is found as a candidate


@lru_cache(maxsize=200_000)
def rarity(word: str) -> float:
    """Background inverse document frequency: -log of the word's frequency in general English text."""
    from wordfreq import word_frequency  # lazy: loads its English list once per process

    return min(-math.log(max(word_frequency(word, "en"), 1e-8)), 18.0)


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS  # lazy: importing spacy pulls in torch

    return frozenset(STOP_WORDS)


def _vector(text: str) -> dict[str, float]:
    stop = _stop_words()
    counts: dict[str, int] = {}
    for w in _WORD.findall(text.lower()):
        w = _POSSESSIVE.sub("", w)
        if w not in stop:
            w = sys.intern(w)  # one copy of each word across the remembered articles
            counts[w] = counts.get(w, 0) + 1
    v = {w: (1 + math.log(n)) * rarity(w) for w, n in counts.items()}
    if len(v) > VECTOR_TERMS:
        v = dict(sorted(v.items(), key=lambda kv: -kv[1])[:VECTOR_TERMS])
    return unit(v)


def unit(v: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
    return {w: x / norm for w, x in v.items()}


def _names(text: str) -> dict[str, float]:
    """Capitalised words that do not open a sentence, weighted by rarity: a cheap proxy for names."""
    stop = _stop_words()
    out: dict[str, float] = {}
    for chunk in _SENTENCE_END.split(text):
        for k, w in enumerate(_NAME.findall(chunk)):
            lw = _POSSESSIVE.sub("", w.lower())
            if k and w[0].isupper() and not w.isupper() and lw not in stop:
                out[sys.intern(lw)] = rarity(lw)
    return unit(out)


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    if a.keys().isdisjoint(b.keys()):  # (in C; most pairs share no word of one of the three vectors)
        return 0.0
    # the same terms in the same order as summing over all of a (a product with 0.0 adds nothing)
    return sum(x * b[w] for w, x in a.items() if w in b)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass(frozen=True)
class StoryDoc:
    """What the story model reads of one article."""

    lead: dict[str, float]
    text: dict[str, float]
    names: dict[str, float]
    numbers: frozenset[str]
    figures: frozenset[str]
    years: frozenset[str]

    @classmethod
    def of(cls, title: str, text: str) -> StoryDoc:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("http")]
        if title and (not lines or lines[0] != title.strip()):
            lines.insert(0, title.strip())
        lead = " ".join(lines[:3])[:LEAD_CHARS]
        body = "\n".join(lines)[:TEXT_CHARS]
        years = frozenset(_YEAR.findall(body))
        return cls(
            lead=_vector(lead),
            text=_vector(body),
            names=_names(body),
            numbers=frozenset(n for n in _NUMBER.findall(body) if not _SMALL.fullmatch(n)) - years,
            figures=frozenset(_FIGURE.findall(body)),
            years=years,
        )

    def vocabulary(self) -> set[str]:
        return set(self.lead) | set(self.text) | set(self.names)

    @cached_property
    def terms(self) -> list[tuple[str, float]]:
        """The heaviest words of the lead and the names, with weights: where candidates are looked up."""
        weights = dict(self.names)
        for w, x in self.lead.items():
            weights[w] = max(weights.get(w, 0.0), x)
        return sorted(weights.items(), key=lambda kv: -kv[1])[:POSTING_TERMS]


PAIR_FEATURES = (
    "lead_cosine",
    "text_cosine",
    "names_cosine",
    "numbers_jaccard",
    "figures_jaccard",
    "figures_clash",
    "years_clash",
)


def pair_features(a: StoryDoc, b: StoryDoc) -> dict[str, float]:
    """The pair model's inputs; the story model file names the ones it weighs."""
    return {
        "lead_cosine": _cosine(a.lead, b.lead),
        "text_cosine": _cosine(a.text, b.text),
        "names_cosine": _cosine(a.names, b.names),
        "numbers_jaccard": _jaccard(a.numbers, b.numbers),
        "figures_jaccard": _jaccard(a.figures, b.figures),
        "figures_clash": float(bool(a.figures and b.figures and not a.figures & b.figures)),
        "years_clash": float(bool(a.years and b.years and not a.years & b.years)),
    }
