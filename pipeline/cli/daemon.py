"""Commands that run the pipeline: the daemon, one cycle, a backfill, the demo, evaluation and training."""

from __future__ import annotations

import json
import sys
import time

import click

from ..logs import setup_logging
from .base import (
    SECONDS,
    config_option,
    main,
    settings_of,
)


@main.command()
@config_option
@click.option(
    "--tick", default=30.0, show_default=True, type=SECONDS, help="Seconds between scheduler ticks."
)
@click.option("-v", "--verbose", is_flag=True)
def run(config_path: str | None, tick: float, verbose: bool) -> None:
    """The daemon: poll each feed on its interval, process new articles, deliver alerts."""
    from ..flow import Pipeline
    from ..scheduler import run_forever

    settings = settings_of(config_path)
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
    from ..flow import Pipeline

    settings = settings_of(config_path)
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

    from .. import backfill
    from ..flow import CycleReport, Pipeline

    settings = settings_of(config_path)
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


@main.command()
def demo() -> None:
    """Serve the bundled demo news site on loopback, run one cycle against it, print events and the alert."""
    from ..demo import run_demo

    run_demo()


@main.command("eval")
@config_option
@click.argument("gold", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--show/--no-show", default=True, help="List misses and false events.")
def eval_cmd(config_path: str | None, gold: str, as_json: bool, show: bool) -> None:
    """Score the product on labelled articles (the ../shared/dev format): its own path into a temporary
    log, the export scored as ../shared/tools/score.py scores it."""
    from ..evaluation import evaluate, format_report

    settings = settings_of(config_path)
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
    from ..errors import TradewireError
    from ..training.fit import Params
    from ..training.train import train as run_training

    settings = settings_of(config_path)
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
