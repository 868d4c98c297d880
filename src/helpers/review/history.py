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

#: Share of the customers whose first order falls in one quarter from which the export is read as one cohort
#: (CDNOW: 23,500 of 23,502 cleaned customers; a couple lose their first order to the cleaning rules).
COHORT_SHARE = 0.99

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

    The panel is sorted by customer and quarter and customers get integer codes (in ``customer_id``
    order); per customer the running minimum of the first order, maximum of the last, and sums of
    orders, purchase days and revenue are computed once; the state at the end of quarter ``k`` is then
    each customer's last row with ``bucket <= k`` (one numpy pass). :func:`states_at` is the slow,
    obvious reference (tested equal).
    """

    def __init__(self, panel: pd.DataFrame):
        sorted_codes = _sorted_codes(panel)
        if sorted_codes is not None:  # as quarter_panel returns it: codes from where the id changes
            p = panel.reset_index(drop=True)
            codes, self.ids = sorted_codes
        else:
            p = panel.sort_values(["customer_id", "bucket"], kind="stable").reset_index(drop=True)
            codes, self.ids = pd.factorize(p["customer_id"], sort=True)
        self.codes = codes
        self.bucket = p["bucket"].to_numpy()
        self.raw_orders = p["orders"].to_numpy()
        self.raw_days = p["days"].to_numpy()
        self.raw_revenue = p["revenue"].to_numpy()
        starts = np.r_[True, codes[1:] != codes[:-1]] if len(codes) else np.zeros(0, bool)
        self.first_bucket = np.full(len(self.ids), np.iinfo(np.int16).max, dtype=np.int16)
        self.first_bucket[codes[starts]] = self.bucket[starts]
        # running values within each customer: reset at each customer's first row
        group_start = np.maximum.accumulate(np.where(starts, np.arange(len(codes)), 0)) if len(codes) else codes
        self.first = _running(p["first"].to_numpy(), group_start, np.minimum)
        self.last = _running(p["last"].to_numpy(), group_start, np.maximum)
        self.orders = _cumsum(self.raw_orders, group_start)
        self.days = _cumsum(self.raw_days, group_start)
        self.revenue = _cumsum(self.raw_revenue, group_start)
        self.first_day = self.first.astype("datetime64[D]").astype(np.int64)
        self.last_day = self.last.astype("datetime64[D]").astype(np.int64)

    def rows_at(self, bucket: int) -> np.ndarray:
        """Row of each customer's state at the end of quarter ``bucket`` (customers who had bought by then)."""
        idx = np.flatnonzero(self.bucket <= bucket)
        c = self.codes[idx]
        return idx[np.r_[c[1:] != c[:-1], True]] if len(idx) else idx

    def at(self, bucket: int, as_of: pd.Timestamp, ids: bool = True) -> pd.DataFrame:
        """The same table as :func:`states_at` for the end of quarter ``bucket``; with ``ids=False`` the
        ``customer_id`` column holds the integer codes (faster, for counts)."""
        rows = self.rows_at(bucket)
        day = np.datetime64(pd.Timestamp(as_of).normalize().date(), "D").astype(np.int64)
        cid = np.asarray(self.ids)[self.codes[rows]] if ids else self.codes[rows]
        out = pd.DataFrame({"customer_id": cid, "first_order": self.first[rows], "last_order": self.last[rows],
                            "orders": self.orders[rows], "purchase_days": self.days[rows],
                            "revenue": self.revenue[rows]})
        # whole days between the dates (as customer_summary), in integer day numbers
        out["recency_days"] = day - self.last_day[rows]
        out["tenure_days"] = day - self.first_day[rows]
        out["average_order_value"] = out["revenue"] / out["orders"]
        return out


def _sorted_codes(panel: pd.DataFrame) -> tuple[np.ndarray, pd.api.extensions.ExtensionArray] | None:
    """Customer codes and ids (``pd.factorize(ids, sort=True)``, tested equal) of a panel already sorted by
    customer id and bucket, found where the id changes (Arrow compares the strings); ``None`` when the panel
    is not sorted so."""
    import pyarrow as pa
    import pyarrow.compute as pc
    n = len(panel)
    if n < 2:
        return None
    ids = panel["customer_id"].astype("str")
    a = pa.Array.from_pandas(ids).cast(pa.large_string())
    if a.null_count:
        return None
    head, tail = a.slice(0, n - 1), a.slice(1)
    if pc.any(pc.less(tail, head)).as_py():
        return None
    change = pc.not_equal(tail, head).to_numpy(zero_copy_only=False)
    b = panel["bucket"].to_numpy()
    if not (change | (b[1:] > b[:-1])).all():  # within a customer, buckets strictly increase
        return None
    codes = np.concatenate(([0], np.cumsum(change))).astype(np.int64)
    starts = np.flatnonzero(np.concatenate(([True], change)))
    return codes, ids.array.take(starts)


def _cumsum(x: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    """Running sum of ``x`` restarting at each group's first row."""
    c = np.cumsum(x)
    before = np.r_[0, c][group_start]
    return c - before


def _running(x: np.ndarray, group_start: np.ndarray, op) -> np.ndarray:
    """Running min/max of ``x`` restarting at each group's first row (few rows per group: a short loop
    over the position inside the group)."""
    out = x.copy()
    pos = np.arange(len(x)) - group_start
    for k in range(1, int(pos.max()) + 1 if len(pos) else 1):
        m = pos == k
        i = np.flatnonzero(m)
        out[i] = op(out[i - 1], x[i])
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
    cohort : str or None
        The quarter in which (at least :data:`COHORT_SHARE` of) the customers of the export first bought, none
        before the window (a cohort export such as CDNOW's: no new customers to count afterwards); else ``None``.
    customers : int
        Customers who had bought by the end of the quarter under review.
    cohort_customers : int
        Of them, those who first bought in ``cohort`` (0 without a cohort).

    The quarters start at the first one in which anybody had bought (leading quarters without any
    customer carry nothing to show), keeping at least the quarter under review and the one before.
    """

    quarters: list[str]
    kpis: pd.DataFrame
    lifecycle: pd.DataFrame
    segments: pd.DataFrame
    groups: pd.DataFrame
    transitions: pd.DataFrame
    current: pd.DataFrame
    cohort: str | None = None
    customers: int = 0
    cohort_customers: int = 0


def build_history(panel: pd.DataFrame, quarter: str, n: int, rfm: RfmSettings,
                  lifecycle: LifecycleSettings) -> History:
    """KPIs, lifecycle counts, segment mix per quarter and this quarter's transitions (see the module docstring).

    Works on integer customer codes (:class:`Cumulative`); the segment map is applied with the segments
    step's own scoring (:mod:`helpers.segments.model`).
    """
    from helpers.segments import model as seg_model
    quarters = quarters_ending(quarter, n)
    cum = Cumulative(panel)
    n_cust = len(cum.ids)
    seg_names = [s.name for s in rfm.segments]
    grp_names = [g.name for g in rfm.action_groups]
    group_of = {s: g.name for g in rfm.action_groups for s in g.segments}
    to_rule_order = np.array([seg_names.index(s) for s in rfm.segment_order], dtype=np.int16)
    kpi_rows, life_rows, seg_rows, grp_rows = [], [], [], []
    prev_stage = np.full(n_cust, -1, np.int8)
    prev_segment = np.full(n_cust, -1, np.int16)
    now_stage = np.full(n_cust, -1, np.int8)
    for k, q in enumerate(quarters):
        start, end = quarter_bounds(q)
        inq = np.flatnonzero(cum.bucket == k)
        n_orders, revenue = int(cum.raw_orders[inq].sum()), float(cum.raw_revenue[inq].sum())
        new = int((cum.first_bucket[cum.codes[inq]] == k).sum())
        kpi_rows.append({"quarter": q, "buyers": len(inq), "new_customers": new, "returning_customers": len(inq) - new,
                         "orders": n_orders, "revenue": round(revenue, 2),
                         "average_order_value": revenue / n_orders if n_orders else float("nan"),
                         "repeat_purchase_rate": float((cum.raw_days[inq] >= 2).mean()) if len(inq) else float("nan")})
        st = cum.at(k, end, ids=False)
        stages = lifecycle_stage(st["first_order"], st["last_order"], start, end, lifecycle.active_days,
                                 lifecycle.lost_days)
        life_rows.append({"quarter": q, **{s: int((stages == s).sum()) for s in STAGES}})
        # segments as codes into seg_names (the segments step's scoring and rules, one look-up per customer)
        seg = to_rule_order[seg_model.segment_codes_of(st, rfm)] if len(st) else np.zeros(0, np.int16)
        counts = dict(zip(seg_names, np.bincount(seg, minlength=len(seg_names)).tolist(), strict=True))
        seg_rows.append({"quarter": q, **{s: int(counts.get(s, 0)) for s in seg_names}})
        grp_rows.append({"quarter": q, **{g: int(sum(counts.get(s, 0) for s in seg_names if group_of.get(s) == g))
                                          for g in grp_names}})
        codes = st["customer_id"].to_numpy()
        if k == len(quarters) - 2:
            prev_stage[codes] = stages.cat.codes.to_numpy()
            prev_segment[codes] = seg
        if k == len(quarters) - 1:
            now_stage[codes] = stages.cat.codes.to_numpy()
            revenue_to_date = np.zeros(n_cust)
            revenue_to_date[codes] = st["revenue"].to_numpy()
            bought = np.zeros(n_cust, bool)
            bought[cum.codes[inq]] = True
    labels = np.array([*STAGES, NOT_YET], dtype=object)
    seg_arr = np.array([*seg_names, None], dtype=object)
    grp_arr = np.array([*[group_of.get(s) for s in seg_names], None], dtype=object)
    cur = pd.DataFrame({"customer_id": pd.array(cum.ids, dtype="str"),
                        "stage": pd.Categorical.from_codes(now_stage, categories=list(STAGES)),
                        "previous_stage": labels[np.where(prev_stage < 0, len(STAGES), prev_stage)],
                        "previous_segment": seg_arr[np.where(prev_segment < 0, len(seg_names), prev_segment)],
                        "previous_group": grp_arr[np.where(prev_segment < 0, len(seg_names), prev_segment)],
                        "bought_this_quarter": bought, "revenue_to_date": revenue_to_date})
    trans = pd.crosstab(pd.Categorical(cur["previous_stage"], categories=[NOT_YET, *STAGES]),
                        pd.Categorical(cur["stage"].astype(str), categories=list(STAGES)), dropna=False)
    trans.index.name, trans.columns.name = "previous", "now"
    life = pd.DataFrame(life_rows).set_index("quarter")
    # the trend starts at the first quarter with any customer (never later than the previous quarter)
    with_customers = np.flatnonzero(life.sum(axis=1).to_numpy() > 0)
    start = min(int(with_customers[0]) if len(with_customers) else 0, max(len(quarters) - 2, 0))
    firsts, counts = np.unique(cum.first_bucket, return_counts=True)
    top = int(np.argmax(counts)) if len(counts) else 0
    one = (n_cust > 0 and firsts.min() >= 0 and counts[top] >= COHORT_SHARE * n_cust and firsts[top] < len(quarters))
    cohort, in_cohort = (quarters[int(firsts[top])], int(counts[top])) if one else (None, 0)
    return History(quarters[start:], pd.DataFrame(kpi_rows).set_index("quarter").iloc[start:], life.iloc[start:],
                   pd.DataFrame(seg_rows).set_index("quarter").iloc[start:],
                   pd.DataFrame(grp_rows).set_index("quarter").iloc[start:], trans, cur, cohort, n_cust, in_cohort)
