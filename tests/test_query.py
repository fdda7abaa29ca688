"""Analyst access: every `events` filter on a small log, `entity`, `event`, and Datasette over HTTP."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
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


def _serve(cfg, port, *extra, env=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "serve", "--config", str(cfg), "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=full_env,
    )


def _wait_up(base, headers=None):
    for _ in range(150):
        try:
            urllib.request.urlopen(
                urllib.request.Request(base + "/q/events.json", headers=headers or {}), timeout=1
            )
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("serve did not come up")


@contextlib.contextmanager
def _served(cfg, *extra, env=None):
    """`serve` on a free port, up; stopped (and checked stopped) on the way out. Yields its base URL."""
    port = _free_port()
    proc = _serve(cfg, port, *extra, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(base)
        yield base
    finally:
        _stop(proc, port)


def _stop(proc, port):
    """SIGTERM to `serve` ends it and its Datasette child: nothing is left on the port."""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) is not None
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the Datasette child outlived serve"


def test_serve_datasette_with_canned_queries(log):
    cfg, ids = log
    with _served(cfg) as base:

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
        for alias in ("Commerce Department", "bis", "Bureau of Industry and Security"):  # any name
            by_alias = get("/q/entity_timeline.json?_shape=objects&entity=" + urllib.parse.quote(alias))
            assert [(r["id"], r["entity"]) for r in by_alias["rows"]] == [(ids["a"], BIS)], alias
        known = get("/q/entity_aliases.json?_shape=objects&alias=OFAC")["rows"]
        assert [r["canonical"] for r in known] == [OFAC]
        stories = get("/q/stories.json?_shape=objects")
        assert [(r["story_id"], r["articles"]) for r in stories["rows"]] == [(ids["story_a"], 2)]
        facets = get("/q/events.json?_facet=type&_facet=status")
        assert '"type"' in json.dumps(facets["facet_results"]) and '"status"' in json.dumps(
            facets["facet_results"]
        )
        articles = get("/q/article_list.json?_shape=objects")["rows"]
        assert articles and "text" not in articles[0] and articles[0]["title"] is not None
        with urllib.request.urlopen(base + "/", timeout=10) as r:
            index = r.read()
        assert b"feeds" not in index and b"outbox" not in index and str(cfg.parent).encode() not in index


def _status(base, path, headers=None):
    try:
        with urllib.request.urlopen(
            urllib.request.Request(base + path, headers=headers or {}), timeout=10
        ) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_serve_gives_the_log_and_nothing_else_within_limits(log, tmp_path):
    """The probe's findings, asked again of a real server with a real HTTP client: no operational
    table, article text, instance page, database download, visitor SQL or oversized body; the
    limits are settings."""
    cfg, _ = log
    small = tmp_path / "small.toml"
    small.write_text(cfg.read_text() + "\n[serve]\nmax_rows = 5\n")
    with _served(small) as base:
        for path in (
            "/q/feeds.json",
            "/q/outbox.json",
            "/q/webhooks.json",
            "/q/failures.json",
            "/q/entries.json",
            "/q/articles.json?_shape=objects",  # the table, with texts
            "/q.db",
            "/-/versions.json",
            "/-/databases.json",
            "/-/settings.json",
            "/-/metadata.json",
            "/q.json?sql=select+url+from+feeds",
            "/q.json?sql=select+1",
        ):
            code, body = _status(base, path)
            assert code in (403, 404), (path, code, body[:200])
        code, body = _status(base, "/q/events.json?_shape=array&_col=id&_size=max")
        assert code == 200 and 0 < len(json.loads(body)) <= 5  # max_rows
    tiny = tmp_path / "tiny.toml"
    tiny.write_text(cfg.read_text() + "\n[serve]\nmax_response_mb = 0.001\n")
    with _served(tiny) as base:
        code, body = _status(base, "/q/sources.json?_shape=objects&_size=max")
        assert code == 413, (code, body[:200])  # over the limit: refused whole, not cut short
        code, body = _status(base, "/q/events.json?_shape=array&_col=id&_size=1")
        assert code == 200 and len(json.loads(body)) == 1


def test_serve_refuses_a_public_host_without_a_token_and_checks_it_with_one(log):
    cfg, _ = log
    res = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "serve", "--config", str(cfg), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "TRADEWIRE_SERVE_TOKEN"},
    )
    assert res.returncode != 0 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "TRADEWIRE_SERVE_TOKEN" in res.stderr and "Traceback" not in res.stderr
    with _served(cfg, "--host", "0.0.0.0", env={"TRADEWIRE_SERVE_TOKEN": "s3cret-token"}) as base:
        assert _status(base, "/q/events.json")[0] == 401
        assert _status(base, "/q/events.json", {"Authorization": "Bearer s3cret-token"})[0] == 200
        basic = "Basic " + base64.b64encode(b"analyst:s3cret-token").decode()
        assert _status(base, "/q/events.json", {"Authorization": basic})[0] == 200
        assert _status(base, "/q/events.json", {"Authorization": "Bearer wrong"})[0] == 401


def _one_line_refusal(res) -> str:
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
    lines = [x for x in res.stderr.splitlines() if x.strip() and not x.startswith(("Usage:", "Try "))]
    assert len(lines) == 1, res.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args, says",
    [
        (("event", "99999999999999999999999"), "99999999999999999999999"),
        (("event", "-3"), "-3"),
        (("events", "--country", "Atlantis"), "unknown country 'Atlantis'"),
        (("events", "--since", "last tuesday"), "is not a date"),
        (("events", "--until", "2026-13-45"), "is not a date"),
        (("events", "--limit", "0"), "--limit"),
        (("serve", "--port", "70000"), "--port"),
    ],
)
def test_a_bad_argument_is_one_line_and_a_nonzero_exit(log, args, says):
    cfg, _ = log
    from conftest import run_cli

    assert says in _one_line_refusal(run_cli(*args, "--config", str(cfg), timeout=60))


@pytest.mark.parametrize(
    "content, says",
    [
        (None, "no log there"),
        (b"", "an empty file, not a tradewire log"),
        (b"this is not a database at all " * 200, "not a readable tradewire log"),
        ("other-sqlite", "not a tradewire log"),
        ("truncated", "restore it from a backup"),
    ],
)
def test_a_log_that_is_missing_empty_foreign_or_damaged_is_refused_in_one_line(log, tmp_path, content, says):
    """A mistyped path is not a new empty log for a reader, and no command takes a damaged or
    foreign file for a log."""
    import sqlite3

    from conftest import run_cli

    cfg, _ = log
    bad = tmp_path / "bad.db"
    if content == "other-sqlite":
        con = sqlite3.connect(bad)
        con.execute("create table recipes (name text)")
        con.commit()
        con.close()
    elif content == "truncated":
        data = (cfg.parent / "q.db").read_bytes()
        bad.write_bytes(data[: len(data) // 3])
    elif content is not None:
        bad.write_bytes(content)
    conf = tmp_path / "bad.toml"
    conf.write_text(f'[storage]\ndb = "{bad}"\n')
    for args in (("events",), ("status",), ("serve", "--port", str(_free_port()))):
        assert says in _one_line_refusal(run_cli(*args, "--config", str(conf), timeout=60)), args
    if content is None:
        assert not bad.exists()  # nothing was created by a reader


def test_backup_leaves_no_partial_file_and_csv_cells_are_never_formulas(log, tmp_path):
    from conftest import run_cli

    cfg, _ = log
    target = tmp_path / "no-such-folder" / "b.db"
    _one_line_refusal(run_cli("backup", str(target), "--config", str(cfg), timeout=60))
    assert not target.parent.exists() or not any(target.parent.iterdir())
    ok = tmp_path / "b.db"
    res = run_cli("backup", str(ok), "--config", str(cfg), timeout=60)
    assert res.returncode == 0 and json.loads(res.stdout)["integrity"] == "ok"
    assert (ok.stat().st_mode & 0o077) == 0 and not list(tmp_path.glob(".tradewire-backup-*"))
    from pipeline.export import cell

    assert [cell(v) for v in ("=HYPERLINK(1)", "+1", "-2", "@SUM", "Acme", 7)] == [
        "'=HYPERLINK(1)",
        "'+1",
        "'-2",
        "'@SUM",
        "Acme",
        7,
    ]


def test_healthcheck_says_ok_or_each_reason_it_is_not(tmp_path):
    """What a monitor asks first: exit 0 while the daemon polls and delivers; exit 1 with each
    reason when it stopped polling, a webhook is stopped or an alert waits too long."""
    from datetime import timedelta

    from conftest import run_cli

    from pipeline.dates import iso, utcnow

    db = tmp_path / "h.db"
    cfg = tmp_path / "h.toml"
    cfg.write_text(
        f'[storage]\ndb = "{db}"\n[[feeds]]\nname = "wire"\nurl = "https://wire.test/rss"\ninterval_minutes = 10\n'
    )
    s = Store.open(db)
    s.feeds.sync(
        [type("F", (), {"name": "wire", "url": "https://wire.test/rss", "outlet": "", "category": "trade"})]
    )
    s.db.execute("update feeds set last_polled = ? where name = 'wire'", [iso(utcnow())])
    s.close()
    ok = run_cli("healthcheck", "--config", str(cfg), timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: 1 feeds"), ok.stderr

    s = Store.open(db)
    s.db.execute(
        "update feeds set last_polled = ? where name = 'wire'", [iso(utcnow() - timedelta(minutes=45))]
    )
    aid, _ = s.articles.add(url="https://o.test/x", title="t", published=None, text="story " * 50)
    s.events.commit_article(aid, [decision(mention(targets=("Party",)), routes=["slack"])])
    s.db.execute("update outbox set created_at = ?", [iso(utcnow() - timedelta(hours=2))])
    s.outbox.webhook_stopped("slack", "webhook answered 404")
    s.close()
    bad = run_cli("healthcheck", "--config", str(cfg), timeout=60)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    reasons = bad.stderr.strip().splitlines()
    assert any("no feed polled since" in r for r in reasons), reasons
    assert any("webhook slack is stopped" in r for r in reasons), reasons
    assert len(reasons) == 2, reasons  # the stopped webhook parked the alert: not pending any more
    assert run_cli("resume-alerts", "--config", str(cfg), timeout=60).returncode == 0
    again = run_cli("healthcheck", "--config", str(cfg), timeout=60).stderr
    assert "an alert has been pending since" in again and "webhook" not in again, again


def _get(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return r.status, r.headers.get("content-type"), r.read().decode()


def _bad(base, path):
    try:
        urllib.request.urlopen(base + path, timeout=10)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    raise AssertionError(f"{path} was served")


def test_atom_feeds_of_events_per_type_status_and_watched_entity(log, tmp_path):
    """The Atom feed a reader subscribes to (parsed with feedparser, as our own feed stage reads
    feeds): filters as `events` has them, alias-aware entities, stable entry ids, and an entry that
    gains a source is updated and comes first."""
    import feedparser

    cfg, ids = log
    with _served(cfg) as base:
        status, ctype, body = _get(base, "/feeds/events.atom?type=sanctions_listing")
        assert status == 200 and ctype.startswith("application/atom+xml")
        feed = feedparser.parse(body)
        assert not feed.bozo, feed.bozo_exception
        by_id = {e.id: e for e in feed.entries}
        assert len(by_id) == 2 and all(e.id.endswith((f"/{ids['a']}", f"/{ids['b']}")) for e in feed.entries)
        listing = next(e for e in feed.entries if e.id.endswith(f"/{ids['a']}"))
        assert "Acme Photonics" in listing.title and BIS in listing.title
        assert {t.term for t in listing.tags} == {"sanctions_listing", "status:done"}
        assert "Entity List" in listing.summary
        # the entry's link opens the event's page in the UI
        page = urllib.request.urlopen(listing.link, timeout=10)
        assert page.status == 200 and page.url.endswith(f"/q/events/{ids['a']}")

        watched = feedparser.parse(_get(base, "/feeds/events.atom?entity=Commerce%20Department")[2])
        assert [e.id for e in watched.entries] == [listing.id]  # an alias of the canonical entity
        threats = feedparser.parse(
            _get(base, "/feeds/events.atom?type=tariff_announcement&status=threatened")[2]
        )
        assert [e.id.rsplit("/", 1)[1] for e in threats.entries] == [str(ids["c"])]
        assert "Tariff" in threats.feed.title and "threatened" in threats.feed.title

        # OFAC's listing gains a source: same id, later `updated`, first in the feed
        before = {e.id: e.updated for e in feed.entries}
        s = Store.open(tmp_path / "q.db")
        aid, _ = s.articles.add(url="https://b2.test/x", title="again", published=None, text="y" * 200)
        s.events.commit_article(
            aid, [decision(mention(actors=(OFAC,), targets=("Sinbad.io",)), event_id=ids["b"])]
        )
        s.close()
        again = feedparser.parse(_get(base, "/feeds/events.atom?type=sanctions_listing")[2])
        first = again.entries[0]
        assert first.id.endswith(f"/{ids['b']}") and first.updated > before[first.id]
        assert {e.id for e in again.entries} == set(before)
        assert again.feed.id == feed.feed.id  # the same filters, the same feed

        for path, says in [
            ("/feeds/events.atom?type=earnings", "type 'earnings' is not one of"),
            ("/feeds/events.atom?status=maybe", "status 'maybe' is not one of"),
            ("/feeds/events.jsonl?limit=0", "limit must be one whole number from 1 to 500"),
            ("/feeds/events.atom?sql=select", "unknown parameter(s): sql"),
            ("/feeds/events.jsonl?since=2026-13-01", "'2026-13-01' is not a date"),
            ("/feeds/events.jsonl?country=ZZ", "unknown country 'ZZ'"),
            ("/feeds/events.jsonl?country=MX,ZZ", "unknown country 'ZZ'"),  # as `events --country`
        ]:
            code, text = _bad(base, path)
            assert (code == 400 and text.strip() == says) or text.startswith(says), (path, text)


def test_the_export_contract_over_http_is_what_events_exports(log):
    cfg, _ids = log
    with _served(cfg) as base:
        for query, args in [
            ("", ()),
            (
                "?type=sanctions_listing&type=factory_opening",
                ("--type", "sanctions_listing", "--type", "factory_opening"),
            ),
            ("?entity=Treasury", ("--entity", "Treasury")),
            ("?min_sources=2", ("--min-sources", "2")),
            ("?country=MX", ("--country", "MX")),
            ("?since=2026-02-01&until=2026-12-31", ("--since", "2026-02-01", "--until", "2026-12-31")),
            (
                "?seen_since=2000-01-01&type=sanctions_listing",
                ("--seen-since", "2000-01-01", "--type", "sanctions_listing"),
            ),
            ("?query=mixer", ("--query", "mixer")),
        ]:
            status, ctype, body = _get(base, "/feeds/events.jsonl" + query)
            assert status == 200 and ctype.startswith("application/x-ndjson")
            served = [json.loads(x) for x in body.splitlines()]
            res = CliRunner().invoke(main, ["events", "--config", str(cfg), "--format", "jsonl", *args])
            exported = [json.loads(x) for x in res.output.splitlines()]
            key = lambda e: e["id"]  # noqa: E731  (newest activity first over HTTP; by date in the CLI)
            assert sorted(served, key=key) == sorted(exported, key=key) and served, query


def test_feeds_sit_behind_the_access_token(log):
    cfg, _ids = log
    env = {"TRADEWIRE_SERVE_TOKEN": "s3cret-token-for-feeds"}
    with _served(cfg, env=env) as base:
        code, _text = _bad(base, "/feeds/events.atom")
        assert code == 401
        req = urllib.request.Request(
            base + "/feeds/events.atom", headers={"Authorization": "Bearer s3cret-token-for-feeds"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200 and b"<feed" in r.read()


def test_the_annotation_form_writes_beside_the_log_never_to_it(log, tmp_path):
    """The browser's path: GET the form (Datasette's CSRF cookie and token), POST a verdict; it lands in
    the annotations database, attributed to the HTTP Basic user, and the log's bytes do not change."""
    import hashlib
    import re

    import httpx

    cfg, ids = log
    db = tmp_path / "q.db"

    def digest():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.glob("q.db*")}

    env = {"TRADEWIRE_SERVE_TOKEN": "form-token-1234"}
    with _served(cfg, env=env) as base:
        before = digest()
        c = httpx.Client(base_url=base, auth=("erin", "form-token-1234"), timeout=10)
        form = c.get(f"/annotate/{ids['a']}")
        assert form.status_code == 200 and "Acme Photonics" in form.text and "As <b>erin</b>" in form.text
        token = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)
        saved = c.post(
            f"/annotate/{ids['a']}",
            data={
                "csrftoken": token,
                "verdict": "false",
                "reason": "wrong_parties",
                "targets": "Acme Photonics Ltd",
            },
        )
        assert saved.status_code == 200 and "saved: false" in saved.text
        refused = c.post(f"/annotate/{ids['a']}", data={"csrftoken": token, "verdict": "false"})
        assert refused.status_code == 400 and "a false event needs its reason" in refused.text
        assert (
            c.post(f"/annotate/{ids['a']}", data={"verdict": "confirmed"}).status_code == 403
        )  # no CSRF token
        assert c.get("/annotate/99999").status_code == 404
        assert httpx.get(f"{base}/annotate/{ids['a']}", timeout=10).status_code == 401  # the token guards it
        assert digest() == before  # the log is only read
    res = CliRunner().invoke(main, ["annotations", "--config", str(cfg), str(ids["a"])])
    (row,) = [json.loads(x) for x in res.output.splitlines()]
    assert (
        row["author"] == "erin"
        and row["targets"] == ["Acme Photonics Ltd"]
        and row["reason"] == "wrong_parties"
    )
    assert (tmp_path / "q.annotations.db").exists() and db.exists()


def _chromium() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="no Chromium here (apt install chromium)")
def test_the_charts_page_draws_the_log_in_a_real_browser(log, tmp_path):
    """Rendered by headless Chromium, its script run: the weekly bars add up to the log's events per
    type, the tariff tracker names the imposing country, the sanctions timeline has one mark per
    listing under its authority, each linked to its event."""
    from html.parser import HTMLParser

    cfg, ids = log

    class Marks(HTMLParser):
        def __init__(self):
            super().__init__()
            self.marks: list[dict[str, str]] = []
            self.drawn = False

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "body" and a.get("data-drawn") == "yes":
                self.drawn = True
            if a.get("class") in ("bar", "tariff", "sanction"):
                self.marks.append(a)

    browser = [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000"]
    with _served(cfg) as base:
        dom = subprocess.run(
            [*browser, "--dump-dom", base + "/charts"], capture_output=True, text=True, timeout=120
        ).stdout
        shot = tmp_path / "charts.png"
        subprocess.run(
            [*browser, "--window-size=1100,1300", f"--screenshot={shot}", base + "/charts"],
            capture_output=True,
            timeout=120,
        )
    parsed = Marks()
    parsed.feed(dom)
    assert parsed.drawn, dom[:2000]
    bars = [m for m in parsed.marks if m["class"] == "bar"]
    per_type: dict[str, int] = {}
    for b in bars:
        per_type[b["data-type"]] = per_type.get(b["data-type"], 0) + int(b["data-n"])
    assert per_type == {"sanctions_listing": 2, "tariff_announcement": 1, "factory_opening": 1}
    assert {(b["data-status"]) for b in bars if b["data-type"] == "tariff_announcement"} == {"threatened"}
    tariffs = [m for m in parsed.marks if m["class"] == "tariff"]
    assert [(t["data-country"], t["data-status"], t["data-n"]) for t in tariffs] == [
        ("US", "threatened", "1")
    ]
    marks = {int(m["data-id"]): m["data-authority"] for m in parsed.marks if m["class"] == "sanction"}
    assert marks == {ids["a"]: BIS, ids["b"]: OFAC}
    assert shot.exists() and shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
