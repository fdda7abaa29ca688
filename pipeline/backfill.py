"""Backfill input (``run.py process``): a JSONL file, one article a line, read line by line.

Every line is read on its own (bytes, UTF-8 and JSON in ``read``, the types of its fields in
``queue``): a bad line is reported with its number and reason and the rest are read. A line is ``{"url", "title"?, "published"?,
"outlet"?, "text" | "html"}``; ``url`` identifies the article (an http(s) URL, or any id such as
``reuters:123``; only http(s) URLs become links in alerts); every field is a string or absent.
A text longer than ``MAX_TEXT_CHARS`` is cut there (the cut is recorded); a line longer than
``MAX_LINE_BYTES`` is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ExtractionError

if TYPE_CHECKING:
    from .store import Store

MAX_LINE_BYTES = 50_000_000
MAX_TEXT_CHARS = 1_000_000
_STRINGS = ("title", "published", "outlet", "text", "html")


@dataclass(frozen=True)
class Line:
    where: str  # "path:line"
    record: Any  # the line's JSON value (``queue`` checks its fields), or None with the error
    error: str | None = None


def read(path: str | Path) -> Iterator[Line]:
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            where = f"{path}:{n}"
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE_BYTES:
                yield Line(
                    where, None, f"a line of {len(raw):,} bytes is over the limit of {MAX_LINE_BYTES:,}"
                )
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Line(where, None, f"not UTF-8 (byte {exc.start + 1} of the line)")
                continue
            try:
                yield Line(where, json.loads(text))
            except json.JSONDecodeError as exc:
                yield Line(where, None, f"not JSON: {exc}")


def record(rec: Any) -> dict[str, Any]:
    """The fields of one backfill line, checked; ValueError names what is wrong."""
    if not isinstance(rec, dict):
        raise ValueError(f"a line must be a JSON object, not {_kind(rec)}")
    url = rec.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"url must be a non-empty string, not {_kind(url)}")
    if any(ord(c) < 32 or ord(c) == 127 for c in url):
        raise ValueError("url must not contain control characters")
    for k in _STRINGS:
        if rec.get(k) is not None and not isinstance(rec[k], str):
            raise ValueError(f"{k} must be a string, not {_kind(rec[k])}")
    if not (rec.get("text") or "").strip() and not (rec.get("html") or "").strip():
        raise ValueError("neither text nor html")
    return {"url": url.strip(), **{k: rec[k] for k in _STRINGS if rec.get(k) is not None}}


_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def _kind(v: Any) -> str:
    return _KINDS.get(type(v), "a number")


def queue(store: Store, records: Iterable[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Queue backfill records (``where``, record), each checked by ``record``, with their text (or
    html, extracted here); returns the (where, reason) of the records refused, each also recorded as
    a failure."""
    from .extract import extract_article

    bad: list[tuple[str, str]] = []
    for where, raw in records:
        try:
            rec = record(raw)
            url, text = rec["url"], rec.get("text")
            if not (text or "").strip():  # the html then (``record`` made sure there is one)
                ex = extract_article(rec["html"], url=url)
                text = ex.text
                rec.setdefault("title", ex.title)
                rec["published"] = rec.get("published") or ex.published
            if len(text) > MAX_TEXT_CHARS:
                store.failures.record(
                    "process",
                    where,
                    "text_cut",
                    f"text of {len(text):,} characters cut to {MAX_TEXT_CHARS:,}",
                )
                text = text[:MAX_TEXT_CHARS]
            store.articles.add(
                url=url,
                title=rec.get("title") or "",
                published=rec.get("published"),
                text=text,
                outlet=rec.get("outlet") or "",
            )
        except (ValueError, ExtractionError) as exc:
            store.failures.record("process", where, type(exc).__name__, str(exc))
            bad.append((where, f"{type(exc).__name__}: {exc}"))
    return bad
