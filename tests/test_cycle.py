"""Polling rules of the cycle: permanent redirects, conditional GET, backfill through `process`."""

from __future__ import annotations

import json

from click.testing import CliRunner
from werkzeug import Response as WResponse

from pipeline.cli import main
from pipeline.config import FeedSettings, NetworkSettings, Settings, StorageSettings
from pipeline.demo import load_site, render_page
from pipeline.flow import Pipeline

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
    assert res.exit_code == 0, res.output
    assert "2 bad lines" in res.output
    out = CliRunner().invoke(main, ["events", "--config", str(cfg), "--format", "jsonl"]).output
    events = [json.loads(x) for x in out.splitlines()]
    listing_events = [e for e in events if e["type"] == "sanctions_listing"]
    assert len(listing_events) == 1 and len(listing_events[0]["sources"]) == 2  # text and html reports merged
    assert {s["url"] for s in listing_events[0]["sources"]} == {"https://one.test/a", "https://two.test/b"}
    again = CliRunner().invoke(main, ["process", "--config", str(cfg), str(src)])
    assert again.exit_code == 0
    assert CliRunner().invoke(main, ["events", "--config", str(cfg), "--format", "jsonl"]).output == out
