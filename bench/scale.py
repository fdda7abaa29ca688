"""The event log at scale: a synthetic log grown to 10k, 100k and 1M events (3 sources each).

At each size it prints: dedup lookup latency (one report's whole merge decision: the stored events
narrowed by type, milestone, actor and date window, the vector step, then the trained merge decision
over up to 50 candidates: Deduplicator.candidates and choose), the analyst queries
(type and date, entity, full text) through Store.query_events, the insert rate of real
commit_article calls (flat as the log grows?), and peak resident memory.

    python bench/scale.py                 # up to 1M events (about 10 minutes and 3 GB of disk)
    python bench/scale.py --max 100000    # quicker
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import DedupSettings  # noqa: E402
from pipeline.dates import iso, utcnow  # noqa: E402
from pipeline.dedup import Deduplicator, load_merge_model  # noqa: E402
from pipeline.records import Decision, EventMention, Evidence  # noqa: E402
from pipeline.store import Store  # noqa: E402

TYPES = {
    "sanctions_listing": ["listing", "prospective_listing"],
    "sanctions_removal": ["removal"],
    "tariff_announcement": ["imposed", "threat", "pause", "cut", "denial"],
    "factory_opening": ["announcement", "construction", "production", "delay", "cancellation"],
}
ACTORS = [
    "U.S. Department of Commerce (BIS)",
    "U.S. Department of the Treasury (OFAC)",
    "United States",
    "China",
    "European Commission",
    "Council of the European Union",
    "India",
    "Canada",
    "Japan",
    "Mexico",
]
START = date(2016, 1, 1)
DAYS = 365 * 10


def rand_vec(rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(384).astype(np.float32)
    return v / np.linalg.norm(v)


def grow(store: Store, n_from: int, n_to: int, rng: np.random.Generator, targets: list[str]) -> float:
    """Bulk-load synthetic events, sources and entity links (executemany; the bench's own fast path)."""
    t0 = time.perf_counter()
    now = iso(utcnow())
    batch = 20_000
    conn = store.db.conn
    base = conn.execute("select coalesce(max(id), 0) from events").fetchone()[0] - n_from
    for start in range(n_from, n_to, batch):
        ev, src, ent = [], [], []
        for i in range(start, min(n_to, start + batch)):
            t = random.choice(list(TYPES))
            d = (START + timedelta(days=int(rng.integers(DAYS)))).isoformat()
            actor, target = random.choice(ACTORS), random.choice(targets)
            text = f"{actor} {t.replace('_', ' ')} {target} event {i} evidence sentence"
            ev.append(
                (
                    base + i + 1,
                    t,
                    "done",
                    random.choice(TYPES[t]),
                    json.dumps([actor]),
                    json.dumps([target]),
                    d,
                    0.9,
                    now,
                    now,
                    3,
                    2,
                    text,
                    "[]",
                    "[]",
                    text,
                    rand_vec(rng).tobytes(),
                    d,
                    actor.lower(),
                )
            )
            for k in range(3):
                src.append(
                    (
                        base + i + 1,
                        None,
                        f"https://news{k}.test/{i}",
                        f"title {i}",
                        f"news{k}.test",
                        d,
                        "done",
                        '[{"sentence": "x", "start": 0, "end": 1}]',
                        None,
                        0.9,
                        now,
                    )
                )
            ent += [(base + i + 1, actor, "actor"), (base + i + 1, target, "target")]
        with conn:
            conn.executemany(
                "insert into events (id, type, status, milestone, actors, targets, event_date, confidence, first_seen,"
                " last_seen, source_count, independent_sources, evidence, amounts, rule_ids, search_text, embedding,"
                " anchor_date, actor_key) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                ev,
            )
            conn.execute("pragma foreign_keys = off")
            conn.executemany(
                "insert into sources (event_id, article_id, url, title, outlet, published, status, evidence, origin,"
                " similarity, added_at) values (?,?,?,?,?,?,?,?,?,?,?)",
                src,
            )
            conn.executemany(
                "insert or ignore into event_entities (event_id, entity, role) values (?,?,?)", ent
            )
            conn.execute("pragma foreign_keys = on")
    return time.perf_counter() - t0


def ms(samples: list[float]) -> str:
    s = sorted(samples)
    return f"p50 {statistics.median(s) * 1000:.2f} ms, p95 {s[int(len(s) * 0.95) - 1] * 1000:.2f} ms"


def measure(store: Store, size: int, rng: np.random.Generator, targets: list[str]) -> None:
    settings = DedupSettings()
    model = load_merge_model(settings.model)
    dedup = Deduplicator(settings, models=None, events=store.events, model=model)  # type: ignore[arg-type]  # no embedder needed
    lookups = []
    for _ in range(300):
        t = random.choice(list(TYPES))
        d = (START + timedelta(days=int(rng.integers(DAYS)))).isoformat()
        m = EventMention(
            type=t,
            status="done",
            milestone=random.choice(TYPES[t]),
            actors=(random.choice(ACTORS),),
            targets=(random.choice(targets),),
            location=None,
            event_date=d,
            confidence=0.9,
            evidence=(Evidence("x", 0, 1),),
            rule_ids=(),
        )
        v = rand_vec(rng)
        t0 = time.perf_counter()
        dedup.choose(m, dedup.candidates(m, v, d))
        lookups.append(time.perf_counter() - t0)
    print(
        f"  dedup lookup (candidates by type, milestone, actor, date window + vectors + merge decision): {ms(lookups)}"
    )
    queries = {
        "type + date range, newest 100": lambda: store.queries.query_events(
            types=["tariff_announcement"], since="2020-01-01", until="2020-12-31", limit=100
        ),
        "entity (with aliases), newest 100": lambda: store.queries.query_events(
            entities=["China", "Beijing", "PRC"], limit=100
        ),
        "full text, newest 100": lambda: store.queries.query_events(query=random.choice(targets), limit=100),
        "type + status + min sources, newest 100": lambda: store.queries.query_events(
            types=["sanctions_listing"], statuses=["done"], min_sources=2, limit=100
        ),
    }
    for name, q in queries.items():
        times = []
        for _ in range(10):
            t0 = time.perf_counter()
            q()
            times.append(time.perf_counter() - t0)
        print(f"  query {name}: {ms(times)}")
    inserts = []
    for i in range(100):
        aid, _ = store.articles.add(
            url=f"https://bench.test/{size}/{i}", title="t", published=None, text="x " * 100
        )
        m = EventMention(
            type="factory_opening",
            status="announced",
            milestone="announcement",
            actors=("Intel",),
            targets=(f"fab {size}-{i}",),
            location=None,
            event_date="2026-01-01",
            confidence=0.8,
            evidence=(Evidence("x", 0, 1),),
            rule_ids=(),
        )
        t0 = time.perf_counter()
        store.events.commit_article(aid, [Decision(mention=m, embedding=rand_vec(rng).tobytes())])
        inserts.append(time.perf_counter() - t0)
    print(f"  commit_article (event + source + entities + FTS, one transaction): {ms(inserts)}")
    print(
        f"  peak resident memory so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--max", type=int, default=1_000_000)
    ap.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    args = ap.parse_args()
    random.seed(7)
    rng = np.random.default_rng(7)
    targets = [f"Party {i:05d} Technologies" for i in range(20_000)]
    tmp = tempfile.TemporaryDirectory(prefix="tradewire-scale-")
    store = Store.open(args.db or str(Path(tmp.name) / "scale.db"))
    have = 0
    for size in (10_000, 100_000, 1_000_000):
        if size > args.max:
            break
        secs = grow(store, have, size, rng, targets)
        have = size
        db_mb = Path(store.path).stat().st_size / 1e6
        print(f"{size:>9,} events ({3 * size:,} sources): bulk load {secs:.1f}s, database {db_mb:.0f} MB")
        measure(store, size, rng, targets)
    store.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
