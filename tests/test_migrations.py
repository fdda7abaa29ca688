"""The schema's migrations are pinned: an existing log upgrades in place because names never change."""

from __future__ import annotations

from pipeline.store import Store, migrations

PINNED = [
    "m001_initial",
    "m002_views",
    "m003_anchor_date",
    "m004_query_indexes",
    "m005_event_list_view",
    "m006_entity_nocase_index",
    "m007_actor_key",
    "m008_story",
    "m009_merge_score",
    "m010_outbox_claim",
    "m011_watches",
    "m012_last_seen_index",
    "m013_entity_aliases",
]


def test_migration_names_are_pinned_and_applied_in_order(tmp_path):
    s = Store.open(tmp_path / "a.db")
    applied = [r["name"] for r in s.db.query("select name from _sqlite_migrations order by id")]
    s.close()
    assert applied == PINNED
    assert [m.name for m in migrations._migrations] == PINNED


def test_an_older_log_upgrades_in_place_and_keeps_its_rows(tmp_path):
    from pipeline.store.db import connect

    db = connect(tmp_path / "old.db", 5000)
    migrations.apply(db, stop_before="m007_actor_key")  # a log as an earlier release left it
    db["events"].insert(
        {"type": "sanctions_listing", "status": "done", "milestone": "listing", "actors": '["OFAC"]'}
    )
    db.close()
    s = Store.open(tmp_path / "old.db")
    assert migrations.pending(s.db) == []
    row = s.db["events"].get(1)
    assert row["actor_key"] == "ofac" and "story_id" in s.db["articles"].columns_dict
    s.close()
