"""The daemon: a loop around ``Pipeline.run_once`` (``flow``), as rq's worker is a loop around a job.

APScheduler ticks a cycle over the feeds that are due on a single worker thread (one writer); SIGTERM
and Ctrl-C set a stop flag that every loop of the flow checks between items, so the current item is
finished and the daemon exits. When each feed is due again (interval, jitter, backoff after errors) is
the feeds stage's decision (``feeds.next_poll_after_*``), recorded in the store.
"""

from __future__ import annotations

import logging
import signal
import time
from datetime import datetime
from typing import Any

from .flow import Pipeline
from .health import notify
from .metrics import Metrics

log = logging.getLogger("tradewire")


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

    metrics = Metrics(pipeline.settings)
    pipeline.fetcher.observe = metrics.observe_fetch

    def tick() -> None:
        if stop.is_set():
            return
        t0, ok = time.perf_counter(), False
        try:
            report = pipeline.run_once(only_due=True, drain_seconds=min(tick_seconds, 10.0))
            if report.feeds_polled or report.articles_processed or report.alerts.sent or report.feeds_failed:
                log.info("cycle: %s", report.summary())
                notify(f"STATUS=last cycle {datetime.now().astimezone():%H:%M:%S}: {report.summary()}"[:400])
            ok = True
        except Exception:  # the daemon never dies of one bad cycle
            log.exception("cycle failed; the next tick retries")
            notify("STATUS=the last cycle failed; the next tick retries (see the log)")
        metrics.cycle(time.perf_counter() - t0, ok)
        notify("WATCHDOG=1")  # a cycle ended: the watchdog restarts a daemon stuck inside one

    sched = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(tick_seconds * 4)},
    )
    sched.add_job(
        tick, IntervalTrigger(seconds=tick_seconds), next_run_time=datetime.now().astimezone(), id="tick"
    )
    metrics.start()
    sched.start()
    log.info(
        "tradewire daemon started: %d feeds, tick every %.0fs", len(pipeline.settings.feeds), tick_seconds
    )
    notify(f"READY=1\nSTATUS=polling {len(pipeline.settings.feeds)} feeds, a tick every {tick_seconds:g}s")
    try:
        while not stop.wait(1.0):
            pass
    finally:
        notify("STOPPING=1")
        sched.shutdown(wait=True)
        metrics.stop()
        log.info("tradewire daemon stopped")
