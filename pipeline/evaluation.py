"""``run.py eval GOLD.jsonl``: score extraction and dedup against hand-labelled articles.

Gold format: ``../shared/dev/articles.jsonl`` (one article per line with ``gold.events``).
Background gold events are dropped before scoring, as the labelling rules say.

Matching, per article: a predicted event matches a gold event of the same type when an actor agrees
(canonical names) or their targets share words; pairs are taken greedily by score (actor agreement,
target overlap, status agreement). Core = not background, type in {sanctions_listing,
tariff_announcement, factory_opening}, status in {done, announced}.

Dedup: the articles go through the real dedup stage and store (a temporary SQLite file), oldest
first; pairwise precision and recall over matched mentions, gold ``cluster`` as truth.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path
from typing import Any

from .config import Settings, StorageSettings
from .flow import Pipeline
from .records import Article, EventMention
from .vocab import EVENT_TYPES
from .vocab import is_core as _is_core

_STOP = {
    "the",
    "a",
    "an",
    "of",
    "on",
    "and",
    "in",
    "to",
    "for",
    "from",
    "with",
    "incl",
    "including",
    "its",
    "co",
    "inc",
    "corp",
    "ltd",
    "new",
    "first",
    "plant",
    "all",
    "other",
    "more",
    "than",
    "about",
    "by",
    "at",
}


def is_core(ev: dict[str, Any] | EventMention) -> bool:
    if isinstance(ev, EventMention):
        return ev.core
    return _is_core(ev["type"], ev["status"], bool(ev.get("background")))


def _words(items: list[str] | tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for t in items:
        out.update(w for w in re.findall(r"[a-z0-9]+", t.lower()) if w not in _STOP and len(w) > 1)
    return out


def _score(p: EventMention, g: dict[str, Any]) -> float | None:
    if p.type != g["type"]:
        return None
    pa = {a.lower() for a in p.actors}
    ga = {a.lower() for a in g.get("actors") or []}
    actor = bool(pa & ga)
    pw, gw = _words(list(p.targets) + ([p.location] if p.location else [])), _words(g.get("targets") or [])
    overlap = len(pw & gw) / max(1, min(len(pw), len(gw))) if pw and gw else 0.0
    if not actor and overlap < 0.2:
        return None
    return (1.0 if actor else 0.0) + overlap + (0.3 if p.status == g["status"] else 0.0)


def match(preds: list[EventMention], golds: list[dict[str, Any]]) -> list[tuple[int, int]]:
    pairs = []
    for i, p in enumerate(preds):
        for j, g in enumerate(golds):
            s = _score(p, g)
            if s is not None:
                pairs.append((s, i, j))
    pairs.sort(reverse=True)
    used_p: set[int] = set()
    used_g: set[int] = set()
    out = []
    for _, i, j in pairs:
        if i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        out.append((i, j))
    return out


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3), "tp": tp, "fp": fp, "fn": fn}


def load_gold(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(settings: Settings, gold_path: str | Path, *, with_dedup: bool = True) -> dict[str, Any]:
    records = load_gold(gold_path)
    with tempfile.TemporaryDirectory(prefix="tradewire-eval-") as tmp:
        s = replace(settings, storage=StorageSettings(db=str(Path(tmp) / "eval.db")), feeds=())
        with Pipeline(s, env={}) as pipeline:
            return _evaluate(pipeline, records, with_dedup)


@dataclass
class _Tally:
    """Extraction scores accumulated article by article."""

    counts: dict[str, list[int]] = field(default_factory=lambda: {t: [0, 0, 0] for t in EVENT_TYPES})
    core: list[int] = field(default_factory=lambda: [0, 0, 0])
    status_ok: int = 0
    status_n: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)
    false_events: list[dict[str, Any]] = field(default_factory=list)
    false_alerts: list[dict[str, Any]] = field(default_factory=list)
    scored: list[tuple[float, bool]] = field(default_factory=list)  # (confidence, correct), non-background
    matched_refs: list[tuple[int, int, str]] = field(default_factory=list)  # (article, prediction, cluster)

    def add(self, ai: int, rec: dict[str, Any], preds_all: tuple[EventMention, ...]) -> None:
        preds = [p for p in preds_all if not p.background]
        golds = [g for g in rec["gold"]["events"] if not g.get("background")]
        pairs = match(preds, golds)
        mp = {i for i, _ in pairs}
        mg = {j for _, j in pairs}
        for i, j in pairs:
            self.counts[preds[i].type][0] += 1
            self.status_n += 1
            self.status_ok += preds[i].status == golds[j]["status"]
            self._core(is_core(preds[i]), is_core(golds[j]))
            self.matched_refs.append((ai, preds_all.index(preds[i]), golds[j]["cluster"]))
            if preds[i].status != golds[j]["status"]:
                self.misses.append(
                    {
                        "article": rec["id"],
                        "kind": "wrong_status",
                        "gold": _gold_brief(golds[j]),
                        "predicted": _pred_brief(preds[i]),
                    }
                )
        for i, p in enumerate(preds):
            self.scored.append((p.confidence, i in mp))
            if i not in mp:
                self.counts[p.type][1] += 1
                self._core(is_core(p), False)
                self.false_events.append({"article": rec["id"], **_pred_brief(p)})
            if (
                p.type == "sanctions_listing"
                and p.status in ("done", "announced")
                and (i not in mp or not is_core(golds[next(j for ii, j in pairs if ii == i)]))
            ):
                self.false_alerts.append({"article": rec["id"], **_pred_brief(p)})
        for j, g in enumerate(golds):
            if j not in mg:
                self.counts[g["type"]][2] += 1
                self._core(False, is_core(g))
                self.misses.append({"article": rec["id"], "kind": "missed", "gold": _gold_brief(g)})

    def _core(self, predicted: bool, gold: bool) -> None:
        if predicted and gold:
            self.core[0] += 1
        elif predicted:
            self.core[1] += 1
        elif gold:
            self.core[2] += 1

    def result(self, n_articles: int) -> dict[str, Any]:
        tot = [sum(c[k] for c in self.counts.values()) for k in range(3)]
        return {
            "articles": n_articles,
            "core": _prf(*self.core),
            "all_events": _prf(*tot),
            "per_type": {t: _prf(*c) for t, c in self.counts.items()},
            "status_accuracy": round(self.status_ok / self.status_n, 3) if self.status_n else 0.0,
            "status_matched": self.status_n,
            "false_alerts": self.false_alerts,
            "confidence_curve": _curve(self.scored),
            "misses": self.misses,
            "false_events": self.false_events,
        }


def _evaluate(pipeline: Pipeline, records: list[dict[str, Any]], with_dedup: bool) -> dict[str, Any]:
    articles = [
        Article(
            id=None,
            url=r["url"],
            title=r.get("title") or "",
            outlet=r.get("outlet") or "",
            published=r.get("published"),
            text=r["text"],
        )
        for r in records
    ]
    predicted = pipeline.extractor.extract_many(articles)
    tally = _Tally()
    for ai, (rec, preds_all) in enumerate(zip(records, predicted, strict=True)):
        tally.add(ai, rec, preds_all)
    result = tally.result(len(records))
    if with_dedup:
        result["dedup"] = _dedup_scores(pipeline, records, articles, predicted, tally.matched_refs)
    return result


def _curve(scored: list[tuple[float, bool]]) -> list[dict[str, float]]:
    out = []
    for th in (0.0, 0.5, 0.6, 0.7, 0.8, 0.9):
        kept = [ok for c, ok in scored if c >= th]
        if kept:
            out.append(
                {"min_confidence": th, "events": len(kept), "precision": round(sum(kept) / len(kept), 3)}
            )
    return out


def _dedup_scores(
    pipeline: Pipeline,
    records: list[dict[str, Any]],
    articles: list[Article],
    predicted: list[tuple[EventMention, ...]],
    matched_refs: list[tuple[int, int, str]],
) -> dict[str, Any]:
    """The articles through the pipeline's own per-article step (story, dedup, commit), oldest first."""
    store = pipeline.store
    order = sorted(range(len(records)), key=lambda i: (records[i].get("published") or "9999", i))
    event_of: dict[tuple[int, int], int] = {}
    for ai in order:
        art = articles[ai]
        aid, _ = store.articles.add(
            url=art.url, title=art.title, published=art.published, text=art.text, outlet=art.outlet
        )
        done = pipeline.process_article(replace(art, id=aid), predicted[ai])
        news = [i for i, m in enumerate(predicted[ai]) if not m.background]
        for idx, event_id in zip(news, done.event_ids(), strict=True):
            event_of[(ai, idx)] = event_id
    info = {e.id: e for e in store.events.events_by_id(sorted(set(event_of.values())))}
    items = [(event_of[(ai, pi)], cluster, ai) for ai, pi, cluster in matched_refs if (ai, pi) in event_of]
    tp = fp = fn = 0
    wrong_merges = []
    missed_merges = []
    for (e1, c1, a1), (e2, c2, a2) in combinations(items, 2):
        if a1 == a2:
            continue
        same_pred, same_gold = e1 == e2, c1 == c2
        tp += same_pred and same_gold
        fp += same_pred and not same_gold
        fn += same_gold and not same_pred
        if same_pred and not same_gold:
            wrong_merges.append({"clusters": [c1, c2], "articles": [records[a1]["id"], records[a2]["id"]]})
        if same_gold and not same_pred:
            import numpy as np

            i1, i2 = info[e1], info[e2]
            sim = float(
                np.dot(
                    np.frombuffer(i1.embedding, dtype=np.float32),
                    np.frombuffer(i2.embedding, dtype=np.float32),
                )
            )
            missed_merges.append(
                {
                    "cluster": c1,
                    "similarity": round(sim, 3),
                    "a": _stored_brief(records[a1]["id"], i1),
                    "b": _stored_brief(records[a2]["id"], i2),
                }
            )
    out = _prf(tp, fp, fn)
    out["wrong_merges"] = wrong_merges
    out["missed_merges"] = missed_merges
    return out


def _stored_brief(article_id: str, ev: Any) -> list[Any]:
    return [article_id, ev.milestone, list(ev.actors), list(ev.targets)[:4], ev.event_date]


def _gold_brief(g: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": g["type"],
        "status": g["status"],
        "actors": g.get("actors"),
        "targets": (g.get("targets") or [])[:3],
    }


def _pred_brief(p: EventMention) -> dict[str, Any]:
    return {
        "type": p.type,
        "status": p.status,
        "actors": list(p.actors),
        "targets": list(p.targets[:4]),
        "confidence": p.confidence,
        "evidence": p.evidence[0].sentence[:160] if p.evidence else "",
        "rules": list(p.rule_ids),
    }


def format_report(r: dict[str, Any], show: bool = True) -> str:
    lines = [f"articles: {r['articles']}"]

    def row(name: str, m: dict[str, Any]) -> str:
        return (
            f"  {name:<22} P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}   "
            f"(tp {m['tp']}, fp {m['fp']}, fn {m['fn']})"
        )

    lines.append(row("core events", r["core"]))
    lines.append(row("all non-background", r["all_events"]))
    for t, m in r["per_type"].items():
        lines.append(row(t, m))
    lines.append(f"  status accuracy on matched: {r['status_accuracy']:.3f} ({r['status_matched']} matched)")
    if "dedup" in r:
        lines.append(row("dedup pairwise", r["dedup"]))
    lines.append(f"  alerts that should not fire: {len(r['false_alerts'])}")
    lines.append(
        "  confidence curve: "
        + ", ".join(
            f">={c['min_confidence']:.1f}: P {c['precision']:.2f} (n={c['events']})"
            for c in r["confidence_curve"]
        )
    )
    if show:
        lines.append("\nmisses:")
        for m in r["misses"]:
            lines.append(
                f"  [{m['kind']}] {m['article']}: gold {json.dumps(m['gold'])}"
                + (f"\n      predicted {json.dumps(m['predicted'])}" if "predicted" in m else "")
            )
        lines.append("\nfalse events:")
        for f in r["false_events"]:
            lines.append(
                f"  {f['article']}: {f['type']} {f['status']} {f['actors']} {f['targets']} "
                f"<- {f['evidence']!r} {f['rules']}"
            )
        if "dedup" in r and r["dedup"]["wrong_merges"]:
            lines.append("\nwrong merges:")
            for w in r["dedup"]["wrong_merges"]:
                lines.append(f"  {w}")
        if "dedup" in r and r["dedup"]["missed_merges"]:
            lines.append("\nmissed merges:")
            for w in r["dedup"]["missed_merges"]:
                lines.append(f"  {w}")
    return "\n".join(lines)


__all__ = ["evaluate", "format_report", "match"]
