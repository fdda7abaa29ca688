"""The cycle and the daemon, on top of the stages.

``Pipeline.run_once()`` is one full cycle: poll the feeds that are due, fetch queued articles, run
NLP, dedup and store on fetched ones, deliver due alerts. Every stage resumes from its state in
SQLite, so a cycle interrupted at any point is completed by the next. The daemon (``run_forever``)
is APScheduler ticking ``run_once`` on a single worker thread (one writer); SIGTERM and Ctrl-C set
a stop flag that every loop checks between items.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .alerts import Delivery, DeliveryReport, route_matcher
from .config import Settings
from .dedup import Deduplicator
from .events import Extractor
from .extract import ExtractionError, ExtractionPool
from .feeds import FeedParseError, parse_feed
from .fetch import FEED_TYPES, PAGE_TYPES, Fetcher, FetchError, HTTPStatusError
from .nlp import Models
from .records import Article
from .store import ArticleRow, Store, utcnow

log = logging.getLogger("tradewire")

MAX_FEED_BACKOFF = timedelta(hours=6)
FETCH_BATCH = 8
PROCESS_BATCH = 16


@dataclass
class CycleReport:
    feeds_polled: int = 0
    feeds_failed: int = 0
    articles_queued: int = 0
    articles_fetched: int = 0
    articles_failed: int = 0
    articles_processed: int = 0
    events_created: int = 0
    events_merged: int = 0
    alerts: DeliveryReport = field(default_factory=DeliveryReport)

    def summary(self) -> str:
        return (
            f"feeds polled {self.feeds_polled} (failed {self.feeds_failed}), articles queued {self.articles_queued}, "
            f"fetched {self.articles_fetched}, processed {self.articles_processed}, failed {self.articles_failed}; "
            f"events new {self.events_created}, merged {self.events_merged}; alerts sent {self.alerts.sent}, "
            f"retrying {self.alerts.retried}, parked {self.alerts.parked}"
        )


def next_poll_after_success(interval_minutes: float, now: datetime) -> datetime:
    jitter = random.uniform(0, 0.1) * interval_minutes
    return now + timedelta(minutes=interval_minutes + jitter)


def next_poll_after_error(
    interval_minutes: float, errors: int, now: datetime, retry_after: float | None
) -> datetime:
    """Exponential backoff with jitter, capped, never giving up; Retry-After wins when longer."""
    base = timedelta(minutes=interval_minutes) * (2 ** min(errors, 10))
    wait = min(base, max(MAX_FEED_BACKOFF, timedelta(minutes=interval_minutes)))
    wait = wait * random.uniform(0.8, 1.2)
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return now + wait


class Pipeline:
    """The stages wired together over one store and one HTTP client."""

    def __init__(
        self, settings: Settings, *, env: Mapping[str, str] | None = None, stop: threading.Event | None = None
    ) -> None:
        self.settings = settings
        self.env = env
        self.stop = stop or threading.Event()
        self.store = Store.open(settings.storage.db, busy_timeout_ms=settings.storage.busy_timeout_ms)
        self.fetcher = Fetcher(settings.network)
        self.models = Models.get(settings.nlp.spacy_model, settings.nlp.rules_dir)
        self._extractor: Extractor | None = None
        self.extraction = ExtractionPool(settings.network.extract_workers, settings.network.extract_timeout)
        self._dedup: Deduplicator | None = None
        self.store.sync_feeds(settings.feeds)

    def close(self) -> None:
        self.extraction.close()
        self.fetcher.close()
        self.store.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def extractor(self) -> Extractor:
        if self._extractor is None:
            self._extractor = Extractor(self.settings.nlp, self.models)
        return self._extractor

    @property
    def dedup(self) -> Deduplicator:
        if self._dedup is None:
            self._dedup = Deduplicator(self.settings.dedup, self.models)
        return self._dedup

    # -- one cycle ----------------------------------------------------------------------------

    def run_once(self, *, only_due: bool = False, drain_seconds: float | None = None) -> CycleReport:
        report = CycleReport()
        now = utcnow()
        for feed in self.settings.feeds:
            if self.stop.is_set():
                break
            st = self.store.feed_state(feed.name)
            if (
                only_due
                and st.next_poll
                and datetime.fromisoformat(st.next_poll.replace("Z", "+00:00")) > now
            ):
                continue
            self.poll_feed(feed.name, feed.interval_minutes, report)
        self.fetch_articles(report)
        self.process_articles(report)
        if not self.stop.is_set():
            report.alerts = self.deliver_alerts(drain_seconds)
        return report

    def poll_feed(self, name: str, interval_minutes: float, report: CycleReport) -> None:
        st = self.store.feed_state(name)
        now = utcnow()
        try:
            resp = self.fetcher.get(st.url, etag=st.etag, last_modified=st.last_modified, accept=FEED_TYPES)
            entries: tuple[Any, ...] = ()
            warning = None
            if resp.status != 304:
                parsed = parse_feed(
                    name, resp.content, url=resp.final_url, content_type=resp.header("content-type")
                )
                entries, warning = parsed.entries, parsed.warning
            self.store.feed_polled(
                name,
                status=resp.status,
                etag=resp.header("etag"),
                last_modified=resp.header("last-modified"),
                next_poll=next_poll_after_success(interval_minutes, now),
                redirect_to=resp.permanent_redirect,
                warning=warning,
            )
            report.feeds_polled += 1
            report.articles_queued += self.store.enqueue(self.store.feed_state(name), entries)
        except (FetchError, FeedParseError) as exc:
            reason = exc.reason
            retry_after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
            status = exc.status if isinstance(exc, HTTPStatusError) else None
            message = f"{reason}: {exc}"
            self.store.feed_failed(
                name,
                reason=reason,
                message=message,
                status=status,
                next_poll=next_poll_after_error(interval_minutes, st.error_count + 1, now, retry_after),
            )
            report.feeds_failed += 1
            log.warning("feed %s: %s", name, message)

    def fetch_articles(self, report: CycleReport) -> None:
        """Fetch queued pages a few at a time (at most ``per_host`` per host), extract them in the pool."""
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="fetch") as threads:
            while not self.stop.is_set():
                rows = self.store.due_articles("queued", limit=FETCH_BATCH)
                if not rows:
                    return
                fetched = list(threads.map(self._fetch_page, rows))
                ok = [
                    (row, resp)
                    for row, resp in zip(rows, fetched, strict=True)
                    if not isinstance(resp, FetchError)
                ]
                results = self.extraction.extract_many(
                    [(resp.content, resp.final_url) for _, resp in ok],
                    max_bytes=self.settings.network.max_bytes,
                )
                extracted = {row.id: ex for (row, _), ex in zip(ok, results, strict=True)}
                for row, resp in zip(rows, fetched, strict=True):  # one writer: the stores happen here
                    if isinstance(resp, FetchError):
                        self.store.article_failed(
                            row.id,
                            stage="fetch",
                            reason=resp.reason,
                            message=str(resp),
                            retryable=resp.retryable,
                        )
                        report.articles_failed += 1
                        log.warning("article %s: fetch failed: %s", row.id, resp)
                        continue
                    ex = extracted[row.id]
                    if isinstance(ex, ExtractionError):
                        self.store.article_failed(
                            row.id, stage="extract", reason=ex.reason, message=str(ex), retryable=False
                        )
                        report.articles_failed += 1
                        log.warning("article %s: extraction failed: %s", row.id, ex)
                        continue
                    self.store.article_fetched(
                        row.id,
                        text=ex.text,
                        title=row.title or ex.title,
                        published=row.published or ex.published,
                        final_url=resp.final_url,
                        outlet=ex.sitename,
                    )
                    report.articles_fetched += 1

    def _fetch_page(self, row: ArticleRow) -> Any:
        """The page's Response, or the FetchError that stopped it (failures are data)."""
        try:
            return self.fetcher.get(row.url, accept=PAGE_TYPES)
        except FetchError as exc:
            return exc

    def process_articles(self, report: CycleReport) -> None:
        routes_for = route_matcher(self.settings.alerts, self.models.gazetteer, self.env)
        while not self.stop.is_set():
            rows = self.store.due_articles("fetched", limit=PROCESS_BATCH)
            if not rows:
                return
            arts = [
                Article(
                    id=r.id,
                    url=r.url,
                    title=r.title,
                    outlet=r.outlet,
                    published=r.published,
                    text=r.text or "",
                )
                for r in rows
            ]
            try:
                all_mentions = self.extractor.extract_many(arts)
                all_vectors = self.dedup.embed_batch(arts, all_mentions)
            except Exception:  # one bad article must not block the batch: fall back to one by one
                all_mentions = all_vectors = None
            for i, art in enumerate(arts):
                if self.stop.is_set():
                    return
                try:
                    mentions = all_mentions[i] if all_mentions is not None else self.extractor.extract(art)
                    vectors = all_vectors[i] if all_vectors is not None else None
                    placed = self.dedup.assign_story(self.store, art)
                    decisions = self.dedup.decide(self.store, art, mentions, vectors, story=placed.story)
                    created = self.store.commit_article(
                        art.id,
                        decisions,
                        routes_for,
                        self.settings.alerts.delay_seconds,
                        story_id=placed.story,
                        story_moves=placed.moved,
                    )
                except Exception as exc:
                    log.exception("article %s: processing failed", art.id)
                    self.store.article_failed(
                        art.id,
                        stage="nlp",
                        reason="nlp_error",
                        message=f"{type(exc).__name__}: {exc}",
                        retryable=True,
                    )
                    report.articles_failed += 1
                    continue
                report.articles_processed += 1
                report.events_created += len(created)
                report.events_merged += len(decisions) - len(created)

    def deliver_alerts(self, drain_seconds: float | None = None) -> DeliveryReport:
        return Delivery(self.settings.alerts, self.store, self.fetcher, env=self.env, stop=self.stop).deliver(
            drain_seconds
        )


def run_forever(pipeline: Pipeline, tick_seconds: float = 30.0) -> None:
    """The daemon: APScheduler ticks a cycle over due feeds on one worker thread until SIGTERM."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    stop = pipeline.stop

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %s: finishing the current item, then exiting", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def tick() -> None:
        if stop.is_set():
            return
        try:
            report = pipeline.run_once(only_due=True, drain_seconds=min(tick_seconds, 10.0))
            if report.feeds_polled or report.articles_processed or report.alerts.sent or report.feeds_failed:
                log.info("cycle: %s", report.summary())
        except Exception:  # the daemon never dies of one bad cycle
            log.exception("cycle failed; the next tick retries")

    sched = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(tick_seconds * 4)},
    )
    sched.add_job(
        tick, IntervalTrigger(seconds=tick_seconds), next_run_time=datetime.now().astimezone(), id="tick"
    )
    sched.start()
    log.info(
        "tradewire daemon started: %d feeds, tick every %.0fs", len(pipeline.settings.feeds), tick_seconds
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        sched.shutdown(wait=True)
        log.info("tradewire daemon stopped")
