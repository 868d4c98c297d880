"""Renewal periods per subscriber, from the order log (payments) on the engine.

In a contractual business every order is a payment for a period of service (``business.period_months``
months: 1 = monthly). Per subscriber the engine computes, in one pass over the log, the first and
the last payment (overall and up to the backtest's calibration date), the number of payments and
the **current payment per period** (the payments of the last period: within half a period of the
last payment, so an add-on charged a few days before the renewal counts, the previous renewal does
not). Everything after that is per subscriber, in numpy:

- **periods paid** ``n``: ``round((last - first) / period) + 1`` (``period`` = ``period_months`` x
  30.436875 days, an average month), so payments a few days early or late still count one period
  each;
- **status at a date**: with a churn label (the customers table's ``churned`` column) the label
  decides at the as-of date; without one, a subscriber has churned when their last payment's
  period, plus ``clv.payment_grace_days``, ended before the date. At an earlier date (the backtest's
  calibration date) a subscriber had churned when they churned in the end and their last payment's
  period had ended by then; a subscriber who paid again later had not;
- an active subscriber at a date is in period ``floor(m / period_months) + 1``, ``m`` the whole
  calendar months since their first payment (at least the periods paid);
- **acquisition cohort**: the year or quarter (``clv.cohort``) of the first payment.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from helpers.frame.engine import as_table, to_pandas

__all__ = ["PERIOD_DAYS_PER_MONTH", "period_days", "whole_months", "renewal_table", "parse_churn_label", "status_at",
           "cohort_labels"]

#: Days in an average calendar month (365.2425 / 12).
PERIOD_DAYS_PER_MONTH = 30.436875


def period_days(period_months: int) -> float:
    """Length of one renewal period in days."""
    return period_months * PERIOD_DAYS_PER_MONTH


_TRUE = {"1", "1.0", "true", "t", "yes", "y", "churned", "是", "已流失", "流失"}
_FALSE = {"0", "0.0", "false", "f", "no", "n", "active", "否", "未流失", "在网"}


def parse_churn_label(values: pd.Series) -> pd.Series:
    """The churn label as a nullable boolean: booleans, 0/1, yes/no, true/false (any case), 是/否.

    Blanks are missing (``<NA>``: the status then comes from the payments).

    Raises
    ------
    ValueError
        A value that is none of these (with up to three examples and how many rows carry one).
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("boolean")
    if pd.api.types.is_numeric_dtype(values.dtype):
        bad = values.notna() & ~values.isin([0, 1])
        if bad.any():
            raise ValueError(f"the churn label (customers' churned column) must be 0/1, yes/no or true/false; "
                             f"{int(bad.sum()):,} rows hold other numbers, e.g. {values[bad].unique()[:3].tolist()}")
        return values.map(lambda v: pd.NA if pd.isna(v) else bool(v)).astype("boolean")
    text = values.astype("string").str.strip().str.lower()
    text = text.mask(text == "", pd.NA)
    known = text.isin(_TRUE | _FALSE) | text.isna()
    if not known.all():
        ex = text[~known].unique()[:3].tolist()
        raise ValueError(f"the churn label (customers' churned column) must be 0/1, yes/no, true/false or 是/否; "
                         f"{int((~known).sum()):,} rows hold other values, e.g. {ex}")
    return text.map(lambda v: pd.NA if pd.isna(v) else v in _TRUE).astype("boolean")


def renewal_table(orders: pd.DataFrame | str | Path | ibis.Table, as_of: pd.Timestamp, period_months: int,
                  calibration_end: pd.Timestamp | None = None,
                  customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per subscriber with a payment up to ``as_of``: the inputs of every status and tenure.

    Parameters
    ----------
    orders : DataFrame, Parquet path or Ibis table
        The clean orders (payments): ``customer_id``, ``order_ts``, ``amount``.
    as_of : Timestamp
        Last day included.
    period_months : int
        Length of one renewal period in months.
    calibration_end : Timestamp, optional
        Also the last payment up to this day (``last_cal``; NaT when none), for the backtest.
    customers : DataFrame, optional
        With a ``churned`` column: the label (parsed by :func:`parse_churn_label`).

    Returns
    -------
    DataFrame
        ``customer_id`` (str), ``first``, ``last``, ``last_cal`` (dates), ``payments`` (count),
        ``payment`` (current payment per period), ``label`` (nullable boolean; missing when there is
        no label for that subscriber), sorted by ``customer_id``.
    """
    t = as_table(orders)
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    t = t.filter(t.order_ts < ibis.timestamp(end)).mutate(_day=t.order_ts.cast("date"))
    cal = None if calibration_end is None else pd.Timestamp(calibration_end).normalize() + pd.Timedelta(days=1)
    aggs = {"first": t._day.min(), "last": t._day.max(), "payments": t.count()}
    if cal is not None:
        aggs["last_cal"] = t._day.max(where=t.order_ts < ibis.timestamp(cal))
    g = t.group_by("customer_id").aggregate(**aggs)
    half = max(int(round(period_days(period_months) / 2)), 1)
    j = t.join(g.select("customer_id", "last"), "customer_id")
    recent = j.filter(j._day > j["last"].sub(ibis.interval(days=half)))
    pay = recent.group_by("customer_id").aggregate(payment=recent.amount.sum())
    out = to_pandas(g.join(pay, "customer_id").order_by("customer_id"))
    out["customer_id"] = out["customer_id"].astype(str)
    for c in ("first", "last", "last_cal"):
        if c in out:
            out[c] = pd.to_datetime(out[c]).astype("datetime64[s]")
    if "last_cal" not in out:
        out["last_cal"] = pd.NaT
    out["payment"] = out["payment"].astype(float)
    label = pd.Series(pd.NA, index=out.index, dtype="boolean")
    if customers is not None and "churned" in customers.columns:
        lab = parse_churn_label(customers["churned"])
        lab.index = customers["customer_id"].astype(str)
        lab = lab[~lab.index.duplicated()]
        label = lab.reindex(out["customer_id"]).reset_index(drop=True).astype("boolean")
    out["label"] = label
    return out[["customer_id", "first", "last", "last_cal", "payments", "payment", "label"]].reset_index(drop=True)


def whole_months(first: pd.Series, at: pd.Timestamp) -> np.ndarray:
    """Whole calendar months from each ``first`` to ``at``: the largest ``k`` with ``first + k months <= at``,
    the day clamped to the month's end (a subscriber who joined on 31 March renews on 30 September)."""
    f = pd.to_datetime(first)
    m = np.asarray((at.year - f.dt.year) * 12 + (at.month - f.dt.month), np.int64)
    day = np.minimum(f.dt.day.to_numpy(), at.days_in_month)
    return m - (day > at.day)


def _days(a: pd.Series | pd.Timestamp, b: pd.Series) -> np.ndarray:
    """Whole days from ``b`` to ``a`` (a date or a column of dates)."""
    return (a - b).dt.days.to_numpy(float)


def status_at(table: pd.DataFrame, at: pd.Timestamp, as_of: pd.Timestamp, period_months: int,
              grace_days: int) -> pd.DataFrame:
    """Each subscriber's period and status at ``at`` (``at <= as_of``), from :func:`renewal_table`.

    Returns
    -------
    DataFrame
        The subscribers acquired by ``at``: ``customer_id``, ``n`` (periods paid by ``at`` if churned,
        else the period they are in), ``churned`` (by ``at``), ``first``; and ``n_final``,
        ``churned_final``: the same at ``as_of`` (what the backtest compares with).
    """
    at = pd.Timestamp(at).normalize()
    as_of = pd.Timestamp(as_of).normalize()
    P = period_days(period_months)
    first = table["first"]
    # the final status, at the as-of date: the label where there is one, else the payments
    lapsed = _days(as_of, table["last"]) >= P + grace_days
    label = table["label"]
    churned_final = np.where(label.isna().to_numpy(), lapsed, label.fillna(False).to_numpy(bool))
    paid = np.rint(_days(table["last"], first) / P) + 1
    running = np.floor(whole_months(first, as_of) / period_months) + 1
    n_final = np.where(churned_final, paid, np.maximum(paid, running))
    if at >= as_of:
        keep = np.ones(len(table), bool)
        n, churned = n_final, churned_final
    else:
        last_at = table["last_cal"] if "last_cal" in table else pd.Series(pd.NaT, index=table.index)
        keep = last_at.notna().to_numpy()
        last_at_f = last_at.fillna(first)
        paid_at = np.rint(_days(last_at_f, first) / P) + 1
        ended = _days(at, last_at_f) >= P  # the last period paid by `at` had run out by then
        paid_later = (table["last"] > last_at_f).to_numpy()
        churned = churned_final & ended & ~paid_later
        running_at = np.floor(whole_months(first, at) / period_months) + 1
        n = np.where(churned, paid_at, np.maximum(paid_at, running_at))
    out = pd.DataFrame({"customer_id": table["customer_id"].to_numpy(), "n": n.astype(np.int64),
                        "churned": churned.astype(bool), "first": first.to_numpy(),
                        "n_final": n_final.astype(np.int64), "churned_final": churned_final.astype(bool),
                        "payment": table["payment"].to_numpy(float)})
    return out[keep].reset_index(drop=True)


def cohort_labels(first: pd.Series, cohort: str) -> pd.Series:
    """Acquisition cohort of each subscriber: ``"2024"`` (year) or ``"2024Q3"`` (quarter)."""
    d = pd.to_datetime(first)
    if cohort == "year":
        return d.dt.year.astype(str)
    if cohort == "quarter":
        return d.dt.year.astype(str) + "Q" + d.dt.quarter.astype(str)
    raise ValueError(f"unknown cohort {cohort!r}; use year or quarter")
