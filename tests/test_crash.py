"""Crash safety of the real daemon: SIGKILL at several points, SIGTERM, and the alert outbox."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time

from conftest import demo_config, run_cli, start_daemon


def _daemon(config, env) -> subprocess.Popen:
    return start_daemon(config, env)


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


def test_one_writer_per_log_and_a_killed_one_leaves_no_lock(tmp_path, demo_site, slack):
    """A live daemon holds its log: `once`, `process` and a second `run` on it are refused at once
    with one line naming the holder; readers work beside it; after SIGKILL the log is free."""
    config = demo_config(tmp_path, demo_site, slack)
    db = tmp_path / "tw.db"
    proc = _daemon(config, {})
    try:
        assert _wait_for(db, "select count(*) from articles")
        backfill = tmp_path / "b.jsonl"
        backfill.write_text('{"url": "https://x.test/a", "text": "Some text."}\n', encoding="utf-8")
        for args in (("once",), ("process", str(backfill)), ("run", "--tick", "0.5")):
            t0 = time.monotonic()
            res = run_cli(*args, "--config", str(config), timeout=60)
            assert res.returncode != 0, args
            lines = res.stderr.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
            assert f"pid {proc.pid}" in lines[0] and "one writer per log" in lines[0], lines[0]
            assert time.monotonic() - t0 < 30  # refused at once, not after a lock timeout
        assert _query(db, "select count(*) from articles where url = 'https://x.test/a'") == [(0,)]
        res = run_cli("status", "--config", str(config), "--json")
        assert res.returncode == 0, res.stderr
    finally:
        proc.kill()
        proc.wait(30)
    res = run_cli("process", str(backfill), "--config", str(config), "--no-alerts", timeout=300)
    assert res.returncode == 0, res.stderr


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    kids = [int(x) for x in out.split()]
    return kids + [g for k in kids for g in _descendants(k)]


def test_sigterm_to_the_process_group_stops_the_daemon_and_its_workers(tmp_path, demo_site, slack):
    """What systemd sends on stop: SIGTERM to every process of the unit at once. The daemon finishes
    its item and exits within the unit's stop timeout, and no extraction worker is left behind."""
    config = demo_config(tmp_path, demo_site, slack)
    db = tmp_path / "tw.db"
    proc = start_daemon(config, start_new_session=True)
    try:
        assert _wait_for(db, "select count(*) from articles where state in ('fetched', 'done')")
        workers = _descendants(proc.pid)
        assert workers, "the extraction pool should be running"
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        code = proc.wait(60)
        took = time.monotonic() - t0
        assert code == 0, proc.stderr.read().decode()[-2000:] if proc.stderr else code
        assert took < 30, f"stop took {took:.1f}s"
        time.sleep(0.5)
        alive = [w for w in workers if os.path.exists(f"/proc/{w}") and "zombie" not in _state(w)]
        assert not alive, f"workers left behind: {alive}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    assert _query(db, "pragma integrity_check") == [("ok",)]


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next((line for line in fh if line.startswith("State:")), "").lower()
    except OSError:
        return "zombie"


def test_the_daemon_tells_systemd_it_is_ready_feeds_the_watchdog_and_says_it_stops(
    tmp_path, demo_site, slack
):
    """``Type=notify`` and ``WatchdogSec=`` in deploy/tradewire.service: the daemon sends READY=1 once it
    runs, WATCHDOG=1 after every cycle, a STATUS line, and STOPPING=1 on SIGTERM, over a real
    NOTIFY_SOCKET as systemd listens on it."""
    import socket

    config = demo_config(tmp_path, demo_site, slack)
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(120)
    got: list[str] = []
    proc = _daemon(config, {"NOTIFY_SOCKET": path})
    try:
        while sum(m == "WATCHDOG=1" for m in got) < 3:
            got.append(sock.recv(4096).decode())
        assert got.index(next(m for m in got if m.startswith("READY=1"))) < got.index("WATCHDOG=1")
        assert any(m.startswith("STATUS=") or "\nSTATUS=" in m for m in got)
        proc.send_signal(signal.SIGTERM)
        sock.settimeout(60)
        while "STOPPING=1" not in got:
            got.append(sock.recv(4096).decode())
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
