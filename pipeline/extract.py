"""Stage 3: page bytes -> article text. trafilatura is used as a pure parser of bytes we fetched.

Hardening: bounded input size and tree size; no network (trafilatura never fetches here).
"""

from __future__ import annotations

import re

import trafilatura
from trafilatura.settings import use_config

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


class ExtractionError(ValueError):
    """No article text could be extracted; ``reason`` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


_WS = re.compile(r"[ \t\u00a0]+")


def extract_article(html: bytes | str, *, url: str | None = None, max_bytes: int = 10_000_000) -> Extracted:
    """Main text, title and publication date of a news page."""
    if not html:
        raise ExtractionError("empty", "empty page")
    if len(html) > max_bytes:
        raise ExtractionError("too_large", f"page larger than {max_bytes} bytes")
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,  # trafilatura's default; tables carry tariff schedules
            config=CONFIG,
        )
    except Exception as exc:  # trafilatura raises assorted lxml errors on broken markup
        raise ExtractionError("parser_error", f"{type(exc).__name__}: {exc}") from exc
    text = (doc.text or "").strip() if doc is not None else ""
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionError("no_text", "no article text found on the page")
    text = "\n".join(_WS.sub(" ", line).strip() for line in text.splitlines() if line.strip())
    return Extracted(
        text=text,
        title=(doc.title or "").strip(),
        published=doc.date or None,
        sitename=(doc.sitename or "").strip()[:100],
    )
