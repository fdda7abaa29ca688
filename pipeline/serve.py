"""``run.py serve``: Datasette on the event log, read-only, with metadata, facets and canned queries.

It serves the log and nothing else, within limits: the analyst tables and views (``SERVED``) and the
canned queries; the operational tables and full article texts are denied unless a setting says so;
visitors' own SQL is off by default; rows, query time and response size are capped (the guard plugin
refuses a larger body with 413); no page under ``/-/`` (versions, paths, settings) and no database
download; a non-loopback host only with an access token; the Datasette child ends with ``serve``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .config import ServeSettings, Settings, secret_env
from .errors import ConfigError
from .gazetteer import Gazetteer, alias_pairs
from .store import Store
from .store.annotations import annotations_path

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
        "description": "Every event naming an entity (by any of its names: BIS, Commerce Department, ...), oldest first.",
        "sql": "select e.id, e.type, e.status, e.event_date, ee.entity, ee.role, e.evidence from event_entities ee "
        "join events e on e.id = ee.event_id where ee.entity = :entity collate nocase "
        "or ee.entity in (select canonical from entity_aliases where alias = :entity) "
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


# what the UI serves: the log as analysts read it; operational tables (feeds with their URLs, entries,
# the outbox with webhook answers, failures, migrations) and full article texts stay out
SERVED = (
    "events",
    "sources",
    "event_entities",
    "event_list",
    "event_sources",
    "entity_events",
    "entity_aliases",
)
ARTICLES_QUERY = {
    "title": "Articles",
    "description": "Articles seen (titles and URLs; texts are not served), newest first.",
    "sql": "select id, url, title, outlet, published, story_id, state, event_count from articles "
    "order by coalesce(processed_at, queued_at) desc limit 200",
}
LOOPBACK = ("127.0.0.1", "::1", "localhost")
TABLE_DOCS = {  # what each served table is, and its facets
    "events": (
        "One row per real-world event. actors/targets are JSON lists of canonical names.",
        ("type", "status"),
    ),
    "sources": ("Each article that reported an event, with its evidence sentences.", ("outlet", "status")),
    "event_entities": ("Event-entity links (role: actor or target).", ("role", "entity")),
    "entity_aliases": ("Every name the gazetteer knows for an entity, beside its canonical name.", ()),
    "event_list": ("The log as an analyst reads it, newest first.", ("type", "status")),
    "articles": ("Articles seen, with their processing state.", ("state", "feed")),
}

# The guard Datasette loads from a plugins folder (its settings come through the environment): one
# access token when configured, no instance pages under /-/ (versions, paths, settings, plugins), and
# no response body over the limit.
GUARD_PLUGIN = """
import base64, hmac, os
from datasette import hookimpl

MAX = int(os.environ.get("TRADEWIRE_SERVE_MAX_BYTES", "10000000"))
TOKEN = os.environ.get(os.environ.get("TRADEWIRE_SERVE_TOKEN_ENV", "") or "-", "")


def _given(scope):
    auth = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
    if auth.startswith("Bearer "):
        return auth[7:]
    if auth.startswith("Basic "):
        try:
            return base64.b64decode(auth[6:]).decode("utf-8").partition(":")[2]
        except Exception:
            return ""
    return ""


async def _reply(send, status, text, extra=()):
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + list(extra)})
    await send({"type": "http.response.body", "body": body})


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def guarded(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            if TOKEN and not hmac.compare_digest(_given(scope).encode(), TOKEN.encode()):
                return await _reply(send, 401, "authentication required\\n", [(b"www-authenticate", b'Basic realm="tradewire"')])
            path = scope.get("path", "")
            if path.startswith("/-/") and not path.startswith(("/-/static/", "/-/static-plugins/")):
                return await _reply(send, 404, "not found\\n")
            held = {"start": None, "body": [], "size": 0, "cut": False}

            async def capped(message):
                # held until complete: a body over the limit is refused whole (413), never cut short
                if held["cut"]:
                    return
                if message["type"] == "http.response.start":
                    held["start"] = message
                    return
                if message["type"] != "http.response.body":
                    return await send(message)
                chunk = message.get("body", b"")
                held["size"] += len(chunk)
                if held["size"] > MAX:
                    held["cut"] = True
                    return await _reply(send, 413, "response too large: narrow the query or lower _size\\n")
                held["body"].append(chunk)
                if not message.get("more_body", False):
                    await send(held["start"])
                    await send({"type": "http.response.body", "body": b"".join(held["body"])})

            await app(scope, receive, capped)

        return guarded

    return wrap
"""

# Feeds of events (pipeline/webfeeds.py) as Datasette routes; the log read on a read-only connection
# of each request's own, off the event loop.
FEEDS_PLUGIN = """
import asyncio, os, urllib.parse
from datasette import hookimpl
from datasette.utils.asgi import Response
from pipeline import webcharts, webfeeds, webtriage
from pipeline.gazetteer import Gazetteer

ANNOTATIONS = os.environ.get("TRADEWIRE_SERVE_ANNOTATIONS", "")

MAX_ROWS = int(os.environ.get("TRADEWIRE_SERVE_MAX_ROWS", "500"))
RULES = os.environ.get("TRADEWIRE_SERVE_RULES", "")
_GAZ = []


def _gazetteer():
    if not _GAZ:
        _GAZ.append(Gazetteer.load(RULES) if RULES else None)
    return _GAZ[0]


async def _events(request, datasette):
    params = {k: request.args.getlist(k) for k in request.args.keys()}
    q = webfeeds.parse_query(params, MAX_ROWS)
    gaz = await asyncio.to_thread(_gazetteer)
    db = datasette.get_database()
    return db, q, await asyncio.to_thread(webfeeds.read_events, db.path, q, gaz)


async def atom(request, datasette):
    try:
        db, q, events = await _events(request, datasette)
    except ValueError as exc:
        return Response.text(str(exc) + "\\n", status=400)
    base = datasette.absolute_url(request, "/").rstrip("/")
    body = webfeeds.atom(events, q, base_url=base, self_url=datasette.absolute_url(request, request.full_path), db_name=db.name)
    return Response(body, content_type="application/atom+xml; charset=utf-8")


async def jsonl(request, datasette):
    try:
        _db, _q, events = await _events(request, datasette)
    except ValueError as exc:
        return Response.text(str(exc) + "\\n", status=400)
    return Response(webfeeds.jsonl(events), content_type="application/x-ndjson; charset=utf-8")


async def event(request, datasette):
    return Response.redirect(f"/{datasette.get_database().name}/events/{int(request.url_vars['id'])}")


async def annotate(request, datasette):
    eid = int(request.url_vars["id"])
    db = datasette.get_database()
    user = webtriage.basic_user(request.headers.get("authorization", ""))
    message, status = "", 200
    if request.method == "POST":
        body = await request.post_body()
        if len(body) > webtriage.MAX_FORM_BYTES:
            return Response.text("form too large\\n", status=413)
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        try:
            a = webtriage.annotation_from_form(eid, form, user)
            n = await asyncio.to_thread(webtriage.record, db.path, ANNOTATIONS, a)
            message = f"annotation {n} saved: {a.verdict}"
        except ValueError as exc:
            message, status = str(exc), 400
    try:
        event, history = await asyncio.to_thread(webtriage.page_data, db.path, ANNOTATIONS, eid)
    except KeyError:
        return Response.text(f"no event {eid}\\n", status=404)
    token = request.scope["csrftoken"]()
    page = webtriage.page(event, history, csrftoken=token, user=user, db_name=db.name, message=message)
    return Response.html(page, status=status)


async def charts(request, datasette):
    db = datasette.get_database()
    data = await asyncio.to_thread(webcharts.chart_data, db.path, await asyncio.to_thread(_gazetteer))
    return Response.html(webcharts.page(data, db.name))


@hookimpl
def register_routes():
    return [
        (r"^/feeds/events\\.atom$", atom),
        (r"^/feeds/events\\.jsonl$", jsonl),
        (r"^/event/(?P<id>[0-9]{1,18})$", event),
        (r"^/annotate/(?P<id>[0-9]{1,18})$", annotate),
        (r"^/charts$", charts),
    ]
"""


def metadata(db_name: str, tables: list[str], serve: ServeSettings) -> dict[str, Any]:
    """Datasette metadata: descriptions, facets, canned queries, and every table that is not the
    log's analyst view denied (``allow: false``: neither listed nor served)."""
    served = set(SERVED) | ({"articles"} if serve.full_text else set())
    described = {
        name: {
            "description": about,
            "facets": list(facets),
            **({"sort_desc": "first_seen"} if name == "events" else {}),
        }
        for name, (about, facets) in TABLE_DOCS.items()
    }
    table_meta = {t: described.get(t, {}) for t in tables if t in served}
    table_meta.update({t: {"allow": False, "hidden": True} for t in tables if t not in served})
    queries = dict(CANNED)
    if not serve.full_text:
        queries["article_list"] = ARTICLES_QUERY
    return {
        "title": "tradewire event log",
        "description": "Sanctions listings and removals, tariff actions and factory milestones extracted from news; "
        "one real-world event per row.",
        "databases": {
            db_name: {
                "queries": queries,
                "tables": table_meta,
                **({} if serve.allow_sql else {"allow_sql": False}),
            }
        },
    }


def serve_command(
    settings: Settings, host: str, port: int, metadata_path: str, plugins_dir: str
) -> list[str]:
    """The Datasette command, run from the log's folder (no absolute path reaches a page)."""
    serve = settings.serve
    return [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        Path(settings.storage.db).name,
        "--host",
        host,
        "--port",
        str(port),
        "--metadata",
        metadata_path,
        "--plugins-dir",
        plugins_dir,
        *[
            x
            for k, v in (
                ("sql_time_limit_ms", serve.time_limit_ms),
                ("max_returned_rows", serve.max_rows),
                ("default_page_size", min(100, serve.max_rows)),
                ("max_csv_mb", max(1, int(serve.max_response_mb))),
                ("allow_download", "off"),
                ("allow_csv_stream", "off"),
                ("default_allow_sql", "on" if serve.allow_sql else "off"),
                ("template_debug", "off"),
                ("trace_debug", "off"),
            )
            for x in ("--setting", k, str(v))
        ],
    ]


def check_host(host: str, serve: ServeSettings, env: Mapping[str, str]) -> None:
    """A host other than loopback is served only behind the access token."""
    if host not in LOOPBACK and not host.startswith("127.") and not env.get(serve.token_env):
        raise ConfigError(
            f"serve --host {host}: not a loopback address, and {serve.token_env} (the access token) is not "
            "set: set it, or serve on 127.0.0.1 behind an authenticating proxy"
        )


def serve_datasette(settings: Settings, host: str = "127.0.0.1", port: int = 8001) -> int:
    """Run Datasette on the log until it ends or this process is told to stop (SIGTERM, SIGINT): the
    child ends with it, also if this process is killed (Linux: the parent-death signal)."""
    try:
        import datasette  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise SystemExit("Datasette is not installed: pip install -e '.[datasette]'") from exc
    secrets = secret_env()
    check_host(host, settings.serve, secrets)
    store = Store.open(settings.storage.db, create=False)  # a log that exists; migrations applied
    try:  # the names the UI's entity search knows, as rules/ has them now (before the web server reads)
        store.entities.sync_aliases(alias_pairs(Gazetteer.load(settings.nlp.rules_dir)))
        tables = store.queries.relations()
    finally:
        store.close()
    db = Path(settings.storage.db).resolve()
    with tempfile.TemporaryDirectory(prefix="tradewire-serve-") as tmp:
        meta = Path(tmp) / "metadata.json"
        meta.write_text(json.dumps(metadata(db.stem, tables, settings.serve)), encoding="utf-8")
        plugins = Path(tmp) / "plugins"
        plugins.mkdir()
        (plugins / "tradewire_guard.py").write_text(GUARD_PLUGIN, encoding="utf-8")
        (plugins / "tradewire_feeds.py").write_text(FEEDS_PLUGIN, encoding="utf-8")
        env = {
            **os.environ,
            "TRADEWIRE_SERVE_MAX_BYTES": str(int(settings.serve.max_response_mb * 1_000_000)),
            "TRADEWIRE_SERVE_TOKEN_ENV": settings.serve.token_env,
            "TRADEWIRE_SERVE_MAX_ROWS": str(settings.serve.max_rows),
            "TRADEWIRE_SERVE_RULES": settings.nlp.rules_dir,
            "TRADEWIRE_SERVE_ANNOTATIONS": annotations_path(db),
        }
        token = secrets.get(settings.serve.token_env)
        if token:  # read from a file or a credential: the guard reads it from its variable
            env[settings.serve.token_env] = token
        child = subprocess.Popen(
            serve_command(settings, host, port, str(meta), str(plugins)),
            cwd=db.parent,
            env=env,
            preexec_fn=_die_with_parent,
        )

        def stop(signum: int, _frame: Any) -> None:
            child.terminate()

        old = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            return child.wait()
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the child gets SIGTERM when its parent dies, however it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
