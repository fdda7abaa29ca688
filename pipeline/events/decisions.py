"""The trained decisions: which readings are events, which candidate events are kept, and how much
an event can be trusted (a calibrated probability).

Two logistic heads over the named features of ``features``, in ``models/event_decisions_v1.json``
(written by ``run.py train``):

- ``reading``: P(the sentence states an event of the reading's type). The rules' own decision
  (``fires``) is one of its features; a reading the rules do not fire on still becomes a mention
  when this probability reaches ``add_threshold`` (recall the rules lack);
- ``event``: P(a candidate event, a group of one article's mentions, is a right news event: the
  article reports it, of this type, as news). A candidate is kept from ``keep_threshold``; below it
  it is dropped (generic mentions, page furniture), or kept as context when the rules read it as
  background; a candidate the rules read as background but the head keeps is news.

``calibration`` (Platt scaling of the event head, fitted on out-of-fold events) turns the event
probability into the event's confidence: the probability that it is right. The thresholds and the
calibration are chosen by cross-validation grouped by event cluster. Status stays with the
rules' modality reading: in cross-validation a trained status was less accurate than it.
Inference is sums of weights and a logistic function; nothing but the file is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..logistic import Head, logit, read_model_file, sigmoid
from ..records import EventMention
from .features import FEATURE_SET, event_features, features
from .grouping import Mention
from .readings import Reading

MODEL_NAME = "event_decisions_v1"


@dataclass(frozen=True)
class DecisionModel:
    reading: Head
    event: Head
    add_threshold: float
    keep_threshold: float
    calibration: tuple[float, float]  # (a, b): confidence = sigmoid(a * logit(p_event) + b)
    meta: dict[str, Any]
    promote_threshold: float = 1.01  # a candidate the rules read as background is news from this P

    @classmethod
    def load(cls, path: str | Path) -> DecisionModel:
        d = read_model_file(path, "decision model", FEATURE_SET)
        try:
            a, b = (float(x) for x in d["calibration"]["platt"])
            return cls(
                reading=Head.of(d["heads"]["reading"]),
                event=Head.of(d["heads"]["event"]),
                add_threshold=float(d["thresholds"]["add_reading"]),
                keep_threshold=float(d["thresholds"]["keep_event"]),
                calibration=(a, b),
                meta={k: v for k, v in d.items() if k != "heads"},
                promote_threshold=float(d["thresholds"].get("promote_background", 1.01)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: not an event decision model: {type(exc).__name__}: {exc}") from exc

    def confidence(self, p_event: float) -> float:
        a, b = self.calibration
        return sigmoid(a * logit(p_event) + b)


class Decisions:
    """Applies a decision model to one article's readings and candidate events."""

    def __init__(self, model: DecisionModel) -> None:
        self.model = model

    def p_reading(self, r: Reading) -> float:
        p = r.cache.get("p_reading")
        if p is None or r.cache.get("head") is not self.model.reading:
            f = r.cache.get("features")
            if f is None:
                f = r.cache["features"] = features(r, r.doc, r.published)
            p = r.cache["p_reading"] = self.model.reading.probability(f)
            r.cache["head"] = self.model.reading
        return p

    def mentions(self, readings: list[Reading]) -> list[Mention]:
        """The readings the rules fire on, and those the reading head finds likely enough."""
        out = []
        for r in readings:
            p = self.p_reading(r)
            if r.fires or p >= self.model.add_threshold:
                out.append(
                    replace(
                        r.mention,
                        actors=list(r.mention.actors),
                        targets=list(r.mention.targets),
                        confidence=round(p, 4),
                        reading=r,
                    )
                )
        return out

    def p_event(self, e: EventMention, group: list[Mention], groups: list[list[Mention]]) -> float:
        p_read = max(m.confidence for m in group)
        return self.model.event.probability(event_features(e, group, groups, p_read))

    def judge(self, grouped: list[tuple[EventMention, list[Mention]]]) -> list[EventMention]:
        """The candidate events kept as news, each with its confidence (the probability that it is
        right); from ``promote_threshold`` the head also overrules the rules' background reading. A candidate it does not keep
        stays as context when the rules read it as background (never stored as news), else is dropped."""
        groups = [g for _, g in grouped]
        out = []
        for e, g in grouped:
            p = self.p_event(e, g, groups)
            bar = self.model.promote_threshold if e.background else self.model.keep_threshold
            if p >= bar:
                out.append(replace(e, background=False, confidence=round(self.model.confidence(p), 3)))
            elif e.background:
                out.append(e)
        return out
