"""Purchase histories per customer, built once from the clean order log.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.value.model import CLVFitError

__all__ = ['PurchaseDays', 'calibration_summary', 'purchase_days']


@dataclass
class PurchaseDays:
    """One row per customer and purchase day, sorted by customer id, then day.

    ``ids``: the distinct customer ids (sorted strings); ``customer``: each row's position in
    ``ids``; ``day``: days since 1970-01-01; ``amount``: the day's total spend; ``end``: the
    first day not included.
    """

    ids: np.ndarray
    customer: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    end: pd.Timestamp


def calibration_summary(orders: pd.DataFrame | PurchaseDays, calibration_end: pd.Timestamp,
                        observation_end: pd.Timestamp | None = None, unit_days: float = 7.0,
                        customer_col: str = "customer_id", ts_col: str = "order_ts",
                        amount_col: str = "amount") -> pd.DataFrame:
    """Per-customer (x, t_x, T, m_x) in a calibration period, and holdout purchases.

    Orders are first summed per customer and day (one purchase occasion per customer-day).

    Parameters
    ----------
    orders : DataFrame
        Clean orders.
    calibration_end : Timestamp
        Last day of the calibration period (included).
    observation_end : Timestamp, optional
        Last day of the holdout period; adds ``x_holdout`` (purchase days in the holdout) and
        ``holdout_spend``.
    unit_days : float
        Length of the time unit in days (7 = weeks).

    Returns
    -------
    DataFrame
        ``customer_id``, ``x`` (repeat purchase days), ``t_x`` (time of the last purchase after
        the first), ``T`` (time from the first purchase to the end of the calibration period),
        ``m_x`` (mean spend of the repeat purchase days; NaN when x = 0), ``first_purchase``; and
        (times run from the first purchase day to the last purchase day / to the last day of the
        calibration period, so a purchase on that last day has ``t_x == T``: the convention of
        Fader, Hardie & Lee's CDNOW files, T = 38.86 weeks for a customer first seen on 1 January);
        with ``observation_end`` also ``x_holdout``, ``holdout_spend``, ``holdout_length``.
    """
    end = pd.Timestamp(calibration_end).normalize() + pd.Timedelta(days=1)
    oend = pd.Timestamp(observation_end).normalize() + pd.Timedelta(days=1) if observation_end is not None else end
    pdays = (
        orders if isinstance(orders, PurchaseDays) else purchase_days(orders, oend, customer_col, ts_col, amount_col)
    )
    if pdays.end < oend:
        raise ValueError(f"purchase days end on {pdays.end.date()}, before the end of the period {oend.date()}")
    ids, cust, day, amount = pdays.ids, pdays.customer, pdays.day, pdays.amount
    if pdays.end > oend:
        within = day < _day_number(oend)
        cust, day, amount = cust[within], day[within], amount[within]
    end_day = _day_number(end)
    cal = day < end_day
    if not cal.any():
        raise CLVFitError(f"no orders before the end of the calibration period {calibration_end.date()}")
    c_cal, d_cal, a_cal = cust[cal], day[cal], amount[cal]
    # rows are sorted by customer, then day: each customer's first and last rows bound a block
    starts = np.flatnonzero(np.r_[True, c_cal[1:] != c_cal[:-1]])
    stops = np.r_[starts[1:], len(c_cal)] - 1
    who = c_cal[starts]
    n = stops - starts + 1
    total = np.add.reduceat(a_cal, starts)
    first_d, last_d = d_cal[starts], d_cal[stops]
    with np.errstate(invalid="ignore", divide="ignore"):
        m_x = np.where(n > 1, (total - a_cal[starts]) / np.maximum(n - 1, 1), np.nan)
    out = pd.DataFrame({
        "x": (n - 1).astype("int64"),
        "t_x": (last_d - first_d) / unit_days,
        "T": (end_day - 1 - first_d) / unit_days,
        "m_x": m_x,
        "first_purchase": pd.to_datetime(first_d, unit="D").astype("datetime64[us]"),
    }, index=pd.Index(ids[who], name="customer_id"))
    if observation_end is not None:
        hold = ~cal
        pos = np.full(len(ids), -1)
        pos[who] = np.arange(len(who))
        hc = pos[cust[hold]]
        ok = hc >= 0
        out["x_holdout"] = np.bincount(hc[ok], minlength=len(who)).astype("int64")
        out["holdout_spend"] = np.bincount(hc[ok], weights=amount[hold][ok], minlength=len(who))
        out["holdout_length"] = (oend - end).days / unit_days
    return out.reset_index()


def _day_number(ts) -> int:
    """Days since 1970-01-01 of a timestamp (its calendar day)."""
    return int(np.datetime64(pd.Timestamp(ts).normalize().to_datetime64(), "D").astype("int64"))


def purchase_days(orders: pd.DataFrame, end: pd.Timestamp, customer_col: str = "customer_id",
                  ts_col: str = "order_ts", amount_col: str = "amount") -> PurchaseDays:
    """Orders before ``end`` summed per customer and day (see :class:`PurchaseDays`).

    Build it once and pass it to :func:`calibration_summary` for several cut-off dates: the
    grouping of the order log is the costly part.
    """
    for c in (customer_col, ts_col, amount_col):
        if c not in orders.columns:
            raise KeyError(f"orders lack {c!r}")
    end = pd.Timestamp(end).normalize()
    ts = orders[ts_col].to_numpy(dtype="datetime64[us]")
    day = ts.astype("datetime64[D]").astype("int64")
    keep = day < _day_number(end)
    codes, ids = pd.factorize(orders[customer_col].astype(str), sort=True)
    codes, day = codes[keep].astype(np.int64), day[keep]
    amount = orders[amount_col].to_numpy(dtype="float64")[keep]
    ids = np.asarray(ids, dtype=object)
    if len(day) == 0:
        return PurchaseDays(ids, codes, day, amount, end)
    d0 = day.min()
    span = int(day.max() - d0 + 1)
    key = codes * span + (day - d0)
    uk, inv = np.unique(key, return_inverse=True)
    total = np.bincount(inv, weights=amount, minlength=len(uk))
    return PurchaseDays(ids, uk // span, uk % span + d0, total, end)
