"""Commands analysts read the log with: events, one event, a story, an entity's timeline, the web UI."""

from __future__ import annotations

import json

import click

from ..export import FORMATS
from ..vocab import EVENT_TYPES, STATUSES
from .base import (
    ROW_ID,
    config_option,
    country_entities,
    date_arg,
    emit,
    main,
    opened,
    resolve_entities,
    settings_of,
)


@main.command()
@config_option
@click.option(
    "--type", "types", multiple=True, type=click.Choice(EVENT_TYPES), help="Event type (repeatable)."
)
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES), help="Status (repeatable).")
@click.option("--entity", "entities", multiple=True, help="A party, by canonical name or alias (repeatable).")
@click.option("--country", "countries", multiple=True, help="ISO country code or name of a party or place.")
@click.option("--since", callback=date_arg, help="Event date on or after (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--until", callback=date_arg, help="Event date on or before (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--seen-since", callback=date_arg, help="First seen on or after (YYYY-MM-DD).")
@click.option("--seen-until", callback=date_arg, help="First seen on or before (YYYY-MM-DD).")
@click.option("--min-sources", type=click.IntRange(0, 10**6), help="At least this many independent sources.")
@click.option("--query", help="Full-text search over evidence, titles and parties.")
@click.option("--related", type=ROW_ID, help="An event and the other milestones of the same thing.")
@click.option("--limit", type=click.IntRange(1, 10**9), help="At most this many events.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def events(
    config_path: str | None,
    types: tuple[str, ...],
    statuses: tuple[str, ...],
    entities: tuple[str, ...],
    countries: tuple[str, ...],
    since: str | None,
    until: str | None,
    seen_since: str | None,
    seen_until: str | None,
    min_sources: int | None,
    query: str | None,
    related: int | None,
    limit: int | None,
    fmt: str,
) -> None:
    """Query and export the event log."""
    settings = settings_of(config_path)
    with opened(settings) as store:
        result = store.queries.query_events(
            types=types,
            statuses=statuses,
            entities=resolve_entities(settings, entities),
            country_entities=country_entities(settings, countries),
            since=since,
            until=until,
            seen_since=seen_since,
            seen_until=seen_until,
            min_sources=min_sources,
            query=query,
            related_to=related,
            limit=limit,
        )
    emit(result, fmt)


@main.command()
@config_option
@click.argument("event_id", type=ROW_ID)
def event(config_path: str | None, event_id: int) -> None:
    """One event in full (JSON), with its related milestones."""
    settings = settings_of(config_path)
    with opened(settings) as store:
        try:
            e = store.queries.export_event(event_id)
        except KeyError as exc:
            raise click.ClickException(f"no event {event_id}") from exc
    click.echo(json.dumps(e, indent=2, ensure_ascii=False))


@main.command()
@config_option
@click.argument("story_id", type=ROW_ID)
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True)
def story(config_path: str | None, story_id: int, fmt: str) -> None:
    """A story's coverage: its articles (outlet, date, title) and the events each reports."""
    settings = settings_of(config_path)
    with opened(settings) as store:
        rows = store.queries.story(story_id)
    if not rows:
        raise click.ClickException(f"no story {story_id}")
    for r in rows:
        if fmt == "jsonl":
            click.echo(json.dumps(r, ensure_ascii=False))
        else:
            copy = f" (copy of {r['copy_of']})" if r["copy_of"] else ""
            events = ",".join(map(str, r["events"])) or "-"
            click.echo(
                f"{r['id']:>6}  {(r['published'] or '')[:10]:10}  {(r['outlet'] or '')[:24]:24}  events {events:8}  {r['title']}{copy}"
            )


@main.command()
@config_option
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def entity(config_path: str | None, name: str, fmt: str) -> None:
    """An entity's timeline: every event naming it (aliases included), oldest first."""
    settings = settings_of(config_path)
    with opened(settings) as store:
        result = store.queries.query_events(entities=resolve_entities(settings, (name,)))
    result.sort(key=lambda e: (e["event_date"] or e["first_seen"][:10], e["id"]))
    emit(result, fmt)


@main.command()
@config_option
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535))
@click.option("--host", default="127.0.0.1", show_default=True)
def serve(config_path: str | None, port: int, host: str) -> None:
    """Datasette on the log, read-only, with metadata and canned queries (needs the datasette extra)."""
    from ..serve import serve_datasette

    settings = settings_of(config_path)
    serve_datasette(settings, host=host, port=port)
