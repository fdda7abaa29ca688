"""Throughput: articles/s from HTML and from text to the event log, per-stage shares, peak memory,
against a plain baseline (the full spaCy pipeline over each whole text with nlp.pipe) in the same run.

    python bench/throughput.py                     # 990 pages, 517 trade wires + 2,000 other wires
    python bench/throughput.py --pages 300 --wires 500
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import Settings, StorageSettings  # noqa: E402
from pipeline.errors import ExtractionError  # noqa: E402
from pipeline.events import Extractor  # noqa: E402
from pipeline.extract import ExtractionPool  # noqa: E402
from pipeline.flow import Pipeline  # noqa: E402
from pipeline.records import Article  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
BATCH = 32


def load_wires(n_other: int) -> list[dict]:
    trade = [
        json.loads(x) for x in (CORPUS / "news" / "reuters21578" / "trade.jsonl").read_text().splitlines()
    ]
    others = []
    with gzip.open(CORPUS / "news" / "reuters21578" / "articles.jsonl.gz", "rt") as f:
        for line in f:
            a = json.loads(line)
            if a.get("text_type") == "NORM" and a.get("text") and "trade" not in (a.get("topics") or []):
                others.append(a)
                if len(others) >= n_other:
                    break
    return trade + others


def to_log(
    texts: list[tuple[str, str, str | None, str]], settings: Settings, timing: dict[str, float]
) -> int:
    """Text -> events -> stories, dedup, store, in batches, through the pipeline's own per-article step."""
    with tempfile.TemporaryDirectory() as tmp:
        s = replace(settings, storage=StorageSettings(db=str(Path(tmp) / "bench.db")))
        with Pipeline(s, env={}) as p:
            events = 0
            for i in range(0, len(texts), BATCH):
                chunk = texts[i : i + BATCH]
                t0 = time.perf_counter()
                ids = [p.store.articles.add(url=u, title=t, published=d, text=x)[0] for u, t, d, x in chunk]
                arts = [
                    Article(id=a, url=u, title=t, outlet="", published=d, text=x)
                    for a, (u, t, d, x) in zip(ids, chunk, strict=True)
                ]
                t1 = time.perf_counter()
                found = p.extractor.extract_many(arts)
                t2 = time.perf_counter()
                vectors = p.dedup.embed_batch(arts, found)
                timing["dedup (embed + lookup)"] += time.perf_counter() - t2
                for art, mentions, vecs in zip(arts, found, vectors, strict=True):
                    events += len(p.process_article(art, mentions, vecs).created)
                timing["store"] += t1 - t0
                timing["nlp + events"] += t2 - t1
            for stage, secs in p.stage_seconds.items():
                timing[{"dedup": "dedup (embed + lookup)"}.get(stage, stage)] += secs
    return events


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(name: str, n: int, secs: float, timing: dict[str, float]) -> None:
    total = sum(timing.values()) or 1.0
    shares = ", ".join(f"{k} {v / total:.0%}" for k, v in timing.items() if v)
    print(f"{name}: {n} articles in {secs:.1f}s = {n / secs:.1f} articles/s  [{shares}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pages", type=int, default=990)
    ap.add_argument("--wires", type=int, default=2000, help="non-trade wires on top of the 517 trade wires")
    args = ap.parse_args()
    settings = Settings()
    extractor = Extractor(settings.nlp)
    extractor.models.nlp  # noqa: B018  # load once, outside the timings
    extractor.models.embed(["warm up"])
    print(f"models loaded; peak RSS {rss_mb():.0f} MB")

    wires = load_wires(args.wires)
    texts = [(f"reuters:{w['id']}", w.get("title") or "", w.get("date"), w["text"]) for w in wires]
    words = sum(len(t[3].split()) for t in texts)
    print(f"wires: {len(texts)} ({words / len(texts):.0f} words on average)")

    timing = dict.fromkeys(["nlp + events", "dedup (embed + lookup)", "stories", "store"], 0.0)
    t0 = time.perf_counter()
    events = to_log(texts, settings, timing)
    ours = time.perf_counter() - t0
    report(f"text -> log (ours, {events} events)", len(texts), ours, timing)

    import spacy

    plain = spacy.load(settings.nlp.spacy_model)  # spaCy as it comes: no gazetteer, default ops
    list(plain.pipe([t[3] for t in texts[:20]]))
    t0 = time.perf_counter()
    for _ in plain.pipe([t[3] for t in texts], batch_size=BATCH):
        pass
    base = time.perf_counter() - t0
    print(
        f"baseline (full spaCy nlp.pipe over whole texts, no embedding, no store): {len(texts) / base:.1f} articles/s"
    )
    print(f"ratio ours / baseline: {base / ours:.2f}x")

    gold = json.loads((CORPUS / "html" / "gold.json").read_text())["pages"][: args.pages]
    pages = [gzip.decompress((CORPUS / "html" / p["file"]).read_bytes()) for p in gold]
    timing = dict.fromkeys(["extract", "nlp + events", "dedup (embed + lookup)", "stories", "store"], 0.0)
    t0 = time.perf_counter()
    pool = ExtractionPool(workers=2)  # as the pipeline does: both cores, a time limit per page
    pool.extract_many([(pages[0], None)])  # start the workers outside the timing
    t0 = time.perf_counter()
    extracted = []
    for i in range(0, len(pages), BATCH):
        for j, ex in enumerate(pool.extract_many([(p, None) for p in pages[i : i + BATCH]])):
            if not isinstance(ex, ExtractionError):
                extracted.append((f"page:{i + j}", ex.title, ex.published, ex.text))
    pool.close()
    timing["extract"] = time.perf_counter() - t0
    events = to_log(extracted, settings, timing)
    secs = time.perf_counter() - t0
    report(f"HTML -> log (ours, {events} events)", len(pages), secs, timing)
    print(f"peak resident memory: {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
