"""A logistic head over named features: what every trained decision of the product is, written as plain
weights in its model file (fitted by ``training``; read here without any learning library)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelError


def sigmoid(z: float) -> float:
    if z < -35:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class Head:
    """A binary logistic head: weights per named feature and a bias."""

    bias: float
    weights: dict[str, float]

    def probability(self, f: dict[str, float]) -> float:
        z = self.bias
        for name, value in f.items():
            w = self.weights.get(name)
            if w is not None:
                z += w * value
        return sigmoid(z)

    def as_dict(self) -> dict[str, Any]:
        return {"bias": self.bias, "weights": dict(sorted(self.weights.items()))}

    @classmethod
    def of(cls, d: dict[str, Any]) -> Head:
        return cls(float(d["bias"]), {str(k): float(v) for k, v in d["weights"].items()})


def read_model_file(path: str | Path, what: str, feature_set: str) -> dict[str, Any]:
    """A trained model file's contents, refused with a one-line ModelError when it cannot be read or
    was made for other features than this code computes."""
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the {what}: {exc}") from exc
    if not isinstance(d, dict) or d.get("feature_set") != feature_set:
        made_for = d.get("feature_set") if isinstance(d, dict) else None
        raise ModelError(f"{path}: made for features {made_for!r}; this code reads {feature_set!r}")
    return d
