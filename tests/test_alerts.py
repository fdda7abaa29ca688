"""Slack delivery from the outbox against a local receiver: retries, Retry-After, parking, stopping."""

from __future__ import annotations

import itertools
import json
import logging

from helpers import decision, mention

from pipeline.alerts import Delivery, build_message, escape, route_matcher
from pipeline.config import AlertSettings, NetworkSettings, RouteSettings
from pipeline.demo import SlackCatcher
from pipeline.fetch import Fetcher
from pipeline.store import Store


def _store_with_alerts(tmp_path, n=1, **kw):
    s = Store.open(tmp_path / "a.db")
    for i in range(n):
        aid, _ = s.articles.add(
            url=f"https://o{i}.test/x", title=f"t{i}", published=None, text=f"story {i} " * 50
        )
        s.events.commit_article(aid, [decision(mention(targets=(f"Party {i}",), **kw), routes=["slack"])])
    return s


def _delivery(store, catcher, **settings):
    fetcher = Fetcher(NetworkSettings(allow_hosts=(catcher.host_port,)))
    return Delivery(
        AlertSettings(**settings),
        store.outbox,
        store.queries,
        fetcher,
        env={"SLACK_WEBHOOK_URL": catcher.url},
    )


def test_500_then_429_retry_after_then_200_delivers_exactly_once(tmp_path):
    catcher = SlackCatcher(script=[(500, {}), (429, {"Retry-After": "2"})]).start()
    try:
        store = _store_with_alerts(tmp_path)
        report = _delivery(store, catcher, min_interval_seconds=0.0, drain_seconds=20).deliver()
        assert report.sent == 1
        statuses = [r["status"] for r in catcher.received]
        assert statuses == [500, 429, 200]
        assert catcher.received[2]["at"] - catcher.received[1]["at"] >= 2.0
        assert store.db["outbox"].count_where("state = 'sent'") == 1
        # nothing left to send, nothing sent twice
        assert _delivery(store, catcher).deliver(drain_seconds=0).sent == 0
        assert len(catcher.delivered) == 1
    finally:
        catcher.stop()


def test_404_stops_the_webhook_parks_alerts_and_status_shows_it(tmp_path, caplog):
    catcher = SlackCatcher(script=[(404, {})]).start()
    try:
        store = _store_with_alerts(tmp_path, n=2)
        with caplog.at_level(logging.DEBUG):
            report = _delivery(store, catcher).deliver(drain_seconds=5)
        assert report.stopped == ["slack"] and report.sent == 0
        assert len(catcher.received) == 1  # no further attempt
        st = store.queries.status()
        assert st["webhooks"][0]["state"] == "stopped" and "404" in st["webhooks"][0]["reason"]
        assert len(st["parked_alerts"]) == 2
        assert catcher.url not in caplog.text and "demo-secret-token" not in caplog.text
        assert store.outbox.resume("slack") == 2
        assert _delivery(store, catcher).deliver(drain_seconds=5).sent == 2
    finally:
        catcher.stop()


def test_400_parks_that_alert_and_the_next_is_sent(tmp_path):
    catcher = SlackCatcher(script=[(400, {})]).start()
    try:
        store = _store_with_alerts(tmp_path, n=2)
        report = _delivery(store, catcher, min_interval_seconds=0.0).deliver(drain_seconds=5)
        assert report.parked == 1 and report.sent == 1
        parked = store.queries.status()["parked_alerts"]
        assert "HTTP 400" in parked[0]["last_error"]
    finally:
        catcher.stop()


def test_at_most_one_message_per_second(tmp_path):
    catcher = SlackCatcher().start()
    try:
        store = _store_with_alerts(tmp_path, n=3)
        _delivery(store, catcher, min_interval_seconds=1.0).deliver(drain_seconds=10)
        times = [r["at"] for r in catcher.received]
        assert len(times) == 3
        assert all(b - a >= 0.95 for a, b in itertools.pairwise(times))
        # in order of the outbox
        assert [m["blocks"][-1]["elements"][0]["text"] for m in catcher.delivered] == [
            "tradewire event #1",
            "tradewire event #2",
            "tradewire event #3",
        ]
    finally:
        catcher.stop()


def test_message_escapes_feed_text_and_respects_limits():
    event = {
        "id": 7,
        "type": "sanctions_listing",
        "status": "done",
        "actors": ["OFAC"],
        "targets": ["<Evil & Co>"] + [f"Party {i}" for i in range(500)],
        "event_date": "2026-03-10",
        "confidence": 0.91,
        "sources": [
            {
                "url": "https://x.test/a",
                "title": "A <b> & c",
                "outlet": "x",
                "evidence": [{"sentence": "Added <Evil & Co> " * 400}],
            }
        ],
    }
    msg = build_message(event)
    text = json.dumps(msg)
    assert "&lt;Evil &amp; Co&gt;" in text and "<Evil" not in text.replace("<https://x.test/a|", "")
    assert len(msg["blocks"]) <= 50
    for b in msg["blocks"]:
        if b["type"] == "section" and "text" in b:
            assert len(b["text"]["text"]) <= 3000
    assert escape("a<b>&") == "a&lt;b&gt;&amp;"


def test_routes_follow_types_statuses_confidence_and_watch_list(models):
    settings = AlertSettings(
        slack=RouteSettings(),
        routes=(
            RouteSettings(
                name="watch",
                webhook_env="W",
                types=("sanctions_listing", "tariff_announcement"),
                statuses=("done", "announced", "planned"),
                min_confidence=0.5,
                entities=("Commerce Department",),
            ),
        ),
    )
    routes_for = route_matcher(settings, models.gazetteer, env={"SLACK_WEBHOOK_URL": "x", "W": "y"})
    base = {
        "type": "sanctions_listing",
        "status": "done",
        "confidence": 0.9,
        "actors": ["U.S. Department of Commerce (BIS)"],
        "targets": ["Acme"],
    }
    assert routes_for(base) == ["slack", "watch"]
    assert routes_for({**base, "status": "planned"}) == ["watch"]
    assert routes_for({**base, "confidence": 0.3}) == ["slack"]
    assert routes_for({**base, "actors": ["U.S. Department of the Treasury (OFAC)"]}) == ["slack"]
    assert route_matcher(settings, models.gazetteer, env={})(base) == []  # no webhook in the environment: off
