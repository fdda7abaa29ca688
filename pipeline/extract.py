"""Stage 3: page bytes -> article text. trafilatura is used as a pure parser of bytes we fetched.

Hardening: bounded input size and tree size; no network (trafilatura never fetches here).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import htmldate
import trafilatura
from lxml import etree
from trafilatura.settings import use_config
from trafilatura.utils import load_html

from .errors import ExtractionError, ExtractionTimeout
from .records import Extracted

MAX_TREE_SIZE = 100_000  # elements; a larger (pathological) document is discarded, not walked
MIN_TEXT_CHARS = 80


def _config():  # type: ignore[no-untyped-def]
    cfg = use_config()
    cfg.set("DEFAULT", "MAX_TREE_SIZE", str(MAX_TREE_SIZE))
    cfg.set("DEFAULT", "INSECURE_SSL_FALLBACK", "off")  # trafilatura never fetches here; belt and braces
    cfg.set("DEFAULT", "SSRF_PROTECTION", "on")
    cfg.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # signal-based; we bound time ourselves
    return cfg


CONFIG = _config()


_WS = re.compile(r"[ \t\u00a0]+")
# Publication dates from the page's own metadata only (meta tags, JSON-LD, <time>, the URL). htmldate
# reads dates out of the visible text too (its extensive search, and even its fast mode as a last
# resort), where the first one is often a footer's copyright year or a date the story cites ("the
# 10/7/2022 rules"): an undated page became "published" on it, and every event it reported looked
# months old or in the future. So htmldate sees only a skeleton of the page's date-bearing markup.
DATE_PARAMS = {"original_date": True, "extensive_search": False}
_DATE_MARKUP = etree.XPath(
    "//head/meta | //head/title | //body//meta | //script[@type='application/ld+json'] | //time"
    " | //*[@itemprop][contains(translate(@itemprop, 'DATE', 'date'), 'date')]"
)


def _published(tree: Any, url: str | None, date_params: dict[str, Any]) -> str | None:
    """The page's publication date from its metadata alone (no visible text), or None."""
    parts = [etree.tostring(e, encoding="unicode", with_tail=False) for e in _DATE_MARKUP(tree)]
    skeleton = "<html><head></head><body>" + "".join(parts) + "</body></html>"
    try:
        return htmldate.find_date(skeleton, url=url, **date_params)
    except Exception:  # a date is a nicety: a page whose markup htmldate cannot read is undated
        return None


MAX_ELEMENTS = 60_000  # pages with more are refused with their count, not extracted for seconds


def _date_params() -> dict[str, Any]:
    return dict(DATE_PARAMS, max_date=date.today().isoformat())


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _without_headline(text: str, title: str) -> str:
    """The body without the page's headline when it opens the text (the <h1> is kept as the title)."""
    first, _, rest = text.partition("\n")
    if title and rest and _words(first) == _words(title):
        return rest
    return text


def extract_article(html: bytes | str, *, url: str | None = None, max_bytes: int = 10_000_000) -> Extracted:
    """Main text, title and publication date of a news page."""
    if not html:
        raise ExtractionError("empty", "empty page")
    if len(html) > max_bytes:
        raise ExtractionError("too_large", f"page larger than {max_bytes} bytes")
    try:
        tree = load_html(html)
        if tree is None:
            raise ExtractionError("parser_error", "not an HTML document")
        elements = sum(1 for _ in tree.iter())
        if elements > MAX_ELEMENTS:  # a news page has a few thousand; this many only slows the pool
            raise ExtractionError("too_many_elements", f"{elements:,} HTML elements (over {MAX_ELEMENTS:,})")
        date_params = _date_params()
        published = _published(tree, url, date_params)  # before trafilatura, which prunes the tree
        doc = trafilatura.bare_extraction(
            tree,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,  # trafilatura's default; tables carry tariff schedules
            date_extraction_params=date_params,
            config=CONFIG,
        )
    except ExtractionError:
        raise
    except Exception as exc:  # trafilatura raises assorted lxml errors on broken markup
        raise ExtractionError("parser_error", f"{type(exc).__name__}: {exc}") from exc
    text = (doc.text or "").strip() if doc is not None else ""
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionError("no_text", "no article text found on the page")
    text = "\n".join(_WS.sub(" ", line).strip() for line in text.splitlines() if line.strip())
    title = (doc.title or "").strip()
    return Extracted(
        text=_without_headline(text, title),
        title=title,
        published=published or None,
        sitename=(doc.sitename or "").strip()[:100],
    )


def _noop(_: int) -> None:
    import trafilatura  # noqa: F401


def _worker_init() -> None:
    """A worker leaves its parent's process group: a SIGTERM to the group (a service manager's stop,
    Ctrl-C in a terminal) reaches the daemon alone, which finishes its item and ends the pool. (A
    worker killed while it waits for a task would hold the pool's queue lock for ever, and the
    daemon's shutdown would hang on it.) If the daemon dies, its workers see the queue close and exit."""
    import os

    os.setsid()


class ExtractionPool:
    """trafilatura in worker processes: both cores in use, and a pathological page cannot hang the daemon.

    Each page gets ``timeout`` seconds; a worker that overruns is killed and replaced. Workers are
    spawned (not forked), so they never inherit the parent's model threads, each in its own session
    (``_worker_init``): only the daemon stops them.
    """

    def __init__(self, workers: int = 2, timeout: float = 30.0) -> None:
        self.workers = max(1, workers)
        self.timeout = timeout
        self._pool = None

    def _get(self):  # type: ignore[no-untyped-def]
        if self._pool is None:
            import multiprocessing

            self._pool = multiprocessing.get_context("spawn").Pool(
                self.workers, initializer=_worker_init, maxtasksperchild=500
            )
            # start-up (imports) must not count against a page's time
            self._pool.map(_noop, range(self.workers), chunksize=1)
        return self._pool

    def extract_many(
        self, pages: list[tuple[bytes, str | None]], max_bytes: int = 10_000_000
    ) -> list[Extracted | ExtractionError]:
        """Extract several pages in parallel; each result is the text or the typed error for that page."""
        import multiprocessing

        def submit(html: bytes, url: str | None) -> Any:
            return self._get().apply_async(extract_article, (html,), {"url": url, "max_bytes": max_bytes})

        pending = [submit(html, url) for html, url in pages]
        out: list[Extracted | ExtractionError] = []
        broken = False
        for page, job in zip(pages, pending, strict=True):
            if broken:  # the pool was replaced: run what is left one by one in the new one
                job = submit(*page)
            try:
                out.append(job.get(self.timeout))
            except multiprocessing.TimeoutError:
                out.append(ExtractionTimeout(self.timeout))
                self.close()  # kill the stuck worker; a fresh pool serves the rest
                broken = True
            except ExtractionError as exc:
                out.append(exc)
            except Exception as exc:  # a crash inside the worker is a typed error for that page
                out.append(ExtractionError("worker_error", f"{type(exc).__name__}: {exc}"))
        return out

    def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                pool.terminate()
                pool.join()
            except (AssertionError, OSError, ValueError):  # a pool whose handler thread already died
                pass
