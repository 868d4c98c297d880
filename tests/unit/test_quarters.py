"""Which quarter a scheduled job renders, and the ranges of `segreview backfill`."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.frame.errors import ParameterError
from helpers.frame.settings import quarter_bounds
from helpers.run.cli import main
from helpers.run.quarters import closed_quarter, quarter_of, quarter_range


@pytest.mark.parametrize("day, quarter", [
    ("2026-01-01", "2026Q1"), ("2026-03-31", "2026Q1"), ("2026-04-01", "2026Q2"), ("2026-06-30", "2026Q2"),
    ("2026-07-01", "2026Q3"), ("2026-09-30", "2026Q3"), ("2026-10-01", "2026Q4"), ("2026-12-31", "2026Q4"),
])
def test_quarter_of_a_day(day, quarter):
    assert quarter_of(dt.date.fromisoformat(day)) == quarter


@pytest.mark.parametrize("today, lag, closed", [
    ("2026-09-30", 0, "2026Q2"),   # the last day of Q3: Q3 is not over yet
    ("2026-10-01", 0, "2026Q3"),   # the day after: Q3 has closed
    ("2026-10-05", 0, "2026Q3"),
    ("2026-12-31", 0, "2026Q3"),
    ("2027-01-01", 0, "2026Q4"),   # across the year
    ("2026-01-01", 0, "2025Q4"),
    ("2026-03-31", 0, "2025Q4"),
    ("2026-04-01", 0, "2026Q1"),
    ("2026-10-05", 5, "2026Q2"),   # five days after the close are not over yet on the fifth
    ("2026-10-06", 5, "2026Q3"),
    ("2027-01-05", 5, "2026Q3"),
    ("2027-01-06", 5, "2026Q4"),
])
def test_closed_quarter_around_quarter_ends(today, lag, closed):
    assert closed_quarter(dt.date.fromisoformat(today), lag) == closed


@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2200, 12, 31)), st.integers(0, 120))
def test_closed_quarter_is_the_latest_quarter_over_by_the_lag(day, lag):
    q = closed_quarter(day, lag)
    cutoff = day - dt.timedelta(days=lag)
    _, end = quarter_bounds(q)
    assert end.date() < cutoff                                      # it is over ...
    next_end = quarter_bounds(quarter_range(q, quarter_of(cutoff))[1])[1]
    assert next_end.date() >= cutoff                                # ... and the next one is not


def test_negative_lag_is_refused():
    with pytest.raises(ParameterError, match="lag_days"):
        closed_quarter(dt.date(2026, 10, 1), -1)


def test_quarter_range():
    assert quarter_range("2025Q1", "2026Q3") == ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    assert quarter_range("2026Q3", "2026Q3") == ["2026Q3"]
    assert len(quarter_range("2000Q1", "2024Q4")) == 100
    with pytest.raises(ParameterError, match="after --to"):
        quarter_range("2026Q3", "2025Q1")
    with pytest.raises(ParameterError, match="not a quarter"):
        quarter_range("2025-Q1", "2026Q3")


@given(st.integers(1990, 2100), st.integers(1, 4), st.integers(0, 40))
def test_quarter_range_is_contiguous(year, q, n):
    first = f"{year}Q{q}"
    last = quarter_range(first, first)[0]
    for _ in range(n):
        last = quarter_of((quarter_bounds(last)[1] + dt.timedelta(days=1)).date())
    r = quarter_range(first, last)
    assert len(r) == n + 1 and r[0] == first and r[-1] == last
    for a, b in zip(r, r[1:], strict=False):
        assert quarter_bounds(b)[0] == quarter_bounds(a)[1] + dt.timedelta(days=1)


def test_quarter_command(capsys):
    assert main(["quarter", "--date", "2026-10-01"]) == 0
    assert capsys.readouterr().out == "2026Q3\n"
    assert main(["quarter", "--date", "2026-10-03", "--lag-days", "5"]) == 0
    assert capsys.readouterr().out == "2026Q2\n"
    assert main(["quarter"]) == 0
    assert capsys.readouterr().out.strip() == closed_quarter(dt.date.today())
    with pytest.raises(SystemExit) as e:
        main(["quarter", "--date", "1 October 2026"])
    assert e.value.code == 2 and "is not a date" in capsys.readouterr().err
