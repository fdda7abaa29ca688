"""Slack delivery from the outbox against a local receiver: retries, Retry-After, parking, stopping."""

from __future__ import annotations

import html
import itertools
import json
import logging
import re
import time
from urllib.parse import urlsplit

import pytest
from helpers import decision, mention

from pipeline.alerts import Delivery, build_message, escape, link, route_matcher
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


def test_with_the_ui_address_an_alert_links_its_event_and_the_feed_of_its_kind():
    event = {
        "id": 42,
        "type": "sanctions_listing",
        "status": "done",
        "actors": ["U.S. Department of Commerce (BIS)"],
    }
    event |= {"targets": ["Acme"], "event_date": None, "confidence": 0.9, "sources": []}
    footer = build_message(event, "https://tw.example.org/")["blocks"][-1]["elements"][0]["text"]
    assert footer.startswith(
        "<https://tw.example.org/event/42|tradewire event #42> · <https://tw.example.org/annotate/42|annotate>"
    )
    feed = re.search(r"<(https://tw\.example\.org/feeds/events\.atom\?[^|>]+)\|feed of these>", footer)
    assert feed, footer
    assert feed.group(1) == (  # Slack's mrkdwn: "&" escaped, in a link too
        "https://tw.example.org/feeds/events.atom?type=sanctions_listing"
        "&amp;entity=U.S.%20Department%20of%20Commerce%20%28BIS%29"
    )
    assert build_message(event)["blocks"][-1]["elements"][0]["text"] == "tradewire event #42"  # no UI: text


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


def _slack_tokens(msg: dict) -> list[str]:
    """Every ``<...>`` control token in the message's mrkdwn (what Slack turns into links and pings)."""
    texts = [msg["text"]]
    for b in msg["blocks"]:
        if b.get("type") in ("section", "context"):
            texts += [
                t["text"] for t in b.get("fields", []) + b.get("elements", []) + [b.get("text") or {}] if t
            ]
    return [tok for t in texts for tok in re.findall(r"<[^<>]*>", t)]


def test_a_hostile_feed_cannot_ping_a_channel_or_label_a_link_of_its_own(tmp_path, httpserver, slack):
    """The probe's attack: a feed whose link and title carry Slack control sequences. The listing is
    still alerted, and its message holds no mention and no link but the story's own, to its host."""
    from conftest import run_cli, write_config

    from pipeline.demo import load_site, render_page

    site = load_site()
    listing = next(a for a in site["articles"] if "entity-list" in a["slug"])
    base = httpserver.url_for("").rstrip("/")
    evil = f"{base}/story?id=1>|<!channel> <https://evil.example/x|Click to verify your account>"
    title = "Breaking <!here> <@U024BE7LH> | <https://evil.example|official notice>"
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>{html.escape(base)}/</link><description>d</description><item><title>{html.escape(title)}</title>"
        f"<link>{html.escape(evil)}</link><guid>evil-1</guid>"
        "<pubDate>Wed, 11 Mar 2026 09:00:00 +0000</pubDate></item></channel></rss>"
    )
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    page = render_page({**listing, "title": title}, [])
    httpserver.expect_request(re.compile(r"^/story")).respond_with_data(page, content_type="text/html")
    config = write_config(
        tmp_path / "tw.toml",
        db=tmp_path / "tw.db",
        feeds=[("evil", f"{base}/feed.xml", "trade")],
        allow_hosts=[f"127.0.0.1:{httpserver.port}", slack.host_port],
    )
    res = run_cli("once", "--config", str(config), env={"SLACK_WEBHOOK_URL": slack.url})
    assert res.returncode == 0, res.stderr
    assert len(slack.delivered) == 1, res.stderr
    tokens = _slack_tokens(slack.delivered[0])
    assert tokens, "the story's link is missing"
    for tok in tokens:
        url, _, label = tok[1:-1].partition("|")
        assert urlsplit(url).netloc == urlsplit(base).netloc, tok
        assert not set(url) & set(" <>|\"'"), tok
        assert "Click to verify" not in label and not set(label) & set("<>|"), tok
    dump = json.dumps(slack.delivered[0])
    assert "<!" not in dump and "<@" not in dump and "<https://evil" not in dump


def test_links_are_made_only_of_plain_web_urls():
    assert link("https://a.test/x?a=1&b=2", "T") == "<https://a.test/x?a=1&amp;b=2|T>"
    assert link("https://a.test/a b>|<!channel>", "T") == "<https://a.test/a%20b%3E%7C%3C!channel%3E|T>"
    for bad in ("javascript:alert(1)", "mailto:x@a.test", "https:///nohost", "http://[::1", "", None, 7):
        assert link(bad, "<T|x>") == "&lt;T¦x&gt;", bad


def _locked_while_posting(db_path):
    """An outside writer takes the log's lock the moment Slack accepts a post (a lock timeout, as
    a disk that fills or a second process would cause); returns the connection holding it. (The
    same SQLite library as the store's: POSIX locks do not see a second copy in one process.)"""
    import sqlean

    held: list = []

    def grab(_rec):
        if not held:
            c = sqlean.connect(str(db_path), timeout=0.1, isolation_level=None, check_same_thread=False)
            c.execute("BEGIN EXCLUSIVE")
            held.append(c)

    return held, grab


def test_a_post_the_log_cannot_record_is_never_repeated(tmp_path, caplog):
    """Slack accepts the post, then the log cannot record it: delivery stops loudly, no later pass
    posts it again (while the fault lasts or after), and the unrecorded claim ends up parked as
    uncertain for an operator, never re-sent by itself."""
    db = tmp_path / "a.db"
    s = _store_with_alerts(tmp_path, n=3)
    s.close()
    held, grab = _locked_while_posting(db)
    catcher = SlackCatcher(on_request=grab).start()
    try:
        store = Store.open(db, busy_timeout_ms=200)
        d = _delivery(store, catcher, min_interval_seconds=0, drain_seconds=0, claim_timeout_seconds=0.5)
        with caplog.at_level(logging.ERROR, logger="tradewire.alerts"):
            first = d.deliver()
        assert len(catcher.received) == 1 and first.sent == 0
        assert first.halted and "cannot record" in first.halted
        assert any("delivery stopped" in r.getMessage() for r in caplog.records)
        for _ in range(5):  # ticks while the log stays locked: nothing is posted
            assert d.deliver().halted
        assert len(catcher.received) == 1
        held[0].rollback()
        held[0].close()
        time.sleep(0.6)
        after = d.deliver()  # the fault is gone: the other alerts go out, the unrecorded one does not
        assert after.halted is None and after.uncertain == 1 and after.sent == 2
        assert len(catcher.received) == 3
        bodies = [json.dumps(r["body"]) for r in catcher.received]
        assert sum("Party 0" in b for b in bodies) == 1
        states = {r["state"] for r in store.db.query("select state from outbox")}
        assert states == {"sent", "parked"}
        assert (
            store.db.execute("select count(*) from failures where reason = 'delivery_uncertain'").fetchone()[
                0
            ]
            == 1
        )
        assert d.deliver().sent == 0 and len(catcher.received) == 3
        store.close()
    finally:
        catcher.stop()


def test_two_deliverers_on_one_log_post_each_alert_once(tmp_path):
    """Two processes' delivery passes over one outbox: a claim is taken once, so each alert is
    posted once."""
    import threading

    s = _store_with_alerts(tmp_path, n=6)
    s.close()
    catcher = SlackCatcher().start()
    try:
        stores = [Store.open(tmp_path / "a.db") for _ in range(2)]
        ds = [_delivery(st, catcher, min_interval_seconds=0, drain_seconds=0) for st in stores]
        threads = [threading.Thread(target=d.deliver) for d in ds]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(catcher.received) == 6
        assert len({json.dumps(r["body"]) for r in catcher.received}) == 6
        for st in stores:
            st.close()
    finally:
        catcher.stop()


def test_a_webhook_answer_that_echoes_its_token_is_stored_without_it(tmp_path, httpserver):
    """What is stored of a webhook's answer is served (`status`, Datasette) and logged: a body that
    repeats the URL's secret path keeps none of it."""
    secret = "/services/T0SECRET/B0SECRET/tok3n-s3cr3t-value"
    httpserver.expect_request(secret, method="POST").respond_with_data(
        f"invalid_payload: no such hook {httpserver.url_for(secret)} (tok3n-s3cr3t-value)", status=400
    )
    s = _store_with_alerts(tmp_path, n=1)
    fetcher = Fetcher(
        NetworkSettings(allow_hosts=(f"localhost:{httpserver.port}", f"127.0.0.1:{httpserver.port}"))
    )
    d = Delivery(
        AlertSettings(min_interval_seconds=0, drain_seconds=0),
        s.outbox,
        s.queries,
        fetcher,
        env={"SLACK_WEBHOOK_URL": httpserver.url_for(secret)},
    )
    assert d.deliver().parked == 1
    stored = json.dumps(
        [list(s.db.query("select * from outbox")), list(s.db.query("select * from failures"))]
    )
    assert "invalid_payload" in stored
    assert "tok3n-s3cr3t-value" not in stored and "T0SECRET" not in stored
    s.close()


@pytest.fixture
def small_disk(tmp_path):
    """A real 8 MB filesystem (tmpfs), mounted for the test; skipped where mounting is not allowed."""
    import subprocess

    mnt = tmp_path / "disk"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {res.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_disk_that_fills_mid_send_never_repeats_a_post(small_disk, caplog):
    """The probe's case: Slack accepts a post, then the disk is full, so the log cannot record it.
    While the disk stays full no pass posts anything; once space is back the other alerts go out
    and the unrecorded one is parked as uncertain, never re-sent."""
    db = small_disk / "a.db"
    s = Store.open(db)
    for i in range(3):
        aid, _ = s.articles.add(
            url=f"https://o{i}.test/x", title=f"t{i}", published=None, text=f"story {i} " * 50
        )
        s.events.commit_article(aid, [decision(mention(targets=(f"Party {i}",)), routes=["slack"])])
    filler = small_disk / "filler"
    filled: list[bool] = []

    def fill(_rec):  # the first post fills the disk, once
        if not filled:
            filled.append(True)
            with open(filler, "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                except OSError:
                    pass

    catcher = SlackCatcher(on_request=fill).start()
    try:
        d = _delivery(s, catcher, min_interval_seconds=0, drain_seconds=0, claim_timeout_seconds=0.3)
        with caplog.at_level(logging.ERROR, logger="tradewire.alerts"):
            first = d.deliver()
        assert first.halted and "full" in first.halted and len(catcher.received) == 1
        for _ in range(5):
            assert d.deliver().halted
        assert len(catcher.received) == 1
        filler.unlink()
        time.sleep(0.4)
        after = d.deliver()
        assert after.halted is None and after.uncertain == 1 and after.sent == 2
        bodies = [json.dumps(r["body"]) for r in catcher.received]
        assert len(bodies) == 3 and sum("Party 0" in b for b in bodies) == 1
    finally:
        catcher.stop()
        s.close()


def test_a_webhook_url_read_from_a_file_or_credential_delivers_and_never_reaches_a_log(tmp_path, caplog):
    """Operators keep the webhook out of the environment: ``SLACK_WEBHOOK_URL_FILE`` or a systemd
    credential. A file that cannot be read turns the route off with its path logged, not its content."""
    catcher = SlackCatcher().start()
    try:
        store = _store_with_alerts(tmp_path, n=2)
        fetcher = Fetcher(NetworkSettings(allow_hosts=(catcher.host_port,)))
        settings = AlertSettings(min_interval_seconds=0.0)
        hook = tmp_path / "hook"
        hook.write_text(catcher.url + "\n")
        hook.chmod(0o600)
        caplog.set_level(logging.DEBUG)
        sent = Delivery(
            settings, store.outbox, store.queries, fetcher, env={"SLACK_WEBHOOK_URL_FILE": str(hook)}
        )
        assert sent.deliver(drain_seconds=5).sent == 2
        assert len(catcher.delivered) == 2
        assert catcher.url not in caplog.text and urlsplit(catcher.url).path not in caplog.text

        (tmp_path / "b").mkdir()
        store2 = _store_with_alerts(tmp_path / "b", n=1)
        creds = tmp_path / "creds"
        creds.mkdir()
        (creds / "SLACK_WEBHOOK_URL").write_text(catcher.url)
        env = {"CREDENTIALS_DIRECTORY": str(creds)}
        assert (
            Delivery(settings, store2.outbox, store2.queries, fetcher, env=env).deliver(drain_seconds=5).sent
            == 1
        )
        assert len(catcher.delivered) == 3

        (tmp_path / "c").mkdir()
        store3 = _store_with_alerts(tmp_path / "c", n=1)
        caplog.clear()
        env = {"SLACK_WEBHOOK_URL_FILE": str(tmp_path / "no-such-file")}
        report = Delivery(settings, store3.outbox, store3.queries, fetcher, env=env).deliver(drain_seconds=0)
        assert report.sent == 0 and len(catcher.delivered) == 3
        assert "route slack is off: SLACK_WEBHOOK_URL_FILE: cannot read" in caplog.text
        assert store3.db["outbox"].count_where("state = 'pending'") == 1  # kept for when the file is fixed
    finally:
        catcher.stop()
