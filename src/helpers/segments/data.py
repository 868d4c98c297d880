"""Per-customer facts aggregated from the clean order log on the engine (Ibis).

RFM: per-customer aggregation (Ibis on DuckDB), 1-5 scores, named segments, action groups.

**Aggregation** (:func:`customer_summary`) is one Ibis expression over the clean orders, run on an
in-process DuckDB: for an as-of date, every customer with a completed order on or before it gets
first and last order, number of orders, number of purchase days, revenue (net of refunds, as
ingestion netted them), recency and tenure in days. The same function serves any as-of date (the
previous quarter's migration uses it).

**Scores** (:func:`rank_scores`): score ``s = 1 + floor(5 * (position - 1) / n)``, where
``position`` is the customer's 1-based rank from worst to best and **tied customers share the
position of the first of them**: equal values always get equal scores (deterministic, independent
of row order), and score 5 is the best fifth. Recency: fewer days is better. Monetary: total (or
average) spend. **Frequency**: when the most common frequency covers a fifth of customers or more
(typically "bought once"), quintiles would be meaningless, so customers at the lowest frequency get
F = 1 and the others are scored 2-5 by the same rule among themselves; :func:`scoring_table` shows
the value range of every score that occurs.

**Segments**: the first rule of ``rfm.segments`` whose R, F and M ranges contain the customer's
scores; the parameters model refuses a map that leaves any of the 125 cells uncovered, so every
customer is in exactly one segment. Segments roll up into the action groups of ``rfm.action_groups``.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd

__all__ = ['SUMMARY_COLUMNS', 'customer_summary', 'period_revenue', 'values_by_id']


SUMMARY_COLUMNS = ["customer_id", "first_order", "last_order", "orders", "purchase_days", "revenue",
                   "recency_days", "tenure_days", "average_order_value"]


def _validate_cols(df: pd.DataFrame, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"{what} lacks required column(s) {missing}; has {list(df.columns)}")


def customer_summary(orders: pd.DataFrame | str | Path | ibis.Table, as_of: pd.Timestamp,
                     customer_col: str = "customer_id", ts_col: str = "order_ts",
                     amount_col: str = "amount") -> pd.DataFrame:
    """Per-customer RFM facts as of the end of ``as_of`` (one Ibis expression on DuckDB).

    Parameters
    ----------
    orders : DataFrame, path of a Parquet file, or Ibis table
        Clean orders (one row per completed order, refunds already netted). A path or a frame runs
        on an in-memory DuckDB; an Ibis table runs on its own backend (e.g. Spark, see
        :mod:`helpers.engine`).
    as_of : Timestamp
        Day of the snapshot; orders up to the end of that day count.
    customer_col, ts_col, amount_col : str
        Column names.

    Returns
    -------
    DataFrame
        One row per customer with an order on or before ``as_of``: ``customer_id``,
        ``first_order``, ``last_order``, ``orders``, ``purchase_days``, ``revenue`` (summed exactly in
        decimals, ``engine.money_sum``: equal revenues stay equal, so tied customers get equal
        monetary scores whatever the engine or the layout of the Parquet file),
        ``recency_days`` and ``tenure_days`` (whole days from the last / first order's date to
        ``as_of``), ``average_order_value``; sorted by ``customer_id``.
    """
    from helpers.frame.engine import as_table, money_sum
    if isinstance(orders, pd.DataFrame):
        _validate_cols(orders, [customer_col, ts_col, amount_col], "orders")
        orders = orders[[customer_col, ts_col, amount_col]]
    t = as_table(orders, (customer_col, ts_col, amount_col))
    day = pd.Timestamp(as_of).normalize()
    f = t.filter(t[ts_col] < ibis.timestamp(day + pd.Timedelta(days=1)))
    g = f.group_by(customer_id=f[customer_col]).aggregate(
        first_order=f[ts_col].min(), last_order=f[ts_col].max(), orders=f.count(),
        purchase_days=f[ts_col].date().nunique(), revenue=money_sum(f[amount_col]))
    d = ibis.date(day.date())
    g = g.mutate(recency_days=d.delta(g.last_order.date(), unit="day"),
                 tenure_days=d.delta(g.first_order.date(), unit="day"),
                 average_order_value=g.revenue / g.orders)
    # one Arrow -> pandas conversion (Ibis' to_pandas converts column by column, then again by schema)
    out = g.order_by("customer_id").to_pyarrow().to_pandas()
    if out["customer_id"].dtype != "str":
        out["customer_id"] = out["customer_id"].astype(str)
    for c in ("orders", "purchase_days", "recency_days", "tenure_days"):
        if out[c].dtype != "int64":
            out[c] = out[c].astype("int64")
    for c in ("first_order", "last_order"):
        if out[c].dtype != "datetime64[us]":
            out[c] = out[c].astype("datetime64[us]")
    return out[SUMMARY_COLUMNS].reset_index(drop=True)


def period_revenue(orders: pd.DataFrame | ibis.Table, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Revenue per customer id from ``start`` to the end of day ``end`` (an aggregation on the engine).

    ``orders``: clean orders as a DataFrame or an Ibis table (see :mod:`helpers.engine`).
    Customers without an order in the period are absent.
    """
    from helpers.frame.engine import as_table, money_sum, to_pandas
    t = as_table(orders)
    f = t.filter((t.order_ts >= ibis.timestamp(pd.Timestamp(start)))
                 & (t.order_ts < ibis.timestamp(pd.Timestamp(end).normalize() + pd.Timedelta(days=1))))
    g = to_pandas(f.group_by(customer_id=f.customer_id).aggregate(amount=money_sum(f.amount)).order_by("customer_id"))
    return pd.Series(g["amount"].to_numpy(float), index=pd.Index(g["customer_id"].astype(str), name="customer_id"),
                     name="amount")


def values_by_id(values: pd.Series, ids: pd.Series | np.ndarray, fill: float = 0.0) -> np.ndarray:
    """``values`` (indexed by unique customer ids) for each of ``ids``, ``fill`` where an id is absent or its
    value missing: ``values.reindex(ids.astype(str)).fillna(fill).to_numpy()`` (tested equal), with the ids
    matched by Arrow's hash look-up instead of a pandas index of millions of strings."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if not values.index.is_unique:
        raise ValueError("values_by_id needs one value per customer id; the ids repeat")
    keys = pa.Array.from_pandas(pd.Series(values.index, dtype="str")).cast(pa.large_string())
    ids = ids.astype("str") if isinstance(ids, pd.Series) else pd.Series(ids, dtype="str")
    want = pa.Array.from_pandas(ids).cast(pa.large_string())
    pos = pc.index_in(want, value_set=keys)
    found = pos.is_valid().to_numpy(zero_copy_only=False)
    out = np.full(len(want), fill, dtype="float64")
    v = values.to_numpy(dtype="float64")[pos.filter(pos.is_valid()).to_numpy().astype(np.int64)]
    out[found] = np.where(np.isnan(v), fill, v)
    return out
