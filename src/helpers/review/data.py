"""Headline KPIs of a quarter against the previous one, from the clean orders.

Definitions (README "KPIs"):

- **active customers**: customers with at least one completed order in the quarter
- **new customers**: active customers whose first order ever falls in the quarter
- **orders**, **revenue** (net of refunds), **average order value** = revenue / orders
- **repeat-purchase rate**: share of active customers who bought on two or more different days
  in the quarter
- **returning customers**: active customers who had bought before the quarter
"""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd

from helpers.frame.settings import quarter_bounds

__all__ = ['quarter_kpis', 'quarter_panel']


def _validate_cols(df: pd.DataFrame, cols: list[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"orders lack required columns {missing}; have {list(df.columns)}")


def quarter_kpis(orders: pd.DataFrame | ibis.Table | str | Path, quarter: str, customer_col: str = "customer_id",
                 ts_col: str = "order_ts", amount_col: str = "amount") -> dict[str, float]:
    """KPIs of one quarter (definitions in the module docstring), aggregated on the engine.

    Parameters
    ----------
    orders : DataFrame, Ibis table or path of the clean orders Parquet file
        Clean orders; all history is used to tell new from returning customers.
    quarter : str
        ``YYYYQn``.

    Returns
    -------
    dict
        ``active_customers``, ``new_customers``, ``returning_customers``, ``orders``, ``revenue``,
        ``average_order_value`` (NaN without orders) and ``repeat_purchase_rate`` (NaN without
        customers).
    """
    from helpers.frame.engine import as_table, money_sum, to_pandas
    if isinstance(orders, pd.DataFrame):
        _validate_cols(orders, [customer_col, ts_col, amount_col])
    t = as_table(orders, (customer_col, ts_col, amount_col))
    start, end = quarter_bounds(quarter)
    lo, hi = ibis.timestamp(start), ibis.timestamp(end + pd.Timedelta(days=1))
    ts = t[ts_col]
    first = t.group_by(cid=t[customer_col]).aggregate(first=ts.min())
    new = first.filter((first["first"] >= lo) & (first["first"] < hi))
    inq = t.filter((ts >= lo) & (ts < hi))
    per = inq.group_by(cid=inq[customer_col]).aggregate(days=inq[ts_col].date().nunique(), n=inq.count(),
                                                       revenue=money_sum(inq[amount_col]))
    # the new customers with the quarter's numbers, in one query (each part is one row; on Spark one
    # round of jobs less)
    row = to_pandas(per.aggregate(active=per.count(), orders=per.n.sum(), revenue=money_sum(per.revenue),
                                  repeat=(per.days >= 2).sum()).cross_join(new.aggregate(n_new=new.count()))).iloc[0]
    n_new = int(row["n_new"])
    n_active = int(row["active"])
    n_orders = int(row["orders"]) if pd.notna(row["orders"]) else 0
    revenue = float(row["revenue"]) if pd.notna(row["revenue"]) else 0.0
    return {
        "active_customers": float(n_active),
        "new_customers": float(n_new),
        "returning_customers": float(n_active - n_new),
        "orders": float(n_orders),
        "revenue": round(revenue, 2),
        "average_order_value": revenue / n_orders if n_orders else float("nan"),
        "repeat_purchase_rate": float(row["repeat"]) / n_active if n_active else float("nan"),
    }


def quarter_panel(orders: pd.DataFrame | ibis.Table | str | Path, quarter: str, n_quarters: int,
                  customer_col: str = "customer_id", ts_col: str = "order_ts",
                  amount_col: str = "amount") -> pd.DataFrame:
    """Per customer and quarter: first and last order, orders, purchase days and revenue (on the engine).

    The quarters are the ``n_quarters`` ending with ``quarter`` (bucket ``0`` the oldest, ``n - 1`` the
    quarter under review); everything before them is pooled into bucket ``-1``, orders after the
    quarter are left out. A customer's history up to the end of any of these quarters is then the sum
    (min, max) over its buckets up to it, exactly: a purchase day lies in one bucket only.

    Returns
    -------
    DataFrame
        ``customer_id`` (str), ``bucket`` (int8), ``first`` and ``last`` (timestamps), ``orders`` (int),
        ``days`` (distinct purchase days), ``revenue`` (float); one row per customer and bucket with orders.
    """
    from helpers.frame.engine import as_table, money_sum
    from helpers.frame.settings import quarter_bounds
    if isinstance(orders, pd.DataFrame):
        _validate_cols(orders, [customer_col, ts_col, amount_col])
    t = as_table(orders, (customer_col, ts_col, amount_col))
    q_year, q_n = int(quarter[:4]), int(quarter[-1])
    last_index = q_year * 4 + q_n - 1
    first_index = last_index - n_quarters + 1
    _, end = quarter_bounds(quarter)
    ts = t[ts_col]
    t = t.filter(ts < ibis.timestamp(end + pd.Timedelta(days=1)))
    idx = t[ts_col].year() * 4 + (t[ts_col].month() - 1) // 3
    t = t.mutate(bucket=ibis.ifelse(idx < first_index, -1, idx - first_index))
    g = t.group_by(customer_id=t[customer_col], bucket=t.bucket).aggregate(
        first=t[ts_col].min(), last=t[ts_col].max(), orders=t.count(), days=t[ts_col].date().nunique(),
        revenue=money_sum(t[amount_col]))
    out = g.order_by(["customer_id", "bucket"]).to_pyarrow().to_pandas()
    out["customer_id"] = out["customer_id"].astype(str)
    out["bucket"] = out["bucket"].astype("int8")
    return out
