"""Event dates: normalise date phrases against the article's publication date.

``normalise("on Friday", anchor="2024-05-04")`` -> "2024-05-03". Granularity is kept: a month gives
"YYYY-MM", a year "YYYY". With no anchor, phrases without a year give None.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta

MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        1,
    )
    for m in names
}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MON = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_RX_MDY = re.compile(rf"\b{_MON}\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b", re.I)
_RX_DMY = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MON}(?:,?\s+(\d{{4}}))?\b", re.I)
_RX_MY = re.compile(rf"\b{_MON}\s+(?:of\s+)?(\d{{4}})\b", re.I)
_RX_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_RX_YEAR = re.compile(r"\b(?:in|since|of|during|by|from|until|early|late|mid-?)\s+(\d{4})\b", re.I)
_RX_WEEKDAY = re.compile(
    r"\b(last|this|next|on|coming)?\s*(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I
)
_RX_REL = re.compile(
    r"\b(today|yesterday|tomorrow|tonight|last month|this month|next month|last year|this year|next year)\b",
    re.I,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """A timestamp as stored: ISO 8601 in UTC with milliseconds and a Z."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_iso(value: str | None) -> datetime | None:
    """A stored timestamp (``iso``'s form, or any ISO 8601 one) as a datetime; None for none."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


@functools.lru_cache(maxsize=65536)
def parse_anchor(value: str | None) -> tuple[date | None, str]:
    """A publication date (ISO date, datetime, YYYY-MM or YYYY) -> (date, granularity)."""
    if not value:
        return None, ""
    value = value.strip()
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3])), "day"
        except ValueError:
            return None, ""
    m = re.match(r"(\d{4})-(\d{2})$", value)
    if m:
        return date(int(m[1]), int(m[2]), 1), "month"
    m = re.match(r"(\d{4})$", value)
    if m:
        return date(int(m[1]), 1, 1), "year"
    return None, ""


EARLIEST_PUBLISHED = 1990  # no news article in the log was published before this year


def plausible_published(value: str | None, now: datetime | None = None) -> str | None:
    """A publication date as the log keeps it: one that parses and lies between 1990 and two days
    from now; anything else (1970 from a zeroed clock, 2099, 0001, 9999, words) is unknown (None),
    never a crash, a duplicate or the top of every listing."""
    if not isinstance(value, str):
        return None
    d, _ = parse_anchor(value)
    if d is None:
        return None
    latest = ((now or utcnow()) + timedelta(days=2)).date()
    return value.strip() if d.year >= EARLIEST_PUBLISHED and d <= latest else None


def date_filter(value: str | None) -> str | None:
    """A date as a query filter compares it: YYYY, YYYY-MM or YYYY-MM-DD, a real date (ValueError)."""
    if value is None:
        return None
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value) or parse_anchor(value)[0] is None:
        raise ValueError(f"{value!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    return value


def _month(name: str) -> int:
    return MONTHS[
        name.lower().rstrip(".")[:4] if name.lower().startswith("sept") else name.lower().rstrip(".")[:3]
    ]


def _nearest_year(month: int, day: int, anchor: date, future: bool) -> int:
    """The year that puts month/day closest to the anchor (a future phrase leans forward)."""
    best = anchor.year
    best_gap = None
    for y in (anchor.year - 1, anchor.year, anchor.year + 1):
        try:
            d = date(y, month, day)
        except ValueError:
            continue
        gap = (d - anchor).days
        score = abs(gap) if (gap >= 0) == future or gap == 0 else abs(gap) * 1.5
        if best_gap is None or score < best_gap:
            best, best_gap = y, score
    return best


def normalise(phrase: str, anchor: str | None, *, future: bool = False) -> str | None:
    """A date phrase -> "YYYY-MM-DD", "YYYY-MM" or "YYYY"; None when it cannot be pinned down."""
    a, grain = parse_anchor(anchor)
    p = phrase.strip()
    m = _RX_ISO.search(p)
    if m:
        return m.group(0)
    m = _RX_MDY.search(p)
    if m:
        month, day = _month(m[1]), int(m[2])
        year = (
            int(m[3]) if m[3] else (_nearest_year(month, day, a, future) if a and grain != "year" else None)
        )
        if year is None:
            return None
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return None
    m = _RX_DMY.search(p)
    if m:
        day, month = int(m[1]), _month(m[2])
        year = (
            int(m[3]) if m[3] else (_nearest_year(month, day, a, future) if a and grain != "year" else None)
        )
        if year is None:
            return None
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return None
    m = _RX_MY.search(p)
    if m:
        return f"{int(m[2]):04d}-{_month(m[1]):02d}"
    m = _RX_REL.search(p)
    if m and a:
        word = m[1].lower()
        if word in ("today", "tonight") and grain == "day":
            return a.isoformat()
        if word == "yesterday" and grain == "day":
            return (a - timedelta(days=1)).isoformat()
        if word == "tomorrow" and grain == "day":
            return (a + timedelta(days=1)).isoformat()
        if grain in ("day", "month"):
            if word == "this month":
                return f"{a.year:04d}-{a.month:02d}"
            if word == "last month":
                prev = a.replace(day=1) - timedelta(days=1)
                return f"{prev.year:04d}-{prev.month:02d}"
            if word == "next month":
                nxt = (a.replace(day=28) + timedelta(days=4)).replace(day=1)
                return f"{nxt.year:04d}-{nxt.month:02d}"
        if word == "this year":
            return f"{a.year:04d}"
        if word == "last year":
            return f"{a.year - 1:04d}"
        if word == "next year":
            return f"{a.year + 1:04d}"
    m = _RX_WEEKDAY.search(p)
    if m and a and grain == "day":
        target = WEEKDAYS.index(m[2].lower())
        qualifier = (m[1] or "").lower()
        delta = (a.weekday() - target) % 7
        if qualifier in ("next", "coming") or (future and qualifier != "last"):
            ahead = (target - a.weekday()) % 7 or 7
            return (a + timedelta(days=ahead)).isoformat()
        if qualifier == "last" and delta == 0:
            delta = 7
        return (a - timedelta(days=delta)).isoformat()
    # a bare number is a year only with a preposition or the word "year" ("over 2000 individuals" is not)
    m = _RX_YEAR.search(p) or re.fullmatch(r"\s*(?:the\s+)?year\s+(\d{4})\s*", p, re.I)
    if m:
        y = int(m[1])
        if 1980 <= y <= 2100:
            return f"{y:04d}"
    return None


def days_between(earlier: str | None, later: str | None) -> int | None:
    """Days from ``earlier`` to ``later`` (partial dates count from their first day)."""
    a, _ = parse_anchor(earlier)
    b, _ = parse_anchor(later)
    if a is None or b is None:
        return None
    return (b - a).days


def compatible(d1: str | None, d2: str | None, window_days: int) -> bool:
    """Whether two event dates can belong to one event (unknown dates are compatible)."""
    if not d1 or not d2:
        return True
    n = min(len(d1), len(d2))
    if d1[:n] == d2[:n]:
        return True
    gap = days_between(d1, d2)
    if gap is None:
        return True
    slack = 31 if n <= 7 else 0  # a month-grained date covers the month
    return abs(gap) <= window_days + slack
