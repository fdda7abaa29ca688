"""Fault injection on a local server: every fault survived, recorded, visible in status; the next cycle runs."""

from __future__ import annotations

import socket
import threading
from datetime import datetime

import pytest
from conftest import needs_shared
from helpers import dripping
from werkzeug import Response as WResponse

from pipeline.config import FeedSettings, NetworkSettings, Settings, StorageSettings
from pipeline.flow import Pipeline

GOOD = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>ok</title>
<item><title>A</title><link>{base}/a</link><guid>a-1</guid></item>
<item><title>Dup</title><link>{base}/a-dup</link><guid>a-1</guid></item>
<item><title>No link, no guid</title><pubDate>Tue, 10 Mar 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"""
PAGE = (
    "<html><body><article><p>" + "Market news without any event in it. " * 20 + "</p></article></body></html>"
)
LOL = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rss><channel><title>&b;</title></channel></rss>'


class RawServer:
    """Speaks broken HTTP on purpose: resets, truncated bodies."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            data = conn.recv(4096)
            if b"/reset" in data:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            elif b"/truncated" in data:
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 5000\r\n\r\n<rss><chan"
                )
            conn.close()

    def close(self) -> None:
        self.stop = True
        self.sock.close()


@pytest.fixture
def faulty(httpserver):
    base = httpserver.url_for("").rstrip("/")
    h = httpserver
    h.expect_request("/ok.xml").respond_with_data(GOOD.format(base=base), content_type="application/rss+xml")
    h.expect_request("/a").respond_with_data(PAGE, content_type="text/html")
    h.expect_request("/a-dup").respond_with_data(PAGE, content_type="text/html")
    h.expect_request("/500.xml").respond_with_response(WResponse("boom", status=500))
    h.expect_request("/503.xml").respond_with_response(
        WResponse("busy", status=503, headers={"Retry-After": "3600"})
    )
    h.expect_request("/429.xml").respond_with_response(
        WResponse("slow down", status=429, headers={"Retry-After": "120"})
    )

    h.expect_request("/drip.xml").respond_with_handler(dripping(b"<rss>", 30, 0.2, "application/rss+xml"))
    h.expect_request("/huge.xml").respond_with_data(
        b"<rss>" + b" " * 50_000_000, content_type="application/rss+xml"
    )
    h.expect_request("/loop.xml").respond_with_response(
        WResponse(status=302, headers={"Location": "/loop.xml"})
    )
    h.expect_request("/to-loopback.xml").respond_with_response(
        WResponse(status=302, headers={"Location": "http://127.0.0.1:9/feed.xml"})
    )
    h.expect_request("/to-metadata.xml").respond_with_response(
        WResponse(status=301, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    )
    h.expect_request("/png.xml").respond_with_data(b"\x89PNG\r\n", content_type="image/png")
    h.expect_request("/malformed.xml").respond_with_data(
        "<?xml version='1.0'?><rss><<<</", content_type="text/xml"
    )
    h.expect_request("/lol.xml").respond_with_data(LOL, content_type="application/xml")
    latin = (
        "<rss version='2.0'><channel><title>Caf\xe9</title><item><title>Ren\xe9e</title><link>"
        + base
        + "/a</link></item></channel></rss>"
    ).encode("latin-1")
    h.expect_request("/latin1.xml").respond_with_data(latin, content_type="application/rss+xml")
    h.expect_request("/empty.xml").respond_with_data("", content_type="application/rss+xml")
    raw = RawServer()
    yield base, raw
    raw.close()


FAULTS = {
    "500": ("/500.xml", "http_status"),
    "503": ("/503.xml", "http_status"),
    "429": ("/429.xml", "http_status"),
    "drip": ("/drip.xml", "timeout"),
    "huge": ("/huge.xml", "too_large"),
    "loop": ("/loop.xml", "too_many_redirects"),
    "to-loopback": ("/to-loopback.xml", "blocked_address"),
    "to-metadata": ("/to-metadata.xml", "blocked_address"),
    "png": ("/png.xml", "content_type"),
    "malformed": ("/malformed.xml", "malformed"),
    "lol": ("/lol.xml", "entity_declaration"),
    "empty": ("/empty.xml", "empty"),
}


def test_every_fault_is_survived_recorded_and_visible(tmp_path, faulty, httpserver):
    base, raw = faulty
    feeds = [FeedSettings(name=n, url=base + path) for n, (path, _) in FAULTS.items()]
    feeds += [
        FeedSettings(name="reset", url=f"http://127.0.0.1:{raw.port}/reset"),
        FeedSettings(name="truncated", url=f"http://127.0.0.1:{raw.port}/truncated"),
        FeedSettings(name="ok", url=base + "/ok.xml"),
        FeedSettings(name="latin1", url=base + "/latin1.xml"),
    ]
    settings = Settings(
        storage=StorageSettings(db=str(tmp_path / "f.db")),
        network=NetworkSettings(
            allow_hosts=(f"127.0.0.1:{httpserver.port}", f"127.0.0.1:{raw.port}"),
            read_timeout=2.0,
            deadline=3.0,
            max_bytes=5_000_000,
        ),
        feeds=tuple(feeds),
    )
    with Pipeline(settings, env={}) as p:
        t0 = datetime.now().astimezone()
        report = p.run_once()
        assert report.feeds_failed == len(FAULTS) + 2
        status = {f["name"]: f for f in p.store.queries.status()["feeds"]}
        for name, (_, reason) in FAULTS.items():
            assert status[name]["last_error_reason"] == reason, (name, status[name])
            assert status[name]["error_count"] == 1 and status[name]["next_poll"]
        assert status["reset"]["last_error_reason"] == "connect_error"
        assert status["truncated"]["last_error_reason"] in ("connect_error", "malformed")
        retry = datetime.fromisoformat(status["503"]["next_poll"].replace("Z", "+00:00"))
        assert (retry - t0).total_seconds() >= 3600 - 5  # Retry-After honoured
        assert status["ok"]["last_error"] is None and status["ok"]["entries_total"] == 2  # dup guid once
        # entry without link or guid: in the ledger, not fetched; both linked entries fetched as one article each
        assert p.store.db["entries"].count_where("feed = 'ok' and key like 'hash:%'") == 1
        assert status["latin1"]["last_error_reason"] in (None, "bozo")
        failures = p.store.queries.status()["recent_failures"]
        assert failures and all(f["reason"] for f in failures)
        second = p.run_once()  # the next cycle still runs, nothing new from the healthy feeds
        assert second.articles_queued == 0
        status2 = {f["name"]: f for f in p.store.queries.status()["feeds"]}
        assert status2["500"]["error_count"] == 2  # never gives up, counts on


@needs_shared("corpus", "feeds")
def test_real_feed_and_page_corpora_sample_has_no_crash():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import robustness

    feeds = robustness.run_feeds(sample=10)
    assert feeds["crashes"] == [], feeds["crashes"][:3]
    assert feeds["with_entries"] > 0
    pages = robustness.run_pages(sample=10)
    assert pages["crashes"] == [], pages["crashes"][:3]
