"""Watch-lists kept in the log (``run.py watch``): read by alert routing next to the configuration's,
alias-aware, through the real daemon cycle, feeds, pages and a Slack receiver on loopback."""

from __future__ import annotations

import json
import sqlite3

from conftest import demo_config, run_cli


def _once(config, slack):
    res = run_cli("once", "--config", str(config), "--drain", "5", env={"SLACK_WEBHOOK_URL": slack.url})
    assert res.returncode == 0, res.stderr
    return res


def _listing_actor(db) -> str:
    con = sqlite3.connect(db)
    try:
        (actors,) = con.execute("select actors from events where type = 'sanctions_listing'").fetchone()
    finally:
        con.close()
    return json.loads(actors)[0]


def test_a_watch_on_an_alias_lets_the_listing_alert_and_a_watch_on_another_party_holds_it(
    tmp_path, demo_site, slack
):
    # first, without a watch: the demo's one listing alerts; its acting authority is what we watch
    plain = tmp_path / "plain"
    plain.mkdir()
    _once(demo_config(plain, demo_site, slack), slack)
    assert len(slack.delivered) == 1
    authority = _listing_actor(plain / "tw.db")
    assert authority == "U.S. Department of Commerce (BIS)"

    # a watch on another party: the same listing is stored but does not alert
    other = tmp_path / "other"
    other.mkdir()
    config = demo_config(other, demo_site, slack)
    res = run_cli("watch", "add", "Nobody Industries Ltd", "--config", str(config), "--by", "alice")
    assert res.returncode == 0 and "now alerts only events naming one of 1" in res.stderr, res.stderr
    _once(config, slack)
    assert len(slack.delivered) == 1  # nothing new
    assert _listing_actor(other / "tw.db") == authority  # the event is in the log all the same

    # a watch by an alias ("Commerce Department"), stored as the canonical entity: it alerts
    aliased = tmp_path / "aliased"
    aliased.mkdir()
    config = demo_config(aliased, demo_site, slack)
    res = run_cli("watch", "add", "Commerce Department", "--config", str(config))
    assert res.returncode == 0 and f"watching {authority}" in res.stdout, res.stdout + res.stderr
    listed = run_cli("watch", "list", "--config", str(config))
    assert authority in listed.stdout and "'Commerce Department'" in listed.stdout
    _once(config, slack)
    assert len(slack.delivered) == 2
    assert "Commerce" in json.dumps(slack.delivered[1])


def test_watch_commands_answer_bad_input_in_one_line(tmp_path):
    config = tmp_path / "tw.toml"
    config.write_text(f'[storage]\ndb = "{tmp_path / "tw.db"}"\n')
    for args, says in [
        (("watch", "add", "Acme", "--route", "nope"), "no route 'nope' (configured: slack)"),
        (("watch", "add", " "), "an entity name of 1 to 200 characters"),
        (("watch", "list"), "no log there"),  # a watch is added first; nothing is created by a read
    ]:
        res = run_cli(*args, "--config", str(config), timeout=60)
        assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
        assert says in res.stderr, res.stderr
    ok = run_cli("watch", "add", "MOFCOM", "--config", str(config), timeout=60)
    assert ok.returncode == 0 and "China Ministry of Commerce" in ok.stdout
    again = run_cli("watch", "add", "China's Commerce Ministry", "--config", str(config), timeout=60)
    assert "already watching China Ministry of Commerce" in again.stdout
    nope = run_cli("watch", "remove", "Acme", "--config", str(config), timeout=60)
    assert nope.returncode == 1 and nope.stderr.strip() == "Error: 'Acme' is not watched on slack"
    gone = run_cli("watch", "remove", "Chinese Ministry of Commerce", "--config", str(config), timeout=60)
    assert gone.returncode == 0 and "no longer watching China Ministry of Commerce" in gone.stdout
    assert run_cli("watch", "list", "--config", str(config), timeout=60).stdout == ""
