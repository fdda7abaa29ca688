"""The daemon's Prometheus endpoint, scraped over real HTTP while the real daemon runs on the demo
site's feeds and pages, with a Slack receiver on loopback."""

from __future__ import annotations

import signal
import socket
import time

import httpx
from conftest import demo_config, start_daemon
from prometheus_client.parser import text_string_to_metric_families


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scrape(port: int) -> dict[str, list]:
    r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    r.raise_for_status()
    return {f.name: f.samples for f in text_string_to_metric_families(r.text)}


def _value(samples, name, **labels) -> float | None:
    for s in samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def test_the_daemon_serves_what_operators_ask_first(tmp_path, demo_site, slack):
    port = _free_port()
    config = demo_config(tmp_path, demo_site, slack, extra=f"[metrics]\nport = {port}\n")
    proc = start_daemon(config, {"SLACK_WEBHOOK_URL": slack.url})
    try:
        m: dict[str, list] = {}
        end = time.monotonic() + 180
        while time.monotonic() < end:
            try:
                m = _scrape(port)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            events = m.get("tradewire_events", [])
            if sum(s.value for s in events) >= 6 and slack.delivered and m.get("tradewire_cycles"):
                break
            time.sleep(0.3)
        assert _value(m["tradewire_log_up"], "tradewire_log_up") == 1
        # the demo: six events of four types, one listing alerted
        by_type = {s.labels["type"]: s.value for s in m["tradewire_events"]}
        assert sum(by_type.values()) == 6 and by_type["sanctions_listing"] >= 1, by_type
        assert _value(m["tradewire_articles"], "tradewire_articles", state="done") >= 4
        assert _value(m["tradewire_outbox_alerts"], "tradewire_outbox_alerts", state="sent") == 1
        assert _value(m["tradewire_webhook_up"], "tradewire_webhook_up", route="slack") == 1
        assert _value(m["tradewire_feeds_in_error"], "tradewire_feeds_in_error") == 0
        now = time.time()
        for feed in ("ledger", "desk"):
            last = _value(
                m["tradewire_feed_last_success_timestamp_seconds"],
                "tradewire_feed_last_success_timestamp_seconds",
                feed=feed,
            )
            assert last is not None and now - 300 < last <= now + 5
        pages = _value(m["tradewire_fetch_seconds"], "tradewire_fetch_seconds_count", kind="page")
        feeds = _value(m["tradewire_fetch_seconds"], "tradewire_fetch_seconds_count", kind="feed")
        assert pages >= 4 and feeds >= 2
        assert _value(m["tradewire_cycles"], "tradewire_cycles_total", outcome="ok") >= 1
        assert _value(m["tradewire_cycle_seconds"], "tradewire_cycle_seconds_count") >= 1
        assert (
            _value(
                m["tradewire_outbox_oldest_pending_age_seconds"],
                "tradewire_outbox_oldest_pending_age_seconds",
            )
            == 0
        )
        body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert slack.url not in body and "127.0.0.1:" not in body  # no webhook, no feed URL
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    with socket.socket() as s:  # the endpoint ended with the daemon
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_a_port_already_taken_leaves_the_daemon_running_without_metrics(tmp_path, demo_site, slack):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = demo_config(tmp_path, demo_site, slack, extra=f"[metrics]\nport = {port}\n")
        proc = start_daemon(config, text=True)
        db = tmp_path / "tw.db"
        end = time.monotonic() + 180
        import sqlite3

        done = 0
        while time.monotonic() < end and done < 4:
            time.sleep(0.5)
            try:
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
                done = con.execute("select count(*) from articles where state = 'done'").fetchone()[0]
                con.close()
            except sqlite3.OperationalError:
                pass
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and done >= 4
        assert f"metrics: cannot serve on 127.0.0.1:{port}" in err and "running without the endpoint" in err


def test_a_log_that_cannot_be_read_is_a_gauge_not_a_failed_scrape(tmp_path):
    from dataclasses import replace

    from prometheus_client import generate_latest

    from pipeline.config import Settings, StorageSettings
    from pipeline.metrics import Metrics

    settings = replace(Settings(), storage=StorageSettings(db=str(tmp_path / "gone.db")))
    text = generate_latest(Metrics(settings).registry).decode()
    assert "tradewire_log_up 0.0" in text and "tradewire_events" not in text.replace("# HELP", "")
    (tmp_path / "garbage.db").write_bytes(b"not a database at all" * 100)
    settings = replace(Settings(), storage=StorageSettings(db=str(tmp_path / "garbage.db")))
    assert "tradewire_log_up 0.0" in generate_latest(Metrics(settings).registry).decode()
