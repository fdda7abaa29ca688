"""The flow: the stages wired together over one store and one HTTP client, and the one per-article step.

``Pipeline.run_once()`` is one full cycle: poll the feeds that are due, fetch queued articles, run the
NLP stage on fetched ones, then for each article the one per-article step (``process_article``: story,
dedup, alert routing, commit), then deliver due alerts. Every stage resumes from its state in SQLite,
so a cycle interrupted at any point is completed by the next. The daemon (``scheduler``), ``once``,
``process`` (``backfill``), ``eval``, the benchmarks and the tests all go through this module.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from . import backfill
from .alerts import Delivery, DeliveryReport, route_matcher, routing_view
from .config import Settings
from .dates import from_iso, utcnow
from .dedup import Deduplicator, load_merge_model
from .errors import ExtractionError, FeedParseError, FetchError, HTTPStatusError, StageError
from .events import Extractor
from .extract import ExtractionPool
from .feeds import next_poll_after_error, next_poll_after_success, parse_feed
from .fetch import FEED_TYPES, PAGE_TYPES, Fetcher
from .nlp import Models
from .records import Article, Decision, EventMention
from .store import ArticleRow, Store
from .store.lock import WriterLock
from .stories import Stories

log = logging.getLogger("tradewire")

FETCH_BATCH = 8
PROCESS_BATCH = 16
PARSE_AHEAD = 16  # batches taken at once: the parse worker parses the next while the step runs
T = TypeVar("T")


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
            + (f"; delivery stopped: {self.alerts.halted}" if self.alerts.halted else "")
        )


@dataclass(frozen=True)
class Processed:
    """What the per-article step did: the decisions taken, the events created, where the story went."""

    article: int
    decisions: tuple[Decision, ...]
    created: tuple[int, ...]
    story: int

    def event_ids(self) -> list[int]:
        """The event each decision went to, in decision order."""
        fresh = iter(self.created)
        return [d.event_id if d.event_id is not None else next(fresh) for d in self.decisions]


def _deduplicator(settings: Settings, models: Models, store: Store, extractor: Extractor) -> Deduplicator:
    lex = extractor.rules.lexicon
    return Deduplicator(
        settings.dedup,
        models,
        store.events,
        lex.generic_party_words,
        lex.generic_parties,
        load_merge_model(settings.dedup.model),
    )


def _batches(rows: list[ArticleRow]) -> list[list[Article]]:
    arts = [Article(r.id, r.url, r.title, r.outlet, r.published, r.text or "") for r in rows]
    return [arts[k : k + PROCESS_BATCH] for k in range(0, len(arts), PROCESS_BATCH)]


class Pipeline:
    """The stages wired together over one store and one HTTP client. Models load lazily, once."""

    def __init__(
        self,
        settings: Settings,
        *,
        env: Mapping[str, str] | None = None,
        stop: threading.Event | None = None,
        holder: str = "tradewire",
    ) -> None:
        """Opens the log as its one writer (``store.lock``): a log another process writes to is refused,
        naming its ``holder`` ("tradewire once")."""
        self.settings = settings
        self.env = env
        self.stop = stop or threading.Event()
        self.lock = WriterLock(settings.storage.db).acquire(holder)
        try:
            self.store = Store.open(settings.storage.db, busy_timeout_ms=settings.storage.busy_timeout_ms)
        except BaseException:
            self.lock.release()
            raise
        self.fetcher = Fetcher(settings.network)
        self.models = Models.get(settings.nlp.spacy_model, settings.nlp.rules_dir, settings.nlp.numpy_ops)
        self.extraction = ExtractionPool(settings.network.extract_workers, settings.network.extract_timeout)
        self._extractor: Extractor | None = None
        self._dedup: Deduplicator | None = None
        self.stories = Stories(settings.dedup.story_window_days, self.store.articles)
        self.stage_seconds: dict[str, float] = {}  # time spent in each step of the per-article flow
        self.unrecorded: list[tuple[str, str]] = []  # (feed, why) of polls the log could not record
        self.store.feeds.sync(settings.feeds)

    def close(self) -> None:
        self.extraction.close()
        self.fetcher.close()
        self.store.close()
        self.lock.release()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self) -> None:
        """Read the rules and the trained model files now (cheap: spaCy and the embedder still load on
        first use), so that a missing or broken one stops the command before any article is taken."""
        self.models.check_spacy()
        _ = self.extractor, self.dedup

    def warm(self) -> None:
        """Load every model now (``check``, then spaCy, the embedder and the parse worker), before any
        article is taken."""
        self.check()
        _ = self.models.nlp
        self.models.embed(["warm up"])
        self.models.worker(self.settings.nlp)

    @property
    def extractor(self) -> Extractor:
        if self._extractor is None:
            self._extractor = Extractor(self.settings.nlp, self.models)
        return self._extractor

    @property
    def dedup(self) -> Deduplicator:
        if self._dedup is None:
            self._dedup = _deduplicator(self.settings, self.models, self.store, self.extractor)
        return self._dedup

    @dedup.setter
    def dedup(self, dedup: Deduplicator) -> None:
        """Another merge decision for this pipeline's log (training replays merges through the flow)."""
        self._dedup = dedup

    # -- one cycle ----------------------------------------------------------------------------

    def run_once(self, *, only_due: bool = False, drain_seconds: float | None = None) -> CycleReport:
        report = CycleReport()
        now = utcnow()
        _record_unrecorded(self.store.feeds, self.unrecorded, now)
        for feed in self.settings.feeds:
            if self.stop.is_set():
                break
            st = self.store.feeds.state(feed.name)
            if only_due and st.next_poll and from_iso(st.next_poll) > now:
                continue
            self.poll_feed(feed.name, feed.interval_minutes, report)
        self.fetch_articles(report)
        self.process_articles(report)
        if not self.stop.is_set():
            report.alerts = self.deliver_alerts(drain_seconds)
        return report

    def poll_feed(self, name: str, interval_minutes: float, report: CycleReport) -> None:
        feeds = self.store.feeds
        st = feeds.state(name)
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
            report.articles_queued += self._step(
                "feeds",
                feeds.polled,
                name,
                status=resp.status,
                etag=resp.header("etag"),
                last_modified=resp.header("last-modified"),
                next_poll=next_poll_after_success(interval_minutes, now),
                redirect_to=resp.permanent_redirect,
                warning=warning,
                entries=entries,
            )
            report.feeds_polled += 1
        except StageError as exc:  # the poll could not be recorded: nothing of it was; due again
            report.feeds_failed += 1
            log.error("feed %s: its entries could not be recorded (%s); it stays due", name, exc)
            self.unrecorded.append((name, str(exc)))
            # the log may refuse this too: then it is written at the next cycle
            _record_unrecorded(self.store.feeds, self.unrecorded, now)
        except (FetchError, FeedParseError) as exc:
            retry_after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
            status = exc.status if isinstance(exc, HTTPStatusError) else None
            message = f"{exc.reason}: {exc}"
            feeds.failed(
                name,
                reason=exc.reason,
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
                rows = self.store.articles.due("queued", limit=FETCH_BATCH)
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
                    self._store_page(row, resp, extracted.get(row.id), report)

    def _store_page(self, row: ArticleRow, resp: Any, ex: Any, report: CycleReport) -> None:
        articles = self.store.articles
        if isinstance(resp, FetchError) or isinstance(ex, ExtractionError):
            err = resp if isinstance(resp, FetchError) else ex
            articles.failed(
                row.id, stage=err.stage, reason=err.reason, message=str(err), retryable=err.retryable
            )
            report.articles_failed += 1
            log.warning("article %s: %s failed: %s", row.id, err.stage, err)
            return
        articles.fetched(
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

    # -- the NLP stage and the per-article step ----------------------------------------------

    def process_articles(self, report: CycleReport) -> None:
        """Every fetched article, in batches through the NLP stage, then one by one through the step."""
        routes_for = route_matcher(
            self.settings.alerts, self.models.gazetteer, self.env, self.store.watches.by_route()
        )
        while not self.stop.is_set():
            batches = _batches(self.store.articles.due("fetched", limit=PROCESS_BATCH * PARSE_AHEAD))
            worker = self.models.worker(self.settings.nlp) if len(batches) > 1 else None
            stream = self.extractor.extract_stream(batches, worker)
            if not batches or not all(
                self._process_batch(b, m, routes_for, report) for b, m in zip(batches, stream, strict=True)
            ):
                return

    def _process_batch(
        self, arts: list[Article], mentions: Any, routes_for: Any, report: CycleReport
    ) -> bool:
        """One batch through the per-article step (one by one when its NLP failed); False on stop."""
        try:
            vectors = self.dedup.embed_batch(arts, mentions) if mentions is not None else None
        except Exception:  # one bad article must not block the batch: fall back to one by one
            mentions = vectors = None
        for i, art in enumerate(arts):
            if self.stop.is_set():
                return False
            try:
                done = self.process_article(
                    art, mentions[i] if mentions else None, vectors[i] if vectors else None, routes_for
                )
            except StageError as exc:
                log.error("article %s: %s failed: %s", art.id, exc.stage, exc, exc_info=exc.__cause__)
                self.store.articles.failed(
                    art.id, stage=exc.stage, reason=exc.reason, message=str(exc), retryable=exc.retryable
                )
                report.articles_failed += 1
                continue
            report.articles_processed += 1
            report.events_created += len(done.created)
            report.events_merged += len(done.decisions) - len(done.created)
        return True

    def process_article(
        self,
        art: Article,
        mentions: tuple[EventMention, ...] | None = None,
        vectors: Any | None = None,
        routes_for: Callable[[dict[str, Any]], list[str]] | None = None,
    ) -> Processed:
        """The one per-article step: events (unless given), story, dedup, alert routing, commit.

        Decide and commit article by article, so that each sees the events the previous one created.
        Raises StageError naming the step that failed.
        """
        assert art.id is not None
        if mentions is None:
            mentions = self._step("events", self.extractor.extract, art)
        placed = self._step("stories", self.stories.place, art)
        decisions = self._step("dedup", self.dedup.decide, art, mentions, vectors, story=placed.story)
        if routes_for is not None:
            decisions = self._step("alerts", _routed, decisions, routes_for)
        created = self._step(
            "store",
            self.store.events.commit_article,
            art.id,
            decisions,
            self.settings.alerts.delay_seconds,
            story_id=placed.story,
            story_moves=placed.moved,
        )
        return Processed(art.id, tuple(decisions), tuple(created), placed.story)

    def _step(self, stage: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one step of the per-article flow, timed; a failure is a StageError naming the step."""
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise StageError.wrap(stage, exc) from exc
        finally:
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + time.perf_counter() - t0

    def deliver_alerts(self, drain_seconds: float | None = None) -> DeliveryReport:
        delivery = Delivery(
            self.settings.alerts,
            self.store.outbox,
            self.store.queries,
            self.fetcher,
            env=self.env,
            stop=self.stop,
        )
        return delivery.deliver(drain_seconds)

    # -- backfill -----------------------------------------------------------------------------

    def add_articles(self, records: Iterable[tuple[str, Any]]) -> list[tuple[str, str]]:
        """Queue backfill records (``backfill.queue``); the (where, reason) of those refused."""
        return backfill.queue(self.store, records)

    def process_backlog(self, report: CycleReport, progress: Callable[[int], None] | None = None) -> None:
        """Process every fetched article (a backfill's), reporting progress as articles are done."""
        before = report.articles_processed
        while not self.stop.is_set():
            self.process_articles(report)
            if progress is not None:
                progress(report.articles_processed - before)
            before = report.articles_processed
            if not self.store.articles.due("fetched", limit=1):
                break


def _routed(decisions: list[Decision], routes_for: Callable[[dict[str, Any]], list[str]]) -> list[Decision]:
    """A new event's alert routes, decided before the commit (a merge never alerts)."""
    return [
        d if d.event_id is not None else replace(d, routes=tuple(routes_for(routing_view(d.mention))))
        for d in decisions
    ]


def _record_unrecorded(feeds: Any, unrecorded: list[tuple[str, str]], now: datetime) -> None:
    """Make the polls the log could not record visible in ``status`` as soon as it takes writes."""
    while unrecorded:
        name, why = unrecorded[0]
        try:
            feeds.failed(name, reason="store_failed", message=why, status=None, next_poll=now)
        except Exception:  # still refused: kept for the next cycle
            return
        unrecorded.pop(0)
