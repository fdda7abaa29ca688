"""The command line's base: the ``main`` group, the ``--config`` option and the helpers every command
shares (opening the log, resolving entities and countries, date arguments)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..gazetteer import Gazetteer
    from ..store import Store

from ..config import ConfigError, Settings, load_settings
from ..export import render

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


def settings_of(config_path: str | None) -> Settings:
    try:
        return load_settings(config_path)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


class _Group(click.Group):
    """Commands whose set-up fails on a broken rule or model file answer with its one-line reason."""

    def invoke(self, ctx: click.Context) -> Any:
        from ..errors import TradewireError
        from ..store import DatabaseError

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


@functools.lru_cache(maxsize=4)
def gazetteer(rules_dir: str) -> Gazetteer:
    from ..gazetteer import Gazetteer

    return Gazetteer.load(rules_dir)


def resolve_entities(settings: Settings, names: tuple[str, ...]) -> list[str]:
    from ..gazetteer import filter_names

    return filter_names(gazetteer(settings.nlp.rules_dir), names, ())[0]


def country_entities(settings: Settings, codes: tuple[str, ...]) -> list[str]:
    """The parties and places of these countries; one the gazetteer does not know is a usage error."""
    from ..gazetteer import filter_names

    try:
        return filter_names(gazetteer(settings.nlp.rules_dir), (), codes)[1]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--country") from None


@contextmanager
def opened(settings: Settings, create: bool = False) -> Iterator[Store]:
    """The log, opened for one command and closed after it (a missing one is an error unless ``create``)."""
    from ..store import Store

    store = Store.open(settings.storage.db, busy_timeout_ms=settings.storage.busy_timeout_ms, create=create)
    try:
        yield store
    finally:
        store.close()


def date_arg(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A date filter as the log compares them (``dates.date_filter``)."""
    from ..dates import date_filter

    try:
        return date_filter(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def emit(events: list[dict[str, Any]], fmt: str) -> None:
    click.echo(render(events, fmt), nl=False)
