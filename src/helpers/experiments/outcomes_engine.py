"""Experiment outcomes aggregated on the engine: the order log stays in DuckDB (or Spark).

:func:`outcomes_engine` is :func:`helpers.experiments.data.outcomes` (the reference, unchanged) with
the orders as an Ibis table or the clean orders' Parquet file: the assignments (one row per
experiment and customer, small) go to the engine, are joined with the orders of their customers,
and one row per assignment comes back: orders and revenue in the ``window_days`` after assignment,
discount, and revenue in the ``window_days`` before it (the CUPED covariate). Same windows as the
reference: after = ``(assigned_at, assigned_at + window]``, before = ``[assigned_at - window,
assigned_at]``. Money is summed exactly in decimals (``engine.money_sum``); against pandas' float
sums the revenues agree to 1e-12.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["outcomes_engine"]

_KEYS = ("experiment_id", "customer_id", "variant", "assigned_at")


def outcomes_engine(experiments: pd.DataFrame, orders: str | Path | ibis.Table, window_days: int,
                    ) -> tuple[pd.DataFrame, dict]:
    """Per (experiment, customer) outcomes, the orders aggregated on the engine.

    Parameters
    ----------
    experiments : DataFrame
        Clean assignments (``experiment_id``, ``customer_id``, ``variant``, ``assigned_at``,
        optional ``multi_variant`` and supplied metric columns).
    orders : Ibis table or path of the clean orders' Parquet file
        ``customer_id``, ``order_ts``, ``amount``, optional ``discount``; an Ibis table runs on its
        own backend (DuckDB or Spark).
    window_days : int

    Returns
    -------
    (table, excluded)
        As :func:`helpers.experiments.data.outcomes`: the assignments without multi-variant
        customers, with ``orders``, ``revenue``, ``discount`` (NaN without a discount column),
        ``pre_revenue``, ``conversion``; ``attrs["supplied_metrics"]``; and the number of excluded
        multi-variant customers per experiment.
    """
    from helpers.frame.engine import as_table, money_sum, to_pandas
    for c in _KEYS:
        if c not in experiments.columns:
            raise KeyError(f"experiments lack {c!r}")
    multi = experiments.get("multi_variant", pd.Series(False, index=experiments.index)).astype(bool)
    excluded = experiments[multi].groupby("experiment_id")["customer_id"].nunique().to_dict()
    supplied = [c for c in experiments.columns if c not in (*_KEYS, "multi_variant")]
    e = experiments[~multi][[*_KEYS, *supplied]].reset_index(drop=True)
    t = as_table(orders)
    has_discount = "discount" in t.columns
    w = pd.Timedelta(days=window_days)
    assigned = ibis.memtable(pa.table({
        "a_row": pa.array(np.arange(len(e), dtype="int64")),
        "a_cid": pa.array(e["customer_id"].astype(str).tolist(), type=pa.string()),
        "a_at": pa.array(e["assigned_at"].to_numpy("datetime64[us]")),
    }))
    o = t.select(cid=t.customer_id.cast("string"), ts=t.order_ts, amount=t.amount,
                 **({"disc": t.discount} if has_discount else {}))
    m = o.join(assigned, o.cid == assigned.a_cid)
    post = (m.ts > m.a_at) & (m.ts <= m.a_at + ibis.interval(microseconds=_us(w)))
    pre = (m.ts >= m.a_at - ibis.interval(microseconds=_us(w))) & (m.ts <= m.a_at)
    m = m.filter(post | pre)
    zero = ibis.literal(0.0)
    aggs = {"n_post": post.sum(),
            "revenue": money_sum(ibis.cases((post, m.amount), else_=zero)),
            "pre_revenue": money_sum(ibis.cases((pre, m.amount), else_=zero))}
    if has_discount:
        aggs["discount"] = money_sum(ibis.cases((post, m.disc), else_=zero))
    g = to_pandas(m.group_by("a_row").aggregate(**aggs)).set_index("a_row").reindex(np.arange(len(e)))
    e["orders"] = g["n_post"].fillna(0).to_numpy().astype("int64")
    e["revenue"] = g["revenue"].fillna(0.0).to_numpy(float)
    e["discount"] = g["discount"].fillna(0.0).to_numpy(float) if has_discount else np.nan
    e["pre_revenue"] = g["pre_revenue"].fillna(0.0).to_numpy(float)
    e["conversion"] = (e["orders"] > 0).astype(float)
    e.attrs["supplied_metrics"] = supplied
    return e, excluded


def _us(delta: pd.Timedelta) -> int:
    return int(delta / pd.Timedelta(microseconds=1))
