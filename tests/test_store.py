"""The SQLite event log: migrations, identity of articles, atomic writes, permissions, backup."""

from __future__ import annotations

import os
import stat

import pytest
from helpers import decision, mention

from pipeline.store import Store, canonical_url, migrations


def test_migrations_apply_once_and_schema_is_complete(tmp_path):
    db = tmp_path / "a.db"
    Store.open(db).close()
    s = Store.open(db)  # second open: nothing pending
    assert migrations.pending(s.db) == []
    for table in (
        "feeds",
        "entries",
        "articles",
        "events",
        "sources",
        "outbox",
        "event_entities",
        "failures",
    ):
        assert table in s.db.table_names()
    assert {"event_sources", "entity_events"} <= set(s.db.view_names())
    assert s.db.execute("pragma journal_mode").fetchone()[0] == "wal"
    s.close()


def test_database_file_is_private(tmp_path):
    Store.open(tmp_path / "a.db").close()
    assert stat.S_IMODE(os.stat(tmp_path / "a.db").st_mode) == 0o600


@pytest.mark.parametrize(
    "a,b",
    [
        ("https://www.news.test/a/b?utm_source=x&utm_medium=rss", "https://news.test/a/b"),
        ("http://news.test/a/b/#comments", "https://news.test/a/b"),
        ("https://news.test/a/b/amp/", "https://news.test/a/b"),
        ("https://m.news.test/a/b?id=3&fbclid=zz", "https://news.test/a/b?id=3"),
    ],
)
def test_canonical_url(a, b):
    assert canonical_url(a) == canonical_url(b)


def test_same_article_via_two_urls_is_stored_once_and_wire_copies_are_linked(tmp_path):
    s = Store.open(tmp_path / "a.db")
    text = "WASHINGTON - The Commerce Department added Acme Photonics to the Entity List. " * 10
    a1, new1 = s.articles.add(url="https://one.test/x?utm_source=rss", title="t", published=None, text=text)
    a2, new2 = s.articles.add(url="https://one.test/x", title="t", published=None, text=text)
    a3, new3 = s.articles.add(
        url="https://two.test/copy", title="t", published=None, text=text + " Extra line."
    )
    assert (new1, new2, new3) == (True, False, True) and a1 == a2
    row = s.db["articles"].get(a3)
    assert row["copy_of"] == a1  # same lead: a syndicated copy
    s.close()


def test_commit_is_atomic(tmp_path):
    s = Store.open(tmp_path / "a.db")
    aid, _ = s.articles.add(url="https://one.test/x", title="t", published=None, text="text " * 50)
    # the second decision names an event that does not exist: the first one's writes must not stay
    broken = [decision(mention(), routes=["slack"]), decision(mention(targets=("Other",)), event_id=999)]
    with pytest.raises(KeyError):
        s.events.commit_article(aid, broken)
    assert s.db["events"].count == 0 and s.db["sources"].count == 0 and s.db["outbox"].count == 0
    assert s.db["articles"].get(aid)["state"] == "fetched"  # retried next cycle
    created = s.events.commit_article(aid, [decision(mention(), routes=["slack"])])
    assert len(created) == 1 and s.db["outbox"].count == 1
    assert s.db["articles"].get(aid)["state"] == "done"
    s.close()


def test_merge_adds_a_source_without_a_second_alert(tmp_path):
    s = Store.open(tmp_path / "a.db")
    a1, _ = s.articles.add(url="https://one.test/x", title="t", published=None, text="first story " * 50)
    a2, _ = s.articles.add(url="https://two.test/y", title="t", published=None, text="second story " * 50)
    (eid,) = s.events.commit_article(a1, [decision(mention(status="announced"), routes=["slack"])])
    s.events.commit_article(
        a2, [decision(mention(targets=("Acme Photonics", "Beta Labs")), event_id=eid, routes=["slack"])]
    )
    e = s.queries.export_event(eid)
    assert e["source_count"] == 2 and e["independent_sources"] == 2
    assert e["status"] == "done"  # "will take effect" then "took effect"
    assert "Beta Labs" in e["targets"]
    assert s.db["outbox"].count == 1
    s.close()


def test_full_text_and_filters(tmp_path):
    s = Store.open(tmp_path / "a.db")
    a1, _ = s.articles.add(
        url="https://one.test/x", title="Drone makers blacklisted", published=None, text="x " * 50
    )
    s.events.commit_article(a1, [decision(mention())])
    assert len(s.queries.query_events(query="drone")) == 1
    assert len(s.queries.query_events(query="Photonics")) == 1
    assert s.queries.query_events(query="tariff") == []
    assert s.queries.query_events(query='weird "quote AND (') == []  # user text never breaks FTS syntax
    s.close()


def test_backup_is_a_checked_copy(tmp_path):
    s = Store.open(tmp_path / "a.db")
    a1, _ = s.articles.add(url="https://one.test/x", title="t", published=None, text="x " * 50)
    s.events.commit_article(a1, [decision(mention())])
    result = s.queries.backup(tmp_path / "copy.db")
    assert result["integrity"] == "ok" and result["events"] == 1
    with pytest.raises(FileExistsError):
        s.queries.backup(tmp_path / "copy.db")
    s.close()


def test_merge_candidates_are_the_window_of_one_milestone_and_party_at_any_date_precision(tmp_path):
    """What dedup may compare a report with: events of its type and milestone, of its acting party or
    of an unknown one, anchored in the window by a day, or by the month or year an event is dated to."""
    s = Store.open(tmp_path / "a.db")
    ids = {}
    cases = {
        "day in window": mention(date="2026-03-20"),
        "month in window": mention(date="2026-03", targets=("B",)),
        "year in window": mention(date="2026", targets=("C",)),
        "unknown actor": mention(date="2026-03-01", actors=(), targets=("D",)),
        "day out of window": mention(date="2026-05-20", targets=("E",)),
        "month out of window": mention(date="2025-11", targets=("F",)),
        "other milestone": mention(date="2026-03-10", milestone="removal", targets=("G",)),
        "other party": mention(date="2026-03-10", actors=("HM Treasury (OFSI)",), targets=("H",)),
    }
    for k, (name, m) in enumerate(cases.items()):
        aid, _ = s.articles.add(
            url=f"https://one.test/{k}", title="t", published=None, text=f"text {k} " * 50
        )
        ids[s.events.commit_article(aid, [decision(m)])[0]] = name
    found, _, matrix = s.events.candidate_vectors(
        "sanctions_listing", ["listing"], "2026-03-10", 21, "", ["U.S. Department of Commerce (BIS)"]
    )
    assert sorted(ids[i] for i in found) == [
        "day in window",
        "month in window",
        "unknown actor",
        "year in window",
    ]
    assert matrix.shape == (4, 384)
    s.close()
