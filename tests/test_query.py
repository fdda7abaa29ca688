"""Analyst access: every `events` filter on a small log, `entity`, `event`, and Datasette over HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from click.testing import CliRunner
from conftest import ROOT
from helpers import decision, mention

from pipeline.cli import main
from pipeline.store import Store

BIS = "U.S. Department of Commerce (BIS)"
OFAC = "U.S. Department of the Treasury (OFAC)"


@pytest.fixture
def log(tmp_path):
    db = tmp_path / "q.db"
    s = Store.open(db)
    rows = [
        (
            "a",
            mention(
                actors=(BIS,),
                targets=("Acme Photonics",),
                date="2026-01-10",
                sentence="Commerce added Acme Photonics to the Entity List over drone exports.",
            ),
        ),
        (
            "b",
            mention(
                actors=(OFAC,),
                targets=("Sinbad.io",),
                date="2026-02-03",
                status="done",
                sentence="OFAC sanctioned the Sinbad.io mixer.",
            ),
        ),
        (
            "c",
            mention(
                type_="tariff_announcement",
                milestone="threat",
                status="threatened",
                actors=("United States",),
                targets=("Mexico",),
                date="2026-03-01",
                sentence="Trump threatened tariffs on Mexico.",
            ),
        ),
        (
            "d",
            mention(
                type_="factory_opening",
                milestone="production",
                status="done",
                actors=("Tesla",),
                targets=("Giga Berlin",),
                date=None,
                sentence="Tesla opened Giga Berlin.",
            ),
        ),
    ]
    ids, articles = {}, {}
    for key, m in rows:
        aid, _ = s.articles.add(
            url=f"https://{key}.test/x", title=f"title {key}", published=None, text=key * 200
        )
        articles[key] = aid
        (ids[key],) = s.events.commit_article(aid, [decision(m)], story_id=aid)
    aid, _ = s.articles.add(url="https://a2.test/x", title="second report", published=None, text="z" * 200)
    # the second report of "a" is in a's story
    s.events.commit_article(aid, [decision(rows[0][1], event_id=ids["a"])], story_id=articles["a"])
    ids["story_a"] = articles["a"]
    s.close()
    cfg = tmp_path / "q.toml"
    cfg.write_text(f'[storage]\ndb = "{db}"\n')
    return cfg, ids


def _ids(cfg, *args):
    res = CliRunner().invoke(main, ["events", "--config", str(cfg), "--format", "jsonl", *args])
    assert res.exit_code == 0, res.output
    return {json.loads(line)["id"] for line in res.output.splitlines() if line.strip()}


@pytest.mark.parametrize(
    "args,keys",
    [
        ((), "abcd"),
        (("--type", "sanctions_listing"), "ab"),
        (("--type", "tariff_announcement", "--type", "factory_opening"), "cd"),
        (("--status", "threatened"), "c"),
        (("--entity", "Treasury"), "b"),  # alias of the canonical OFAC entity
        (("--entity", "Acme Photonics"), "a"),
        (("--country", "MX"), "c"),
        (("--since", "2026-02-01"), "bcd"),  # undated events sit at their first report
        (("--until", "2026-02-03"), "ab"),
        (("--min-sources", "2"), "a"),
        (("--query", "mixer"), "b"),
        (("--query", "drone"), "a"),
        (("--seen-since", "2000-01-01"), "abcd"),
        (("--seen-until", "2000-01-01"), ""),
        (("--type", "sanctions_listing", "--since", "2026-02-01"), "b"),
    ],
)
def test_events_filters(log, args, keys):
    cfg, ids = log
    assert _ids(cfg, *args) == {ids[k] for k in keys}


def test_formats_related_entity_and_event(log):
    cfg, ids = log
    runner = CliRunner()
    csv_out = runner.invoke(main, ["events", "--config", str(cfg), "--format", "csv"]).output.splitlines()
    assert csv_out[0].startswith("id,type,status") and len(csv_out) == 5
    table = runner.invoke(main, ["events", "--config", str(cfg)]).output
    assert "sanctions_listing" in table and "2/2" in table
    timeline = runner.invoke(
        main, ["entity", "--config", str(cfg), "Commerce Department", "--format", "jsonl"]
    ).output
    assert [json.loads(x)["id"] for x in timeline.splitlines()] == [ids["a"]]
    one = json.loads(runner.invoke(main, ["event", "--config", str(cfg), str(ids["a"])]).output)
    assert one["source_count"] == 2 and one["related"] == []
    assert runner.invoke(main, ["event", "--config", str(cfg), "999"]).exit_code != 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_datasette_with_canned_queries(log):
    cfg, ids = log
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "serve", "--config", str(cfg), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=1)
                break
            except OSError:
                time.sleep(0.2)

        def get(path):
            with urllib.request.urlopen(base + path, timeout=10) as r:
                return json.loads(r.read())

        latest = get("/q/latest_sanctions.json?_shape=objects")
        assert {r["id"] for r in latest["rows"]} == {ids["a"], ids["b"]}
        tariffs = get("/q/tariff_tracker.json?_shape=objects&status=threatened")
        assert [r["id"] for r in tariffs["rows"]] == [ids["c"]]
        factories = get("/q/factory_pipeline.json?_shape=objects")
        assert [r["id"] for r in factories["rows"]] == [ids["d"]]
        timeline = get("/q/entity_timeline.json?_shape=objects&entity=Sinbad.io")
        assert [r["id"] for r in timeline["rows"]] == [ids["b"]]
        stories = get("/q/stories.json?_shape=objects")
        assert [(r["story_id"], r["articles"]) for r in stories["rows"]] == [(ids["story_a"], 2)]
        facets = get("/q/events.json?_facet=type&_facet=status")
        assert '"type"' in json.dumps(facets["facet_results"]) and '"status"' in json.dumps(
            facets["facet_results"]
        )
        # read-only: writes are refused
        req = urllib.request.Request(base + "/q/-/query.json?sql=delete+from+events", method="GET")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(req, timeout=10)
    finally:
        proc.terminate()
        proc.wait(10)
