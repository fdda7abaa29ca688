"""``run.py serve``: Datasette on the event log, read-only, with metadata, facets and canned queries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .config import Settings
from .store import Store

CANNED = {
    "latest_sanctions": {
        "title": "Latest sanctions listings",
        "description": "New sanctions and export-control listings, newest first.",
        "sql": "select id, status, event_date, actors, targets, independent_sources, confidence, evidence, first_seen "
        "from events where type = 'sanctions_listing' order by first_seen desc limit 100",
    },
    "tariff_tracker": {
        "title": "Tariff tracker",
        "description": "Tariff actions by status: imposed, announced, threatened, paused, denied.",
        "sql": "select id, status, event_date, actors, targets, amounts, independent_sources, evidence from events "
        "where type = 'tariff_announcement' and (:status = '' or status = :status) "
        "order by coalesce(event_date, first_seen) desc limit 200",
    },
    "factory_pipeline": {
        "title": "Factory pipeline",
        "description": "Factories, fabs and mining sites from announcement to production, delays and cancellations.",
        "sql": "select id, status, event_date, actors, targets, location, amounts, evidence from events "
        "where type = 'factory_opening' order by coalesce(event_date, first_seen) desc limit 200",
    },
    "entity_timeline": {
        "title": "Entity timeline",
        "description": "Every event naming an entity (canonical name), oldest first.",
        "sql": "select e.id, e.type, e.status, e.event_date, ee.role, e.evidence from event_entities ee "
        "join events e on e.id = ee.event_id where ee.entity = :entity "
        "order by coalesce(e.event_date, e.first_seen)",
    },
    "stories": {
        "title": "Stories",
        "description": "Happenings covered by more than one article, with their outlets and titles, newest first.",
        "sql": "select story_id, count(*) as articles, count(distinct outlet) as outlets, "
        "min(published) as first_published, max(processed_at) as last_processed, "
        "group_concat(title, ' | ') as titles from articles where story_id is not null "
        "group by story_id having count(*) > 1 order by last_processed desc limit 100",
    },
}


def metadata(db_name: str) -> dict[str, Any]:
    return {
        "title": "tradewire event log",
        "description": "Sanctions listings and removals, tariff actions and factory milestones extracted from news; "
        "one real-world event per row.",
        "databases": {
            db_name: {
                "queries": CANNED,
                "tables": {
                    "events": {
                        "description": "One row per real-world event. actors/targets are JSON lists of canonical names.",
                        "facets": ["type", "status"],
                        "sort_desc": "first_seen",
                        "hidden": False,
                    },
                    "sources": {
                        "description": "Each article that reported an event, with its evidence sentences.",
                        "facets": ["outlet", "status"],
                    },
                    "event_entities": {
                        "description": "Event-entity links (role: actor or target).",
                        "facets": ["role", "entity"],
                    },
                    "articles": {
                        "description": "Articles seen, with their processing state.",
                        "facets": ["state", "feed", "error_reason"],
                    },
                    "outbox": {"description": "Slack alert outbox.", "facets": ["state", "route"]},
                    "events_fts": {"hidden": True},
                    "event_list": {
                        "description": "The log as an analyst reads it, newest first.",
                        "facets": ["type", "status"],
                    },
                },
            }
        },
    }


def serve_command(settings: Settings, host: str, port: int, metadata_path: str) -> list[str]:
    db = settings.storage.db
    return [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        db,
        "--host",
        host,
        "--port",
        str(port),
        "--metadata",
        metadata_path,
        "--setting",
        "sql_time_limit_ms",
        "3000",
    ]


def serve_datasette(settings: Settings, host: str = "127.0.0.1", port: int = 8001) -> None:
    try:
        import datasette  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise SystemExit("Datasette is not installed: pip install -e '.[datasette]'") from exc
    Store.open(settings.storage.db).close()  # migrations applied, views present
    name = Path(settings.storage.db).stem
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(metadata(name), f)
        meta = f.name
    try:
        subprocess.run(serve_command(settings, host, port, meta), check=False, env=os.environ.copy())
    finally:
        os.unlink(meta)
