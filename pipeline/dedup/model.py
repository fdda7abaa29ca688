"""The trained merge decision, from ``models/merge_v1.json`` (written by ``run.py train``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..logistic import Head, read_model_file
from .pairs import PAIR_FEATURE_SET

MODEL_NAME = "merge_v1"


@dataclass(frozen=True)
class MergeModel:
    """P(a report and a stored event are one real-world event); a report joins the best candidate from
    ``threshold`` (chosen by cross-validation grouped by event cluster)."""

    head: Head
    threshold: float
    meta: dict[str, Any]
    decides: str = "head"  # "rules": the head did not beat the rules out of fold; the rules decide

    @classmethod
    def load(cls, path: str | Path) -> MergeModel:
        d = read_model_file(path, "merge model", PAIR_FEATURE_SET)
        try:
            decides = str(d.get("decides", "head"))
            if decides not in ("head", "rules"):
                raise ValueError(f"decides must be head or rules, not {decides!r}")
            meta = {k: v for k, v in d.items() if k != "head"}
            return cls(Head.of(d["head"]), float(d["threshold"]), meta, decides)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: not a merge model: {type(exc).__name__}: {exc}") from exc
