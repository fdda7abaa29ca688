"""Fitting a decision head: logistic regression (scikit-learn, a training dependency only) over named
features, written as plain weights that inference reads without it."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..logistic import Head

PRUNE = 1e-5  # weights smaller than this are left out of the file


@dataclass(frozen=True)
class Params:
    c_reading: float = 0.3
    c_event: float = 0.05
    folds: int = 5
    seed: int = 7
    add_thresholds: tuple[float, ...] = (1.01, 0.9, 0.8, 0.7, 0.6, 0.5)  # 1.01: the rules' firings only
    keep_thresholds: tuple[float, ...] = field(default=tuple(round(0.1 + 0.05 * k, 2) for k in range(15)))
    promote_thresholds: tuple[float, ...] = (1.01, 0.95, 0.9, 0.8, 0.7)  # 1.01: the rules' background stands


def head(features: list[dict[str, float]], y: list[int], c: float, seed: int) -> Head:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    if len(set(y)) < 2:  # nothing to tell apart: the one class, always
        return Head(10.0 if (y and y[0]) else -10.0, {})
    dv = DictVectorizer()
    x = dv.fit_transform(features)
    lr = LogisticRegression(C=c, max_iter=5000, random_state=seed).fit(x, y)
    weights = {
        str(name): round(float(w), 6)
        for name, w in zip(dv.get_feature_names_out(), lr.coef_[0], strict=True)
        if abs(w) >= PRUNE
    }
    return Head(round(float(lr.intercept_[0]), 6), weights)


def platt(p: list[float], y: list[int], seed: int) -> tuple[float, float]:
    """Platt scaling: (a, b) with P(right) = sigmoid(a * logit(p) + b), fitted on out-of-fold scores."""
    from sklearn.linear_model import LogisticRegression

    from ..logistic import logit

    if len(set(y)) < 2:
        return (1.0, 0.0)
    lr = LogisticRegression(C=100.0, max_iter=2000, random_state=seed).fit([[logit(x)] for x in p], y)
    return (round(float(lr.coef_[0][0]), 6), round(float(lr.intercept_[0]), 6))
