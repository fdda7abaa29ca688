"""Article text -> event mentions: candidates, the parse, the rules' readings, the trained decisions,
then grouping.

Per article: a cheap split into sentences; candidates are the sentences whose words could state an
event of a type (``rules/lexicon.json`` candidate patterns and the rules' context phrases), and the
sentence after each in its paragraph (news restates its lead). Only candidates go through the full
spaCy pipeline (tagger, parser, gazetteer, NER). ``readings`` reads each with the rules: triggers,
contexts and filters as signals, parties from the type's role function, status, date and background
from ``modality``. ``decisions`` (the trained models in ``models/``) then decide which readings are
events, of what status, and whether they are background; without a model file the rules decide alone.
``grouping`` merges the mentions of one article that report the same thing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ..config import NlpSettings
from ..gazetteer import Gazetteer
from ..nlp import Models, ParseWorker, Sentence
from ..records import Article, EventMention
from .decisions import DecisionModel, Decisions
from .grouping import Grouper, fill_actors, fill_companies, split_coordinated
from .readings import Reader, Reading
from .rules import RuleSet

_CONFIGURED: Any = object()


@functools.lru_cache(maxsize=4)
def load_decisions(path: str) -> Decisions | None:
    """The trained decisions of a model file, loaded once per process; None for "" (rules alone)."""
    return Decisions(DecisionModel.load(path)) if path else None


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


class Candidate:
    """A sentence that could state an event, and the types it could state."""

    __slots__ = ("context", "continuation", "headline", "sentence", "types")

    def __init__(
        self,
        sentence: Sentence,
        types: tuple[str, ...],
        continuation: bool = False,
        context: bool = False,
        headline: bool = False,
    ) -> None:
        self.sentence = sentence
        self.types = types
        self.continuation = continuation
        self.context = context  # a rule's context phrase is in it
        self.headline = headline or sentence.field == "title"  # reads as a headline (compressed tense)


class Extractor:
    """Turns an article into event mentions. One per process; models come from ``Models``."""

    def __init__(
        self, settings: NlpSettings, models: Models | None = None, decisions: Any = _CONFIGURED
    ) -> None:
        """``decisions``: the trained decisions to apply; by default those of ``settings.decisions`` (a
        model file), None for the rules alone."""
        self.settings = settings
        self.models = models or Models.get(settings.spacy_model, settings.rules_dir, settings.numpy_ops)
        self.rules = RuleSet.load(settings.rules_dir)
        self.reader = Reader(self.rules, self.models.gazetteer, settings.background_days)
        self.grouper = Grouper(self.models.gazetteer, self.rules.lexicon)
        self.decisions = load_decisions(settings.decisions) if decisions is _CONFIGURED else decisions

    @property
    def gazetteer(self) -> Gazetteer:
        return self.models.gazetteer

    def extract(self, article: Article) -> tuple[EventMention, ...]:
        return self.extract_many([article])[0]

    def extract_many(self, articles: list[Article]) -> list[tuple[EventMention, ...]]:
        """Batch several articles through the parser at once (one nlp.pipe call)."""
        return [self.events(readings) for readings in self.read_many(articles)]

    def extract_stream(self, batches: list[list[Article]], worker: ParseWorker | None) -> Iterator[Any]:
        """``extract_many`` of each batch in turn, the next batch parsed by ``worker`` (another
        process) while the caller works on the one yielded; None for a batch that failed (its
        articles are then extracted one by one by the caller)."""
        if worker is None or len(batches) < 2:
            for batch in batches:
                try:
                    yield self.extract_many(batch)
                except Exception:  # one bad article must not block the batch
                    yield None
            return
        upcoming = self._flat_or_none(batches[0])
        pending = self._send(worker, upcoming)
        try:
            for k, batch in enumerate(batches):
                # take this batch's answer before sending the next request: the worker then waits
                # for it, and neither side can block on a full pipe while the other does
                flat, docs, pending = upcoming, _docs(pending), None
                if k + 1 < len(batches):
                    upcoming = self._flat_or_none(batches[k + 1])
                    pending = self._send(worker, upcoming)
                try:  # one bad article must not block the batch: the caller goes one by one
                    mentions = None
                    if flat is not None and docs is not None:
                        mentions = [self.events(r) for r in self._read(batch, flat, docs)]
                except Exception:
                    mentions = None
                yield mentions
        finally:
            if pending is not None:  # the caller stopped early
                pending.drain()

    def _flat_or_none(self, articles: list[Article]) -> list[tuple[int, Candidate]] | None:
        try:
            return self._flat(articles)
        except Exception:
            return None

    @staticmethod
    def _send(worker: ParseWorker, flat: list[tuple[int, Candidate]] | None) -> Any:
        return worker.submit([c.sentence.text for _, c in flat]) if flat is not None else None

    def _flat(self, articles: list[Article]) -> list[tuple[int, Candidate]]:
        return [(i, c) for i, art in enumerate(articles) for c in self.candidates(art)]

    def read_many(self, articles: list[Article]) -> list[list[Reading]]:
        """Every article's readings (one nlp.pipe call for all their candidates)."""
        flat = self._flat(articles)
        docs = self.models.parse([c.sentence.text for _, c in flat], batch_size=self.settings.batch_size)
        return self._read(articles, flat, docs)

    def _read(
        self, articles: list[Article], flat: list[tuple[int, Candidate]], docs: Any
    ) -> list[list[Reading]]:
        out: list[list[Reading]] = [[] for _ in articles]
        orders = [0] * len(articles)
        for (i, c), doc in zip(flat, docs, strict=True):
            out[i].extend(
                self.reader.read(articles[i], c.sentence, doc, orders[i], c.types, c.continuation, c.headline)
            )
            orders[i] += 1
        return out

    def events(self, readings: list[Reading], decisions: Any = None) -> tuple[EventMention, ...]:
        """One article's readings -> its events: mentions (the rules' firings and, with the trained
        decisions, the readings they find likely), coordinated actors split, grouping, then the
        decisions keep the candidate events that are right and give each its confidence.
        ``decisions`` stands in for the extractor's own (cross-validation trains one per fold)."""
        decisions = decisions if decisions is not None else self.decisions
        if decisions is not None:
            mentions = decisions.mentions(readings)
        else:  # copies: grouping completes them (actors, background) and a reading may be read again
            mentions = [
                replace(r.mention, actors=list(r.mention.actors), targets=list(r.mention.targets), reading=r)
                for r in readings
                if r.fires
            ]
        mentions = split_coordinated(mentions)
        fill_actors(mentions)
        fill_companies(mentions, [list(r.mention.actors) for r in readings if r.type == "factory_opening"])
        grouped = self.grouper.grouped(mentions)
        if decisions is not None:
            return tuple(decisions.judge(grouped))
        return tuple(e for e, _ in grouped)

    def candidate_types(self, text: str) -> tuple[tuple[str, ...], bool]:
        """The types a sentence could state (by its words), and whether a rule's context phrase is in it."""
        lex = self.rules.lexicon.candidate_types(text)
        ctx = self.rules.context_types(text)
        return tuple(t for t in self.reader.by_type if t in lex or t in ctx), bool(ctx)

    def candidates(self, art: Article) -> list[Candidate]:
        """The sentences worth parsing: those whose words could state an event, the sentence after each in
        its paragraph, and the headline when the body does not repeat it."""
        sents = self.models.sentences(art.text, keep=self.rules.paragraph_filter(self.rules.lexicon))
        out: list[Candidate] = []
        follow = False
        title_key = _norm(art.title)
        for k, s in enumerate(sents):
            types, context = self.candidate_types(s.text)
            # the body's first line repeating the page's title is a headline, not the news lead
            headline = k == 0 and bool(title_key) and _norm(s.text) == title_key
            if types:
                out.append(Candidate(s, types, context=context, headline=headline))
            elif follow:
                prev = out[-1]
                out.append(Candidate(s, prev.types, continuation=True))
            nxt = sents[k + 1] if k + 1 < len(sents) else None
            follow = bool(types) and nxt is not None and _same_paragraph(art.text, s, nxt)
        title = art.title.strip()
        types, context = self.candidate_types(title) if title and not title.isupper() else ((), False)
        # an ALL-CAPS wire headline does not parse; a headline the body repeats is read there
        if types and _norm(title)[:60] not in _norm(art.text[:1500]):
            # the headline often states the news the body only refers to; read it first
            out.insert(
                0,
                Candidate(
                    Sentence(text=title, start=0, end=len(title), field="title"), types, context=context
                ),
            )
        return out


def _docs(pending: Any) -> list[Any] | None:
    """A request's parses; None when there was none or they failed."""
    try:
        return pending.docs() if pending is not None else None
    except Exception:
        return None


def _same_paragraph(text: str, a: Sentence, b: Sentence) -> bool:
    return "\n" not in text[a.end : b.start]
