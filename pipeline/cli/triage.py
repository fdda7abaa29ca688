"""``run.py annotate``, ``annotations`` and ``export-gold``: analysts' verdicts, and the labelled
articles ``run.py train --data`` learns from."""

from __future__ import annotations

import getpass
import json

import click

from ..config import Settings
from ..store.annotations import Annotation, AnnotationLog, annotations_path
from ..triage import TriageError, annotate, gold_articles, write_jsonl
from ..vocab import EVENT_TYPES, FALSE_REASONS, STATUSES
from .base import ROW_ID, config_option, main, opened, settings_of


def _log(settings: Settings) -> AnnotationLog:
    return AnnotationLog(annotations_path(settings.storage.db), settings.storage.busy_timeout_ms)


@main.command("annotate")
@config_option
@click.argument("event_id", type=ROW_ID)
@click.option("--confirmed", "verdict", flag_value="confirmed", help="The event is right.")
@click.option(
    "--false",
    "reason",
    type=click.Choice(FALSE_REASONS),
    help="The event is wrong, and why (with --type/--status/--actors/--targets: what is right).",
)
@click.option("--duplicate-of", type=ROW_ID, help="The event is another report of this event.")
@click.option("--type", "type_", type=click.Choice(EVENT_TYPES), help="The right type.")
@click.option("--status", type=click.Choice(STATUSES), help="The right status.")
@click.option("--actor", "actors", multiple=True, help="The right acting party (repeatable; replaces them).")
@click.option("--target", "targets", multiple=True, help="The right listed party or target (repeatable).")
@click.option("--note", default=None, help="Free text kept with the annotation.")
@click.option("--by", "author", default=None, help="Who annotates (default: the user running the command).")
def annotate_cmd(
    config_path: str | None,
    event_id: int,
    verdict: str | None,
    reason: str | None,
    duplicate_of: int | None,
    type_: str | None,
    status: str | None,
    actors: tuple[str, ...],
    targets: tuple[str, ...],
    note: str | None,
    author: str | None,
) -> None:
    """Say what an event is: --confirmed, --false REASON, --duplicate-of ID, or corrected (--type,
    --status, --actor, --target). Kept apart from the log, with who said it and when."""
    chosen = [x for x in (verdict, reason and "false", duplicate_of and "duplicate") if x]
    if len(chosen) > 1:
        raise click.UsageError("one of --confirmed, --false or --duplicate-of at a time")
    fixes = type_ or status or actors or targets
    verdict = chosen[0] if chosen else ("corrected" if fixes else None)
    if verdict is None:
        raise click.UsageError(
            "say what the event is: --confirmed, --false REASON, --duplicate-of ID or a correction"
        )
    a = Annotation(
        event_id=event_id,
        verdict=verdict,
        author=author or getpass.getuser(),
        reason=reason,
        duplicate_of=duplicate_of,
        type=type_,
        status=status,
        actors=actors or None,
        targets=targets or None,
        note=note,
    )
    settings = settings_of(config_path)
    with opened(settings) as store, _log(settings) as log:
        try:
            n = annotate(store.queries, log, a)
        except TriageError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"annotation {n}: event {event_id} {verdict}" + (f" ({reason})" if reason else ""))


@main.command("annotations")
@config_option
@click.argument("event_id", type=ROW_ID, required=False)
def annotations_cmd(config_path: str | None, event_id: int | None) -> None:
    """Every annotation (or an event's), oldest first, as JSON lines."""
    settings = settings_of(config_path)
    with _log(settings) as log:
        for row in log.history(event_id):
            click.echo(json.dumps(row, ensure_ascii=False))


@main.command("export-gold")
@config_option
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_gold(config_path: str | None, path: str) -> None:
    """Write the articles of annotated events as labelled articles (the corpus schema of ../shared/dev,
    with evidence): run.py train --data ../shared/train/articles.jsonl --data PATH learns from them."""
    settings = settings_of(config_path)
    with opened(settings) as store, _log(settings) as log:
        latest = log.latest()
        records = gold_articles(store.queries, latest)
    try:
        write_jsonl(records, path)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None
    events = sum(len(r["gold"]["events"]) for r in records)
    click.echo(
        f"{len(records)} articles, {events} events ({len(latest)} annotated) written to {path}", err=True
    )
