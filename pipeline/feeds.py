"""Stage 2: feed bytes -> entries, and when to poll a feed again. A pure parser: feedparser never sees
the network here.

Entry identity: guid, else link, else a hash of title and date. Dates come out in UTC.
XML with entity declarations is refused before parsing, so entity expansion (billion laughs) is
bounded by construction.
"""

from __future__ import annotations

import calendar
import hashlib
import random
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import feedparser

from .errors import FeedParseError
from .records import FeedEntry, ParsedFeed

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
MAX_FEED_BACKOFF = timedelta(hours=6)


def next_poll_after_success(interval_minutes: float, now: datetime) -> datetime:
    """The feed's interval, plus a random jitter of up to 10% so that feeds do not poll in lockstep."""
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


def _iso(struct: object) -> str | None:
    if not struct:
        return None
    try:
        ts = calendar.timegm(struct)  # feedparser's *_parsed fields are UTC struct_time
        return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")
    except (TypeError, ValueError, OverflowError):
        return None


def entry_key(guid: str | None, link: str | None, title: str, published: str | None) -> str:
    """Stable identity of an entry: guid, else link, else a hash of title and date."""
    if guid and guid.strip():
        return "guid:" + guid.strip()
    if link and link.strip():
        return "link:" + link.strip()
    digest = hashlib.sha256(f"{title.strip()}\x00{published or ''}".encode()).hexdigest()[:32]
    return "hash:" + digest


def parse_feed(
    feed_name: str, content: bytes, *, url: str = "", content_type: str | None = None
) -> ParsedFeed:
    """Parse feed bytes. Raises FeedParseError when nothing usable comes out."""
    if not content.strip():
        raise FeedParseError("empty", "empty response body")
    if _ENTITY_DECL.search(content):
        raise FeedParseError("entity_declaration", "XML entity declarations are refused (entity expansion)")
    headers: dict[str, str] = {}  # no content-location: guids stay exactly as published
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(content, response_headers=headers, sanitize_html=True)
    except Exception as exc:  # feedparser is meant never to raise; be defensive about odd input
        raise FeedParseError("parser_crash", f"{type(exc).__name__}: {exc}") from exc
    warning = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        warning = f"{type(exc).__name__}: {exc}"[:300] if exc else "ill-formed feed"
    if not parsed.entries:
        if parsed.get("bozo"):
            raise FeedParseError("malformed", warning or "ill-formed feed")
        if not parsed.get("version") and not parsed.feed:
            raise FeedParseError("not_a_feed", "no feed elements found")
    entries = []
    seen: set[str] = set()
    for e in parsed.entries:
        title = (e.get("title") or "").strip()
        link = e.get("link")
        if link:
            link = urljoin(url, link.strip()) if url else link.strip()
        published = _iso(e.get("published_parsed") or e.get("updated_parsed"))
        key = entry_key(e.get("id") or e.get("guid"), link, title, published)
        if key in seen:  # duplicate guids inside one document: the first wins
            continue
        seen.add(key)
        entries.append(
            FeedEntry(
                feed=feed_name,
                key=key,
                url=link or None,
                title=title,
                published=published,
                summary=(e.get("summary") or "")[:2000],
            )
        )
    return ParsedFeed(entries=tuple(entries), title=(parsed.feed.get("title") or ""), warning=warning)
