"""Small builders for tests: event mentions and decisions as the stages produce them, slow HTTP handlers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from werkzeug import Response

from pipeline.records import Article, Decision, EventMention, Evidence


def mention(
    type_="sanctions_listing",
    status="done",
    actors=("U.S. Department of Commerce (BIS)",),
    targets=("Acme Photonics",),
    date="2026-03-10",
    sentence="The Commerce Department added Acme Photonics to the Entity List.",
    milestone="listing",
    confidence=0.9,
    background=False,
) -> EventMention:
    return EventMention(
        type=type_,
        status=status,
        milestone=milestone,
        actors=tuple(actors),
        targets=tuple(targets),
        location=None,
        event_date=date,
        confidence=confidence,
        evidence=(Evidence(sentence=sentence, start=0, end=len(sentence)),),
        rule_ids=("test.v1",),
        background=background,
    )


def decision(m: EventMention, event_id=None, routes=()) -> Decision:
    v = (np.ones(384) / np.sqrt(384)).astype(np.float32)
    return Decision(mention=m, embedding=v.tobytes(), event_id=event_id, routes=tuple(routes))


def dripping(chunk: bytes, times: int, delay: float, content_type: str) -> Callable[[Any], Response]:
    """A pytest-httpserver handler that sends ``chunk`` ``times`` times, ``delay`` seconds apart."""

    def handler(_request: Any) -> Response:
        def body() -> Iterator[bytes]:
            for _ in range(times):
                yield chunk
                time.sleep(delay)

        return Response(body(), content_type=content_type)

    return handler


def ingest(
    pipeline: Any, url: str, title: str, text: str, published: str | None = "2026-03-11", mentions=None
) -> Any:
    """One article through the pipeline's own per-article step (events unless given, story, dedup,
    commit), as the daemon runs it; returns what the step did (``flow.Processed``)."""
    aid, _ = pipeline.store.articles.add(url=url, title=title, published=published, text=text)
    art = Article(id=aid, url=url, title=title, outlet="o", published=published, text=text)
    return pipeline.process_article(art, mentions)
