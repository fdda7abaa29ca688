"""``run.py watch``: watch-lists kept in the log, per alert route, beside the configuration's."""

from __future__ import annotations

import getpass

import click

from ..config import Settings
from .base import config_option, gazetteer, main, opened, settings_of


@main.group()
def watch() -> None:
    """Restrict an alert route to events naming watched entities (aliases included)."""


def _route(settings: Settings, route: str) -> str:
    names = [r.name for r in settings.alerts.all_routes()]
    if route not in names:
        raise click.BadParameter(f"no route {route!r} (configured: {', '.join(names)})", param_hint="--route")
    return route


ROUTE = click.option("--route", default="slack", show_default=True, help="The alert route.")


@watch.command("add")
@config_option
@click.argument("entity")
@ROUTE
@click.option("--by", "added_by", default=None, help="Who adds it (default: the user running the command).")
def add(config_path: str | None, entity: str, route: str, added_by: str | None) -> None:
    """Watch ENTITY on a route: from now on the route alerts only events naming a watched entity."""
    settings = settings_of(config_path)
    _route(settings, route)
    name = entity.strip()
    if not name or len(name) > 200:
        raise click.BadParameter("an entity name of 1 to 200 characters", param_hint="ENTITY")
    gaz = gazetteer(settings.nlp.rules_dir)
    canonical = gaz.canonical(name)
    with opened(settings, create=True) as store:  # a watch may come before the daemon's first run
        new = store.watches.add(route, name, canonical, added_by or getpass.getuser())
        count = len(store.watches.listed(route))
    known = "" if gaz.resolve(name) else " (not in the gazetteer: matched as written, in any case)"
    shown = canonical if canonical == name else f"{canonical} (as {name!r})"
    click.echo(f"{'watching' if new else 'already watching'} {shown} on {route}{known}")
    configured = next(r for r in settings.alerts.all_routes() if r.name == route).entities
    click.echo(
        f"route {route} now alerts only events naming one of {count + len(configured)} watched entities",
        err=True,
    )


@watch.command("remove")
@config_option
@click.argument("entity")
@ROUTE
def remove(config_path: str | None, entity: str, route: str) -> None:
    """Stop watching ENTITY (any of its names) on a route."""
    settings = settings_of(config_path)
    _route(settings, route)
    gaz = gazetteer(settings.nlp.rules_dir)
    with opened(settings) as store:
        n = store.watches.remove(route, sorted({entity, gaz.canonical(entity)}))
    if not n:
        raise click.ClickException(f"{entity!r} is not watched on {route}")
    click.echo(f"no longer watching {gaz.canonical(entity)} on {route}")


@watch.command("list")
@config_option
@click.option("--route", default=None, help="Only this route.")
def list_cmd(config_path: str | None, route: str | None) -> None:
    """The watched entities per route: the configuration's and the log's."""
    settings = settings_of(config_path)
    if route:
        _route(settings, route)
    with opened(settings) as store:
        rows = store.watches.listed(route)
    for r in settings.alerts.all_routes():
        if route in (None, r.name):
            for e in r.entities:
                click.echo(f"{r.name:12}  {e:40}  (configuration)")
    for w in rows:
        typed = f" (as {w['entity']!r})" if w["entity"] != w["canonical"] else ""
        click.echo(
            f"{w['route']:12}  {w['canonical'] + typed:40}  {w['added_by'] or '-'}, {w['added_at'][:16]}"
        )
