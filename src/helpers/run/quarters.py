"""Which quarters to render: the quarter that closed most recently (scheduled jobs) and ranges of
quarters (``segreview backfill``)."""

from __future__ import annotations

import datetime as dt

from helpers.frame.errors import ParameterError
from helpers.frame.settings import previous_quarter, quarter_bounds

__all__ = ["quarter_of", "closed_quarter", "quarter_range"]


def quarter_of(day: dt.date) -> str:
    """The quarter ``day`` falls in (``2026-07-01`` -> ``"2026Q3"``)."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def closed_quarter(today: dt.date | None = None, lag_days: int = 0) -> str:
    """The most recent quarter that had closed ``lag_days`` days before ``today``.

    A quarter has closed once its last day is over: on 2026-10-01 the closed quarter is 2026Q3, on
    2026-09-30 it is 2026Q2. ``lag_days`` leaves the export time to settle (late orders, refunds):
    with ``lag_days=5``, 2026Q3 counts as closed from 2026-10-06 on.

    Parameters
    ----------
    today : date, optional
        The day of the run (default: today, local time).
    lag_days : int
        Days that must have passed since the quarter's last day (at least 0).
    """
    if lag_days < 0:
        raise ParameterError(f"lag_days must be 0 or more, got {lag_days}")
    day = (today or dt.date.today()) - dt.timedelta(days=lag_days)
    return previous_quarter(quarter_of(day))


def quarter_range(first: str, last: str) -> list[str]:
    """Every quarter from ``first`` to ``last``, both included (``2025Q4``, ``2026Q1``, ...).

    Raises
    ------
    ParameterError
        A label that is not a quarter, or ``first`` after ``last``.
    """
    start, end = quarter_bounds(first)[0], quarter_bounds(last)[0]
    if start > end:
        raise ParameterError(f"--from {first} is after --to {last}: give the earlier quarter first")
    out = [first]
    while out[-1] != last:
        nxt = quarter_of((quarter_bounds(out[-1])[1] + dt.timedelta(days=1)).date())
        out.append(nxt)
    return out
