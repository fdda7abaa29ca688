"""Polling rules of the cycle: permanent redirects, conditional GET, backfill through `process`."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner
from werkzeug import Response as WResponse

from pipeline.cli import main
from pipeline.config import FeedSettings, NetworkSettings, Settings, StorageSettings
from pipeline.demo import load_site, render_page
from pipeline.flow import CycleReport, Pipeline

RSS = "<rss version='2.0'><channel><title>t</title><item><title>A</title><link>{}/a</link><guid>g1</guid></item></channel></rss>"


def _pipeline(tmp_path, httpserver, url):
    settings = Settings(
        storage=StorageSettings(db=str(tmp_path / "c.db")),
        network=NetworkSettings(allow_hosts=(f"127.0.0.1:{httpserver.port}",)),
        feeds=(FeedSettings(name="f", url=url),),
    )
    return Pipeline(settings, env={})


def test_permanent_redirect_moves_the_feed_only_when_it_repeats(tmp_path, httpserver):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/old.xml").respond_with_response(
        WResponse(status=301, headers={"Location": "/new.xml"})
    )
    httpserver.expect_request("/tmp.xml").respond_with_response(
        WResponse(status=302, headers={"Location": "/new.xml"})
    )
    httpserver.expect_request("/new.xml").respond_with_data(
        RSS.format(base), content_type="application/rss+xml"
    )
    httpserver.expect_request("/a").respond_with_data(
        "<p>" + "plain words " * 30 + "</p>", content_type="text/html"
    )
    with _pipeline(tmp_path, httpserver, base + "/old.xml") as p:
        p.run_once()
        assert p.store.feeds.state("f").url == base + "/old.xml"  # seen once: not moved yet
        p.run_once()
        assert p.store.feeds.state("f").url == base + "/new.xml"  # repeated: moved
    with _pipeline(tmp_path / "t", httpserver, base + "/tmp.xml") as p:
        p.run_once()
        p.run_once()
        assert p.store.feeds.state("f").url == base + "/tmp.xml"  # a temporary redirect never moves it


def test_etag_and_last_modified_are_sent_back_exactly_and_304_is_success(tmp_path, httpserver):
    base = httpserver.url_for("").rstrip("/")
    etag, lm = 'W/"abc-123"', "Wed, 11 Mar 2026 10:00:00 GMT"
    seen = []

    def feed(request):
        seen.append((request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")))
        if request.headers.get("If-None-Match") == etag and request.headers.get("If-Modified-Since") == lm:
            return WResponse(status=304)
        return WResponse(
            RSS.format(base), content_type="application/rss+xml", headers={"ETag": etag, "Last-Modified": lm}
        )

    httpserver.expect_request("/feed.xml").respond_with_handler(feed)
    httpserver.expect_request("/a").respond_with_data(
        "<p>" + "plain words " * 30 + "</p>", content_type="text/html"
    )
    with _pipeline(tmp_path, httpserver, base + "/feed.xml") as p:
        p.run_once()
        report = p.run_once()
        assert seen == [(None, None), (etag, lm)]  # stored and sent back exactly as received
        assert report.feeds_polled == 1 and report.feeds_failed == 0
        st = {f["name"]: f for f in p.store.queries.status()["feeds"]}["f"]
        assert st["last_status"] == 304 and st["error_count"] == 0


def test_a_poll_the_log_cannot_record_leaves_the_feed_due_with_its_entries(tmp_path, httpserver):
    """The log refuses the poll's writes (another writer holds its lock while the feed is served):
    neither the validators nor the entries are kept, so the next poll asks afresh and gets them,
    instead of a 304 that would skip them for good."""
    import sqlean

    base = httpserver.url_for("").rstrip("/")
    etag = '"v1"'
    seen, held = [], []

    def feed(request):
        seen.append(request.headers.get("If-None-Match"))
        if not held:  # the first poll: the log is locked the moment the feed is served
            c = sqlean.connect(
                str(tmp_path / "c.db"), timeout=0.1, isolation_level=None, check_same_thread=False
            )
            c.execute("BEGIN EXCLUSIVE")
            held.append(c)
        if request.headers.get("If-None-Match") == etag:
            return WResponse(status=304)
        return WResponse(RSS.format(base), content_type="application/rss+xml", headers={"ETag": etag})

    httpserver.expect_request("/feed.xml").respond_with_handler(feed)
    httpserver.expect_request("/a").respond_with_data(
        "<p>" + "plain words " * 30 + "</p>", content_type="text/html"
    )
    settings = Settings(
        storage=StorageSettings(db=str(tmp_path / "c.db"), busy_timeout_ms=200),
        network=NetworkSettings(allow_hosts=(f"127.0.0.1:{httpserver.port}",)),
        feeds=(FeedSettings(name="f", url=base + "/feed.xml"),),
    )
    with Pipeline(settings, env={}) as p:
        report = CycleReport()
        p.poll_feed("f", 15, report)  # the daemon goes on: one feed's failure is its own
        assert report.feeds_failed == 1 and report.articles_queued == 0
        assert p.unrecorded  # not even the failure could be written while the lock was held
        held[0].rollback()
        assert p.store.feeds.state("f").etag is None
        assert p.store.db.execute("select count(*) from entries").fetchone()[0] == 0
        report = p.run_once()  # the lost poll is recorded first, then the feed is polled again
        st = {f["name"]: f for f in p.store.queries.status()["feeds"]}["f"]
        assert st["last_error_reason"] == "store_failed" and st["last_error"] and not p.unrecorded
        assert seen == [None, None]  # asked afresh, not with the validators of the lost poll
        assert report.feeds_polled == 1 and report.articles_queued == 1
        assert p.store.feeds.state("f").etag == etag
        held[0].close()


def test_process_backfills_text_and_html_lines_and_records_bad_ones(tmp_path):
    site = load_site()
    listing = site["articles"][0]
    lines = [
        json.dumps(
            {
                "url": "https://one.test/a",
                "title": listing["title"],
                "published": "2026-03-11",
                "text": "\n".join(listing["body"]),
            }
        ),
        json.dumps(
            {
                "url": "https://two.test/b",
                "title": "",
                "published": None,
                "html": render_page(site["articles"][1], []),
            }
        ),
        "not json",
        json.dumps({"title": "no url"}),
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    cfg = tmp_path / "p.toml"
    cfg.write_text(f'[storage]\ndb = "{tmp_path / "p.db"}"\n')
    res = CliRunner().invoke(main, ["process", "--config", str(cfg), str(src)])
    assert res.exit_code == 1, res.output  # some lines failed: the exit status says so
    assert "2 of 4 lines failed" in res.output
    out = CliRunner().invoke(main, ["events", "--config", str(cfg), "--format", "jsonl"]).output
    events = [json.loads(x) for x in out.splitlines()]
    listing_events = [e for e in events if e["type"] == "sanctions_listing"]
    assert len(listing_events) == 1 and len(listing_events[0]["sources"]) == 2  # text and html reports merged
    assert {s["url"] for s in listing_events[0]["sources"]} == {"https://one.test/a", "https://two.test/b"}
    again = CliRunner().invoke(main, ["process", "--config", str(cfg), str(src)])
    assert again.exit_code == 1
    assert CliRunner().invoke(main, ["events", "--config", str(cfg), "--format", "jsonl"]).output == out


def test_a_backfill_of_hostile_lines_finishes_and_says_which_failed(tmp_path):
    """Every line on its own: wrong JSON types, non-string fields and a byte that is not UTF-8 are
    each reported with their line number, the good lines are processed, and impossible dates are
    unknown (never a failed article or an event at the top of every listing)."""
    import subprocess
    import sys

    from conftest import ROOT

    body = "\n".join(load_site()["articles"][0]["body"])
    good = {"title": "t", "text": body}
    lines = [
        json.dumps({**good, "url": "https://a.test/1", "published": "9999-12-31"}).encode(),
        b"[1, 2, 3]",
        b'"just a string"',
        b"null",
        json.dumps({"url": 5, "text": "x"}).encode(),
        json.dumps({"url": "https://b.test/2", "text": ["not", "a", "string"]}).encode(),
        json.dumps({"url": "https://c.test/3\u0000", "text": "x"}).encode(),
        b'{"url": "https://d.test/4", "text": "caf\xe9 ' + b"\xff" + b'"}',
        json.dumps({**good, "url": "https://e.test/5", "published": "0001-01-01"}).encode(),
        json.dumps({**good, "url": "https://f.test/6", "published": "sometime last spring"}).encode(),
        json.dumps({**good, "url": "https://g.test/7", "published": "1970-01-01T00:00:00Z"}).encode(),
    ]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    cfg = tmp_path / "p.toml"
    cfg.write_text(f'[storage]\ndb = "{tmp_path / "p.db"}"\n')
    res = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "process", "--config", str(cfg), "--no-alerts", str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    failed = {int(m) for m in re.findall(r"^line (\d+): skipped", res.stderr, re.M)}
    assert failed == {2, 3, 4, 5, 6, 7, 8}, res.stderr
    assert "7 of 11 lines failed" in res.stderr
    assert "not UTF-8" in res.stderr and "must be a JSON object, not an array" in res.stderr
    out = CliRunner().invoke(main, ["events", "--config", str(cfg), "--format", "jsonl"]).output
    events = [json.loads(x) for x in out.splitlines()]
    assert events and all(s["published"] is None for e in events for s in e["sources"])
    assert {s["url"] for e in events for s in e["sources"]} <= {
        f"https://{h}.test/{n}" for h, n in zip("aefg", (1, 5, 6, 7), strict=True)
    }
    st = CliRunner().invoke(main, ["status", "--config", str(cfg), "--json"]).output
    assert json.loads(st)["articles"].get("failed", 0) == 0


def test_failed_articles_are_requeued_by_retry_and_an_overlong_text_is_cut_on_record(tmp_path):
    """`retry [--stage S]` puts articles that failed for good back in their queue once the cause is
    fixed; a backfill text over the limit is cut there and the cut is recorded."""
    from pipeline.backfill import MAX_TEXT_CHARS
    from pipeline.store import Store

    db = tmp_path / "r.db"
    cfg = tmp_path / "r.toml"
    cfg.write_text(f'[storage]\ndb = "{db}"\n')
    s = Store.open(db)
    with_text, _ = s.articles.add(url="https://a.test/1", title="t", published=None, text="words " * 50)
    queued, _ = s.articles.add(url="https://a.test/2", title="t", published=None, text=None)
    s.articles.failed(with_text, stage="dedup", reason="boom", message="x", retryable=False)
    s.articles.failed(queued, stage="fetch", reason="http_404", message="x", retryable=False)
    s.close()
    res = CliRunner().invoke(main, ["retry", "--config", str(cfg), "--stage", "fetch"])
    assert res.exit_code == 0 and "1 failed articles re-queued" in res.output, res.output
    res = CliRunner().invoke(main, ["retry", "--config", str(cfg)])
    assert "1 failed articles re-queued" in res.output
    s = Store.open(db)
    states = {
        r["id"]: (r["state"], r["attempts"]) for r in s.db.query("select id, state, attempts from articles")
    }
    assert states == {with_text: ("fetched", 0), queued: ("queued", 0)}
    s.close()
    assert CliRunner().invoke(main, ["retry", "--config", str(cfg), "--stage", "nowhere"]).exit_code == 2

    long = tmp_path / "long.jsonl"
    long.write_text(json.dumps({"url": "https://b.test/1", "text": "word " * (MAX_TEXT_CHARS // 4)}) + "\n")
    res = CliRunner().invoke(main, ["process", "--config", str(cfg), "--no-alerts", str(long)])
    assert res.exit_code == 0, res.output
    s = Store.open(db)
    (row,) = s.db.query("select length(text) as n from articles where url = 'https://b.test/1'")
    assert row["n"] <= MAX_TEXT_CHARS
    assert s.db.execute("select count(*) from failures where reason = 'text_cut'").fetchone()[0] == 1
    s.close()
