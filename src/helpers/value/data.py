"""Purchase histories per customer, built once from the clean order log.

Two constructions of the same per-customer summaries:

* :func:`purchase_days` / :func:`calibration_summary`: numpy over the order log held in pandas
  (the reference, and what the step calls on a DataFrame);
* :func:`calibration_summary_engine` / :func:`repeat_purchase_days` /
  :func:`weekly_repeat_purchases`: one engine query each (Ibis on DuckDB by default, the same
  expressions on Spark) over an Ibis table or the clean orders' Parquet file, returning one row per
  customer (or per day). Money is summed exactly in decimals (``engine.money_sum``), so two runs
  give the same bits; against numpy's sequential float sums the summaries agree to 1e-12.
  :func:`engine_purchase_days` computes the purchase days once on the engine (:class:`EngineDays`,
  materialized); each of these functions accepts it in place of the orders and then reads it
  instead of grouping the order log again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from helpers.value.model import CLVFitError

__all__ = ['PurchaseDays', 'EngineDays', 'engine_purchase_days', 'calibration_summary', 'purchase_days',
           'calibration_summary_engine', 'repeat_purchase_days', 'weekly_repeat_purchases', 'purchase_day_gaps',
           'purchase_day_gaps_engine']


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


@dataclass
class EngineDays:
    """The purchase days of the clean orders, computed once and kept on the engine.

    ``table``: one row per customer and calendar day before ``end`` (``cid`` text, ``day`` date,
    ``amount`` the day's spend as an exact decimal), materialized (a DuckDB temporary table,
    spilled to disk past the memory limit; a cached view on Spark). Every engine function of this
    module accepts it in place of the orders, for any end up to ``end``: the summaries, the gaps
    and the tracking counts then read this table instead of grouping the order log again (the
    engine counterpart of :class:`PurchaseDays`). Free it with :meth:`release`.
    """

    table: ibis.Table
    end: pd.Timestamp

    def upto(self, end: pd.Timestamp) -> ibis.Table:
        """The purchase days before ``end`` (normalized to midnight); ``end`` must not pass :attr:`end`."""
        end = pd.Timestamp(end).normalize()
        if end > self.end:
            raise ValueError(f"the purchase days end on {self.end.date()}; asked up to {end.date()}")
        t = self.table
        return t if end == self.end else t.filter(t.day < ibis.date(end.date()))

    def release(self) -> None:
        """Drop the materialized table."""
        from helpers.frame.engine import release
        release(self.table)


def engine_purchase_days(orders: pd.DataFrame | str | Path | ibis.Table, end: pd.Timestamp,
                         customer_col: str = "customer_id", ts_col: str = "order_ts",
                         amount_col: str = "amount") -> EngineDays:
    """The purchase days before ``end`` (midnight of its day), computed once on the orders' engine.

    One pass over the order log instead of one per summary (the CLV step asks for the gaps, the
    all-history summary, the backtest summary and the tracking counts of the same days).
    """
    from helpers.frame.engine import as_table, materialize
    end = pd.Timestamp(end).normalize()
    t = as_table(orders, (customer_col, ts_col, amount_col))
    days = _engine_days(t, end, customer_col, ts_col, amount_col)
    return EngineDays(materialize(days, t._find_backend(use_default=True)), end)


def _engine_days(orders: pd.DataFrame | str | Path | ibis.Table | EngineDays, end: pd.Timestamp, customer_col: str,
                 ts_col: str, amount_col: str) -> ibis.Table:
    """Purchase days on the engine: one row per customer and calendar day before ``end`` (``cid``,
    ``day``, ``amount``: the day's spend as an exact decimal)."""
    from helpers.frame.engine import as_table
    if isinstance(orders, EngineDays):
        return orders.upto(end)
    t = as_table(orders, (customer_col, ts_col, amount_col))
    f = t.filter(t[ts_col] < ibis.timestamp(pd.Timestamp(end).normalize()))
    return f.group_by(cid=f[customer_col].cast("string"), day=f[ts_col].date()).aggregate(
        amount=f[amount_col].cast(_MONEY).sum())


_MONEY = "decimal(38, 6)"  # as engine.money_sum: exact to 1e-6, the same bits on every run


@ibis.udf.agg.builtin(name="arg_min")
def _duckdb_arg_min(x: dt.Decimal(38, 6), key: dt.date) -> dt.Decimal(38, 6):  # pragma: no cover - compiled
    """DuckDB's ``arg_min(x, key)``."""


def _first_day_amount(days: ibis.Table) -> ibis.Scalar:
    """The amount of a customer's first purchase day. On DuckDB its ``arg_min`` (Ibis compiles
    ``argmin`` to ``first(x ORDER BY key)``, an ordered aggregate that sorts every customer's days:
    twice the time of the whole query at 5M customers); elsewhere Ibis' ``argmin`` (Spark: ``min_by``).
    A customer's days are distinct, so the first is unique."""
    if days._find_backend(use_default=True).name == "duckdb":
        return _duckdb_arg_min(days.amount, days.day)
    return days.amount.argmin(days.day)


def calibration_summary_engine(orders: pd.DataFrame | str | Path | ibis.Table | EngineDays,
                               calibration_end: pd.Timestamp,
                               observation_end: pd.Timestamp | None = None, unit_days: float = 7.0,
                               customer_col: str = "customer_id", ts_col: str = "order_ts",
                               amount_col: str = "amount") -> pd.DataFrame:
    """:func:`calibration_summary` as one engine query; only one row per customer comes back.

    Parameters
    ----------
    orders : Ibis table, path of the clean orders' Parquet file, or DataFrame
        An Ibis table runs on its own backend (DuckDB or Spark, see
        :func:`helpers.frame.engine.orders_table`); a path or a frame on the process's DuckDB.
    calibration_end, observation_end, unit_days, customer_col, ts_col, amount_col
        As for :func:`calibration_summary`.

    Returns
    -------
    DataFrame
        The columns of :func:`calibration_summary`, sorted by customer id; equal to it up to the
        last bits of money sums (exact decimal sums here, sequential float sums there).

    Raises
    ------
    CLVFitError
        No purchase before the end of the calibration period.
    """
    cal_end = pd.Timestamp(calibration_end).normalize()
    end = cal_end + pd.Timedelta(days=1)
    oend = pd.Timestamp(observation_end).normalize() + pd.Timedelta(days=1) if observation_end is not None else end
    days = _engine_days(orders, oend, customer_col, ts_col, amount_col)
    end_d = ibis.date(end.date())
    cal = days.filter(days.day < end_d)
    out = cal.group_by("cid").aggregate(
        n=cal.count(), first_day=cal.day.min(), last_day=cal.day.max(),
        repeat_spend=(cal.amount.sum() - _first_day_amount(cal)).cast("float64"))
    if observation_end is not None:
        hold = days.filter(days.day >= end_d)
        h = hold.group_by(h_cid=hold.cid).aggregate(x_holdout=hold.count(),
                                                    holdout_spend=hold.amount.sum().cast("float64"))
        out = out.left_join(h, out.cid == h.h_cid).drop("h_cid")
    # dates as datetime64, not as one Python date object per customer (1 s of 4.7 s at 1M customers)
    df = out.order_by("cid").to_pyarrow().to_pandas(date_as_object=False)
    if df.empty:
        raise CLVFitError(f"no orders before the end of the calibration period {cal_end.date()}")
    first_d = df["first_day"].to_numpy("datetime64[D]").astype("int64")
    last_d = df["last_day"].to_numpy("datetime64[D]").astype("int64")
    n = df["n"].to_numpy("int64")
    end_day = _day_number(end)
    with np.errstate(invalid="ignore", divide="ignore"):
        m_x = np.where(n > 1, df["repeat_spend"].to_numpy(float) / np.maximum(n - 1, 1), np.nan)
    res = pd.DataFrame({
        "customer_id": df["cid"].astype(str),  # the ids stay Arrow-backed text (no 5M Python strings)
        "x": (n - 1).astype("int64"),
        "t_x": (last_d - first_d) / unit_days,
        "T": (end_day - 1 - first_d) / unit_days,
        "m_x": m_x,
        "first_purchase": pd.to_datetime(first_d, unit="D").astype("datetime64[us]"),
    })
    if observation_end is not None:
        res["x_holdout"] = df["x_holdout"].fillna(0).to_numpy().astype("int64")
        res["holdout_spend"] = df["holdout_spend"].fillna(0.0).to_numpy(float)
        res["holdout_length"] = (oend - end).days / unit_days
    return res


def _engine_day_keys(orders: pd.DataFrame | str | Path | ibis.Table | EngineDays, end: pd.Timestamp,
                     customer_col: str, ts_col: str) -> ibis.Table:
    """The distinct (``cid``, ``day``) purchase days before ``end`` (midnight of its day)."""
    from helpers.frame.engine import as_table
    if isinstance(orders, EngineDays):
        return orders.upto(end).select("cid", "day")
    t = as_table(orders, (customer_col, ts_col))
    f = t.filter(t[ts_col] < ibis.timestamp(pd.Timestamp(end).normalize()))
    return f.select(cid=f[customer_col].cast("string"), day=f[ts_col].date()).distinct()


def repeat_purchase_days(orders: pd.DataFrame | str | Path | ibis.Table | EngineDays,
                         calibration_end: pd.Timestamp,
                         holdout_end: pd.Timestamp, customer_col: str = "customer_id",
                         ts_col: str = "order_ts") -> pd.Series:
    """Repeat purchase days per calendar day of the customers who bought by ``calibration_end``.

    A repeat purchase day is a customer's purchase day after their first one, up to the end of
    ``holdout_end``; only customers whose first purchase is on or before ``calibration_end`` count
    (the population of the backtest). One engine query; a Series indexed by day (datetime64[us]),
    sorted, one row per day with at least one repeat purchase.
    """
    from helpers.frame.engine import to_pandas
    days = _engine_day_keys(orders, pd.Timestamp(holdout_end).normalize() + pd.Timedelta(days=1), customer_col,
                            ts_col)
    first = days.group_by(f_cid=days.cid).aggregate(first_day=days.day.min())
    first = first.filter(first.first_day <= ibis.date(pd.Timestamp(calibration_end).date()))
    j = days.join(first, (days.cid == first.f_cid) & (days.day > first.first_day))
    g = to_pandas(j.group_by(day=j.day).aggregate(n=j.count()).order_by("day"))
    return pd.Series(g["n"].to_numpy("int64"), index=pd.DatetimeIndex(g["day"].astype("datetime64[us]"), name="day"),
                     name="repeat_purchase_days")


def weekly_repeat_purchases(orders: pd.DataFrame | str | Path | ibis.Table | EngineDays, calibration_end: pd.Timestamp,
                            holdout_end: pd.Timestamp, week_ends: pd.DatetimeIndex) -> np.ndarray:
    """Cumulative repeat purchase days up to each of ``week_ends`` (the tracking chart's "actual").

    The engine counts per day (:func:`repeat_purchase_days`); the cumulative sums at the week ends
    are taken here, as the numpy tracking curve takes them (``searchsorted`` of the repeat days).
    """
    per_day = repeat_purchase_days(orders, calibration_end, holdout_end)
    cum = np.r_[0, np.cumsum(per_day.to_numpy())]
    days = per_day.index.to_numpy().astype("datetime64[D]").astype("int64")
    at = pd.DatetimeIndex(week_ends).to_numpy().astype("datetime64[D]").astype("int64")
    return cum[np.searchsorted(days, at, side="right")]


def purchase_day_gaps(days: PurchaseDays) -> pd.DataFrame:
    """Per repeat buyer: the number of gaps between consecutive purchase days, their sum and sum of squares.

    The reference (numpy over :class:`PurchaseDays`) of :func:`purchase_day_gaps_engine`. Gaps are
    whole days, so every column is an exact integer. Returns ``customer_id``, ``n``, ``s1``, ``s2``,
    sorted by customer id; customers with one purchase day are absent.
    """
    cust, day = days.customer, days.day
    same = cust[1:] == cust[:-1]
    gaps = np.diff(day)[same].astype("int64")
    who = cust[1:][same]
    k = len(days.ids)
    n = np.bincount(who, minlength=k)
    s1 = np.bincount(who, weights=gaps, minlength=k)
    s2 = np.bincount(who, weights=gaps.astype(float) ** 2, minlength=k)
    has = n > 0
    return pd.DataFrame({"customer_id": np.asarray(days.ids, dtype=object)[has].astype(str),
                         "n": n[has].astype("int64"), "s1": s1[has].astype("int64"), "s2": s2[has].astype("int64")}
                        ).astype({"customer_id": "str"})


def purchase_day_gaps_engine(orders: pd.DataFrame | str | Path | ibis.Table | EngineDays, end: pd.Timestamp,
                             customer_col: str = "customer_id", ts_col: str = "order_ts") -> pd.DataFrame:
    """:func:`purchase_day_gaps` of the purchase days before ``end``, as one engine query.

    The gaps between a customer's consecutive purchase days come from a window (the previous
    purchase day); one row per repeat buyer comes back (same columns and order as the reference).
    """
    from helpers.frame.engine import to_pandas
    days = _engine_day_keys(orders, end, customer_col, ts_col)
    prev = days.day.lag().over(ibis.window(group_by=days.cid, order_by=days.day))
    g = days.mutate(gap=days.day.delta(prev, unit="day").cast("int64"))
    g = g.filter(g.gap.notnull())
    out = to_pandas(g.group_by("cid").aggregate(n=g.count(), s1=g.gap.sum(), s2=(g.gap * g.gap).sum())
                    .order_by("cid"))
    return pd.DataFrame({"customer_id": out["cid"].astype(str).to_numpy(), "n": out["n"].to_numpy("int64"),
                         "s1": out["s1"].to_numpy("int64"), "s2": out["s2"].to_numpy("int64")}
                        ).astype({"customer_id": "str"})
