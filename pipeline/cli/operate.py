"""Commands operators keep the daemon with: status, health, re-queueing, backups, the settings."""

from __future__ import annotations

import json
import sys

import click

from ..config import env_name, reference
from ..export import render_status
from ..vocab import ARTICLE_STAGES
from .base import (
    config_option,
    main,
    opened,
    settings_of,
)


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(config_path: str | None, as_json: bool) -> None:
    """Feeds (last success, last error, next poll, backoff), queues, outbox, webhooks, database size."""
    settings = settings_of(config_path)
    with opened(settings) as store:
        st = store.queries.status()
    click.echo(json.dumps(st, indent=2, default=str) if as_json else render_status(st))


@main.command()
@config_option
def healthcheck(config_path: str | None) -> None:
    """Exit 0 when the daemon keeps up; else 1, with each reason (for a monitor or a container)."""
    from ..health import problems

    settings = settings_of(config_path)
    with opened(settings) as store:
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
    settings = settings_of(config_path)
    with opened(settings) as store:
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
    settings = settings_of(config_path)
    with opened(settings) as store:
        n = store.articles.retry(stage)
    click.echo(f"{n} failed articles re-queued" + (f" (stage {stage})" if stage else ""))


@main.command()
@config_option
@click.argument("path", type=click.Path(dir_okay=False))
def backup(config_path: str | None, path: str) -> None:
    """Copy the log (VACUUM INTO), then check the copy's integrity."""
    settings = settings_of(config_path)
    with opened(settings) as store:
        try:
            result = store.queries.backup(path)
        except FileExistsError as exc:
            raise click.ClickException(f"{path} exists") from exc
        except OSError as exc:  # no such folder, not writable, disk full: nothing is left behind
            raise click.ClickException(f"backup to {path} failed: {exc.strerror or exc}") from exc
    click.echo(json.dumps(result))
    if result["integrity"] != "ok":
        sys.exit(1)


@main.command("config")
@click.option("--markdown", is_flag=True, help="As the README's Markdown table.")
def config_cmd(markdown: bool) -> None:
    """Print every setting with its default, help and environment variable (the README's reference)."""
    if markdown:
        click.echo("| key | environment variable | default | meaning |\n| --- | --- | --- | --- |")
    for key, default, help_text in reference():
        var, whole = env_name(key), " (the whole array, in TOML)" if "[]" in key else ""
        if markdown:
            click.echo(f"| `{key}` | `{var}`{whole} | `{default}` | {help_text.replace('|', '/')} |")
        else:
            click.echo(f"{key} = {default}\n    {help_text}\n    env: {var}{whole}")
