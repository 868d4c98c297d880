"""Churn features and labels from the order log on the engine (Ibis), and retention data.

Churn: labels and leakage-free features at a snapshot date (issue 5, first part).

A customer is **in the population** of a snapshot when they placed a completed order in the
``active_days`` before it (inclusive of the snapshot day). They **churn** when they place no
completed order in the ``horizon_days`` after the snapshot. Features use only orders on or
before the snapshot day, so changing or deleting any later order cannot change them (a property
test holds this): recency, frequency (purchase days and orders), spend, average order value,
tenure, inter-purchase gaps (mean gap between purchase days, and the current gap relative to it),
spend and order trends (last 90 days against the 90 before), category breadth, share of the main
channel, discount share, and customer attributes named in the parameters.

Customer attributes enter as typed by ingestion (:func:`helpers.ingest.attributes.model_features`:
numbers, yes/no as 0/1, dates as ages in days at the snapshot, categories with their most frequent
levels; identifiers left out).

Also here: BG/NBD's purchase histories at a snapshot (:func:`purchase_history`), the payment history
of subscribers (:func:`payment_history`) and the contractual data set (:func:`contractual_dataset`),
time to the next purchase for the retention curves, and cohort retention.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from helpers.ingest.attributes import AttributeNote, model_features
from helpers.ingest.rules import isin_ids

__all__ = [
    "FEATURES",
    "INT_FEATURES",
    "ibis_orders",
    "snapshot_features",
    "attribute_features",
    "churn_labels",
    "dataset",
    "purchase_history",
    "SnapshotSet",
    "snapshot_set",
    "PAYMENT_FEATURES",
    "payment_history",
    "ContractualData",
    "contractual_dataset",
    "time_to_next_purchase",
    "cohort_retention",
]


FEATURES = ["recency_days", "purchase_days", "orders", "spend", "average_order_value", "tenure_days",
            "mean_gap_days", "gap_ratio", "spend_last_90", "spend_prev_90", "spend_trend", "orders_last_90",
            "orders_prev_90", "category_breadth", "main_channel_share", "discount_share"]


INT_FEATURES = ["recency_days", "purchase_days", "orders", "tenure_days", "orders_last_90", "orders_prev_90"]


def _validate_cols(df, cols: list[str], what: str = "orders") -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"{what} lack required column(s) {missing}; have {list(df.columns)}")


def ibis_orders(orders: pd.DataFrame | ibis.Table) -> ibis.Table:
    """An Ibis table of the orders (a DataFrame becomes an in-memory DuckDB table)."""
    if isinstance(orders, ibis.Table):
        return orders
    _validate_cols(orders, ["customer_id", "order_ts", "amount"])
    keep = [c for c in ("customer_id", "order_ts", "amount", "category", "channel", "discount") if c in orders]
    # ibis.memtable: Ibis 12's create_table(DataFrame) emits SQL that DuckDB 2.0 rejects
    return ibis.memtable(orders[keep])


def snapshot_features(orders: pd.DataFrame | ibis.Table, snapshot: pd.Timestamp, active_days: int = 365,
                      customers: pd.DataFrame | None = None, attributes: list[str] | None = None,
                      max_levels: int = 20, types: dict[str, str] | None = None) -> pd.DataFrame:
    """Features of every customer active in the ``active_days`` up to ``snapshot`` (inclusive).

    One Ibis aggregation (DuckDB by default) over the orders up to the end of the snapshot day;
    later orders are filtered out before anything is computed.

    Parameters
    ----------
    orders : DataFrame or Ibis table
        Clean orders: ``customer_id``, ``order_ts``, ``amount``; optional ``category``,
        ``channel``, ``discount``.
    snapshot : Timestamp
        Day of the snapshot; orders up to the end of that day are history, later ones are not read.
    active_days : int
        Population: customers with an order in ``(snapshot - active_days, snapshot]``.
    customers, attributes, max_levels, types : optional
        Customer table and the attribute columns to add (:func:`attribute_features`).

    Returns
    -------
    DataFrame indexed by ``customer_id`` with :data:`FEATURES` (plus attributes), sorted by id.
    Features of absent optional columns (category, channel, discount) are NaN.
    """
    t = ibis_orders(orders)
    _validate_cols(t, ["customer_id", "order_ts", "amount"])
    day = pd.Timestamp(snapshot).normalize()
    end = ibis.timestamp(day + pd.Timedelta(days=1))
    h = t.filter(t.order_ts < end).mutate(_day=t.order_ts.date())
    d0 = ibis.date(day.date())
    first_active = ibis.date((day - pd.Timedelta(days=active_days - 1)).date())
    last90 = h._day > ibis.date((day - pd.Timedelta(days=90)).date())
    prev90 = (h._day > ibis.date((day - pd.Timedelta(days=180)).date())) & ~last90
    aggs = dict(first=h._day.min(), lastd=h._day.max(), orders=h.count(), purchase_days=h._day.nunique(),
                spend=h.amount.sum(), spend_last_90=h.amount.sum(where=last90),
                spend_prev_90=h.amount.sum(where=prev90), orders_last_90=h.count(where=last90),
                orders_prev_90=h.count(where=prev90))
    cols = t.columns
    if "category" in cols:
        aggs["category_breadth"] = h.category.nunique()
    if "discount" in cols:
        aggs["discount_sum"] = h.discount.sum()
    g = h.group_by("customer_id").aggregate(**aggs)
    g = g.filter(g.lastd >= first_active)
    if "channel" in cols:
        per = h.group_by(["customer_id", "channel"]).aggregate(n=h.count())
        top = per.group_by("customer_id").aggregate(top_channel_orders=per.n.max())
        g = g.left_join(top, "customer_id").drop("customer_id_right")
    g = g.mutate(recency_days=d0.delta(g.lastd, unit="day"), tenure_days=d0.delta(g.first, unit="day"),
                 span_days=g.lastd.delta(g.first, unit="day"))
    return _finish_features(g.to_pyarrow().to_pandas(), cols, day, customers, attributes, max_levels, types)


def _finish_features(raw: pd.DataFrame, cols, day: pd.Timestamp, customers, attributes, max_levels,
                     types) -> pd.DataFrame:
    """The features from the per-customer aggregates (``customer_id``, first, lastd, orders, ...):
    the same pandas steps for the reference query and the one over :class:`SnapshotSet`."""
    f = raw.set_index("customer_id").sort_index()
    f.index = f.index.astype(str)
    f.index.name = "customer_id"
    for c in ("recency_days", "tenure_days", "orders", "purchase_days", "orders_last_90", "orders_prev_90"):
        f[c] = f[c].fillna(0).astype("int64")
    f["average_order_value"] = f["spend"] / f["orders"]
    gaps = f["purchase_days"] - 1
    f["mean_gap_days"] = (f["span_days"] / gaps.where(gaps > 0)).astype(float)
    # current gap relative to the customer's usual gap (NaN for one-time buyers)
    f["gap_ratio"] = f["recency_days"] / f["mean_gap_days"]
    f[["spend_last_90", "spend_prev_90"]] = f[["spend_last_90", "spend_prev_90"]].astype(float).fillna(0.0)
    both = f["spend_prev_90"] + f["spend_last_90"]
    f["spend_trend"] = ((f["spend_last_90"] - f["spend_prev_90"]) / both.where(both != 0)).fillna(0.0)
    f["category_breadth"] = f["category_breadth"].astype(float) if "category" in cols else np.nan
    f["main_channel_share"] = f["top_channel_orders"] / f["orders"] if "channel" in cols else np.nan
    if "discount" in cols:
        den = (f["spend"] + f["discount_sum"].fillna(0.0))
        f["discount_share"] = f["discount_sum"].fillna(0.0) / den.where(den != 0)
    else:
        f["discount_share"] = np.nan
    f = f[FEATURES].astype({c: float for c in FEATURES if c not in INT_FEATURES})
    if attributes:
        if customers is None:
            raise KeyError(f"attributes {attributes} need a customers table")
        a, _, _ = attribute_features(customers, attributes, day, max_levels, types)
        f = f.join(_fill_unknown(a.reindex(f.index)))
    return f


def attribute_features(customers: pd.DataFrame, attributes: list[str], reference: pd.Timestamp,
                       max_levels: int = 20, types: dict[str, str] | None = None
                       ) -> tuple[pd.DataFrame, list[AttributeNote], dict[str, str]]:
    """The typed attributes as features (:func:`helpers.ingest.attributes.model_features`).

    Raises
    ------
    KeyError
        When the customers table lacks a named attribute.
    """
    _validate_cols(customers, ["customer_id", *attributes], "customers table")
    return model_features(customers, attributes, reference, max_levels, types)


def _fill_unknown(a: pd.DataFrame) -> pd.DataFrame:
    """Customers without a row in the customers table: categories "unknown", numbers missing."""
    for c in a.columns:
        if isinstance(a[c].dtype, pd.CategoricalDtype):
            if a[c].isna().any():
                if "unknown" not in a[c].cat.categories:
                    a[c] = a[c].cat.add_categories("unknown")
                a[c] = a[c].fillna("unknown")
        elif not pd.api.types.is_numeric_dtype(a[c]):
            a[c] = a[c].astype("string").fillna("unknown").astype(str)
    return a


def churn_labels(orders: pd.DataFrame | ibis.Table, snapshot: pd.Timestamp, horizon_days: int, population: pd.Index,
                 observed_until: pd.Timestamp | None = None) -> pd.Series:
    """1 when a customer of ``population`` places no order in ``(snapshot, snapshot + horizon_days]``.

    Parameters
    ----------
    orders : DataFrame or Ibis table
        A table's buyers in the window are found on its engine.
    observed_until : Timestamp, optional
        Last day the orders cover (the as-of date). When given, a window that ends after it is refused.

    Raises
    ------
    ValueError
        When the outcome window is not fully observed (labels would count unobserved days as churn).
    """
    if not isinstance(orders, ibis.Table):
        _validate_cols(orders, ["customer_id", "order_ts"])
    end, stop = _label_window(snapshot, horizon_days, observed_until)
    if isinstance(orders, ibis.Table):
        w = orders.filter((orders.order_ts >= ibis.timestamp(end)) & (orders.order_ts < ibis.timestamp(stop)))
        bought = w.select(customer_id=w.customer_id.cast("string")).distinct().to_pyarrow().column(0).to_pandas()
    else:
        ts = orders["order_ts"]
        bought = pd.unique(orders["customer_id"][(ts >= end) & (ts < stop)].astype(str))
    # Arrow's hash membership: pandas' isin on Arrow-backed text loops in Python (5 s at 600k customers)
    churned = ~isin_ids(pd.Series(pd.Index(population).astype(str)), bought).to_numpy()
    return pd.Series(churned.astype("int64"), index=population, name="churned")


def _label_window(snapshot: pd.Timestamp, horizon_days: int, observed_until: pd.Timestamp | None
                  ) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The outcome window ``[end, stop)`` after ``snapshot``; refused when it ends after ``observed_until``."""
    end = pd.Timestamp(snapshot).normalize() + pd.Timedelta(days=1)
    stop = end + pd.Timedelta(days=horizon_days)
    if observed_until is not None and stop > pd.Timestamp(observed_until).normalize() + pd.Timedelta(days=1):
        raise ValueError(f"the {horizon_days}-day outcome window after {pd.Timestamp(snapshot).date()} ends after the "
                         f"last observed day {pd.Timestamp(observed_until).date()}; use an earlier snapshot")
    return end, stop


def dataset(
    orders: pd.DataFrame | ibis.Table,
    snapshot: pd.Timestamp,
    horizon_days: int,
    active_days: int = 365,
    observed_until: pd.Timestamp | None = None,
    customers: pd.DataFrame | None = None,
    attributes: list[str] | None = None,
    labels_from: pd.DataFrame | None = None,
    max_levels: int = 20,
    types: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Features and churn labels of one snapshot (features only from before it).

    Features the export cannot provide (no ``category``, ``channel`` or ``discount`` column) are
    left out, so train and evaluation snapshots of one export always have the same columns.

    Parameters
    ----------
    labels_from : DataFrame or Ibis table, optional
        Orders (``customer_id``, ``order_ts``) to read the outcome window from (default ``orders``).
    """
    X = snapshot_features(orders, snapshot, active_days, customers, attributes, max_levels, types)
    X = X.drop(columns=[c for c in ("category_breadth", "main_channel_share", "discount_share")
                        if X[c].isna().all() and len(X)])
    src = labels_from if labels_from is not None else orders
    y = churn_labels(src, snapshot, horizon_days, X.index, observed_until)
    return X, y


def time_to_next_purchase(orders: pd.DataFrame | ibis.Table, origin: pd.Timestamp, until: pd.Timestamp,
                          population: pd.Index) -> pd.DataFrame:
    """Days from ``origin`` to each customer's first order after it; censored at ``until``.

    ``orders``: a DataFrame or an Ibis table (the first order per customer is found on the engine).
    Returns ``duration`` (days, 1 = the day after the origin) and ``event`` (1 = bought again,
    0 = censored: no order up to ``until``), indexed like ``population``.
    """
    from helpers.frame.engine import as_table
    start = pd.Timestamp(origin).normalize() + pd.Timedelta(days=1)
    stop = pd.Timestamp(until).normalize() + pd.Timedelta(days=1)
    t = as_table(orders, ("customer_id", "order_ts"))
    w = t.filter((t.order_ts >= ibis.timestamp(start)) & (t.order_ts < ibis.timestamp(stop)))
    f = w.group_by(customer_id=w.customer_id.cast("string")).aggregate(first=w.order_ts.min()).to_pyarrow()
    # each customer's first order looked up by Arrow's hash (pandas' reindex on text ids: seconds per million)
    pos = pc.index_in(pa.array(pd.Index(population).astype(str).to_numpy(object), pa.string()),
                      value_set=f.column("customer_id").combine_chunks())
    first = pc.take(f.column("first").combine_chunks().cast(pa.timestamp("us")), pos)
    event = pos.is_valid().to_numpy(zero_copy_only=False)
    day = first.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    days = np.where(event, (day - np.datetime64(start.date(), "D")).astype("int64") + 1, 0)
    follow = (stop - start).days
    return pd.DataFrame({"duration": np.where(event, days, follow).astype(float), "event": event.astype(int)},
                        index=population)


def cohort_retention(orders: pd.DataFrame | ibis.Table | str, as_of: pd.Timestamp, cohorts: int = 8) -> pd.DataFrame:
    """Share of each first-purchase quarter's customers who bought in each later quarter.

    Rows: the last ``cohorts`` first-purchase quarters up to the as-of date's quarter, with their
    size; columns ``Q+0`` .. ``Q+(cohorts-1)`` (``Q+0`` is 100% by definition). Quarters not yet
    complete at the as-of date are left empty, never counted as zero.

    ``orders``: a DataFrame, an Ibis table or a Parquet path (:func:`helpers.frame.engine.as_table`); the
    distinct (customer, quarter) pairs and their counts per cohort are computed on the engine, only
    the small cohort-by-quarter table reaches pandas.
    """
    from helpers.frame.engine import as_table, to_pandas
    t = as_table(orders, ("customer_id", "order_ts"))
    o = t.filter(t.order_ts < ibis.timestamp(pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)))
    cq = o.select(
        customer_id=o.customer_id, q=(o.order_ts.year() * 4 + o.order_ts.quarter() - 1).cast("int64")
    ).distinct()
    first = cq.group_by("customer_id").aggregate(cohort=cq.q.min())
    j = cq.inner_join(first, "customer_id")
    counts = to_pandas(j.group_by(["cohort", j.q]).aggregate(n=j.count()))
    aq = pd.Timestamp(as_of)
    last_q = aq.year * 4 + aq.quarter - 1
    complete_q = last_q if aq.normalize() >= aq.to_period("Q").end_time.normalize() else last_q - 1
    cols = [f"Q+{k}" for k in range(cohorts)]
    if counts.empty:
        out = pd.DataFrame(columns=["customers", *cols], dtype=float)
        out.index.name = "first purchase"
        return out
    counts = counts.astype({"cohort": "int64", "q": "int64", "n": "int64"})
    counts["offset"] = counts["q"] - counts["cohort"]
    keep = np.sort(counts["cohort"].unique())[-cohorts:]
    d = counts[counts["cohort"].isin(keep) & (counts["offset"] < cohorts)]
    size = d[d["offset"] == 0].set_index("cohort")["n"].sort_index()
    active = d.pivot_table(index="cohort", columns="offset", values="n", aggfunc="sum")
    share = active.div(size, axis=0).reindex(index=size.index, columns=range(cohorts)).astype(float).fillna(0.0)
    for c in share.index:
        for k in share.columns:
            if c + k > complete_q:
                share.loc[c, k] = np.nan
    share.columns = cols
    share.insert(0, "customers", size.astype("int64"))
    share.index = [f"{c // 4}Q{c % 4 + 1}" for c in share.index]
    share.index.name = "first purchase"
    return share


def purchase_history(orders: pd.DataFrame | ibis.Table, snapshot: pd.Timestamp, unit_days: float) -> pd.DataFrame:
    """BG/NBD's (x, t_x, T) of every customer with an order up to the end of ``snapshot`` (Ibis on the engine).

    The same quantities as :func:`helpers.value.data.calibration_summary` (one purchase occasion per
    customer-day): x = purchase days - 1, t_x = last - first purchase day, T = snapshot - first day,
    in units of ``unit_days``. Sorted by customer id (a seeded fit sample picks rows by position).
    """
    t = ibis_orders(orders)
    day = pd.Timestamp(snapshot).normalize()
    h = t.filter(t.order_ts < ibis.timestamp(day + pd.Timedelta(days=1))).mutate(_day=t.order_ts.date())
    g = h.group_by("customer_id").aggregate(first=h._day.min(), last=h._day.max(), n=h._day.nunique())
    d0 = ibis.date(day.date())
    g = g.mutate(span=g.last.delta(g.first, unit="day"), age=d0.delta(g.first, unit="day"))
    return _history_frame(g.select("customer_id", "n", "span", "age").order_by("customer_id").to_pyarrow().to_pandas(),
                          unit_days)


def _history_frame(s: pd.DataFrame, unit_days: float) -> pd.DataFrame:
    """(x, t_x, T) from purchase days ``n``, ``span`` and ``age`` in days (both paths)."""
    return pd.DataFrame({"x": s["n"].to_numpy() - 1, "t_x": s["span"].to_numpy() / unit_days,
                         "T": s["age"].to_numpy() / unit_days}, index=pd.Index(s["customer_id"].astype(str)))


class SnapshotSet:
    """The churn features, BG/NBD histories and labels of several snapshots from one pass over the orders.

    Built by :func:`snapshot_set`: the orders are grouped once per customer (orders, spend,
    discount) with one set of aggregates per snapshot, each reading only the orders up to that
    snapshot (``FILTER`` clauses), and once per customer and day for the purchase days and the
    outcome windows after the snapshots that get labels. That per-customer table stays on the
    engine (materialized); each snapshot's features, history and labels are then small queries on it. Same results as
    :func:`snapshot_features`, :func:`purchase_history` and :func:`churn_labels` (the references,
    tested against it): the money sums are the same float additions in the same order as the
    references' (bit-identical on one engine thread; across threads the engine's own order is not
    fixed, for the references either). Free it with :meth:`release`.
    """

    def __init__(self, table: ibis.Table, snapshots: list[pd.Timestamp], active_days: int,
                 windows: dict[pd.Timestamp, int], cols: list[str]):
        self.table, self.snapshots, self.active_days = table, snapshots, active_days
        self.windows, self.cols = windows, cols

    def _k(self, snapshot: pd.Timestamp) -> int:
        day = pd.Timestamp(snapshot).normalize()
        if day not in self.snapshots:
            raise KeyError(f"snapshot {day.date()} is not one of {[d.date().isoformat() for d in self.snapshots]}")
        return self.snapshots.index(day)

    def features(self, snapshot: pd.Timestamp, customers: pd.DataFrame | None = None,
                 attributes: list[str] | None = None, max_levels: int = 20,
                 types: dict[str, str] | None = None) -> pd.DataFrame:
        """:func:`snapshot_features` at ``snapshot`` (one of the set's)."""
        k = self._k(snapshot)
        day = self.snapshots[k]
        g = self.table
        d0 = ibis.date(day.date())
        first_active = ibis.date((day - pd.Timedelta(days=self.active_days - 1)).date())
        last = g[f"last_{k}"]
        sel = dict(customer_id=g.cid, first=g.first, lastd=last, orders=g[f"orders_{k}"],
                   purchase_days=g[f"days_{k}"], spend=g[f"spend_{k}"].cast("float64"),
                   spend_last_90=g[f"spend_last_90_{k}"].cast("float64"),
                   spend_prev_90=g[f"spend_prev_90_{k}"].cast("float64"),
                   orders_last_90=g[f"orders_last_90_{k}"], orders_prev_90=g[f"orders_prev_90_{k}"])
        if "category" in self.cols:
            sel["category_breadth"] = g[f"categories_{k}"].fill_null(0)
        if "discount" in self.cols:
            sel["discount_sum"] = g[f"discount_{k}"].cast("float64")
        if "channel" in self.cols:
            sel["top_channel_orders"] = g[f"top_channel_{k}"]
        sel.update(recency_days=d0.delta(last, unit="day"), tenure_days=d0.delta(g.first, unit="day"),
                   span_days=last.delta(g.first, unit="day"))
        raw = g.filter(last >= first_active).select(**sel).to_pyarrow().to_pandas()
        return _finish_features(raw, self.cols, day, customers, attributes, max_levels, types)

    def history(self, snapshot: pd.Timestamp, unit_days: float) -> pd.DataFrame:
        """:func:`purchase_history` at ``snapshot``: every customer with an order up to it."""
        k = self._k(snapshot)
        g = self.table
        last = g[f"last_{k}"]
        d0 = ibis.date(self.snapshots[k].date())
        q = g.filter(last.notnull()).select(customer_id=g.cid, n=g[f"days_{k}"], span=last.delta(g.first, unit="day"),
                                            age=d0.delta(g.first, unit="day"))
        return _history_frame(q.order_by("customer_id").to_pyarrow().to_pandas(), unit_days)

    def labels(self, snapshot: pd.Timestamp, horizon_days: int, population: pd.Index,
               observed_until: pd.Timestamp | None = None) -> pd.Series:
        """:func:`churn_labels` at ``snapshot`` (its window must have been asked for in :func:`snapshot_set`)."""
        k = self._k(snapshot)
        _label_window(snapshot, horizon_days, observed_until)
        if self.windows.get(self.snapshots[k]) != horizon_days:
            raise KeyError(f"the set has no {horizon_days}-day outcome window after {self.snapshots[k].date()}")
        g = self.table
        w = g.filter(g[f"bought_{k}"] > 0)
        bought = w.select(customer_id=w.cid).to_pyarrow().column(0).to_pandas()
        churned = ~isin_ids(pd.Series(pd.Index(population).astype(str)), bought).to_numpy()
        return pd.Series(churned.astype("int64"), index=population, name="churned")

    def release(self) -> None:
        """Drop the materialized per-customer table."""
        from helpers.frame.engine import release
        release(self.table)


def snapshot_set(orders: pd.DataFrame | ibis.Table, snapshots: list[pd.Timestamp], active_days: int = 365,
                 windows: dict[pd.Timestamp, int] | None = None) -> SnapshotSet:
    """Per-customer aggregates of every snapshot in one pass over the orders (:class:`SnapshotSet`).

    Parameters
    ----------
    orders : DataFrame or Ibis table
        Clean orders, as for :func:`snapshot_features`.
    snapshots : list of Timestamp
        The snapshot days; for each, only the orders up to the end of that day enter its aggregates.
    active_days : int
        Population of each snapshot, as for :func:`snapshot_features`.
    windows : dict, optional
        Snapshot -> ``horizon_days`` of the outcome window to read for its labels. The orders read
        end with the latest snapshot or outcome window.
    """
    from helpers.frame.engine import materialize
    t = ibis_orders(orders)
    _validate_cols(t, ["customer_id", "order_ts", "amount"])
    snaps = [pd.Timestamp(d).normalize() for d in snapshots]
    windows = {pd.Timestamp(d).normalize(): int(v) for d, v in (windows or {}).items()}
    unknown = [d for d in windows if d not in snaps]
    if unknown or not snaps:
        raise ValueError(f"outcome windows {unknown} need their snapshot among {snaps} (at least one)")
    until = max([*snaps, *(d + pd.Timedelta(days=v) for d, v in windows.items())]) + pd.Timedelta(days=1)
    cols = list(t.columns)
    h = t.filter(t.order_ts < ibis.timestamp(until)).mutate(cid=t.customer_id.cast("string"), _day=t.order_ts.date())
    # money and order counts straight from the orders, as the reference adds them (the same rows in the same
    # order: a FILTER clause selects what the reference's WHERE keeps), so the sums are the same floats
    aggs = {"first": h._day.min()}
    for k, day in enumerate(snaps):
        upto = h.order_ts < ibis.timestamp(day + pd.Timedelta(days=1))
        in90 = h._day > ibis.date((day - pd.Timedelta(days=90)).date())
        last90 = upto & in90
        prev90 = upto & (h._day > ibis.date((day - pd.Timedelta(days=180)).date())) & ~in90
        aggs.update({f"last_{k}": h._day.max(where=upto), f"orders_{k}": h.count(where=upto),
                     f"spend_{k}": h.amount.sum(where=upto), f"spend_last_90_{k}": h.amount.sum(where=last90),
                     f"spend_prev_90_{k}": h.amount.sum(where=prev90), f"orders_last_90_{k}": h.count(where=last90),
                     f"orders_prev_90_{k}": h.count(where=prev90)})
        if "discount" in cols:
            aggs[f"discount_{k}"] = h.discount.sum(where=upto)
    g = h.group_by("cid").aggregate(**aggs)
    # purchase days (the reference's distinct count) and the outcome windows from the distinct customer-days
    d = h.select("cid", "_day").distinct()
    per = {}
    for k, day in enumerate(snaps):
        per[f"days_{k}"] = d.count(where=d._day <= ibis.date(day.date()))
        if day in windows:
            per[f"bought_{k}"] = d.count(where=(d._day > ibis.date(day.date())) & (
                d._day <= ibis.date((day + pd.Timedelta(days=windows[day])).date())))
    g = g.inner_join(d.group_by("cid").aggregate(**per), "cid")
    if "category" in cols:
        hc = h.filter(h.category.notnull())
        c = hc.group_by(["cid", "category"]).aggregate(f=hc._day.min())
        per = c.group_by("cid").aggregate(**{f"categories_{k}": c.count(where=c.f <= ibis.date(day.date()))
                                            for k, day in enumerate(snaps)})
        g = g.left_join(per, "cid").drop("cid_right")
    if "channel" in cols:
        c = h.group_by(["cid", "channel"]).aggregate(**{f"n_{k}": h.count(where=h._day <= ibis.date(day.date()))
                                                       for k, day in enumerate(snaps)})
        per = c.group_by("cid").aggregate(**{f"top_channel_{k}": c[f"n_{k}"].max() for k in range(len(snaps))})
        g = g.left_join(per, "cid").drop("cid_right")
    return SnapshotSet(materialize(g, t._find_backend(use_default=True)), snaps, active_days, windows, cols)


#: Payment-history features of a subscriber (contractual mode); see :func:`payment_history`.
PAYMENT_FEATURES = ["payments", "total_paid", "mean_payment", "last_payment", "payment_change", "missed_periods",
                    "paying_days"]


def payment_history(orders: pd.DataFrame | ibis.Table, as_of: pd.Timestamp, period_days: float) -> pd.DataFrame:
    """Each subscriber's payments up to the as-of date (one aggregation on the engine, one pass).

    ``payments`` (order lines: one per payment), ``total_paid``, ``mean_payment``, ``last_payment``
    (the amount of the latest payment), ``payment_change`` (latest against the mean, -0.2 = 20% less),
    ``missed_periods`` (periods skipped between the first and the latest payment: the periods the
    span covers less the payments after the first, never below 0) and ``paying_days`` (first to
    latest payment plus one period: the tenure a subscriber has paid for).

    How recently a subscriber paid is deliberately **not** a feature: with a churn label whose date
    is unknown, "no payment lately" would read the label back instead of predicting it. One pass
    over the lines (no per-day grouping, no window): at a million subscribers and 27 million
    payments a per-day grouping first took five times as long (benchmarks/RESULTS.md).
    """
    t = ibis_orders(orders)
    stop = ibis.timestamp(pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1))
    h = t.filter(t.order_ts < stop)
    g = h.group_by("customer_id").aggregate(
        payments=h.count(), total_paid=h.amount.sum(), first=h.order_ts.min(), last=h.order_ts.max(),
        last_payment=h.amount.argmax(h.order_ts))
    f = g.to_pyarrow().to_pandas()
    f["customer_id"] = f["customer_id"].astype(str)
    f = f.set_index("customer_id").sort_index()
    out = pd.DataFrame(index=f.index)
    out["payments"] = f["payments"].astype(float)
    out["total_paid"] = f["total_paid"].astype(float)
    out["mean_payment"] = out["total_paid"] / out["payments"]
    out["last_payment"] = f["last_payment"].astype(float)
    out["payment_change"] = out["last_payment"] / out["mean_payment"] - 1.0
    span = (pd.to_datetime(f["last"]).dt.normalize() - pd.to_datetime(f["first"]).dt.normalize()).dt.days \
        .astype(float)
    out["missed_periods"] = (np.round(span / period_days) - (out["payments"] - 1)).clip(lower=0.0)
    out["paying_days"] = span + period_days
    return out[PAYMENT_FEATURES]


class ContractualData:
    """The contractual data set: labelled customers' features and labels, and the customers to score.

    Attributes
    ----------
    X, y : DataFrame, Series
        Customers with a known label (``churned`` true or false).
    X_score : DataFrame
        Customers not churned, or with no label: the ones to score.
    notes : list of AttributeNote
        Attributes left out or with levels grouped.
    kinds : dict
        Feature -> its type (``number``, ``boolean``, ``date``, ``category``; ``behaviour`` for
        tenure and payment history).
    """

    def __init__(self, X, y, X_score, notes, kinds):
        self.X, self.y, self.X_score, self.notes, self.kinds = X, y, X_score, notes, kinds


def contractual_dataset(customers: pd.DataFrame, attributes: list[str], as_of: pd.Timestamp,
                        max_levels: int = 20, types: dict[str, str] | None = None,
                        payments: pd.DataFrame | None = None, label: str = "churned") -> ContractualData:
    """Features and labels from a customers table with an explicit churn label.

    Features: the typed attributes (:func:`attribute_features`), the payment history
    (:func:`payment_history`) when given (subscribers without payments get missing values there), and
    days since sign-up when ``signup_date`` is present and there is no payment history (beside the
    days paid for, it would give away the time since the last payment, that is the label).

    Raises
    ------
    KeyError
        A named attribute (or the label) is not in the customers table.
    """
    _validate_cols(customers, ["customer_id", label, *attributes], "customers table")
    c = customers.assign(customer_id=customers["customer_id"].astype(str)).drop_duplicates("customer_id") \
        .set_index("customer_id").sort_index()
    X, notes, kinds = attribute_features(customers, attributes, as_of, max_levels, types)
    X = _fill_unknown(X.reindex(c.index))
    with_payments = payments is not None and len(payments) > 0
    # with the payment history, days since sign-up less the days paid for is the time since the last payment: the
    # churn label read back (a cancelled subscriber stops paying), so the paid-for tenure replaces it
    if "signup_date" in c and c["signup_date"].notna().any() and not with_payments:
        X["signup_tenure_days"] = (pd.Timestamp(as_of).normalize() - pd.to_datetime(c["signup_date"])).dt.days \
            .astype(float)
        kinds["signup_tenure_days"] = "behaviour"
    if payments is not None and len(payments):
        X = X.join(payments.reindex(X.index))
        kinds.update(dict.fromkeys(payments.columns, "behaviour"))
    lab = c[label].astype("boolean")
    known = lab.notna().to_numpy()
    y = lab[known].astype(int).rename("churned")
    score = X[~known | ~lab.fillna(False).to_numpy()]
    return ContractualData(X[known], y, score, notes, kinds)
