"""``run.py feeds``: the feed list in and out as OPML, the format feed readers keep it in."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import click

from ..config import load_settings
from ..opml import CATEGORIES, as_toml, export, import_feeds
from .base import config_option, main, settings_of


@main.group()
def feeds() -> None:
    """Import feeds from an OPML file (a feed reader's export), or export the configured ones."""


@feeds.command("import")
@config_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--category",
    type=click.Choice(CATEGORIES),
    default="crypto",
    show_default=True,
    help="Category of a feed whose outline and folders name neither.",
)
@click.option(
    "--append",
    is_flag=True,
    help="Append the new [[feeds]] to the --config file (checked first); else print them.",
)
def import_cmd(config_path: str | None, path: str, category: str, append: bool) -> None:
    """Read an OPML file's feeds: print them as [[feeds]] tables, or append them to the configuration.
    Feeds the configuration already lists are left out; a document type declaration is refused."""
    if append and not config_path:
        raise click.UsageError("--append writes to the configuration file: give it with --config")
    settings = settings_of(config_path)
    result = import_feeds(Path(path).read_bytes(), settings.feeds, category)
    for why in result.skipped:
        click.echo(f"skipped: {why}", err=True)
    block = as_toml(result.feeds)
    if not append:
        click.echo(block, nl=False)
    elif result.feeds:
        _append(Path(config_path or ""), block)
    click.echo(
        f"{len(result.feeds)} feeds {'appended to ' + str(config_path) if append else 'read'}"
        f", {len(result.skipped)} skipped",
        err=True,
    )


def _append(config: Path, block: str) -> None:
    """Append to the configuration file only what leaves it valid, in one rename (never half-written)."""
    old = config.read_text(encoding="utf-8")
    new = old.rstrip("\n") + "\n\n" + block
    fd, tmp = tempfile.mkstemp(prefix=".tradewire-", suffix=".toml", dir=config.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new)
        shutil.copymode(config, tmp)
        load_settings(tmp)  # the whole file, as the daemon will read it
        os.replace(tmp, config)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@feeds.command("export")
@config_option
def export_cmd(config_path: str | None) -> None:
    """Print the configured feeds as OPML 2.0, one folder per category (for a feed reader)."""
    click.echo(export(settings_of(config_path).feeds), nl=False)
