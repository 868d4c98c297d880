"""RFM: per-customer aggregation (Ibis on DuckDB), 1-5 scores, named segments, action groups.

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

from helpers.params import RfmSettings

__all__ = ["customer_summary", "rank_scores", "frequency_scores", "score_customers",
           "assign_segments", "segment_of", "action_group_of", "scoring_table", "segment_table",
           "rf_heatmap", "SUMMARY_COLUMNS"]

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
        ``first_order``, ``last_order``, ``orders``, ``purchase_days``, ``revenue``,
        ``recency_days`` and ``tenure_days`` (whole days from the last / first order's date to
        ``as_of``), ``average_order_value``; sorted by ``customer_id``.
    """
    from helpers.engine import as_table
    if isinstance(orders, pd.DataFrame):
        _validate_cols(orders, [customer_col, ts_col, amount_col], "orders")
        orders = orders[[customer_col, ts_col, amount_col]]
    t = as_table(orders, (customer_col, ts_col, amount_col))
    day = pd.Timestamp(as_of).normalize()
    f = t.filter(t[ts_col] < ibis.timestamp(day + pd.Timedelta(days=1)))
    g = f.group_by(customer_id=f[customer_col]).aggregate(
        first_order=f[ts_col].min(), last_order=f[ts_col].max(), orders=f.count(),
        purchase_days=f[ts_col].date().nunique(), revenue=f[amount_col].sum())
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


def rank_scores(values: pd.Series | np.ndarray, n_scores: int = 5, higher_is_better: bool = True,
                offset: int = 1) -> np.ndarray:
    """Quantile scores ``offset .. offset + n_scores - 1`` where ties share a score.

    Parameters
    ----------
    values : array-like of float
    n_scores : int
        Number of scores (5 for quintiles).
    higher_is_better : bool
        Whether a larger value earns a larger score (False for recency).
    offset : int
        The lowest score.

    Returns
    -------
    numpy.ndarray of int
        ``offset + floor(n_scores * (position - 1) / n)``, ``position`` being the 1-based rank
        from worst to best with ties at their first position (``method="min"``).
    """
    v = pd.Series(np.asarray(values, dtype="float64"))
    if v.isna().any():
        raise ValueError("cannot score missing values")
    n = len(v)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pos = (v if higher_is_better else -v).rank(method="min").to_numpy()
    return (offset + np.floor(n_scores * (pos - 1) / n)).astype(np.int64)


def frequency_scores(freq: pd.Series | np.ndarray, n_scores: int = 5) -> tuple[np.ndarray, str]:
    """F scores, with the lumpy-data rule of the module docstring.

    Returns
    -------
    (scores, method) : tuple
        Scores 1..5 and a sentence saying how they were made (shown in the report).
    """
    f = pd.Series(np.asarray(freq, dtype="float64"))
    if len(f) == 0:
        return np.zeros(0, dtype=np.int64), "no customers"
    lowest = f.min()
    share_low = float((f == lowest).mean())
    if share_low >= 1 / n_scores and (f > lowest).any():
        scores = np.ones(len(f), dtype=np.int64)
        rest = f > lowest
        scores[rest.to_numpy()] = rank_scores(f[rest], n_scores - 1, True, offset=2)
        how = (f"{share_low:.0%} of customers share the lowest frequency ({lowest:g}); they get F = 1 "
               f"and the other customers are split into scores 2-5 by quartiles of their frequency "
               f"(equal frequencies share a score)")
        return scores, how
    if share_low >= 1 / n_scores:
        return np.ones(len(f), dtype=np.int64), f"every customer has the same frequency ({lowest:g}): all F = 1"
    return rank_scores(f, n_scores, True), "quintiles of frequency (equal frequencies share a score)"


def score_customers(summary: pd.DataFrame, settings: RfmSettings) -> tuple[pd.DataFrame, str]:
    """Add ``recency``, ``frequency``, ``monetary``, ``r_score``, ``f_score``, ``m_score``, ``rfm_cell``.

    Parameters
    ----------
    summary : DataFrame
        From :func:`customer_summary`.
    settings : RfmSettings
        Which frequency (purchase days or orders) and monetary (total or average) to score.

    Returns
    -------
    (scored, frequency_method)
    """
    _validate_cols(summary, ["customer_id", "recency_days", "purchase_days", "orders", "revenue",
                             "average_order_value"], "customer summary")
    out = summary.copy()
    out["recency"] = out["recency_days"]
    out["frequency"] = out[settings.frequency]
    out["monetary"] = out["revenue"] if settings.monetary == "total" else out["average_order_value"]
    out["r_score"] = rank_scores(out["recency"], higher_is_better=False)
    out["f_score"], how = frequency_scores(out["frequency"])
    out["m_score"] = rank_scores(out["monetary"])
    out["rfm_cell"] = (out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str))
    return out, how


def assign_segments(scored: pd.DataFrame, settings: RfmSettings) -> pd.Series:
    """Named segment of every customer: the first matching rule (every cell is covered)."""
    _validate_cols(scored, ["r_score", "f_score", "m_score"], "scored customers")
    seg = pd.Series(pd.NA, index=scored.index, dtype="object")
    r, f, m = (scored[c].to_numpy() for c in ("r_score", "f_score", "m_score"))
    for rule in settings.segments:
        hit = seg.isna().to_numpy() & (r >= rule.r[0]) & (r <= rule.r[1]) & (f >= rule.f[0]) & \
            (f <= rule.f[1]) & (m >= rule.m[0]) & (m <= rule.m[1])
        seg[hit] = rule.name
    if seg.isna().any():  # guarded by RfmSettings' coverage check
        raise ValueError(f"{int(seg.isna().sum())} customers match no segment rule")
    return pd.Series(pd.Categorical(seg, categories=settings.segment_order), index=scored.index,
                     name="rfm_segment")


def segment_of(summary: pd.DataFrame, settings: RfmSettings) -> pd.DataFrame:
    """Scores and segment of every customer in a summary (used for this and the previous quarter)."""
    scored, how = score_customers(summary, settings)
    scored["rfm_segment"] = assign_segments(scored, settings)
    scored["action_group"] = action_group_of(scored["rfm_segment"], settings)
    scored.attrs["frequency_method"] = how
    return scored


def action_group_of(segments: pd.Series, settings: RfmSettings) -> pd.Series:
    """The action group of each segment (categorical, in the parameters' order)."""
    lookup = {s: g.name for g in settings.action_groups for s in g.segments}
    return pd.Series(pd.Categorical(segments.astype(str).map(lookup),
                                    categories=[g.name for g in settings.action_groups]),
                     index=segments.index, name="action_group")


def scoring_table(scored: pd.DataFrame) -> pd.DataFrame:
    """For each of R, F, M and each score that occurs: customers and the value range."""
    rows = []
    for letter, col, unit in (("R", "recency", "days since last purchase"), ("F", "frequency", "purchases"),
                              ("M", "monetary", "spend")):
        g = scored.groupby(f"{letter.lower()}_score")[col]
        for s, vals in g:
            rows.append({"score": f"{letter} = {s}", "measure": unit, "customers": len(vals),
                         "from": float(vals.min()), "to": float(vals.max())})
    return pd.DataFrame(rows)


def segment_table(scored: pd.DataFrame, settings: RfmSettings, period_revenue: pd.Series | None = None) -> pd.DataFrame:
    """Customers, share, revenue, share of revenue, average order value and action per segment.

    Parameters
    ----------
    scored : DataFrame
        With ``rfm_segment``, ``action_group``, ``revenue``, ``orders``.
    period_revenue : Series, optional
        Revenue per customer id in the quarter; adds ``quarter_revenue``.

    Returns
    -------
    DataFrame sorted by revenue (largest first); segments without customers are kept with zeros.
    """
    _validate_cols(scored, ["rfm_segment", "action_group", "revenue", "orders", "customer_id"], "scored customers")
    actions = {g.name: g.action for g in settings.action_groups}
    t = scored.groupby("rfm_segment", observed=False).agg(
        customers=("customer_id", "size"), revenue=("revenue", "sum"), orders=("orders", "sum"),
        median_recency_days=("recency_days", "median"), median_frequency=("frequency", "median"))
    t["share_of_customers"] = t["customers"] / max(len(scored), 1)
    t["share_of_revenue"] = t["revenue"] / (scored["revenue"].sum() or 1.0)
    t["average_order_value"] = t["revenue"] / t["orders"].where(t["orders"] > 0)
    if period_revenue is not None:
        q = period_revenue.reindex(scored["customer_id"].astype(str)).fillna(0.0).set_axis(scored.index)
        t["quarter_revenue"] = q.groupby(scored["rfm_segment"], observed=False).sum()
    group_of = {s: g.name for g in settings.action_groups for s in g.segments}
    t = t.reset_index().rename(columns={"rfm_segment": "segment"})
    t["segment"] = t["segment"].astype(str)
    t["action_group"] = t["segment"].map(group_of)
    t["recommended_action"] = t["action_group"].map(actions)
    return t.sort_values(["revenue", "customers"], ascending=False, kind="stable").reset_index(drop=True)


def rf_heatmap(scored: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers and mean spend in each (R, F) cell: two 5x5 tables, rows F 5..1, columns R 1..5."""
    _validate_cols(scored, ["r_score", "f_score", "monetary"], "scored customers")
    idx = pd.Index(range(5, 0, -1), name="F score")
    cols = pd.Index(range(1, 6), name="R score")
    counts = scored.pivot_table(index="f_score", columns="r_score", values="monetary", aggfunc="size")
    spend = scored.pivot_table(index="f_score", columns="r_score", values="monetary", aggfunc="mean")
    counts = counts.reindex(index=idx.rename("f_score"), columns=cols.rename("r_score")).fillna(0).astype(int)
    spend = spend.reindex(index=idx.rename("f_score"), columns=cols.rename("r_score"))
    counts.index.name, counts.columns.name = "F score", "R score"
    spend.index.name, spend.columns.name = "F score", "R score"
    return counts, spend


SCORE_COLUMNS = ["customer_id", "first_order", "last_order", "orders", "purchase_days", "revenue",
                 "average_order_value", "recency", "frequency", "monetary", "tenure_days", "r_score",
                 "f_score", "m_score", "rfm_cell", "rfm_segment", "action_group", "cluster"]


def build_outputs(scored: pd.DataFrame, clusters, mig, seg_table: pd.DataFrame, settings: RfmSettings,
                  flows: list[str], engine: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The step's artifacts: ``customer_scores`` (RFM columns) and ``rfm.json``.

    Parameters
    ----------
    scored : DataFrame
        From :func:`segment_of`.
    clusters : ClusterResult
    mig : Migration
    seg_table : DataFrame
        From :func:`segment_table`.
    flows : list of str
        The largest migrations in words.
    engine : str, optional
        The Ibis backend that computed the per-customer facts (``duckdb``, ``pyspark``), recorded
        as ``engine`` (the Spark test checks a quarter's facts really came from Spark).
    """
    scores = scored.assign(cluster=clusters.labels.to_numpy())
    scores["rfm_segment"] = scores["rfm_segment"].astype(str)
    scores["action_group"] = scores["action_group"].astype(str)
    scores = scores[SCORE_COLUMNS]
    summary = {
        "customers": int(len(scores)),
        "frequency_method": scored.attrs.get("frequency_method", ""),
        "segments": {r["segment"]: {"customers": int(r["customers"]), "revenue": float(r["revenue"]),
                                    "share_of_customers": float(r["share_of_customers"]),
                                    "share_of_revenue": float(r["share_of_revenue"]),
                                    "quarter_revenue": float(r.get("quarter_revenue", float("nan"))),
                                    "action_group": r["action_group"]}
                     for _, r in seg_table.iterrows()},
        "action_groups": [{"name": g.name, "action": g.action, "segments": g.segments,
                           "customers": int((scores["action_group"] == g.name).sum())}
                          for g in settings.action_groups],
        "clustering": {"k": clusters.k, "silhouette": clusters.silhouette, "note": clusters.note,
                       "curve": clusters.curve.to_dict(orient="records")},
        "migration": mig.summary,
        "migration_counts": {"rows": [str(i) for i in mig.counts.index], "columns": [str(c) for c in mig.counts.columns],
                             "values": mig.counts.to_numpy().astype(int).tolist()},
        "top_flows": flows,
        "engine": engine,
    }
    return scores, summary


def period_revenue(orders: pd.DataFrame | ibis.Table, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Revenue per customer id from ``start`` to the end of day ``end`` (an aggregation on the engine).

    ``orders``: clean orders as a DataFrame or an Ibis table (see :mod:`helpers.engine`).
    Customers without an order in the period are absent.
    """
    from helpers.engine import as_table, money_sum, to_pandas
    t = as_table(orders)
    f = t.filter((t.order_ts >= ibis.timestamp(pd.Timestamp(start)))
                 & (t.order_ts < ibis.timestamp(pd.Timestamp(end).normalize() + pd.Timedelta(days=1))))
    g = to_pandas(f.group_by(customer_id=f.customer_id).aggregate(amount=money_sum(f.amount)).order_by("customer_id"))
    return pd.Series(g["amount"].to_numpy(float), index=pd.Index(g["customer_id"].astype(str), name="customer_id"),
                     name="amount")


def action_group_table(scored: pd.DataFrame, settings: RfmSettings) -> pd.DataFrame:
    """One row per action group: its segments, customers, share and recommended action."""
    _validate_cols(scored, ["action_group"], "scored customers")
    n = max(len(scored), 1)
    counts = scored["action_group"].astype(str).value_counts()
    return pd.DataFrame([{"action_group": g.name, "segments": ", ".join(g.segments),
                          "customers": int(counts.get(g.name, 0)),
                          "share_of_customers": counts.get(g.name, 0) / n,
                          "recommended_action": g.action} for g in settings.action_groups])
