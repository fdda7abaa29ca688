"""Resident memory of the daemon's cycle over time: after a backfill and over many fast cycles.

A local site publishes new articles every cycle (some with events, most plain news); the pipeline
runs run_once() back to back (an accelerated daemon). Current RSS (VmRSS) is printed at checkpoints.

    python bench/memory.py                                  # 10,000-wire backfill, then 2,000 cycles
    python bench/memory.py --backfill 1000 --cycles 300
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import FeedSettings, NetworkSettings, Settings, StorageSettings  # noqa: E402
from pipeline.flow import CycleReport, Pipeline  # noqa: E402

WIRES = ROOT.parent / "shared" / "corpus" / "news" / "reuters21578" / "articles.jsonl.gz"
PLAIN = (
    "Bitcoin traded near its weekly high as volumes on major exchanges held steady. Analysts said options "
    "markets priced more volatility. Miners sold part of their output to fund new machines."
)


def _rss(pid: str | int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def rss_mb() -> str:
    """Resident memory of this process and of its workers (extraction, parse)."""
    import multiprocessing

    main = _rss("self")
    workers = sum(_rss(c.pid) for c in multiprocessing.active_children())
    return f"{main:.0f} MB (+ {workers:.0f} MB in workers = {main + workers:.0f} MB)"


class Site:
    """Each feed request publishes two new articles; every fifth is a sanctions or factory story."""

    def __init__(self) -> None:
        self.n = 0
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/feed"):
                    outer.n += 2
                    items = "".join(
                        f"<item><title>Story {i}</title><link>http://127.0.0.1:{outer.port}/a/{i}</link>"
                        f"<guid>s-{i}</guid></item>"
                        for i in range(outer.n - 2, outer.n)
                    )
                    body = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>"
                    ctype = "application/rss+xml"
                else:
                    i = int(self.path.rsplit("/", 1)[1])
                    if i % 10 == 0:
                        lead = (
                            f"The Commerce Department on Tuesday added Acme Systems {i} and Borealis Labs {i} "
                            f"to the Entity List, citing military end use."
                        )
                    elif i % 10 == 5:
                        lead = f"Northwind Mining {i} began operations at its new 100 MW mining facility in Texas."
                    else:
                        lead = PLAIN
                    body = f"<html><body><article><h1>Story {i}</h1><p>{lead}</p><p>{PLAIN}</p></article></body></html>"
                    ctype = "text/html"
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        Thread(target=self.httpd.serve_forever, daemon=True).start()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backfill", type=int, default=10_000)
    ap.add_argument("--cycles", type=int, default=2_000)
    args = ap.parse_args()
    site = Site()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            storage=StorageSettings(db=str(Path(tmp) / "mem.db")),
            network=NetworkSettings(allow_hosts=(f"127.0.0.1:{site.port}",)),
            feeds=(
                FeedSettings(name="site", url=f"http://127.0.0.1:{site.port}/feed.xml", interval_minutes=1),
            ),
        )
        with Pipeline(settings, env={}) as p:
            p.models.nlp  # noqa: B018
            p.models.embed(["warm up"])
            print(f"models loaded: RSS {rss_mb()}")
            if args.backfill and WIRES.exists():
                t0 = time.perf_counter()
                with gzip.open(WIRES, "rt") as f:
                    n = 0
                    for line in f:
                        w = json.loads(line)
                        if not w.get("text"):
                            continue
                        p.store.articles.add(
                            url=f"reuters:{w['id']}",
                            title=w.get("title") or "",
                            published=w.get("date"),
                            text=w["text"],
                        )
                        n += 1
                        if n >= args.backfill:
                            break
                report = CycleReport()
                while p.store.articles.due("fetched", limit=1):
                    p.process_articles(report)
                print(
                    f"backfill of {n} wires: {time.perf_counter() - t0:.0f}s, {report.events_created} events; "
                    f"RSS {rss_mb()}"
                )
            t0 = time.perf_counter()
            checkpoints = {100, 500, 1000, 1500, 2000, args.cycles}
            for c in range(1, args.cycles + 1):
                p.run_once(drain_seconds=0)
                if c in checkpoints:
                    events = p.store.db["events"].count
                    print(
                        f"after {c} cycles ({site.n} articles published, {events} events): RSS {rss_mb()}, "
                        f"{(time.perf_counter() - t0) / c * 1000:.0f} ms a cycle"
                    )
    site.httpd.shutdown()


if __name__ == "__main__":
    main()
