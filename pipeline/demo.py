"""The bundled demo: a small news site and a Slack catcher on loopback, and ``run_demo()``.

The site's articles (``demo_site/site.json``) were written by the tradewire team: several outlets
reporting one sanctions listing (one of them a syndicated copy, one reached through both feeds),
a tariff action, a tariff threat, two factory milestones, background mentions and plain crypto
market news. Pages carry the clutter real pages do: navigation, "Skip to content", captions,
related-article teasers, footers.
"""

from __future__ import annotations

import html
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SITE = Path(__file__).parent / "demo_site" / "site.json"


def load_site() -> dict[str, Any]:
    return json.loads(SITE.read_text(encoding="utf-8"))


def render_page(article: dict[str, Any], related: list[dict[str, Any]]) -> str:
    teasers = "".join(
        f'<li><a href="/{html.escape(r["slug"])}">{html.escape(r["title"])}</a></li>' for r in related
    )
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in article["body"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(article["title"])} | {html.escape(article["outlet"])}</title>
<meta property="article:published_time" content="{article["published"]}">
<meta property="og:title" content="{html.escape(article["title"])}">
<meta property="og:site_name" content="{html.escape(article["outlet"])}"></head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/markets">Markets</a></li><li><a href="/policy">Policy</a></li>
<li><a href="/mining">Mining</a></li><li><a href="/newsletter">Newsletter</a></li></ul></nav>
<div class="ticker">BTC 97,912 ▲ ETH 3,410 ▲ SOL 182 ▼</div></header>
<main id="main"><article>
<h1>{html.escape(article["title"])}</h1>
<div class="byline">By Staff Reporter · <time datetime="{article["published"]}">{article["published"][:10]}</time></div>
<figure><img src="/img/photo.jpg" alt=""><figcaption>{html.escape(article["caption"])}</figcaption></figure>
{paras}
<aside class="newsletter">Sign up for our morning briefing. Subscribe now</aside>
</article>
<section class="related"><h2>Related articles</h2><ul>{teasers}</ul></section></main>
<footer><p>© 2026 {html.escape(article["outlet"])}. All rights reserved.</p><a href="/privacy">Privacy</a> <a href="/terms">Terms</a>
<div class="cookie">We use cookies to improve your experience. Accept all</div></footer>
</body></html>"""


def render_feed(base: str, name: str, site: dict[str, Any]) -> str:
    by_slug = {a["slug"]: a for a in site["articles"]}
    items = []
    for ref in site["feeds"][name]["items"]:
        a = by_slug[ref.split("?", 1)[0]]
        pub = format_datetime(datetime.fromisoformat(a["published"].replace("Z", "+00:00")))
        link = f"{base}/{ref}"
        items.append(
            f"<item><title>{html.escape(a['title'])}</title><link>{html.escape(link)}</link>"
            f'<guid isPermaLink="false">{name}:{html.escape(a["slug"])}</guid><pubDate>{pub}</pubDate>'
            f"<description>{html.escape(a['body'][0][:200])}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{html.escape(site['feeds'][name]['title'])}</title><link>{base}/</link>"
        f"<description>demo feed</description>{''.join(items)}</channel></rss>"
    )


class _Server:
    """A ThreadingHTTPServer on a free loopback port, in a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> _Server:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class DemoSite(_Server):
    """Serves /feeds/NAME.xml and the article pages, from a site dict (the bundled one by default)."""

    def __init__(self, site: dict[str, Any] | None = None) -> None:
        self.site = site or load_site()
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.requests.append(self.path)
                path = self.path.split("?", 1)[0].strip("/")
                if path.startswith("feeds/") and path.endswith(".xml"):
                    name = path[len("feeds/") : -4]
                    if name in outer.site["feeds"]:
                        return self._send(
                            200, render_feed(outer.base, name, outer.site), "application/rss+xml"
                        )
                by_slug = {a["slug"]: a for a in outer.site["articles"]}
                if path in by_slug:
                    a = by_slug[path]
                    related = [r for r in outer.site["articles"] if r["slug"] != path][:3]
                    return self._send(200, render_page(a, related), "text/html; charset=utf-8")
                return self._send(404, "<h1>Not found</h1>", "text/html")

            def _send(self, status: int, body: str, ctype: str) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(Handler)

    def feed_url(self, name: str) -> str:
        return f"{self.base}/feeds/{name}.xml"


class SlackCatcher(_Server):
    """A local Slack webhook receiver. ``script`` gives (status, headers) per request; 200 afterwards."""

    def __init__(
        self,
        script: list[tuple[int, dict[str, str]]] | None = None,
        on_request: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.script = list(script or [])
        self.received: list[dict[str, Any]] = []  # every request: {"at", "status", "body"}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with outer.lock:
                    status, headers = outer.script.pop(0) if outer.script else (200, {})
                    try:
                        payload = json.loads(body)
                    except ValueError:
                        payload = None
                    rec = {"at": time.monotonic(), "status": status, "body": payload, "path": self.path}
                    outer.received.append(rec)
                if on_request:
                    on_request(rec)
                text = b"ok" if status == 200 else b"error"
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"{self.base}/services/T000/B000/demo-secret-token"

    @property
    def delivered(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.received if r["status"] == 200]


def demo_settings(site: DemoSite, catcher: SlackCatcher, db: str) -> Any:
    from .config import AlertSettings, FeedSettings, NetworkSettings, Settings, StorageSettings

    outlets = {"ledger": "The Ledger Daily", "desk": "Trade Desk Wire"}
    return Settings(
        storage=StorageSettings(db=db),
        network=NetworkSettings(allow_hosts=(site.host_port, catcher.host_port)),
        feeds=tuple(
            FeedSettings(
                name=n,
                url=site.feed_url(n),
                category="crypto" if n == "ledger" else "trade",
                interval_minutes=15,
                outlet=outlets.get(n, ""),
            )
            for n in site.site["feeds"]
        ),
        alerts=AlertSettings(drain_seconds=15.0),
    )


def run_demo(db_path: str = "data/demo.db") -> None:
    """Serve the demo site and a Slack catcher, run one cycle, print the events and the alert."""
    import click

    from .export import table
    from .flow import Pipeline
    from .logs import setup_logging

    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(db_path + suffix).unlink(missing_ok=True)
    site = DemoSite().start()
    catcher = SlackCatcher().start()
    tmp = tempfile.mkdtemp(prefix="tradewire-demo-")
    try:
        settings = demo_settings(site, catcher, db_path)
        setup_logging(settings)
        click.echo(
            f"demo site on {site.base} (feeds: {', '.join(site.site['feeds'])}); Slack catcher on {catcher.base}"
        )
        click.echo("running one cycle (first run loads the spaCy and MiniLM models)...")
        with Pipeline(settings, env={"SLACK_WEBHOOK_URL": catcher.url}) as p:
            report = p.run_once()
            events = p.store.queries.query_events()
        click.echo(report.summary())
        click.echo("\nEvents:\n" + table(events))
        click.echo(f"\nSlack received {len(catcher.delivered)} alert(s):")
        for msg in catcher.delivered:
            click.echo("  " + msg["text"])
            click.echo("  " + json.dumps(msg["blocks"][0]["text"]["text"]))
        click.echo(
            f"\nThe log is at {db_path}: try  python run.py events --config config/demo.toml --format jsonl"
        )
    finally:
        site.stop()
        catcher.stop()
        shutil.rmtree(tmp, ignore_errors=True)
