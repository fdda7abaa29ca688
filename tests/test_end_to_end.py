"""`once` against a local news site and a local Slack receiver, through the real CLI."""

from __future__ import annotations

import json

from conftest import demo_config, run_cli

CONTRACT_KEYS = {
    "id",
    "type",
    "status",
    "actors",
    "targets",
    "location",
    "event_date",
    "confidence",
    "first_seen",
    "last_seen",
    "sources",
}
SOURCE_KEYS = {"url", "title", "outlet", "published", "evidence"}
TYPES = {"sanctions_listing", "sanctions_removal", "tariff_announcement", "factory_opening"}
STATUSES = {"done", "announced", "planned", "threatened", "denied", "paused", "cancelled"}


def _events(config) -> list[dict]:
    res = run_cli("events", "--config", str(config), "--format", "jsonl")
    assert res.returncode == 0, res.stderr
    lines = [line for line in res.stdout.splitlines() if line.strip()]
    assert len(lines) == len(res.stdout.strip().splitlines())  # nothing but JSON objects on stdout
    return [json.loads(line) for line in lines]


def test_once_twice_builds_the_log_and_alerts_exactly_once(tmp_path, demo_site, slack):
    config = demo_config(tmp_path, demo_site, slack)
    env = {"SLACK_WEBHOOK_URL": slack.url}
    first = run_cli("once", "--config", str(config), env=env)
    assert first.returncode == 0, first.stderr
    assert slack.url not in first.stderr and "demo-secret-token" not in first.stderr

    events = _events(config)
    assert events, "no events extracted from the demo site"
    for e in events:
        assert set(e) >= CONTRACT_KEYS, e
        assert e["type"] in TYPES and e["status"] in STATUSES
        assert 0.0 <= e["confidence"] <= 1.0
        for s in e["sources"]:
            assert set(s) >= SOURCE_KEYS
            assert s["url"].startswith(demo_site.base)
            for ev in s["evidence"]:
                assert ev["sentence"] and ev["end"] > ev["start"] >= 0

    # One sanctions listing reported by three outlets (one reached via both feeds, one a wire copy).
    listings = [e for e in events if e["type"] == "sanctions_listing"]
    assert len(listings) == 1, listings
    listing = listings[0]
    assert listing["status"] == "done"
    assert listing["actors"] == ["U.S. Department of Commerce (BIS)"]
    assert any("Longmen" in t for t in listing["targets"]) and any("Harbin" in t for t in listing["targets"])
    assert listing["event_date"] == "2026-03-10"  # "on Tuesday" in a Wednesday story, not the publish date
    assert len(listing["sources"]) == 3
    assert listing["independent_sources"] == 2
    assert len({s["url"] for s in listing["sources"]}) == 3
    # ... and the three articles are one story, which `story` lists without the unrelated news
    (story,) = {s["story_id"] for s in listing["sources"]}
    res = run_cli("story", str(story), "--config", str(config), "--format", "jsonl")
    assert res.returncode == 0, res.stderr
    coverage = [json.loads(line) for line in res.stdout.splitlines()]
    assert {r["url"] for r in coverage} >= {s["url"] for s in listing["sources"]}
    assert all(
        listing["id"] in r["events"] for r in coverage if r["url"] in {s["url"] for s in listing["sources"]}
    )
    assert not any(
        x in r["url"] for r in coverage for x in ("bitcoin-price", "exchange-volumes", "trade-deficit")
    )

    tariffs = {
        (e["actors"][0] if e["actors"] else None, e["status"])
        for e in events
        if e["type"] == "tariff_announcement"
    }
    assert ("Canada", "announced") in tariffs
    assert any(status == "threatened" for _, status in tariffs)
    factories = [e for e in events if e["type"] == "factory_opening"]
    assert {e["status"] for e in factories} == {"done", "announced"}
    # Market news and the background mention of an old listing give no event.
    all_urls = {s["url"] for e in events for s in e["sources"]}
    assert not any(
        x in u
        for u in all_urls
        for x in ("bitcoin-price", "exchange-volumes", "trade-deficit", "background-huawei", "miner-earnings")
    )

    assert len(slack.delivered) == 1
    msg = slack.delivered[0]
    assert "Longmen" in json.dumps(msg) and msg["text"].startswith("Sanctions listing (done)")

    second = run_cli("once", "--config", str(config), env=env)
    assert second.returncode == 0, second.stderr
    again = _events(config)
    assert [e["id"] for e in again] == [e["id"] for e in events]
    assert [len(e["sources"]) for e in again] == [len(e["sources"]) for e in events]
    assert len(slack.received) == 1


def test_events_filters_formats_and_status_on_the_demo_log(tmp_path, demo_site, slack):
    config = demo_config(tmp_path, demo_site)
    assert run_cli("once", "--config", str(config)).returncode == 0
    table = run_cli("events", "--config", str(config))
    assert table.returncode == 0 and "sanctions_listing" in table.stdout and "conf" in table.stdout
    csv_out = run_cli("events", "--config", str(config), "--format", "csv", "--type", "tariff_announcement")
    rows = csv_out.stdout.strip().splitlines()
    assert rows[0].startswith("id,type,status") and len(rows) >= 2
    assert all(",tariff_announcement," in r for r in rows[1:])
    # An alias finds the canonical entity: "Commerce Department" -> U.S. Department of Commerce (BIS).
    by_alias = run_cli(
        "events", "--config", str(config), "--entity", "Commerce Department", "--format", "jsonl"
    )
    found = [json.loads(x) for x in by_alias.stdout.splitlines()]
    assert found and all("U.S. Department of Commerce (BIS)" in e["actors"] for e in found)
    status = run_cli("status", "--config", str(config))
    assert status.returncode == 0 and "ledger: last success" in status.stdout


def test_feed_dates_of_1970_and_2099_are_unknown_not_a_second_event_or_alert(tmp_path, slack):
    """A zeroed clock (1970) and a far-future date (2099) in two outlets' feeds and pages: the
    dates are unknown, the three reports are still one listing with one alert, and nothing is
    dated to either year."""
    import copy

    from conftest import write_config

    from pipeline.demo import DemoSite, load_site

    site = copy.deepcopy(load_site())
    reports = [a for a in site["articles"] if "Longmen" in " ".join(a["body"]) or "chip" in a["slug"]]
    reports = [a for a in reports if "blacklist" in a["slug"] or "entity-list" in a["slug"]]
    assert len(reports) == 3
    reports[0]["published"] = "1970-01-01T00:00:00Z"
    reports[1]["published"] = "2099-06-01T08:00:00Z"
    server = DemoSite(site).start()
    try:
        config = write_config(
            tmp_path / "tw.toml",
            db=tmp_path / "tw.db",
            feeds=[(n, server.feed_url(n), c) for n, c in (("ledger", "crypto"), ("desk", "trade"))],
            allow_hosts=[server.host_port, slack.host_port],
        )
        res = run_cli("once", "--config", str(config), env={"SLACK_WEBHOOK_URL": slack.url})
        assert res.returncode == 0, res.stderr
        events = _events(config)
    finally:
        server.stop()
    listings = [e for e in events if e["type"] == "sanctions_listing"]
    assert len(listings) == 1 and len(listings[0]["sources"]) == 3, listings
    assert len(slack.delivered) == 1
    dumped = json.dumps(events)
    assert "1970-" not in dumped and "2099-" not in dumped
