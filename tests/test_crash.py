"""Crash safety of the real daemon: SIGKILL at several points, SIGTERM, and the alert outbox."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from conftest import ROOT, demo_config, run_cli


def _daemon(config, env) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if k != "SLACK_WEBHOOK_URL"}
    full_env.update(env)
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "run", "--config", str(config), "--tick", "0.5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=full_env,
        cwd=ROOT,
    )


def _query(db, sql):
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    except sqlite3.OperationalError:
        return []


def _wait_for(db, sql, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        rows = _query(db, sql)
        if rows and rows[0][0]:
            return True
        time.sleep(0.05)
    return False


def test_sigkill_after_the_event_is_written_and_before_delivery(tmp_path, demo_site, slack):
    config = demo_config(tmp_path, demo_site, slack, "[alerts]\ndelay_seconds = 4.0\n")
    db = tmp_path / "tw.db"
    env = {"SLACK_WEBHOOK_URL": slack.url}
    proc = _daemon(config, env)
    assert _wait_for(db, "select count(*) from outbox where state = 'pending'"), "no alert was queued"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert slack.received == []  # killed before delivery
    assert _query(db, "select count(*) from events where type = 'sanctions_listing'")[0][0] == 1
    res = run_cli("once", "--config", str(config), "--drain", "15", env=env)
    assert res.returncode == 0, res.stderr
    assert len(slack.delivered) == 1 and "Longmen" in str(slack.delivered[0])
    assert _query(db, "select state from outbox") == [("sent",)]
    again = run_cli("once", "--config", str(config), env=env)
    assert again.returncode == 0 and len(slack.received) == 1


def test_sigkill_at_several_points_loses_nothing_and_duplicates_nothing(tmp_path, demo_site, slack):
    config = demo_config(tmp_path, demo_site, slack)
    db = tmp_path / "tw.db"
    env = {"SLACK_WEBHOOK_URL": slack.url}
    checkpoints = [
        "select count(*) from articles",  # feeds polled, articles queued
        "select count(*) from articles where state = 'fetched'",  # pages fetched, not processed
        "select count(*) from articles where state = 'done'",  # mid-way through NLP
        "select count(*) from events",  # events written
    ]
    for sql in checkpoints:
        proc = _daemon(config, env)
        _wait_for(db, sql, timeout=60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    res = run_cli("once", "--config", str(config), env=env)
    assert res.returncode == 0, res.stderr
    states = dict(_query(db, "select state, count(*) from articles group by state"))
    assert states == {"done": 12}, states  # no article lost
    listing = _query(
        db,
        "select count(*), max(source_count), max(independent_sources) from events "
        "where type = 'sanctions_listing'",
    )[0]
    assert listing == (1, 3, 2)  # one event, three sources, two independent: nothing duplicated
    dup = _query(
        db,
        "select count(*) from (select event_id, article_id, count(*) c from sources "
        "group by event_id, article_id having c > 1)",
    )[0][0]
    assert dup == 0
    assert len(slack.delivered) == 1  # no alert lost, none doubled


def test_sigterm_finishes_the_current_item_and_exits_cleanly(tmp_path, demo_site, slack):
    config = demo_config(tmp_path, demo_site, slack)
    db = tmp_path / "tw.db"
    proc = _daemon(config, {})
    assert _wait_for(db, "select count(*) from articles where state = 'fetched' or state = 'done'")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    integrity = _query(db, "pragma integrity_check")
    assert integrity == [("ok",)]
