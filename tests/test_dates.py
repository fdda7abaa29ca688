"""Event dates are normalised against the publication date, not replaced by it."""

from __future__ import annotations

import pytest

from pipeline.dates import compatible, normalise


@pytest.mark.parametrize(
    "phrase,anchor,future,want",
    [
        ("on Friday", "2026-03-11", False, "2026-03-06"),  # Wednesday story, last Friday
        ("Tuesday", "2026-03-11", False, "2026-03-10"),
        ("Monday", "2026-03-11", True, "2026-03-16"),  # "from Monday": the coming one
        ("December 18, 2020", "2020-12-21", False, "2020-12-18"),
        ("Dec. 18", "2021-01-04", False, "2020-12-18"),  # no year: the nearest past one
        ("April 10", "2026-03-30", True, "2026-04-10"),
        ("4 July", "2024-06-12", True, "2024-07-04"),
        ("last month", "2026-03-11", False, "2026-02"),
        ("March 2023", "2024-06-01", False, "2023-03"),
        ("in 2019", "2024-06-01", False, "2019"),
        ("today", "2024-02-24", False, "2024-02-24"),
        ("yesterday", "2024-02-24", False, "2024-02-23"),
        ("Friday", None, False, None),  # no anchor, no year: unknown
        ("Friday", "2024-02", False, None),  # a month-grained anchor cannot pin a weekday
        ("30 days", "2026-03-11", False, None),
    ],
)
def test_normalise(phrase, anchor, future, want):
    assert normalise(phrase, anchor, future=future) == want


def test_compatible_dates():
    assert compatible("2026-03-10", "2026-03-12", 7)
    assert not compatible("2026-03-10", "2026-05-12", 7)
    assert compatible("2026-03", "2026-03-28", 0)
    assert compatible(None, "2026-03-28", 0)
