"""The trend and the lifecycle, from the order history itself (so a first review already has its trend).

From one engine aggregation (:func:`helpers.review.data.quarter_panel`: per customer and quarter)
every customer's history up to the end of each of the last ``review.trend_quarters`` quarters is
rebuilt exactly, and from it, per quarter: the headline KPIs (the definitions of
:mod:`helpers.review.data`), the lifecycle stages (:func:`helpers.review.model.lifecycle_stage`) and the
segment mix (the segment map of the parameters applied at that quarter's end, as the segments step
does for the quarter under review). Predicted value and churn risk come from the steps' summaries of
earlier rendered quarters when they exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.frame.settings import LifecycleSettings, RfmSettings, quarter_bounds
from helpers.review.model import STAGES, lifecycle_stage

__all__ = ["History", "Cumulative", "quarters_ending", "build_history", "states_at", "NOT_YET"]

#: Row label of the transitions table for customers who had not bought yet at the previous quarter's end.
NOT_YET = "not yet a customer"


def quarters_ending(quarter: str, n: int) -> list[str]:
    """The ``n`` quarters ending with ``quarter``, oldest first."""
    p = pd.Period(quarter, freq="Q")
    return [f"{(p - i).year}Q{(p - i).quarter}" for i in range(n - 1, -1, -1)]


def states_at(panel: pd.DataFrame, bucket: int, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every customer's history up to the end of quarter ``bucket`` of the panel (customer_summary's columns).

    Returns
    -------
    DataFrame
        ``customer_id``, ``first_order``, ``last_order``, ``orders``, ``purchase_days``, ``revenue``,
        ``recency_days``, ``tenure_days``, ``average_order_value``, sorted by ``customer_id``: the same
        table as :func:`helpers.segments.customer_summary` at ``as_of`` (tested against it).
    """
    sub = panel[panel["bucket"] <= bucket]
    g = sub.groupby("customer_id", sort=True).agg(first_order=("first", "min"), last_order=("last", "max"),
                                                  orders=("orders", "sum"), purchase_days=("days", "sum"),
                                                  revenue=("revenue", "sum")).reset_index()
    day = pd.Timestamp(as_of).normalize()
    g["recency_days"] = (day - g["last_order"].dt.normalize()).dt.days
    g["tenure_days"] = (day - g["first_order"].dt.normalize()).dt.days
    g["average_order_value"] = g["revenue"] / g["orders"]
    return g


class Cumulative:
    """Every customer's running history over the panel's quarters, for fast quarter-end snapshots.

    The panel is sorted by customer and quarter; per customer the running minimum of the first order,
    maximum of the last, and sums of orders, purchase days and revenue are computed once; the state at
    the end of quarter ``k`` is then each customer's last row with ``bucket <= k`` (one pass of numpy).
    :func:`states_at` is the slow, obvious reference (tested equal).
    """

    def __init__(self, panel: pd.DataFrame):
        p = panel.sort_values(["customer_id", "bucket"], kind="stable").reset_index(drop=True)
        codes, self.ids = pd.factorize(p["customer_id"], sort=True)
        self.codes = codes
        self.bucket = p["bucket"].to_numpy()
        g = p.groupby(codes, sort=False)
        self.first = g["first"].cummin().to_numpy()
        self.last = g["last"].cummax().to_numpy()
        self.orders = g["orders"].cumsum().to_numpy()
        self.days = g["days"].cumsum().to_numpy()
        self.revenue = g["revenue"].cumsum().to_numpy()

    def at(self, bucket: int, as_of: pd.Timestamp) -> pd.DataFrame:
        """The same table as :func:`states_at` for the end of quarter ``bucket``."""
        idx = np.flatnonzero(self.bucket <= bucket)
        c = self.codes[idx]
        rows = idx[np.r_[c[1:] != c[:-1], True]] if len(idx) else idx
        day = pd.Timestamp(as_of).normalize()
        first = pd.DatetimeIndex(self.first[rows])
        last = pd.DatetimeIndex(self.last[rows])
        out = pd.DataFrame({"customer_id": np.asarray(self.ids)[self.codes[rows]], "first_order": first,
                            "last_order": last, "orders": self.orders[rows], "purchase_days": self.days[rows],
                            "revenue": self.revenue[rows]})
        out["recency_days"] = (day - last.normalize()).days
        out["tenure_days"] = (day - first.normalize()).days
        out["average_order_value"] = out["revenue"] / out["orders"]
        return out


@dataclass
class History:
    """The last quarters, rebuilt from the order history.

    Attributes
    ----------
    quarters : list of str
        Oldest first; the last one is the quarter under review.
    kpis : DataFrame
        One row per quarter: ``buyers``, ``new_customers``, ``returning_customers``, ``orders``,
        ``revenue``, ``average_order_value``, ``repeat_purchase_rate``.
    lifecycle : DataFrame
        Customers per stage (columns :data:`STAGES`) per quarter.
    segments : DataFrame
        Customers per segment (columns in the segment map's order) per quarter.
    groups : DataFrame
        Customers per action group per quarter.
    transitions : DataFrame
        Stage at the previous quarter's end (rows, with :data:`NOT_YET`) x stage now (columns).
    current : DataFrame
        The quarter under review, one row per customer: ``customer_id``, ``stage``, ``previous_stage``,
        ``rfm_segment`` and ``action_group`` at the previous quarter's end (``None`` for new customers),
        ``bought_this_quarter`` and ``revenue_to_date``.
    """

    quarters: list[str]
    kpis: pd.DataFrame
    lifecycle: pd.DataFrame
    segments: pd.DataFrame
    groups: pd.DataFrame
    transitions: pd.DataFrame
    current: pd.DataFrame


def build_history(panel: pd.DataFrame, quarter: str, n: int, rfm: RfmSettings,
                  lifecycle: LifecycleSettings) -> History:
    """KPIs, lifecycle counts, segment mix per quarter and this quarter's transitions (see the module docstring)."""
    from helpers.segments import segment_of
    quarters = quarters_ending(quarter, n)
    first_bucket = panel.groupby("customer_id", sort=False)["bucket"].min()
    kpi_rows, life_rows, seg_rows, grp_rows = [], [], [], []
    seg_names = [s.name for s in rfm.segments]
    grp_names = [g.name for g in rfm.action_groups]
    stage_prev = seg_prev = None
    stage_now = None
    cum = Cumulative(panel)
    for k, q in enumerate(quarters):
        start, end = quarter_bounds(q)
        inq = panel[panel["bucket"] == k]
        n_orders, revenue = int(inq["orders"].sum()), float(inq["revenue"].sum())
        new = int((first_bucket.reindex(inq["customer_id"]).to_numpy() == k).sum())
        kpi_rows.append({"quarter": q, "buyers": len(inq), "new_customers": new, "returning_customers": len(inq) - new,
                         "orders": n_orders, "revenue": round(revenue, 2),
                         "average_order_value": revenue / n_orders if n_orders else float("nan"),
                         "repeat_purchase_rate": float((inq["days"] >= 2).mean()) if len(inq) else float("nan")})
        st = cum.at(k, end)
        stages = lifecycle_stage(st["first_order"], st["last_order"], start, end, lifecycle.active_days,
                                 lifecycle.lost_days)
        life_rows.append({"quarter": q, **{s: int((stages == s).sum()) for s in STAGES}})
        if len(st):
            sc = segment_of(st, rfm)
            seg = sc["rfm_segment"].astype(str).value_counts()
            grp = sc["action_group"].astype(str).value_counts()
        else:
            sc, seg, grp = None, pd.Series(dtype=int), pd.Series(dtype=int)
        seg_rows.append({"quarter": q, **{s: int(seg.get(s, 0)) for s in seg_names}})
        grp_rows.append({"quarter": q, **{g: int(grp.get(g, 0)) for g in grp_names}})
        if k == len(quarters) - 2:
            stage_prev = pd.Series(stages.to_numpy(), index=st["customer_id"].to_numpy())
            seg_prev = (sc.set_index(st["customer_id"].to_numpy())[["rfm_segment", "action_group"]].astype(str)
                        if sc is not None else None)
        if k == len(quarters) - 1:
            stage_now = pd.Series(stages.to_numpy(), index=st["customer_id"].to_numpy())
            revenue_to_date = pd.Series(st["revenue"].to_numpy(), index=st["customer_id"].to_numpy())
            bought = set(inq["customer_id"])
    cur = pd.DataFrame({"customer_id": stage_now.index, "stage": stage_now.to_numpy()})
    prev = stage_prev.reindex(cur["customer_id"]) if stage_prev is not None else pd.Series(np.nan, index=cur.index)
    cur["previous_stage"] = pd.Series(prev.to_numpy(), dtype=object).fillna(NOT_YET).to_numpy()
    if seg_prev is not None:
        sp = seg_prev.reindex(cur["customer_id"])
        cur["previous_segment"] = sp["rfm_segment"].to_numpy()
        cur["previous_group"] = sp["action_group"].to_numpy()
    else:
        cur["previous_segment"] = cur["previous_group"] = None
    cur["bought_this_quarter"] = cur["customer_id"].isin(bought).to_numpy()
    cur["revenue_to_date"] = revenue_to_date.reindex(cur["customer_id"]).to_numpy()
    trans = pd.crosstab(pd.Categorical(cur["previous_stage"], categories=[NOT_YET, *STAGES]),
                        pd.Categorical(cur["stage"].astype(str), categories=list(STAGES)), dropna=False)
    trans.index.name, trans.columns.name = "previous", "now"
    return History(quarters, pd.DataFrame(kpi_rows).set_index("quarter"),
                   pd.DataFrame(life_rows).set_index("quarter"), pd.DataFrame(seg_rows).set_index("quarter"),
                   pd.DataFrame(grp_rows).set_index("quarter"), trans, cur)
