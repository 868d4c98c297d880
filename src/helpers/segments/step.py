"""The segments step: tables, sentences and the step's artifacts (segment scores, rfm.json).
"""

from __future__ import annotations

import ibis
import pandas as pd

from helpers.frame.engine import as_table, money_sum, to_pandas
from helpers.frame.outcome import summary_fields
from helpers.frame.settings import RfmSettings
from helpers.locale import N_, fmt_date, fmt_int, fmt_money, fmt_number, fmt_range, ntr, tr
from helpers.page.text import money, or_list
from helpers.segments.data import _validate_cols, values_by_id
from helpers.segments.model import NEW, Migration

__all__ = [
    "intro_sentence",
    "scoring_table",
    "segment_table",
    "rf_heatmap",
    "SCORE_COLUMNS",
    "build_outputs",
    "action_group_table",
    "describe_cluster",
    "cluster_profiles",
    "snake_data",
    "cluster_segment_crosstab",
    "flows_in_words",
    "largest_moves_markdown",
    "summary_table",
]


def intro_sentence(scored: pd.DataFrame, as_of: pd.Timestamp) -> str:
    """The page's opening sentence: customers scored, how recency, frequency and spend were scored."""
    return tr("**{customers} customers** had bought by {as_of}. Recency and spend are scored in fifths (5 = best "
              "fifth; customers with equal values share a score). Frequency: {frequency_method}.",
              customers=fmt_int(len(scored)), as_of=fmt_date(as_of),
              frequency_method=scored.attrs.get("frequency_method", ""))


def scoring_table(scored: pd.DataFrame, currency: str | None = None) -> pd.DataFrame:
    """For each of R, F, M and each score that occurs: customers and the value range.

    ``from`` / ``to`` are the numbers; ``values`` is the range as the page shows it: days and purchases
    as whole numbers, days with their unit (``431 to 995 days``, ``431 至 995 天``), spend as money in
    ``currency``, one value when the range is a point (``1``, not ``1 to 1``).
    """
    rows = []
    whole = fmt_int
    spend = (lambda v: fmt_money(v, currency)) if currency else (lambda v: fmt_number(v, 0))
    for letter, col, unit, fmt in (("R", "recency", N_("days since last purchase"), whole),
                                   ("F", "frequency", N_("purchases"), whole),
                                   ("M", "monetary", N_("spend"), spend)):
        g = scored.groupby(f"{letter.lower()}_score")[col]
        for s, vals in g:
            lo, hi = float(vals.min()), float(vals.max())
            values = fmt_range(lo, hi, fmt)
            if letter == "R":   # days carry their unit (a Chinese reader found "431 至 995" without 天)
                values = (ntr("{n} day", "{n} days", round(hi)) if values == fmt(hi) else
                          tr("{range} days", range=values))
            rows.append({"score": f"{letter} = {s}", "measure": tr(unit), "customers": len(vals),
                         "from": lo, "to": hi, "values": values})
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
        q = pd.Series(values_by_id(period_revenue, scored["customer_id"]), index=scored.index)
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
    counts.index.name, counts.columns.name = tr("F score"), tr("R score")
    spend.index.name, spend.columns.name = tr("F score"), tr("R score")
    return counts, spend


SCORE_COLUMNS = ["customer_id", "first_order", "last_order", "orders", "purchase_days", "revenue",
                 "average_order_value", "recency", "frequency", "monetary", "tenure_days", "r_score",
                 "f_score", "m_score", "rfm_cell", "rfm_segment", "action_group", "cluster"]


def build_outputs(scored: pd.DataFrame, clusters, mig, seg_table: pd.DataFrame, settings: RfmSettings,
                  flows: list[str], engine: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The step's artifacts: ``segment_scores`` (one row per customer: RFM facts, scores, segment, action
    group, cluster) and ``rfm.json``.

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
        **summary_fields(None, [na for na in (clusters.not_available, mig.not_available) if na is not None]),
        "customers": int(len(scores)),
        "frequency_method": scored.attrs.get("frequency_method", ""),
        "segments": {
            r["segment"]: {
                "customers": int(r["customers"]),
                "revenue": float(r["revenue"]),
                "share_of_customers": float(r["share_of_customers"]),
                "share_of_revenue": float(r["share_of_revenue"]),
                "quarter_revenue": float(r.get("quarter_revenue", float("nan"))),
                "action_group": r["action_group"],
            }
            for _, r in seg_table.iterrows()
        },
        "action_groups": [
            {
                "name": g.name,
                "action": g.action,
                "segments": g.segments,
                "customers": int((scores["action_group"] == g.name).sum()),
            }
            for g in settings.action_groups
        ],
        "clustering": {
            "k": clusters.k,
            "silhouette": clusters.silhouette,
            "note": clusters.note,
            "curve": clusters.curve.to_dict(orient="records"),
        },
        "migration": mig.summary,
        "migration_counts": {
            "rows": [str(i) for i in mig.counts.index],
            "columns": [str(c) for c in mig.counts.columns],
            "values": mig.counts.to_numpy().astype(int).tolist(),
        },
        "top_flows": flows,
        "engine": engine,
    }
    return scores, summary


def action_group_table(scored: pd.DataFrame, settings: RfmSettings) -> pd.DataFrame:
    """One row per action group: its segments, customers, share and recommended action."""
    _validate_cols(scored, ["action_group"], "scored customers")
    n = max(len(scored), 1)
    counts = scored["action_group"].astype(str).value_counts()
    return pd.DataFrame([{"action_group": g.name, "segments": tr(", ").join(g.segments),
                          "customers": int(counts.get(g.name, 0)),
                          "share_of_customers": counts.get(g.name, 0) / n,
                          "recommended_action": g.action} for g in settings.action_groups])


def describe_cluster(row: pd.Series, overall: pd.Series) -> str:
    """A few words for a cluster from its medians against everyone's ("recent, frequent, high spend")."""
    def level(v, ref, words):
        if v <= 0.67 * ref:
            return words[0]
        if v >= 1.5 * ref:
            return words[2]
        return words[1]
    rec = level(row["median_recency_days"], overall["recency"],
                (N_("recent"), N_("mid recency"), N_("lapsed")))
    freq = N_("one-off") if row["median_frequency"] <= 1 else level(
        row["median_frequency"], max(overall["frequency"], 1), (N_("occasional"), N_("regular"), N_("frequent")))
    spend = level(row["median_monetary"], overall["monetary"], (N_("low spend"), N_("mid spend"), N_("high spend")))
    return tr("{recency}, {frequency}, {spend}", recency=tr(rec), frequency=tr(freq), spend=tr(spend))


def cluster_profiles(scored: pd.DataFrame, labels: pd.Series, orders: pd.DataFrame | ibis.Table | str | None = None,
                     customers: pd.DataFrame | None = None, region_col: str = "region") -> pd.DataFrame:
    """Cluster profiles in business terms: size, revenue share, medians, top category and region.

    ``orders`` (a DataFrame or an Ibis table, see :mod:`helpers.engine`) gives each cluster's top
    category by spend; ``customers`` its most common region.

    Returns
    -------
    DataFrame
        One row per cluster (1 = most valuable): ``cluster``, ``description``, ``customers``,
        ``share_of_customers``, ``share_of_revenue``, ``median_recency_days``, ``median_frequency``,
        ``median_monetary``, ``average_order_value`` and, where known, ``top_category`` and
        ``top_region``.
    """
    d = scored.assign(cluster=labels.to_numpy())
    g = d.groupby("cluster")
    t = pd.DataFrame({
        "customers": g.size(),
        "revenue": g["revenue"].sum(),
        "median_recency_days": g["recency"].median(),
        "median_frequency": g["frequency"].median(),
        "median_monetary": g["monetary"].median(),
        "average_order_value": g["revenue"].sum() / g["orders"].sum(),
    })
    t["share_of_customers"] = t["customers"] / len(d)
    t["share_of_revenue"] = t["revenue"] / (d["revenue"].sum() or 1.0)
    overall = d[["recency", "frequency", "monetary"]].median()
    t["description"] = [describe_cluster(r, overall) for _, r in t.iterrows()]
    cl = pd.DataFrame({"customer_id": d["customer_id"].astype(str).to_numpy(), "cluster": d["cluster"].to_numpy()})
    o = as_table(orders, ("customer_id", "amount")) if orders is not None else None
    if o is not None and "category" in o.columns:
        # spend per cluster and category on the engine: the order log never comes into pandas
        lab = ibis.memtable(cl)
        j = o.join(lab, o.customer_id == lab.customer_id)
        top = to_pandas(j.group_by(["cluster", "category"]).aggregate(amount=money_sum(j.amount)))
        top = top.sort_values(["cluster", "amount", "category"], ascending=[True, False, True]).drop_duplicates(
            "cluster"
        )
        t["top_category"] = top.set_index(top["cluster"].astype(int))["category"]
    if customers is not None and region_col in customers.columns:
        c = customers[["customer_id", region_col]].astype({"customer_id": str}).merge(cl, on="customer_id")
        top = c.groupby(["cluster", region_col]).size().reset_index(name="n")
        top = top.sort_values(["cluster", "n", region_col], ascending=[True, False, True]).drop_duplicates("cluster")
        t["top_region"] = top.set_index(top["cluster"].astype(int))[region_col]
    t = t.reset_index()
    first = ["cluster", "description", "customers", "share_of_customers", "share_of_revenue"]
    return t[first + [c for c in t.columns if c not in first and c != "revenue"]]


def snake_data(features: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Mean standardized RFM feature per cluster, long format (cluster, feature, value) for a snake plot."""
    base = features[["recency", "frequency", "monetary"]].assign(cluster=labels.to_numpy())
    m = base.groupby("cluster").mean().reset_index()
    return m.melt(id_vars="cluster", var_name="feature", value_name="mean_z")


def cluster_segment_crosstab(labels: pd.Series, segments: pd.Series) -> pd.DataFrame:
    """Customers of each cluster (rows) in each RFM segment (columns), empty segments left out."""
    t = pd.crosstab(labels.rename("cluster"), segments.astype(str).rename("segment"))
    order = [s for s in getattr(segments.dtype, "categories", t.columns) if s in t.columns]
    return t[order]


def flows_in_words(mig: Migration, currency: str, top: int = 10) -> list[str]:
    """The largest moves between different segments (and arrivals of new customers), as sentences."""
    c = mig.counts.stack().rename("customers").reset_index()
    v = mig.value.stack().rename("value").reset_index()
    f = c.merge(v, on=["previous quarter", "this quarter"])
    f = f[(f["previous quarter"] != f["this quarter"]) & (f["customers"] > 0)]
    f = f.sort_values(["customers", "value"], ascending=False, kind="stable").head(top)
    out = []
    for _, r in f.iterrows():
        if r["previous quarter"] == NEW:
            out.append(ntr("{n} new customer arrived as {segment}", "{n} new customers arrived as {segment}",
                           int(r["customers"]), segment=r["this quarter"]))
        else:
            out.append(ntr("{n} {previous} customer became {segment} (they spent {value} in the year before)",
                           "{n} {previous} customers became {segment} (they spent {value} in the year before)",
                           int(r["customers"]), previous=r["previous quarter"], segment=r["this quarter"],
                           value=money(r["value"], currency)))
    return out


def largest_moves_markdown(flows: list[str]) -> str:
    """The largest moves as a headed bullet list (markdown)."""
    from helpers.page.text import bullet_list
    return f"**{tr('Largest moves')}**\n\n" + bullet_list(flows)


def summary_table(mig: Migration) -> pd.DataFrame:
    """Moves by kind: customers and the value at stake (spend in the year before the previous quarter end)."""
    m = mig.moves
    lapsed = mig.slipped
    rows = [(tr("new customers"), m["move"] == "new"), (tr("stayed in their segment"), m["move"] == "stayed"),
            (tr("moved up (upgrade)"), m["move"] == "upgrade"),
            (tr("moved down (downgrade)"), m["move"] == "downgrade"),
            (tr("of which slipped into {segments}", segments=or_list(mig.summary["lapsed_segments"])), lapsed)]
    return pd.DataFrame([{"movement": name, "customers": int(mask.sum()),
                          "value at stake": float(m.loc[mask, "value_at_stake"].sum())} for name, mask in rows])
