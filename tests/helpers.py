"""Small builders for tests: event mentions and decisions as the stages produce them."""

from __future__ import annotations

import numpy as np

from pipeline.records import Decision, EventMention, Evidence


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


def decision(m: EventMention, event_id=None) -> Decision:
    v = np.ones(384, dtype=np.float32) / np.sqrt(384)
    return Decision(mention=m, embedding=v.tobytes(), event_id=event_id)
