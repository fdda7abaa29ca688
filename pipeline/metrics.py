"""The daemon's Prometheus endpoint (``[metrics]``, http://127.0.0.1:9464/metrics by default), as
Miniflux and most daemons offer one.

What the log holds is read at each scrape, on a read-only connection of its own (the daemon's writer
is never shared with the server's thread): per feed its last poll, last success and errors in a row, the feeds
in error, the article queue and the alert outbox by state, the oldest pending alert's age, each
route's webhook (1 up, 0 stopped), events by type, the log's size. What only the process knows is
measured as it happens: request durations of feeds, pages and webhook posts, cycle durations and their outcome.
A log that cannot be read for a scrape shows as ``tradewire_log_up 0``, never as a failed scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .alerts import active_routes
from .config import Settings
from .dates import from_iso, utcnow
from .store import Store

log = logging.getLogger("tradewire")

FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60)
CYCLE_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


def _ts(text: str | None) -> float | None:
    t = from_iso(text)
    return t.timestamp() if t else None


class LogCollector(Collector):
    """Gauges read from the event log at each scrape."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("tradewire_log_up", "1 when the event log could be read for this scrape.")
        try:
            with Store.reading(self.settings.storage.db, self.settings.storage.busy_timeout_ms) as queries:
                st = queries.status()
        except Exception as exc:  # a scrape reports the log's trouble, it does not fail
            log.warning("metrics: the log could not be read: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from self._feeds(st["feeds"])
        yield _by("tradewire_articles", "Articles in the queue, by state.", "state", st["articles"])
        yield _by("tradewire_outbox_alerts", "Alerts in the outbox, by state.", "state", st["outbox"])
        yield _by("tradewire_events", "Events in the log, by type.", "type", st["events_by_type"])
        oldest = _ts(st["oldest_pending_alert"])
        age = GaugeMetricFamily(
            "tradewire_outbox_oldest_pending_age_seconds",
            "Age of the oldest alert waiting to be sent (0: none).",
        )
        age.add_metric([], max(0.0, utcnow().timestamp() - oldest) if oldest else 0.0)
        yield age
        hooks = GaugeMetricFamily(
            "tradewire_webhook_up",
            "1 while a route's webhook takes alerts, 0 once stopped.",
            labels=["route"],
        )
        stopped = {w["route"] for w in st["webhooks"] if w["state"] == "stopped"}
        for r in active_routes(self.settings.alerts):
            hooks.add_metric([r.name], 0.0 if r.name in stopped else 1.0)
        yield hooks
        size = GaugeMetricFamily("tradewire_database_bytes", "Size of the log and its write-ahead log.")
        size.add_metric([], st["database_bytes"])
        yield size

    def _feeds(self, feeds: list[dict[str, Any]]) -> Iterator[GaugeMetricFamily]:
        success = GaugeMetricFamily(
            "tradewire_feed_last_success_timestamp_seconds", "When each feed was last read.", labels=["feed"]
        )
        polled = GaugeMetricFamily(
            "tradewire_feed_last_poll_timestamp_seconds", "When each feed was last polled.", labels=["feed"]
        )
        errors = GaugeMetricFamily(
            "tradewire_feed_errors_in_a_row",
            "Failed polls of each feed since its last success.",
            labels=["feed"],
        )
        for f in feeds:
            for family, value in ((success, _ts(f["last_success"])), (polled, _ts(f["last_polled"]))):
                if value is not None:
                    family.add_metric([f["name"]], value)
            errors.add_metric([f["name"]], f["error_count"] or 0)
        in_error = GaugeMetricFamily("tradewire_feeds_in_error", "Feeds whose last poll failed.")
        in_error.add_metric([], sum(1 for f in feeds if f["error_count"]))
        yield from (success, polled, errors, in_error)


def _by(name: str, doc: str, label: str, counts: dict[str, int]) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc, labels=[label])
    for k, n in sorted(counts.items()):
        g.add_metric([str(k)], n)
    return g


class Metrics:
    """The registry of one daemon: the log's gauges and the process's own measurements."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = CollectorRegistry()
        self.registry.register(LogCollector(settings))
        self.fetch_seconds = Histogram(
            "tradewire_fetch_seconds",
            "Duration of each request, by kind (feed, page, webhook), redirects included.",
            ["kind"],
            buckets=FETCH_BUCKETS,
            registry=self.registry,
        )
        self.cycle_seconds = Histogram(
            "tradewire_cycle_seconds",
            "Duration of each cycle.",
            buckets=CYCLE_BUCKETS,
            registry=self.registry,
        )
        self.cycles = Counter(
            "tradewire_cycles", "Cycles run, by outcome (ok, failed).", ["outcome"], registry=self.registry
        )
        self.last_cycle = Gauge(
            "tradewire_last_cycle_timestamp_seconds", "When the last cycle ended.", registry=self.registry
        )
        self.server: Any = None

    def observe_fetch(self, kind: str, seconds: float) -> None:
        self.fetch_seconds.labels(kind).observe(seconds)

    def cycle(self, seconds: float, ok: bool) -> None:
        self.cycle_seconds.observe(seconds)
        self.cycles.labels("ok" if ok else "failed").inc()
        self.last_cycle.set_to_current_time()

    def start(self) -> bool:
        """Serve /metrics on the configured address; False (logged) when it is off or cannot bind: the
        daemon runs on without it."""
        m = self.settings.metrics
        if not m.port:
            return False
        try:
            self.server, _thread = start_http_server(m.port, addr=m.host, registry=self.registry)
        except OSError as exc:
            log.error(
                "metrics: cannot serve on %s:%d (%s); running without the endpoint", m.host, m.port, exc
            )
            return False
        log.info("metrics on http://%s:%d/metrics", m.host, m.port)
        return True

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
