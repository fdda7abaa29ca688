"""Triage that teaches the model: analysts' verdicts on events, and the labelled articles made of them.

``annotate`` checks and records a verdict (``store.annotations``: apart from the log, attributed):
``confirmed``; ``false`` with its reason (``vocab.FALSE_REASONS``); ``duplicate`` of another event of
its type; ``corrected`` with the right type, status or parties (a ``false`` verdict may carry them
too). ``gold_articles`` turns the annotated events' articles into labelled articles in the corpus
schema of ``../shared/dev``, with evidence, so that ``run.py train --data`` takes them beside
``../shared/train``:

- a confirmed event is kept as the log holds it; a corrected one with its corrections;
- a false one is left out (``not_event``; ``wrong_type``, ``wrong_status`` or ``wrong_parties``
  without the right value), kept as background (``background``), or kept corrected;
- a duplicate joins the cluster of the event it duplicates (dedup learns the pair);
- the article's other events stand as the log holds them (the analyst who read it left them);
- every event of one row shares one cluster across articles, so cross-validation keeps them together.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .store import Queries
from .store.annotations import Annotation, AnnotationLog
from .vocab import EVENT_TYPES, FALSE_REASONS, STATUSES, VERDICTS, is_core

MAX_NAME = 200


class TriageError(ValueError):
    """An annotation that cannot be taken: the message says why, in one line."""


def check(queries: Queries, a: Annotation) -> Annotation:
    """``a`` when it can be recorded, else a TriageError."""
    try:
        event = queries.export_event(a.event_id)
    except KeyError:
        raise TriageError(f"no event {a.event_id}") from None
    if a.verdict not in VERDICTS:
        raise TriageError(f"verdict {a.verdict!r} is not one of {', '.join(VERDICTS)}")
    if not a.author.strip() or len(a.author) > MAX_NAME:
        raise TriageError("an annotation needs its author (1 to 200 characters)")
    if a.verdict == "false" and a.reason not in FALSE_REASONS:
        raise TriageError(f"a false event needs its reason: one of {', '.join(FALSE_REASONS)}")
    if a.verdict != "false" and a.reason:
        raise TriageError("a reason goes with a false verdict only")
    if a.type is not None and a.type not in EVENT_TYPES:
        raise TriageError(f"type {a.type!r} is not one of {', '.join(EVENT_TYPES)}")
    if a.status is not None and a.status not in STATUSES:
        raise TriageError(f"status {a.status!r} is not one of {', '.join(STATUSES)}")
    for names in (a.actors, a.targets):
        if names is not None and any(not n.strip() or len(n) > MAX_NAME for n in names):
            raise TriageError("a party's name is 1 to 200 characters")
    corrects = any(x is not None for x in (a.type, a.status, a.actors, a.targets))
    if a.verdict == "corrected" and not corrects:
        raise TriageError("a correction needs the right type, status, actors or targets")
    if a.verdict in ("confirmed", "duplicate") and corrects:
        raise TriageError(f"a {a.verdict} event takes no corrections (annotate it corrected)")
    if a.verdict == "duplicate":
        if a.duplicate_of is None or a.duplicate_of == a.event_id:
            raise TriageError("a duplicate names the other event it duplicates")
        try:
            other = queries.export_event(a.duplicate_of)
        except KeyError:
            raise TriageError(f"no event {a.duplicate_of} to be a duplicate of") from None
        if other["type"] != event["type"]:
            raise TriageError(f"event {a.duplicate_of} is a {other['type']}, not a {event['type']}")
    elif a.duplicate_of is not None:
        raise TriageError("duplicate-of goes with a duplicate verdict only")
    return a


def annotate(queries: Queries, log: AnnotationLog, a: Annotation) -> int:
    """Record ``a`` once checked; its id."""
    return log.add(check(queries, a))


def _cluster(event_id: int, latest: dict[int, dict[str, Any]]) -> str:
    """The event a chain of duplicates comes down to, as a cluster label."""
    seen = {event_id}
    while (a := latest.get(event_id)) and a["verdict"] == "duplicate" and a["duplicate_of"] not in seen:
        event_id = a["duplicate_of"]
        seen.add(event_id)
    return f"tradewire-event-{event_id}"


def _labelled(e: dict[str, Any], a: dict[str, Any] | None, latest: dict[int, dict[str, Any]]) -> dict | None:
    """One event of an article as a gold event, with its annotation applied (None: left out)."""
    gold = {
        "type": e["type"],
        "status": e["status"],
        "actors": e["actors"],
        "targets": e["targets"],
        "location": e["location"],
        "event_date": e["event_date"],
        "background": False,
    }
    if a is not None:
        fixes = {k: a[k] for k in ("type", "status", "actors", "targets") if a[k] is not None}
        if a["verdict"] == "false":
            if a["reason"] == "background":
                gold["background"] = True
            elif a["reason"] == "not_event" or not fixes:
                return None
        gold |= fixes
    sentences = [ev["sentence"] for ev in e["evidence"] if ev.get("field") != "title"]
    gold |= {
        "core": is_core(gold["type"], gold["status"], gold["background"]),
        "cluster": _cluster(e["id"], latest),
        "evidence": sentences or [ev["sentence"] for ev in e["evidence"]],
        "annotation": (
            {"verdict": a["verdict"], "reason": a["reason"], "by": a["author"], "at": a["at"]} if a else None
        ),
        "log_event_id": e["id"],
    }
    return gold


def gold_articles(queries: Queries, latest: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every article that reports an annotated event, as a labelled article (corpus schema)."""
    out = []
    for art in queries.reporting_articles(list(latest)):
        events: list[dict[str, Any]] = []
        for e in sorted(
            art["events"], key=lambda e: (latest.get(e["id"], {}).get("verdict") == "duplicate", e["id"])
        ):
            g = _labelled(e, latest.get(e["id"]), latest)
            if g is not None and all(g["cluster"] != x["cluster"] for x in events):  # one event, once
                events.append(g)
        notes = sum(1 for e in art["events"] if e["id"] in latest)
        out.append(
            {
                "id": f"tradewire-article-{art['id']}",
                "url": art["url"],
                "outlet": art["outlet"],
                "published": art["published"],
                "title": art["title"] or "",
                "text": art["text"] or "",
                "gold": {
                    "events": events,
                    "notes": f"exported by run.py export-gold: {notes} of {len(art['events'])} events annotated",
                },
            }
        )
    return out


def write_jsonl(records: list[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """The records as JSON lines, in one rename (never a half-written file)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".tradewire-gold-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
