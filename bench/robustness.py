"""Robustness on real data: every feed in ../shared/corpus/feeds served over loopback HTTP through the
real fetch and feed stages, and every page in ../shared/corpus/html through extraction.

Prints crashes (anything but a typed, recorded error), parse outcomes, pooled gold F1 and speed.

    python bench/robustness.py                 # everything
    python bench/robustness.py --sample 20     # every 20th file (what CI runs)
"""

from __future__ import annotations

import argparse
import gzip
import json
import mimetypes
import re
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import NetworkSettings  # noqa: E402
from pipeline.errors import ExtractionError, FeedParseError, FetchError  # noqa: E402
from pipeline.extract import extract_article  # noqa: E402
from pipeline.feeds import parse_feed  # noqa: E402
from pipeline.fetch import FEED_TYPES, Fetcher  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"


def _serve(root: Path, headers_for: dict[str, list[tuple[str, str]]]) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            rel = self.path.split("?", 1)[0].lstrip("/")
            path = (root / rel).resolve()
            if not str(path).startswith(str(root.resolve())) or not path.is_file():
                self.send_response(404)
                self.end_headers()
                return
            data = path.read_bytes()
            self.send_response(200)
            declared = dict((k.lower(), v) for k, v in headers_for.get(rel, []))
            ctype = (
                declared.pop("content-type", None) or mimetypes.guess_type(path.name)[0] or "application/xml"
            )
            self.send_header("Content-Type", ctype)
            for k, v in declared.items():
                if k not in ("content-length", "transfer-encoding", "content-encoding"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, httpd.server_address[1]


def run_feeds(sample: int = 1) -> dict[str, Any]:
    root = SHARED / "feeds"
    index = json.loads((root / "feedparser" / "index.json").read_text())
    headers_for = {}
    files = []
    for f in index["files"]:
        rel = f"feedparser/{f['path']}"
        headers_for[rel] = [
            tuple(h) if isinstance(h, list) else tuple(h.split(":", 1)) for h in f.get("http_headers") or []
        ]
        files.append((rel, f.get("bozo_expected")))
    files += [
        (str(p.relative_to(root)), None) for p in sorted((root / "trafilatura").glob("*")) if p.is_file()
    ]
    files = files[::sample]
    httpd, port = _serve(root, headers_for)
    out: dict[str, Any] = {
        "files": len(files),
        "with_entries": 0,
        "entries": 0,
        "parse_errors": {},
        "fetch_errors": {},
        "crashes": [],
        "bozo_flagged": 0,
        "bozo_expected_and_flagged": 0,
        "bozo_expected": 0,
    }
    t0 = time.perf_counter()
    with Fetcher(NetworkSettings(allow_hosts=(f"127.0.0.1:{port}",), read_timeout=5, deadline=10)) as fetcher:
        for rel, bozo_expected in files:
            url = f"http://127.0.0.1:{port}/{rel}"
            try:
                resp = fetcher.get(
                    url, accept=(*FEED_TYPES, "application/json", "text/x-opml", "application/octet-stream")
                )
                feed = parse_feed("corpus", resp.content, url=url, content_type=resp.header("content-type"))
                out["entries"] += len(feed.entries)
                out["with_entries"] += bool(feed.entries)
                flagged = feed.warning is not None
            except FeedParseError as exc:
                out["parse_errors"][exc.reason] = out["parse_errors"].get(exc.reason, 0) + 1
                flagged = True
            except FetchError as exc:
                out["fetch_errors"][exc.reason] = out["fetch_errors"].get(exc.reason, 0) + 1
                flagged = True
            except Exception:  # a crash: not a typed error
                out["crashes"].append({"file": rel, "error": traceback.format_exc(limit=3)})
                continue
            out["bozo_flagged"] += flagged
            if bozo_expected:
                out["bozo_expected"] += 1
                out["bozo_expected_and_flagged"] += flagged
    out["seconds"] = round(time.perf_counter() - t0, 2)
    httpd.shutdown()
    return out


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def run_pages(sample: int = 1, **options: Any) -> dict[str, Any]:
    gold = json.loads((SHARED / "html" / "gold.json").read_text())
    pages = gold["pages"][::sample]
    tp = fp = fn = tn = 0
    crashes, no_text = [], 0
    t0 = time.perf_counter()
    for page in pages:
        html = gzip.decompress((SHARED / "html" / page["file"]).read_bytes())
        try:
            text = _norm(extract_article(html, url=page.get("url"), **options).text)
        except ExtractionError:
            text, no_text = "", no_text + 1
        except Exception:
            crashes.append({"file": page["file"], "error": traceback.format_exc(limit=3)})
            continue
        for chunk in page.get("must_contain") or []:
            if _norm(chunk) in text:
                tp += 1
            else:
                fn += 1
        for chunk in page.get("must_not_contain") or []:
            if _norm(chunk) in text:
                fp += 1
            else:
                tn += 1
    secs = time.perf_counter() - t0
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {
        "pages": len(pages),
        "crashes": crashes,
        "no_text": no_text,
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        "seconds": round(secs, 1),
        "pages_per_second": round(len(pages) / secs, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sample", type=int, default=1, help="Take every Nth file.")
    args = ap.parse_args()
    if not SHARED.exists():
        sys.exit(f"{SHARED} is absent")
    feeds = run_feeds(args.sample)
    print(
        f"feeds: {feeds['files']} files in {feeds['seconds']}s; crashes {len(feeds['crashes'])}; "
        f"with entries {feeds['with_entries']} ({feeds['entries']} entries); parse errors {feeds['parse_errors']}; "
        f"fetch errors {feeds['fetch_errors']}; flagged ill-formed {feeds['bozo_flagged']}, of the "
        f"{feeds['bozo_expected']} that index.json calls ill-formed {feeds['bozo_expected_and_flagged']}"
    )
    for c in feeds["crashes"][:5]:
        print("  crash:", c["file"], c["error"].splitlines()[-1])
    pages = run_pages(args.sample)
    print(
        f"pages: {pages['pages']} in {pages['seconds']}s ({pages['pages_per_second']}/s); crashes {len(pages['crashes'])}; "
        f"no text {pages['no_text']}; pooled gold P {pages['precision']} R {pages['recall']} F1 {pages['f1']}"
    )
    for c in pages["crashes"][:5]:
        print("  crash:", c["file"], c["error"].splitlines()[-1])


if __name__ == "__main__":
    main()
