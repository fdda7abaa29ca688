"""``run.py eval GOLD.jsonl``: the labelled articles through the product's own path, scored as the
export is measured.

Gold format: ``../shared/dev/articles.jsonl`` (one article per line with ``gold.events``). The
articles are queued in a temporary log as ``run.py process`` queues a backfill and processed as the
daemon processes what a cycle fetched (oldest publication first, through the flow's one per-article
step: extraction, story, dedup, commit), so the merges are the daemon's. The log is exported in the
public contract (``events --format jsonl``) and scored by ``scoring`` (the matching of
``../shared/tools/score.py``). What differs from ``../shared/tools/e2e.py`` is only the input: the
articles' clean text as labelled rather than pages fetched through feeds and extracted.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import scoring
from .config import Settings, StorageSettings
from .flow import CycleReport, Pipeline
from .training import data

SHOWN = (*scoring.EXTRACTION_FIGURES, "dedup_p", "dedup_r", "dedup_f1")


def evaluate(settings: Settings, gold_path: str | Path) -> dict[str, Any]:
    records = data.load([gold_path])  # the labelled articles, refused by line when malformed
    with tempfile.TemporaryDirectory(prefix="tradewire-eval-") as tmp:
        s = replace(settings, storage=StorageSettings(db=str(Path(tmp) / "eval.db")), feeds=())
        with Pipeline(s, env={}) as p:
            p.add_articles(
                (
                    r["id"],
                    {"url": r["url"], **{k: r.get(k) for k in ("title", "published", "text", "outlet")}},
                )
                for r in records
            )
            p.process_backlog(CycleReport())
            export = p.store.queries.query_events()
    result = scoring.score(records, export)
    return {
        "articles": len(records),
        "figures": result.figures,
        "per_type": _per_type(records, export),
        "details": result.details,
    }


def _per_type(records: list[dict[str, Any]], export: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Event precision and recall per type (the scorer's matching, one type at a time)."""
    out = {}
    for t in sorted({g["type"] for r in records for g in r["gold"]["events"]} | {e["type"] for e in export}):
        gold = [dict(r, gold={"events": [g for g in r["gold"]["events"] if g["type"] == t]}) for r in records]
        f = scoring.score(gold, [e for e in export if e["type"] == t]).figures
        out[t] = {"p": f["event_p"], "r": f["event_r"], "f1": f["event_f1"]}
    return out


def format_report(r: dict[str, Any], show: bool = True) -> str:
    f = r["figures"]
    lines = [f"articles: {r['articles']}"]
    lines.append("  " + "  ".join(f"{k} {f[k]:.3f}" for k in SHOWN))
    lines.append(
        f"  alerts {f['alerts']} (P {f['alert_p']:.3f}, R {f['alert_r']:.3f} of {f['gold_alert_clusters']} listings);"
        f" confidence >= 0.8: {f['conf80_n']} events, {f['conf80_p']:.3f} right"
    )
    for t, m in r["per_type"].items():
        lines.append(f"  {t:<22} P {m['p']:.3f}  R {m['r']:.3f}  F1 {m['f1']:.3f}")
    if show:
        kinds = Counter(d.split(" ", 1)[0] for d in r["details"])
        lines.append(f"\n{kinds.get('MISS', 0)} missed, {kinds.get('FALSE', 0)} false:")
        lines.extend("  " + d for d in r["details"])
    return "\n".join(lines)


__all__ = ["evaluate", "format_report"]
