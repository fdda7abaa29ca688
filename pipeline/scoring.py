"""Scores an event export (the public contract: one dict per event, sources with the article URL)
against hand-labelled articles (the corpus schema of ``../shared/dev``), the way the project is
measured (``../shared/tools/score.py``, whose matching rule this follows):

- within an article, a predicted event matches a gold event of the same type whose parties (actors
  and targets, generic words dropped) overlap, best overlap first, news before background; a lone
  event of its type matches the lone gold event of that type;
- core = listing, tariff or factory, done or announced, not background; an export event matched to a
  background gold event counts neither way;
- dedup is pairwise over the matched reports of two different articles (gold ``cluster`` as truth);
- alerts are the exported core sanctions listings: one right alert per gold cluster, anything else
  (a second alert for a listing, a listing that is not one) false.

Besides the figures, ``score`` tells for every exported event, in each article that reports it, whether
it was right (``outcomes``):
what confidence is calibrated on.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from .vocab import is_core

# words that say nothing about which party is meant ("the", "department", "china's", "percent"...)
GENERIC = set(
    [
        "the",
        "of",
        "and",
        "a",
        "an",
        "to",
        "in",
        "on",
        "for",
        "by",
        "with",
        "from",
        "at",
        "as",
        "its",
        "their",
        "his",
        "her",
        "this",
        "that",
        "these",
        "those",
        "department",
        "ministry",
        "office",
        "bureau",
        "commission",
        "council",
        "government",
        "administration",
        "agency",
        "u",
        "s",
        "us",
        "u.s",
        "usa",
        "united",
        "states",
        "america",
        "american",
        "president",
        "white",
        "house",
        "federal",
        "company",
        "companies",
        "inc",
        "ltd",
        "llc",
        "co",
        "corp",
        "corporation",
        "group",
        "holdings",
        "plc",
        "limited",
        "technologies",
        "technology",
        "tech",
        "chinese",
        "china's",
        "organizations",
        "organisations",
        "entities",
        "entity",
        "parties",
        "individuals",
        "persons",
        "countries",
        "country",
        "all",
        "other",
        "others",
        "dozens",
        "several",
        "many",
        "non",
        "retaliating",
        "trading",
        "partners",
        "partner",
        "percent",
        "pct",
        "tariff",
        "tariffs",
        "sanctions",
        "list",
        "plant",
        "factory",
        "facility",
    ]
)
ALIASES = {
    "prc": "china",
    "beijing": "china",
    "peoples": "china",
    "bis": "commerce",
    "ofac": "treasury",
    "eu": "europe",
    "european": "europe",
    "tsmc": "taiwan semiconductor",
}


# The extraction's figures, as the scorer names them (evaluation adds dedup's, training calibration's).
EXTRACTION_FIGURES = ("core_p", "core_r", "core_f1", "event_p", "event_r", "event_f1", "status_acc")


def party_tokens(names: list[Any] | None) -> set[str]:
    out = set()
    for name in names or []:
        if not isinstance(name, str):
            name = json.dumps(name)
        for t in re.findall(r"[a-z0-9]+", name.lower()):
            t = ALIASES.get(t, t)
            if t in GENERIC or t.isdigit() or len(t) < 3:
                continue
            out.add(t)
    return out


def norm_url(u: str | None) -> str:
    return re.sub(r"^https?://(www\.)?", "", (u or "").strip()).rstrip("/").lower()


def event_urls(ev: dict[str, Any]) -> set[str]:
    urls = set()
    for key in ("mentions", "sources", "articles"):
        for m in ev.get(key) or []:
            if isinstance(m, str):
                urls.add(m)
            elif isinstance(m, dict):
                for k in ("url", "article_url", "link", "canonical_url"):
                    if m.get(k):
                        urls.add(m[k])
    for k in ("url", "article_url"):
        if ev.get(k):
            urls.add(ev[k])
    return urls


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _core(ev: dict[str, Any]) -> bool:
    return is_core(ev.get("type") or "", ev.get("status") or "")


def match_article(gold: list[dict[str, Any]], preds: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(gold index, prediction index) pairs for one article, best first, news before background."""
    cand = []
    for gi, g in enumerate(gold):
        gt = party_tokens(g.get("targets")) | party_tokens(g.get("actors"))
        n_gt = sum(x["type"] == g["type"] for x in gold)
        n_pt = sum(p.get("type") == g["type"] for p in preds)
        for pi, p in enumerate(preds):
            if p.get("type") != g["type"]:
                continue
            pt = party_tokens(p.get("targets")) | party_tokens(p.get("actors"))
            s = len(gt & pt) / (len(gt | pt) or 1)
            if s == 0 and not (n_gt == 1 and n_pt == 1):
                continue
            cand.append(
                (s + 0.01 * (p.get("status") == g["status"]) + 10 * (not g.get("background")), gi, pi)
            )
    used_g: set[int] = set()
    used_p: set[int] = set()
    pairs = []
    for _, gi, pi in sorted(cand, reverse=True):
        if gi in used_g or pi in used_p:
            continue
        used_g.add(gi)
        used_p.add(pi)
        pairs.append((gi, pi))
    return pairs


@dataclass
class Score:
    figures: dict[str, Any]
    # (export index, right: matched to a news event) for each article an exported event is reported in
    outcomes: list[tuple[int, bool]] = field(default_factory=list)
    details: list[str] = field(default_factory=list)


def score(gold_articles: list[dict[str, Any]], pred_events: list[dict[str, Any]]) -> Score:
    by_url: dict[str, list[int]] = defaultdict(list)
    for i, ev in enumerate(pred_events):
        for u in event_urls(ev):
            by_url[norm_url(u)].append(i)
    t = defaultdict(int)
    outcomes: list[tuple[int, bool]] = []
    matched: list[tuple[str, dict[str, Any], Any]] = []
    details: list[str] = []
    for art in gold_articles:
        idx = sorted(set(by_url.get(norm_url(art["url"]), [])))
        preds = [pred_events[i] for i in idx]
        gold = [g for g in art["gold"]["events"] if not g.get("background")]
        allg = gold + [g for g in art["gold"]["events"] if g.get("background")]
        pairs = match_article(allg, preds)
        used_p = {pi for _, pi in pairs}
        matched_news = set()
        for gi, pi in pairs:
            g, p = allg[gi], preds[pi]
            if g.get("background"):
                continue
            matched_news.add(gi)
            outcomes.append((idx[pi], True))
            t["ev_tp"] += 1
            t["status_n"] += 1
            t["status_ok"] += p.get("status") == g["status"]
            matched.append((art["id"], g, p.get("id", p.get("event_id"))))
            pc = _core(p)
            t["core_tp"] += bool(g["core"] and pc)
            t["core_fn"] += bool(g["core"] and not pc)
            t["core_fp"] += bool(pc and not g["core"])
        for gi, g in enumerate(gold):
            if gi not in matched_news:
                t["ev_fn"] += 1
                t["core_fn"] += bool(g["core"])
                details.append(f"MISS {art['id']}: {g['type']}/{g['status']} {g.get('targets')}")
        for pi, p in enumerate(preds):
            if pi in used_p:
                continue
            outcomes.append((idx[pi], False))
            t["ev_fp"] += 1
            t["core_fp"] += _core(p)
            details.append(f"FALSE {art['id']}: {p.get('type')}/{p.get('status')} {p.get('targets')}")
    figures = _figures(t, matched, gold_articles, pred_events, outcomes)
    return Score(figures, outcomes, details)


def _figures(
    t: dict[str, int],
    matched: list[tuple[str, dict[str, Any], Any]],
    gold_articles: list[dict[str, Any]],
    pred_events: list[dict[str, Any]],
    outcomes: list[tuple[int, bool]],
) -> dict[str, Any]:
    same_both = same_gold = same_pred = 0
    for (a1, g1, p1), (a2, g2, p2) in combinations(matched, 2):
        if a1 == a2:
            continue
        sg, sp = g1["cluster"] == g2["cluster"], p1 is not None and p1 == p2
        same_gold += sg
        same_pred += sp
        same_both += sg and sp
    ep, er, ef = prf(t["ev_tp"], t["ev_fp"], t["ev_fn"])
    cp, cr, cf = prf(t["core_tp"], t["core_fp"], t["core_fn"])
    dp, dr, df = prf(same_both, same_pred - same_both, same_gold - same_both)
    alerts = _alerts(matched, gold_articles, pred_events)
    high = [ok for i, ok in outcomes if (pred_events[i].get("confidence") or 0.0) >= 0.8]
    return {
        "event_p": ep,
        "event_r": er,
        "event_f1": ef,
        "core_p": cp,
        "core_r": cr,
        "core_f1": cf,
        "status_acc": t["status_ok"] / t["status_n"] if t["status_n"] else 0.0,
        "dedup_p": dp,
        "dedup_r": dr,
        "dedup_f1": df,
        "dedup_pairs": {"right": same_both, "merged": same_pred, "same_event": same_gold},
        **alerts,
        "conf80_p": sum(high) / len(high) if high else 0.0,
        "conf80_n": len(high),
    }


def _alerts(
    matched: list[tuple[str, dict[str, Any], Any]],
    gold_articles: list[dict[str, Any]],
    pred_events: list[dict[str, Any]],
) -> dict[str, Any]:
    gold_clusters = {
        g["cluster"]
        for a in gold_articles
        for g in a["gold"]["events"]
        if g["core"] and g["type"] == "sanctions_listing"
    }
    urls = {norm_url(a["url"]) for a in gold_articles}
    alerts = [
        p
        for p in pred_events
        if p.get("type") == "sanctions_listing"
        and p.get("status") in ("done", "announced")
        and {norm_url(u) for u in event_urls(p)} & urls
    ]
    cluster_of = {
        pid: g["cluster"] for _, g, pid in matched if g["core"] and g["type"] == "sanctions_listing"
    }
    hit: set[str] = set()
    tp = fp = 0
    for p in alerts:
        c = cluster_of.get(p.get("id", p.get("event_id")))
        if c and c not in hit:
            hit.add(c)
            tp += 1
        else:
            fp += 1
    ap, ar, _ = prf(tp, fp, len(gold_clusters) - tp)
    return {"alerts": len(alerts), "alert_p": ap, "alert_r": ar, "gold_alert_clusters": len(gold_clusters)}


def alert_audit(
    gold_articles: list[dict[str, Any]], pred_events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every exported core sanctions listing (what alerts), with what it was in the gold: the matched
    gold event's status and whether it was background, or nothing (a listing that is not one)."""
    by_url: dict[str, list[int]] = defaultdict(list)
    for i, ev in enumerate(pred_events):
        for u in event_urls(ev):
            by_url[norm_url(u)].append(i)
    seen: dict[int, dict[str, Any]] = {}
    for art in gold_articles:
        idx = sorted(set(by_url.get(norm_url(art["url"]), [])))
        preds = [pred_events[i] for i in idx]
        allg = [g for g in art["gold"]["events"] if not g.get("background")]
        allg += [g for g in art["gold"]["events"] if g.get("background")]
        matched = {pi: allg[gi] for gi, pi in match_article(allg, preds)}
        for pi, p in enumerate(preds):
            if p.get("type") != "sanctions_listing" or p.get("status") not in ("done", "announced"):
                continue
            g = matched.get(pi)
            verdict = seen.setdefault(idx[pi], {"event": p.get("id"), "gold": []})
            verdict["gold"].append(
                None
                if g is None
                else {"status": g["status"], "background": bool(g.get("background")), "core": g["core"]}
            )
    return list(seen.values())
