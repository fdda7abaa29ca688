"""What the merge decision reads of a report and a stored event of the same type: named features.

Milestone and status (a prospect and the act, a threat and the tariff are other events), the acting
party, the distinctive words of the parties, the dates and the publication gap, money amounts and
rates, the evidence (MiniLM cosine and shared content words), the story. No feature names a party
(per-type copies of every feature were tried and overfit: training/merges.py).
"""

from __future__ import annotations

import functools
import re

from .. import dates
from ..parties import is_group, money
from ..records import EventMention, StoredEvent
from ..vocab import FAMILY

PAIR_FEATURE_SET = "pairs.v1"
_RATE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|per ?cent|pct)", re.I)
_WORD = re.compile(r"[a-z][a-z\-]{3,}")


def specific_words(
    names: tuple[str, ...] | list[str], generic_words: frozenset[str], generic_parties: frozenset[str]
) -> frozenset[str]:
    """Distinctive words of the named parties ("giga", "berlin", "ymtc"), generic words left out."""
    return _specific(tuple(names), generic_words, generic_parties)


# A report is compared with up to 50 stored events, and a stored event with many reports: the words of
# one party list or one evidence text are computed once (the lookup's cost at 1M events was here).
@functools.lru_cache(maxsize=65536)
def _specific(
    names: tuple[str, ...], generic_words: frozenset[str], generic_parties: frozenset[str]
) -> frozenset[str]:
    out: set[str] = set()
    for n in names:
        if is_group(n) or n.lower() in generic_parties:
            continue
        out.update(
            w for w in re.findall(r"[a-z0-9][a-z0-9.]*", n.lower()) if w not in generic_words and len(w) > 2
        )
    return frozenset(out)


@functools.lru_cache(maxsize=65536)
def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def _rates(amounts: tuple[str, ...] | set[str]) -> set[str]:
    return {m.group(1) for a in amounts for m in _RATE.finditer(a)}


def _bucket(gap: int | None, edges: tuple[int, ...]) -> str:
    if gap is None:
        return "unknown"
    for e in edges:
        if abs(gap) <= e:
            return f"<={e}"
    return f">{edges[-1]}"


def _family(milestone: str) -> str:
    base = milestone.removeprefix("prospective_")
    return FAMILY.get(base, base)


def pair_features(
    m: EventMention,
    anchor: str | None,
    ev: StoredEvent,
    sim: float,
    in_story: bool,
    generic_words: frozenset[str],
    generic_parties: frozenset[str],
) -> dict[str, float]:
    f: dict[str, float] = {"bias": 1.0, "sim": sim, f"sim>{_sim_step(sim)}": 1.0}
    f[
        "same_milestone"
        if m.milestone == ev.milestone
        else ("same_family" if _family(m.milestone) == _family(ev.milestone) else "other_family")
    ] = 1.0
    if m.status == ev.status:
        f["same_status"] = 1.0
    mine, theirs = {a.lower() for a in m.actors}, {a.lower() for a in ev.actors}
    f["actor:" + ("same" if mine & theirs else ("unknown" if not mine or not theirs else "other"))] = 1.0
    tm = specific_words(m.targets, generic_words, generic_parties)
    te = specific_words(ev.targets, generic_words, generic_parties)
    if tm and te:
        shared = tm & te
        f["targets_jaccard"] = len(shared) / len(tm | te)
        f["targets_shared" if shared else "targets_disjoint"] = 1.0
    else:
        f["targets_missing"] = 1.0
    if m.event_date and ev.event_date:
        f[f"event_dates:{_bucket(dates.days_between(ev.event_date, m.event_date), (0, 3, 10, 31))}"] = 1.0
    else:
        f["event_date_missing"] = 1.0
    f[
        f"anchors:{_bucket(dates.days_between(ev.anchor_date, m.event_date or anchor), (1, 3, 10, 31, 90))}"
    ] = 1.0
    ma, mb = money(set(m.amounts)), money(set(ev.amounts))
    if ma and mb:
        f["money_shared" if ma & mb else "money_clash"] = 1.0
    ra, rb = _rates(m.amounts), _rates(ev.amounts)
    if ra and rb:
        f["rates_shared" if ra & rb else "rates_clash"] = 1.0
    wa = _words(" ".join(e.sentence for e in m.evidence))
    wb = _words(ev.evidence)
    if wa and wb:
        f["evidence_words"] = len(wa & wb) / len(wa | wb)
    if in_story:
        f["same_story"] = 1.0
    return f


def _sim_step(sim: float) -> str:
    for s in (0.9, 0.8, 0.7, 0.6, 0.5, 0.4):
        if sim >= s:
            return f"{s:.1f}"
    return "low"
