"""Stage 7: Slack alerts from the outbox.

The outbox row is written with the event (``store.events.commit_article``); this stage only delivers.
In order, at most one message per ``min_interval_seconds`` per webhook; network errors, 5xx and 429
are retried with capped exponential backoff (Retry-After honoured); a 400 parks the alert with its
reason; 403, 404 and 410 stop the webhook until ``tradewire resume-alerts``. The webhook URL is read
from the environment at send time and never logged.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote as percent_encode
from urllib.parse import urlsplit

from .config import AlertSettings, ConfigError, RouteSettings, SecretEnv, secret_env
from .dates import from_iso
from .errors import AlertStateError, FetchError, HTTPStatusError, InvalidURL
from .fetch import Fetcher, web_url
from .gazetteer import Gazetteer
from .records import EventMention
from .vocab import TYPE_LABEL

if TYPE_CHECKING:
    from .store.outbox import OutboxStore
    from .store.queries import Queries

log = logging.getLogger("tradewire.alerts")
T = TypeVar("T")

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FALLBACK = 4000


def escape(text: str) -> str:
    """Slack mrkdwn escaping of feed text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_URL_SAFE = "/:?#[]@!$&'()*+,;=%~"  # kept as they are; "&" is then escaped as Slack asks


def link(url: Any, title: str) -> str:
    """A Slack link to a feed-supplied URL, or the label alone when the URL is not a plain http(s) URL
    with a host. Every character that could close or split the link (``>``, ``|``, spaces, quotes) is
    percent-encoded and the label is escaped, so no feed can make a mention, a channel ping or a link
    label of its own."""
    label = escape(title).replace("|", "¦")
    if not isinstance(url, str) or any(ord(c) < 32 or ord(c) == 127 for c in url):
        return label
    try:
        web_url(url)
    except InvalidURL:
        return label
    return f"<{escape(percent_encode(url, safe=_URL_SAFE))}|{label}>"


def scrub(text: str, secret_url: str) -> str:
    """``text`` (a webhook's answer, an error) without the webhook URL or any part of its path: a
    Slack error body can echo the token, and what is stored is served and logged."""
    out = text.replace(secret_url, "<webhook>") if secret_url else text
    try:
        parts = [p for p in urlsplit(secret_url).path.split("/") if len(p) >= 6]
    except ValueError:
        parts = []
    for p in sorted(parts, key=len, reverse=True):
        out = out.replace(p, "…")
    return out


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_message(event: Mapping[str, Any], ui_url: str = "") -> dict[str, Any]:
    """Block Kit message with a plain-text fallback, within Slack's limits; with ``ui_url`` (the
    analyst UI's address) the event's page, its annotation form and the Atom feed of its type and
    authority are linked."""
    label = TYPE_LABEL.get(event["type"], event["type"])
    actors = ", ".join(event.get("actors") or []) or "unknown authority"
    targets = event.get("targets") or []
    head = f"{label} ({event['status']}): {actors}"
    fallback = escape(
        f"{head}. Parties: {', '.join(targets) or 'not named'}. Date: {event.get('event_date') or 'not stated'}."
    )
    sources = event.get("sources") or []
    quote = ""
    if sources and sources[0].get("evidence"):
        quote = sources[0]["evidence"][0]["sentence"]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(head, 150), "emoji": False}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _cut(f"*Authority*\n{escape(actors)}", 2000)},
                {
                    "type": "mrkdwn",
                    "text": _cut(f"*Event date*\n{escape(event.get('event_date') or 'not stated')}", 2000),
                },
                {"type": "mrkdwn", "text": f"*Status*\n{escape(event['status'])}"},
                {"type": "mrkdwn", "text": f"*Confidence*\n{float(event.get('confidence') or 0):.2f}"},
            ],
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _cut("*Listed parties*\n" + escape("; ".join(targets) or "not named"), MAX_SECTION),
            },
        },
    ]
    if quote:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut("> " + escape(quote), MAX_SECTION)}}
        )
    links: list[str] = []
    room = MAX_SECTION - len("*Sources*\n")
    for s in sources[:10]:
        title = str(s.get("title") or s.get("url") or "")[:150]
        line = f"{link(s.get('url'), title)} ({escape(str(s.get('outlet') or '')[:80])})"
        if len(line) + 1 > room:
            line = f"{escape(title)} ({escape(str(s.get('outlet') or '')[:80])})"  # no link cut in half
            if len(line) + 1 > room:
                break
        links.append(line)
        room -= len(line) + 1
    if links:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _cut("*Sources*\n" + "\n".join(links), MAX_SECTION)},
            }
        )
    footer = f"tradewire event #{event['id']}"
    base = ui_url.rstrip("/")
    if base:  # a link is made only of a plain http(s) URL (``link``); else the footer stays text
        feed = f"{base}/feeds/events.atom?type={percent_encode(event['type'])}" + "".join(
            f"&entity={percent_encode(a, safe='')}" for a in (event.get("actors") or [])[:1]
        )
        eid = str(event["id"])
        footer = " · ".join(
            (
                link(f"{base}/event/{eid}", footer),
                link(f"{base}/annotate/{eid}", "annotate"),
                link(feed, "feed of these"),
            )
        )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    return {"text": _cut(fallback, MAX_FALLBACK), "blocks": blocks[:MAX_BLOCKS]}


def active_routes(settings: AlertSettings, env: Mapping[str, str] | None = None) -> list[RouteSettings]:
    """The routes whose webhook URL is set (in its variable, a ``*_FILE`` or a systemd credential)."""
    env = secret_env(env)
    return [r for r in settings.all_routes() if webhook_url(r, env)]


def webhook_url(route: RouteSettings, env: SecretEnv) -> str:
    """The route's webhook URL, "" when unset; a secret file that cannot be read is logged (its path,
    never its content) and leaves the route off."""
    try:
        return env.get(route.webhook_env) or ""
    except ConfigError as exc:
        log.error("alerts: route %s is off: %s", route.name, exc)
        return ""


def route_matcher(
    settings: AlertSettings,
    gazetteer: Gazetteer | None,
    env: Mapping[str, str] | None = None,
    watched: Mapping[str, list[str]] | None = None,
) -> Callable[[dict[str, Any]], list[str]]:
    """A function naming the routes a new event alerts on. A route's watch-list is its configured
    ``entities`` and the ones ``watched`` (the log's, ``run.py watch``) gives it, each with every
    alias the gazetteer knows; a route with a watch-list alerts only events naming one of them."""
    routes = active_routes(settings, env)
    watched = watched or {}

    def watch(route: RouteSettings) -> set[str]:
        names: set[str] = set()
        for n in (*route.entities, *watched.get(route.name, ())):
            names.update(x.lower() for x in (gazetteer.names_for(n) if gazetteer else [n]))
        return names

    watches = {r.name: watch(r) for r in routes}

    def routes_for(event: dict[str, Any]) -> list[str]:
        out = []
        for r in routes:
            if event["type"] not in r.types or event["status"] not in r.statuses:
                continue
            if float(event.get("confidence") or 0) < r.min_confidence:
                continue
            w = watches[r.name]
            if w and not ({x.lower() for x in event["actors"] + event["targets"]} & w):
                continue
            out.append(r.name)
        return out

    return routes_for


def routing_view(m: EventMention) -> dict[str, Any]:
    """What routing reads of a new event, from its first mention (decided before the commit)."""
    return {
        "type": m.type,
        "status": m.status,
        "confidence": m.confidence,
        "actors": list(m.actors),
        "targets": list(m.targets),
    }


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    parked: int = 0
    stopped: list[str] = field(default_factory=list)
    halted: str | None = None  # why delivery stopped this cycle: the log could not record a state
    uncertain: int = 0  # claims left by a process that died mid-send, parked unsent


class Delivery:
    """Drains the outbox. ``stop`` (a threading.Event) interrupts waits."""

    def __init__(
        self,
        settings: AlertSettings,
        outbox: OutboxStore,
        queries: Queries,
        fetcher: Fetcher,
        env: Mapping[str, str] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.queries = queries
        self.fetcher = fetcher
        self.env = secret_env(env)
        self.stop = stop or threading.Event()
        self._last_sent: dict[str, float] = {}

    def deliver(self, drain_seconds: float | None = None) -> DeliveryReport:
        """Send what is due; wait for retries that fall due within ``drain_seconds``."""
        drain = self.settings.drain_seconds if drain_seconds is None else drain_seconds
        deadline = time.monotonic() + drain
        report = DeliveryReport()
        try:
            report.uncertain = self._state(self.outbox.uncertain, self.settings.claim_timeout_seconds)
            if report.uncertain:
                log.warning(
                    "alerts: %d alert(s) claimed by a process that stopped mid-send were parked, not "
                    "sent again (status shows them; resume-alerts re-queues them)",
                    report.uncertain,
                )
            for route in active_routes(self.settings, self.env):
                self._drain_route(route, deadline, report)
        except AlertStateError as exc:
            report.halted = str(exc)
            log.error("alerts: delivery stopped: %s", exc)
        return report

    @staticmethod
    def _state(write: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A write of delivery state; a failure stops delivery (AlertStateError) instead of risking
        a post the log cannot record."""
        try:
            return write(*args, **kwargs)
        except Exception as exc:
            raise AlertStateError(
                f"the log cannot record alert state ({type(exc).__name__}: {exc}); no alert is posted "
                "until it can"
            ) from exc

    def _drain_route(self, route: RouteSettings, deadline: float, report: DeliveryReport) -> None:
        url = webhook_url(route, self.env)
        while not self.stop.is_set():
            state = self.outbox.webhook_state(route.name)
            if state and state["state"] == "stopped":
                return
            due = self.outbox.due(route.name)
            if not due:
                nxt = self.outbox.next_time(route.name)
                if nxt is None:
                    return
                wait = from_iso(nxt).timestamp() - time.time()
                if time.monotonic() + wait > deadline:
                    return
                self.stop.wait(max(wait, 0.05))
                continue
            for item in due:
                if self.stop.is_set():
                    return
                gap = self.settings.min_interval_seconds - (
                    time.monotonic() - self._last_sent.get(route.name, -1e9)
                )
                if gap > 0:
                    self.stop.wait(gap)
                outcome = self._send(route, url, item)
                if outcome == "sent":
                    report.sent += 1
                elif outcome == "parked":
                    report.parked += 1
                elif outcome == "stopped":
                    report.stopped.append(route.name)
                    return
                elif outcome == "taken":
                    continue
                else:  # retry later; keep order by not sending younger alerts first
                    report.retried += 1
                    break

    def _send(self, route: RouteSettings, url: str, item: Any) -> str:
        try:
            event = self.queries.export_event(item.event_id)
        except KeyError:
            if not self._state(self.outbox.claim, item.id):
                return "taken"
            self._state(self.outbox.parked, item.id, reason="event no longer exists")
            return "parked"
        payload = build_message(event, self.settings.ui_url)
        if not self._state(self.outbox.claim, item.id):
            return "taken"  # no longer pending: another process has it
        self._last_sent[route.name] = time.monotonic()
        try:
            self.fetcher.post_json(url, payload)
        except HTTPStatusError as exc:
            if exc.status in (403, 404, 410):
                reason = (
                    f"webhook answered {exc.status} ({scrub(exc.body, url)[:80].strip()}); delivery stopped"
                )
                log.error("alerts route %s: %s", route.name, reason)
                self._state(self.outbox.retry, item.id, wait_seconds=0, error=reason)
                self._state(self.outbox.webhook_stopped, route.name, reason)
                return "stopped"
            if exc.status == 429 or exc.status >= 500 or exc.status == 408:
                return self._retry(route, item, f"HTTP {exc.status}", exc.retry_after)
            reason = f"HTTP {exc.status}: {scrub(exc.body, url)[:120].strip()}"
            log.warning("alerts route %s: alert %s parked: %s", route.name, item.id, reason)
            self._state(self.outbox.parked, item.id, reason=reason)
            return "parked"
        except FetchError as exc:
            if not exc.retryable:
                error = scrub(f"{exc.reason}: {exc}", url)
                self._state(self.outbox.retry, item.id, wait_seconds=0, error=error)
                self._state(self.outbox.webhook_stopped, route.name, error)
                return "stopped"
            return self._retry(route, item, scrub(f"{exc.reason}: {exc}", url), None)
        self._state(self.outbox.sent, item.id)
        log.info("alerts route %s: sent event %s", route.name, item.event_id)
        return "sent"

    def _retry(self, route: RouteSettings, item: Any, error: str, retry_after: float | None) -> str:
        backoff = min(self.settings.max_backoff_seconds, 2.0 ** min(item.attempts, 12))
        wait = retry_after if retry_after is not None else backoff * (0.5 + random.random() / 2)
        log.warning(
            "alerts route %s: alert %s will be retried in %.1fs (%s)", route.name, item.id, wait, error
        )
        self._state(self.outbox.retry, item.id, wait_seconds=wait, error=error)
        return "retry"
