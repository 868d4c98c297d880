"""Experiment outcomes and start-of-experiment segments from the order log.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from helpers.frame.settings import RfmSettings
from helpers.ingest.rules import isin_ids
from helpers.locale import tr
from helpers.segments.data import customer_summary
from helpers.segments.model import segment_of

__all__ = ['outcomes', 'segments_at_start']


def outcomes(experiments: pd.DataFrame, orders: pd.DataFrame, window_days: int) -> tuple[pd.DataFrame, dict]:
    """Per (experiment, customer) outcomes; returns (table, counts of excluded multi-variant customers)."""
    for c in ("experiment_id", "customer_id", "variant", "assigned_at"):
        if c not in experiments.columns:
            raise KeyError(f"experiments lack {c!r}")
    multi = experiments.get("multi_variant", pd.Series(False, index=experiments.index)).astype(bool)
    excluded = experiments[multi].groupby("experiment_id")["customer_id"].nunique().to_dict()
    supplied = [
        c
        for c in experiments.columns
        if c not in ("experiment_id", "customer_id", "variant", "assigned_at", "multi_variant")
    ]
    e = experiments[~multi][["experiment_id", "customer_id", "variant", "assigned_at", *supplied]].reset_index(
        drop=True
    )
    e.attrs["supplied_metrics"] = supplied
    e["_row"] = np.arange(len(e))
    w = pd.Timedelta(days=window_days)
    cols = ["customer_id", "order_ts", "amount"] + (["discount"] if "discount" in orders.columns else [])
    o = orders.loc[isin_ids(orders["customer_id"], e["customer_id"]), cols]
    m = e[["_row", "customer_id", "assigned_at"]].merge(o, on="customer_id")
    post = m[(m["order_ts"] > m["assigned_at"]) & (m["order_ts"] <= m["assigned_at"] + w)]
    pre = m[(m["order_ts"] >= m["assigned_at"] - w) & (m["order_ts"] <= m["assigned_at"])]
    g = post.groupby("_row")
    e["orders"] = g.size().reindex(e["_row"], fill_value=0).to_numpy()
    e["revenue"] = g["amount"].sum().reindex(e["_row"], fill_value=0.0).to_numpy()
    e["discount"] = (g["discount"].sum().reindex(e["_row"], fill_value=0.0).to_numpy()
                     if "discount" in post.columns else np.nan)
    e["pre_revenue"] = pre.groupby("_row")["amount"].sum().reindex(e["_row"], fill_value=0.0).to_numpy()
    e["conversion"] = (e["orders"] > 0).astype(float)
    out = e.drop(columns="_row")
    out.attrs["supplied_metrics"] = supplied
    return out, excluded


def segments_at_start(orders: pd.DataFrame | str | Path | ibis.Table, experiments: pd.DataFrame,
                      settings: RfmSettings, by: str, source: str | Path | ibis.Table | None = None) -> pd.DataFrame:
    """RFM segment or action group of each assigned customer on the day before the experiment began.

    ``orders``: the clean orders (a DataFrame, or on the engine: an Ibis table or the Parquet path);
    ``source``: where the per-customer summaries are aggregated (the orders' Parquet file or an
    Ibis table; default: ``orders`` itself). Only per-customer summaries come back from the engine.
    Returns ``experiment_id``, ``customer_id``, ``segment``; customers without any earlier order are
    ``(no history)``.
    """
    if isinstance(orders, pd.DataFrame):
        first_order = orders["order_ts"].min() if len(orders) else None
    else:  # on the engine: one number comes back
        from helpers.frame.engine import as_table
        t = as_table(orders, ("customer_id", "order_ts"))
        v = t.order_ts.min().execute()
        first_order = None if v is None or pd.isna(v) else pd.Timestamp(v)
        source = orders if source is None else source
    rows = []
    at_day: dict[pd.Timestamp, pd.Series] = {}   # experiments launched on the same day share one summary
    for exp, grp in experiments.groupby("experiment_id"):
        start = grp["assigned_at"].min().normalize() - pd.Timedelta(days=1)
        if first_order is None or first_order >= start + pd.Timedelta(days=1):
            seg = pd.Series(dtype=str)
        elif start in at_day:
            seg = at_day[start]
        else:  # customer_summary counts the orders up to the end of `start` only
            sc = segment_of(customer_summary(orders if source is None else source, start), settings)
            seg = at_day[start] = pd.Series(sc[by].astype(str).to_numpy(), index=sc["customer_id"].astype(str))
        ids = grp["customer_id"].drop_duplicates()
        rows.append(pd.DataFrame({"experiment_id": exp, "customer_id": ids,
                                  "segment": seg.reindex(ids.astype(str)).fillna(tr("(no history)")).to_numpy()}))
    return (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(columns=["experiment_id", "customer_id", "segment"])
    )
