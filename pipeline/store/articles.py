"""The article queue: identity by canonical URL, syndicated copies by text hash, queued -> fetched ->
done | failed, with attempts and backoff."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlite_utils import Database

from ..dates import iso, plausible_published, utcnow
from .db import FailureLog, Part

ARTICLE_MAX_ATTEMPTS = 5

_TRACKING = re.compile(
    r"^(utm_|fbclid$|gclid$|mc_cid$|mc_eid$|ocid$|cmpid$|ref$|ref_src$|src$|taid$|guccounter$|"
    r"ncid$|sr_share$|rss$|feed$|partner$|_ga$|igshid$|smid$|cid$|outputType$|amp$)",
    re.I,
)


def canonical_url(url: str) -> str:
    """Identity of an article URL: tracking parameters, fragments, AMP and mobile variants removed."""
    try:
        p = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    host = (p.hostname or "").lower()
    for prefix in ("www.", "m.", "amp.", "mobile."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    if p.port and p.port not in (80, 443):
        host = f"{host}:{p.port}"
    path = re.sub(r"/amp/?$|/amp\.html$|\.amp$|\.amp(?=\.html$)", "", p.path or "/")
    path = re.sub(r"/+$", "", path) or "/"
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(p.query, keep_blank_values=True) if not _TRACKING.match(k))
    )
    scheme = "https" if p.scheme in ("http", "https") else p.scheme
    return urlunsplit((scheme, host, path, query, ""))


def text_hashes(text: str) -> tuple[str, str]:
    """(hash of the whole normalised text, hash of its first 60 words): syndicated copies share them."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    whole = hashlib.sha256(" ".join(words).encode()).hexdigest()[:32]
    lead = hashlib.sha256(" ".join(words[:60]).encode()).hexdigest()[:32] if len(words) >= 40 else ""
    return whole, lead


@dataclass(frozen=True)
class ArticleRow:
    id: int
    url: str
    feed: str | None
    category: str | None
    outlet: str
    title: str
    published: str | None
    text: str | None
    attempts: int


class ArticleStore(Part):
    def __init__(self, db: Database, failures: FailureLog) -> None:
        super().__init__(db)
        self.failures = failures

    def queue(
        self,
        *,
        url: str,
        feed: str | None,
        category: str | None,
        outlet: str,
        title: str,
        published: str | None,
        now: str,
        text: str | None = None,
    ) -> tuple[int, bool]:
        """The article's id, and whether it is new (an article is known by its canonical URL)."""
        canon = canonical_url(url)
        row = self.one("select id from articles where canonical_url = ?", [canon])
        if row:
            return row["id"], False
        record: dict[str, Any] = {
            "url": url,
            "canonical_url": canon,
            "feed": feed,
            "category": category,
            "outlet": outlet or (urlsplit(url).hostname or "").removeprefix("www."),
            "title": title,
            "published": plausible_published(published),
            "state": "queued",
            "queued_at": now,
            "next_attempt": now,
        }
        if text is not None:
            whole, lead = text_hashes(text)
            record.update(
                {
                    "text": text,
                    "state": "fetched",
                    "fetched_at": now,
                    "content_hash": whole,
                    "lead_hash": lead,
                    "copy_of": self.original_of(whole, lead),
                }
            )
        return self.db["articles"].insert(record).last_pk, True

    def add(
        self,
        *,
        url: str,
        title: str,
        published: str | None,
        text: str | None,
        outlet: str = "",
        feed: str | None = None,
    ) -> tuple[int, bool]:
        """Backfill: an article given directly (text, or queued for fetching when text is None)."""
        with self.db.atomic():
            return self.queue(
                url=url,
                feed=feed,
                category=None,
                outlet=outlet,
                title=title,
                published=published,
                now=iso(utcnow()),
                text=text,
            )

    def get(self, article_id: int) -> dict[str, Any]:
        row = self.one("select * from articles where id = ?", [article_id])
        if row is None:
            raise KeyError(article_id)
        return row

    def due(self, state: str, limit: int = 100) -> list[ArticleRow]:
        """Articles waiting in ``state``; fetched ones oldest publication first (the first report of an
        event reaches the log before the follow-ups, whichever feed carried it), the rest as queued."""
        order = "coalesce(published, '~'), id" if state == "fetched" else "id"
        rows = self.db.query(
            "select * from articles where state = ? and (next_attempt is null or next_attempt <= ?) "
            f"order by {order} limit ?",
            [state, iso(utcnow()), limit],
        )
        return [
            ArticleRow(
                id=r["id"],
                url=r["url"],
                feed=r["feed"],
                category=r["category"],
                outlet=r["outlet"] or "",
                title=r["title"] or "",
                published=r["published"],
                text=r["text"],
                attempts=r["attempts"] or 0,
            )
            for r in rows
        ]

    def fetched(
        self,
        article_id: int,
        *,
        text: str,
        title: str,
        published: str | None,
        final_url: str,
        outlet: str = "",
    ) -> None:
        """Store extracted text; ``outlet`` (the page's own site name) replaces the feed's when given."""
        whole, lead = text_hashes(text)
        extra = {"outlet": outlet} if outlet else {}
        with self.db.atomic():
            self.db["articles"].update(
                article_id,
                {
                    **extra,
                    "text": text,
                    "title": title,
                    "published": plausible_published(published),
                    "final_url": final_url,
                    "state": "fetched",
                    "fetched_at": iso(utcnow()),
                    "content_hash": whole,
                    "lead_hash": lead,
                    "copy_of": self.original_of(whole, lead, exclude=article_id),
                    "error_reason": None,
                    "error": None,
                },
            )

    def failed(self, article_id: int, *, stage: str, reason: str, message: str, retryable: bool) -> None:
        row = self.one("select attempts from articles where id = ?", [article_id])
        attempts = (row["attempts"] or 0) + 1 if row else 1
        final = not retryable or attempts >= ARTICLE_MAX_ATTEMPTS
        delay = timedelta(minutes=min(2**attempts, 360))
        with self.db.atomic():
            self.db["articles"].update(
                article_id,
                {
                    "attempts": attempts,
                    "error_reason": reason,
                    "error": message[:500],
                    "state": "failed" if final else ("queued" if stage == "fetch" else "fetched"),
                    "next_attempt": iso(utcnow() + delay),
                },
            )
            self.failures.record(stage, str(article_id), reason, message)

    def retry(self, stage: str | None = None) -> int:
        """Re-queue the articles that failed for good (all, or those whose last failure was at
        ``stage``) once their cause is fixed: with their text, to processing; without, to fetching;
        attempts start again. Returns how many."""
        now = iso(utcnow())
        with self.db.atomic():
            rows = list(
                self.db.query(
                    "select a.id, a.text is not null as has_text, "
                    "(select f.stage from failures f where f.item = cast(a.id as text) "
                    " order by f.id desc limit 1) as stage "
                    "from articles a where a.state = 'failed'"
                )
            )
            rows = [r for r in rows if stage is None or r["stage"] == stage]
            for r in rows:
                self.db["articles"].update(
                    r["id"],
                    {"state": "fetched" if r["has_text"] else "queued", "attempts": 0, "next_attempt": now},
                )
        return len(rows)

    def original_of(self, whole: str, lead: str, exclude: int | None = None) -> int | None:
        """The first article with the same text (or the same lead), as the original of a wire copy."""
        row = self.one(
            "select id, copy_of from articles where (content_hash = ? or (? != '' and lead_hash = ?)) and id != ? "
            "order by id limit 1",
            [whole, lead, lead, exclude or -1],
        )
        if row is None:
            return None
        return row["copy_of"] or row["id"]

    def mark_done(
        self, article_id: int, *, now: str, story_id: int | None, events: int, story_moves: Mapping[int, int]
    ) -> None:
        """Inside the commit's transaction: the article is processed, and the stories the clusterer moved."""
        self.db["articles"].update(
            article_id,
            {
                "state": "done",
                "processed_at": now,
                "story_id": story_id,
                "event_count": events,
                "error_reason": None,
                "error": None,
            },
        )
        for moved, story in story_moves.items():
            self.db.execute("update articles set story_id = ? where id = ?", [story, moved])

    def story_articles(self, processed_after: str, limit: int) -> Iterator[dict[str, Any]]:
        """The newest ``limit`` processed articles with a story, oldest first: what the story clusterer
        restores at start."""
        yield from self.db.query(
            "select * from (select id, title, text, published, processed_at, story_id from articles "
            "where processed_at >= ? and story_id is not null order by processed_at desc, id desc limit ?) "
            "order by processed_at, id",
            [processed_after, limit],
        )
