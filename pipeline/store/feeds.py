"""Feeds: their polling state (validators, errors, next poll, redirects) and the entries they gave."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from ..dates import iso, utcnow
from ..records import FeedEntry
from .articles import ArticleStore
from .db import FailureLog, Part


@dataclass(frozen=True)
class FeedState:
    name: str
    url: str
    category: str
    outlet: str
    etag: str | None
    last_modified: str | None
    error_count: int
    next_poll: str | None
    redirect_to: str | None
    redirect_seen: int


class FeedStore(Part):
    def __init__(self, db: Database, failures: FailureLog, articles: ArticleStore) -> None:
        super().__init__(db)
        self.failures = failures
        self.articles = articles

    def sync(self, feeds: Iterable[Any]) -> None:
        """Make the feeds table follow the configuration (a changed URL resets its state)."""
        with self.db.atomic():
            for f in feeds:
                row = self.one("select name, config_url from feeds where name = ?", [f.name])
                outlet = f.outlet or (urlsplit(f.url).hostname or "").removeprefix("www.")
                if row is None:
                    self.db["feeds"].insert(
                        {
                            "name": f.name,
                            "url": f.url,
                            "config_url": f.url,
                            "category": f.category,
                            "outlet": outlet,
                        }
                    )
                elif row["config_url"] != f.url:
                    self.db["feeds"].update(
                        f.name,
                        {
                            "url": f.url,
                            "config_url": f.url,
                            "etag": None,
                            "last_modified": None,
                            "redirect_to": None,
                            "redirect_seen": 0,
                            "category": f.category,
                            "outlet": outlet,
                        },
                    )
                else:
                    self.db["feeds"].update(f.name, {"category": f.category, "outlet": outlet})

    def state(self, name: str) -> FeedState:
        r = self.one("select * from feeds where name = ?", [name])
        if r is None:
            raise KeyError(name)
        return FeedState(
            name=r["name"],
            url=r["url"],
            category=r["category"],
            outlet=r["outlet"] or "",
            etag=r["etag"],
            last_modified=r["last_modified"],
            error_count=r["error_count"] or 0,
            next_poll=r["next_poll"],
            redirect_to=r["redirect_to"],
            redirect_seen=r["redirect_seen"] or 0,
        )

    def polled(
        self,
        name: str,
        *,
        status: int,
        etag: str | None,
        last_modified: str | None,
        next_poll: datetime,
        redirect_to: str | None,
        warning: str | None = None,
        entries: Iterable[FeedEntry] = (),
    ) -> int:
        """A successful poll (200 or 304) and the entries it gave, in one transaction: the validators
        (ETag and Last-Modified, stored exactly as received) are saved only with the entries, so a
        failure to record leaves the feed as it was, due again. Returns the new articles queued."""
        with self.db.atomic():
            st = self.state(name)
            update: dict[str, Any] = {
                "last_polled": iso(utcnow()),
                "last_success": iso(utcnow()),
                "last_status": status,
                "error_count": 0,
                "next_poll": iso(next_poll),
            }
            if status == 200:
                update["etag"] = etag
                update["last_modified"] = last_modified
            if warning:
                update["last_error"] = f"recovered from ill-formed feed: {warning}"[:500]
                update["last_error_reason"] = "bozo"
                update["last_error_at"] = iso(utcnow())
            # A permanent redirect moves the feed only when it repeats on the next poll.
            if redirect_to and redirect_to != st.url:
                if st.redirect_to == redirect_to and st.redirect_seen >= 1:
                    update.update({"url": redirect_to, "redirect_to": None, "redirect_seen": 0})
                else:
                    update.update({"redirect_to": redirect_to, "redirect_seen": 1})
            else:
                update.update({"redirect_to": None, "redirect_seen": 0})
            self.db["feeds"].update(name, update)
            return self.enqueue(self.state(name), entries)

    def failed(
        self, name: str, *, reason: str, message: str, next_poll: datetime, status: int | None
    ) -> None:
        st = self.state(name)
        self.db["feeds"].update(
            name,
            {
                "last_polled": iso(utcnow()),
                "last_status": status,
                "last_error": message[:500],
                "last_error_reason": reason,
                "last_error_at": iso(utcnow()),
                "error_count": st.error_count + 1,
                "next_poll": iso(next_poll),
            },
        )
        self.failures.record("feed", name, reason, message)

    def enqueue(self, feed: FeedState, entries: Iterable[FeedEntry]) -> int:
        """Record entries in the permanent seen-ledger; queue each new article once. Returns new articles."""
        now = iso(utcnow())
        new = 0
        with self.db.atomic():
            for e in entries:
                if self.one("select 1 from entries where feed = ? and key = ?", [feed.name, e.key]):
                    continue
                article_id = None
                if e.url:
                    article_id, created = self.articles.queue(
                        url=e.url,
                        feed=feed.name,
                        category=feed.category,
                        outlet=feed.outlet,
                        title=e.title,
                        published=e.published,
                        now=now,
                    )
                    new += int(created)
                self.db["entries"].insert(
                    {
                        "feed": feed.name,
                        "key": e.key,
                        "url": e.url,
                        "title": e.title,
                        "published": e.published,
                        "first_seen": now,
                        "article_id": article_id,
                    }
                )
            self.db.execute(
                "update feeds set entries_total = (select count(*) from entries where feed = ?) where name = ?",
                [feed.name, feed.name],
            )
        return new
