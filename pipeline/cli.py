"""The command line: a thin click layer over the library. ``python run.py COMMAND --config PATH``."""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .gazetteer import Gazetteer
    from .store import Store

from .config import ConfigError, Settings, env_name, load_settings, reference
from .export import FORMATS, render, render_status
from .logs import setup_logging
from .vocab import ARTICLE_STAGES, EVENT_TYPES, STATUSES

SECONDS = click.FloatRange(0.1, 86400)  # a tick: from a tenth of a second to a day
ROW_ID = click.IntRange(1, 2**63 - 1)  # an event's or a story's id: what SQLite can hold


def config_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        envvar="TRADEWIRE_CONFIG",
        help="TOML configuration file (built-in defaults when absent).",
    )(f)


def _settings(config_path: str | None) -> Settings:
    try:
        return load_settings(config_path)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


class _Group(click.Group):
    """Commands whose set-up fails on a broken rule or model file answer with its one-line reason."""

    def invoke(self, ctx: click.Context) -> Any:
        from .errors import TradewireError
        from .store import DatabaseError

        try:
            return super().invoke(ctx)
        except TradewireError as exc:
            raise click.ClickException(str(exc)) from exc
        except DatabaseError as exc:  # a log damaged past what opening it showed
            raise click.ClickException(f"the log cannot be read: {exc} (restore it from a backup)") from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tradewire")
def main() -> None:
    """tradewire: sanctions, tariff and factory events from news feeds into a SQLite event log."""


@main.command()
@config_option
@click.option(
    "--tick", default=30.0, show_default=True, type=SECONDS, help="Seconds between scheduler ticks."
)
@click.option("-v", "--verbose", is_flag=True)
def run(config_path: str | None, tick: float, verbose: bool) -> None:
    """The daemon: poll each feed on its interval, process new articles, deliver alerts."""
    from .flow import Pipeline
    from .scheduler import run_forever

    settings = _settings(config_path)
    setup_logging(settings, verbose)
    with Pipeline(settings, holder="tradewire run") as p:
        p.check()
        run_forever(p, tick_seconds=tick)


@main.command()
@config_option
@click.option(
    "--drain",
    default=None,
    type=click.FloatRange(0, 86400),
    help="Seconds to wait for alert retries (default: config).",
)
@click.option("-v", "--verbose", is_flag=True)
def once(config_path: str | None, drain: float | None, verbose: bool) -> None:
    """One full cycle: poll every feed, process every new article, deliver pending alerts."""
    from .flow import Pipeline

    settings = _settings(config_path)
    setup_logging(settings, verbose)
    with Pipeline(settings, holder="tradewire once") as p:
        p.check()
        report = p.run_once(drain_seconds=drain)
    click.echo(report.summary(), err=True)


@main.command()
@config_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--no-alerts", is_flag=True, help="Store events without queueing alerts.")
def process(config_path: str | None, path: str, no_alerts: bool) -> None:
    """Backfill articles from a JSONL file ({url, title, published, text | html} per line)."""
    from tqdm import tqdm

    from . import backfill
    from .flow import CycleReport, Pipeline

    settings = _settings(config_path)
    setup_logging(settings)
    report = CycleReport()
    tty = sys.stderr.isatty()
    with Pipeline(settings, env={} if no_alerts else None, holder="tradewire process") as p:
        p.warm()  # models load before the clock starts: the figure below is the work, not the start-up
        started = time.perf_counter()
        lines = list(tqdm(backfill.read(path), desc="read", unit="line", disable=not tty))
        bad = [(line.where, line.error or "") for line in lines if line.record is None]
        for where, why in bad:
            p.store.failures.record("process", where, "bad_line", why)
        records = [(line.where, line.record) for line in lines if line.record is not None]
        bad += p.add_articles(records)
        for where, reason in bad:
            click.echo(f"line {where.rsplit(':', 1)[1]}: skipped: {reason}", err=True)
        pending = len(p.store.articles.due("fetched", limit=10**9))
        with tqdm(total=pending, desc="process", unit="article", disable=not tty) as bar:
            p.process_backlog(report, bar.update)
        seconds = time.perf_counter() - started
        if not no_alerts:
            report.alerts = p.deliver_alerts()
    rate = report.articles_processed / seconds if seconds > 0 else 0.0
    click.echo(
        report.summary()
        + (f"; {len(bad)} of {len(lines)} lines failed" if bad else "")
        + f"; {seconds:.1f}s for text to log ({rate:.1f} articles/s, model loading excluded)",
        err=True,
    )
    if bad:
        sys.exit(1)  # the lines above say which and why; the rest were processed


@functools.lru_cache(maxsize=4)
def _gazetteer(rules_dir: str) -> Gazetteer:
    from .gazetteer import Gazetteer

    return Gazetteer.load(rules_dir)


def _resolve_entities(settings: Settings, names: tuple[str, ...]) -> list[str]:
    from .gazetteer import names_for_all

    return names_for_all(_gazetteer(settings.nlp.rules_dir), names) if names else []


def _country_entities(settings: Settings, codes: tuple[str, ...]) -> list[str]:
    """The parties and places of these countries; a code or name the gazetteer does not know is a
    usage error (never a dropped filter that returns everything)."""
    from .gazetteer import country_names

    gaz = _gazetteer(settings.nlp.rules_dir)
    names = {c: country_names(gaz, [c]) for c in codes}
    unknown = [c for c, found in names.items() if not found]
    if unknown:
        raise click.BadParameter(f"unknown country {', '.join(map(repr, unknown))}", param_hint="--country")
    return sorted({n for found in names.values() for n in found})


@contextmanager
def _opened(settings: Settings) -> Iterator[Store]:
    """The log, opened for one command and closed after it."""
    from .store import Store

    store = Store.open(settings.storage.db, busy_timeout_ms=settings.storage.busy_timeout_ms, create=False)
    try:
        yield store
    finally:
        store.close()


def _date_arg(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A date filter as the log compares them (``dates.date_filter``)."""
    from .dates import date_filter

    try:
        return date_filter(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def emit(events: list[dict[str, Any]], fmt: str) -> None:
    click.echo(render(events, fmt), nl=False)


@main.command()
@config_option
@click.option(
    "--type", "types", multiple=True, type=click.Choice(EVENT_TYPES), help="Event type (repeatable)."
)
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES), help="Status (repeatable).")
@click.option("--entity", "entities", multiple=True, help="A party, by canonical name or alias (repeatable).")
@click.option("--country", "countries", multiple=True, help="ISO country code or name of a party or place.")
@click.option("--since", callback=_date_arg, help="Event date on or after (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--until", callback=_date_arg, help="Event date on or before (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--seen-since", callback=_date_arg, help="First seen on or after (YYYY-MM-DD).")
@click.option("--seen-until", callback=_date_arg, help="First seen on or before (YYYY-MM-DD).")
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
    settings = _settings(config_path)
    with _opened(settings) as store:
        result = store.queries.query_events(
            types=types,
            statuses=statuses,
            entities=_resolve_entities(settings, entities),
            country_entities=_country_entities(settings, countries),
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
    settings = _settings(config_path)
    with _opened(settings) as store:
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
    settings = _settings(config_path)
    with _opened(settings) as store:
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
    settings = _settings(config_path)
    with _opened(settings) as store:
        result = store.queries.query_events(entities=_resolve_entities(settings, (name,)))
    result.sort(key=lambda e: (e["event_date"] or e["first_seen"][:10], e["id"]))
    emit(result, fmt)


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(config_path: str | None, as_json: bool) -> None:
    """Feeds (last success, last error, next poll, backoff), queues, outbox, webhooks, database size."""
    settings = _settings(config_path)
    with _opened(settings) as store:
        st = store.queries.status()
    click.echo(json.dumps(st, indent=2, default=str) if as_json else render_status(st))


@main.command()
@config_option
def healthcheck(config_path: str | None) -> None:
    """Exit 0 when the daemon keeps up; else 1, with each reason (for a monitor or a container)."""
    from .health import problems

    settings = _settings(config_path)
    with _opened(settings) as store:
        found, seen = problems(settings, store)
    if found:
        for p in found:
            click.echo(f"unhealthy: {p}", err=True)
        sys.exit(1)
    click.echo(
        f"ok: {seen['feeds']} feeds, last poll {seen['last_poll'] or '-'}, outbox {json.dumps(seen['outbox'])}"
    )


@main.command("resume-alerts")
@config_option
@click.argument("route", default="slack")
def resume_alerts(config_path: str | None, route: str) -> None:
    """Re-queue a stopped webhook's parked alerts once its URL is fixed."""
    settings = _settings(config_path)
    with _opened(settings) as store:
        n = store.outbox.resume(route)
    click.echo(f"{n} alerts re-queued for {route}")


@main.command()
@config_option
@click.option(
    "--stage",
    type=click.Choice(ARTICLE_STAGES),
    default=None,
    help="Only the articles whose last failure was at this stage.",
)
def retry(config_path: str | None, stage: str | None) -> None:
    """Re-queue the articles that failed for good, once their cause is fixed."""
    settings = _settings(config_path)
    with _opened(settings) as store:
        n = store.articles.retry(stage)
    click.echo(f"{n} failed articles re-queued" + (f" (stage {stage})" if stage else ""))


@main.command()
@config_option
@click.argument("path", type=click.Path(dir_okay=False))
def backup(config_path: str | None, path: str) -> None:
    """Copy the log (VACUUM INTO), then check the copy's integrity."""
    settings = _settings(config_path)
    with _opened(settings) as store:
        try:
            result = store.queries.backup(path)
        except FileExistsError as exc:
            raise click.ClickException(f"{path} exists") from exc
        except OSError as exc:  # no such folder, not writable, disk full: nothing is left behind
            raise click.ClickException(f"backup to {path} failed: {exc.strerror or exc}") from exc
    click.echo(json.dumps(result))
    if result["integrity"] != "ok":
        sys.exit(1)


@main.command("eval")
@config_option
@click.argument("gold", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--show/--no-show", default=True, help="List misses and false events.")
def eval_cmd(config_path: str | None, gold: str, as_json: bool, show: bool) -> None:
    """Score the product on labelled articles (the ../shared/dev format): its own path into a temporary
    log, the export scored as ../shared/tools/score.py scores it."""
    from .evaluation import evaluate, format_report

    settings = _settings(config_path)
    try:
        result = evaluate(settings, gold)
    except ValueError as exc:  # a malformed gold file: its line and what is wrong
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result, indent=2) if as_json else format_report(result, show=show))


@main.command()
@config_option
@click.option(
    "--data",
    "paths",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Labelled articles (JSONL in the schema of ../shared/dev, with evidence); repeatable.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False), default=None, help="Model file (default: the configured one)."
)
@click.option(
    "--merge-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Merge decision file (default: the configured one; none when dedup.model is empty).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the folds and the fits.")
def train(
    config_path: str | None, paths: tuple[str, ...], out: str | None, merge_out: str | None, seed: int
) -> None:
    """Rebuild the event decisions and the merge decision from labelled articles, cross-validated by
    event cluster."""
    from .errors import TradewireError
    from .training.fit import Params
    from .training.train import train as run_training

    settings = _settings(config_path)
    try:
        run_training(
            list(paths),
            out or settings.nlp.decisions,
            settings.nlp,
            Params(seed=seed),
            say=click.echo,
            merge_out=merge_out or settings.dedup.model or None,
            full=settings,
        )
    except (TradewireError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
def demo() -> None:
    """Serve the bundled demo news site on loopback, run one cycle against it, print events and the alert."""
    from .demo import run_demo

    run_demo()


@main.command()
@config_option
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535))
@click.option("--host", default="127.0.0.1", show_default=True)
def serve(config_path: str | None, port: int, host: str) -> None:
    """Datasette on the log, read-only, with metadata and canned queries (needs the datasette extra)."""
    from .serve import serve_datasette

    settings = _settings(config_path)
    serve_datasette(settings, host=host, port=port)


@main.command("config")
@click.option("--markdown", is_flag=True, help="As the README's Markdown table.")
def config_cmd(markdown: bool) -> None:
    """Print every setting with its default, help and environment variable (the README's reference)."""
    if markdown:
        click.echo("| key | environment variable | default | meaning |\n| --- | --- | --- | --- |")
    for key, default, help_text in reference():
        var = "" if "[]" in key else env_name(key)
        if markdown:
            click.echo(
                f"| `{key}` | {f'`{var}`' if var else '(file only)'} | `{default}` | {help_text.replace('|', '/')} |"
            )
        else:
            click.echo(f"{key} = {default}\n    {help_text}" + (f"\n    env: {var}" if var else ""))


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
