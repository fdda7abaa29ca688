"""Labelled articles (the corpus schema of ``../shared/dev``) as training data for the decisions.

- ``load``: articles with ``gold.events`` (and ``evidence``: the sentences that state each event);
- ``groups``: articles that report one event (share a cluster) are one group, so that a
  cross-validation split never rereads an event in another outlet's words;
- ``label``: a reading is an event of its type when its sentence states the evidence of a gold event
  of that type; background when every such event is background; with that event's status.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..events.readings import Reading
from ..records import Article


def load(paths: list[str | Path]) -> list[dict[str, Any]]:
    out = []
    for p in paths:
        for n, line in enumerate(Path(p).read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                rec = json.loads(line)
                if not isinstance(rec, dict) or "text" not in rec or "gold" not in rec:
                    raise ValueError(f"{p}:{n}: not a labelled article (needs text and gold.events)")
                out.append(rec)
    return out


def data_hash(paths: list[str | Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def article(rec: dict[str, Any]) -> Article:
    return Article(
        id=None,
        url=rec.get("url") or rec["id"],
        title=rec.get("title") or "",
        outlet=rec.get("outlet") or "",
        published=rec.get("published"),
        text=rec["text"],
    )


def groups(records: list[dict[str, Any]]) -> list[int]:
    """A group id per article: connected components of articles sharing a cluster slug."""
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, rec in enumerate(records):
        for g in rec["gold"]["events"]:
            c = g.get("cluster")
            if not c:
                continue
            if c in first:
                parent[find(i)] = find(first[c])
            else:
                first[c] = i
    return [find(i) for i in range(len(records))]


def folds(group_ids: list[int], k: int, seed: int) -> list[int]:
    """A fold per article, whole groups per fold, balanced by size (deterministic for a seed)."""
    import random

    members: dict[int, list[int]] = {}
    for i, g in enumerate(group_ids):
        members.setdefault(g, []).append(i)
    order = sorted(members, key=lambda g: (-len(members[g]), g))
    rng = random.Random(seed)
    rng.shuffle(order)
    order.sort(key=lambda g: -len(members[g]))  # stable: big groups first, shuffled among equals
    sizes = [0] * k
    fold_of = [0] * len(group_ids)
    for g in order:
        f = min(range(k), key=lambda j: (sizes[j], j))
        sizes[f] += len(members[g])
        for i in members[g]:
            fold_of[i] = f
    return fold_of


@dataclass(frozen=True)
class Label:
    event: bool
    background: bool
    status: str | None


def _spans(rec: dict[str, Any], g: dict[str, Any]) -> list[tuple[str, int, int]]:
    out = []
    title = (rec.get("title") or "").strip()
    for ev in g.get("evidence") or []:
        if ev.strip() and ev.strip() == title:
            out.append(("title", 0, len(title)))
        i = rec["text"].find(ev)
        if i >= 0:
            out.append(("text", i, i + len(ev)))
    return out


def label(rec: dict[str, Any], r: Reading) -> Label:
    """The gold label of one reading of an article."""
    s = r.sentence
    hits = []
    for g in rec["gold"]["events"]:
        if g["type"] != r.type:
            continue
        for field, a, b in _spans(rec, g):
            if field != s.field:
                continue
            overlap = min(b, s.end) - max(a, s.start)
            if overlap > 0.3 * min(b - a, s.end - s.start):
                hits.append(g)
                break
    if not hits:
        return Label(False, False, None)
    news = [g for g in hits if not g.get("background")]
    return Label(True, not news, (news or hits)[0]["status"])


def evidence_coverage(
    records: list[dict[str, Any]], candidates_of: Callable[[Article], list[Any]]
) -> tuple[int, int, list[tuple[str, str]]]:
    """How many gold events have an evidence sentence among the candidates the rules propose (the
    decisions can only keep what is proposed): (found, located, the ids and types of those missed).
    An event whose evidence is not in the text as stored does not count."""
    found = located = 0
    missed = []
    for rec in records:
        cands = [c.sentence for c in candidates_of(article(rec))]
        for g in rec["gold"]["events"]:
            spans = _spans(rec, g)
            if not spans:
                continue
            located += 1
            if any(s.field == f and s.start < e and b < s.end for s in cands for f, b, e in spans):
                found += 1
            else:
                missed.append((rec["id"], g["type"]))
    return found, located, missed
