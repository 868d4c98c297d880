"""k-means clusters of customers, numbered by value so numbers mean the same thing every quarter.

Features: ``log1p`` of recency (days), frequency and monetary, plus numeric or categorical customer
attributes named in ``clustering.attributes`` (one-hot), standardized to mean 0 and variance 1.
k is chosen over ``k_min..k_max`` by the silhouette score, computed on a seeded random sample of
at most ``silhouette_sample`` customers (the exact silhouette is quadratic in customers); the
candidate fits for the curve use a seeded sample of at most 50,000 customers and the chosen k is
then fitted on everyone. Input rows are sorted by customer id before fitting, so the result does
not depend on row order; clusters are then renumbered 1..k by mean revenue per customer (1 = most
valuable).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

from helpers.engine import as_table, money_sum, to_pandas
from helpers.errors import InputDataError
from helpers.params import ClusteringSettings
from helpers.progress import stage

__all__ = ["ClusterResult", "cluster_features", "cluster_customers", "cluster_profiles",
           "describe_cluster", "snake_data", "FIT_SAMPLE"]

FIT_SAMPLE = 50_000


@dataclass
class ClusterResult:
    """Cluster labels (1 = most valuable) aligned with the input rows, and how k was chosen."""

    labels: pd.Series
    k: int
    silhouette: float
    curve: pd.DataFrame
    features: pd.DataFrame
    note: str


def cluster_features(scored: pd.DataFrame, attributes: pd.DataFrame | None = None,
                     attribute_cols: list[str] | None = None) -> pd.DataFrame:
    """Standardized log1p RFM features (plus attributes), indexed like ``scored``.

    Parameters
    ----------
    scored : DataFrame
        ``customer_id``, ``recency``, ``frequency``, ``monetary``.
    attributes : DataFrame, optional
        Customer table with ``customer_id`` and the ``attribute_cols``.
    attribute_cols : list of str, optional
        Numeric columns are log1p-transformed when non-negative; others are one-hot encoded.
    """
    for c in ("customer_id", "recency", "frequency", "monetary"):
        if c not in scored.columns:
            raise KeyError(f"scored customers lack {c!r}")
    raw = pd.DataFrame({
        "recency": np.log1p(scored["recency"].clip(lower=0).astype(float)),
        "frequency": np.log1p(scored["frequency"].clip(lower=0).astype(float)),
        "monetary": np.log1p(scored["monetary"].clip(lower=0).astype(float)),
    }, index=scored.index)
    for col in attribute_cols or []:
        if attributes is None or col not in attributes.columns:
            raise InputDataError(f"clustering.attributes names {col!r}, which the customers table does not have")
        v = scored["customer_id"].map(attributes.set_index("customer_id")[col])
        if pd.api.types.is_numeric_dtype(v.dtype):
            v = v.astype(float).fillna(v.median())
            raw[col] = np.log1p(v) if (v >= 0).all() else v
        else:
            dummies = pd.get_dummies(v.fillna("unknown").astype(str), prefix=col, dtype=float)
            raw = pd.concat([raw, dummies], axis=1)
    z = StandardScaler().fit_transform(raw.to_numpy())
    return pd.DataFrame(np.nan_to_num(z), index=scored.index, columns=raw.columns)


def _distances(X: np.ndarray, chunk: int = 2000) -> np.ndarray:
    """Euclidean distance matrix, exact (computed in float64, row block by row block), stored as float32."""
    from scipy.spatial.distance import cdist
    D = np.empty((len(X), len(X)), dtype=np.float32)
    for i in range(0, len(X), chunk):
        D[i:i + chunk] = cdist(X[i:i + chunk], X)
    return D


def _silhouette(D: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette from a distance matrix (sklearn's definition; singletons score 0).

    One matrix product gives every sample's summed distance to every cluster, instead of
    sklearn's chunked pass per call (several times faster for the six candidate k on one sample).
    """
    n = len(labels)
    k = int(labels.max()) + 1
    onehot = np.zeros((n, k), dtype=D.dtype)
    onehot[np.arange(n), labels] = 1
    sums = (D @ onehot).astype(np.float64)
    counts = onehot.sum(axis=0).astype(np.float64)
    own = counts[labels]
    a = sums[np.arange(n), labels] / np.maximum(own - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_to = np.where(counts > 0, sums / counts, np.inf)
    mean_to[np.arange(n), labels] = np.inf
    b = mean_to.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sil = np.where(own > 1, (b - a) / np.maximum(a, b), 0.0)
    return float(np.nan_to_num(sil).mean())


def cluster_customers(scored: pd.DataFrame, settings: ClusteringSettings, seed: int,
                      attributes: pd.DataFrame | None = None) -> ClusterResult:
    """Choose k by silhouette, fit k-means on everyone, number clusters by value.

    Parameters
    ----------
    scored : DataFrame
        ``customer_id``, ``recency``, ``frequency``, ``monetary``, ``revenue``.
    settings : ClusteringSettings
    seed : int
        Seeds k-means and the samples.
    attributes : DataFrame, optional
        Customers table, when ``settings.attributes`` names columns of it.

    Returns
    -------
    ClusterResult
    """
    n = len(scored)
    order = np.argsort(scored["customer_id"].to_numpy(), kind="stable")
    s = scored.iloc[order]
    feats = cluster_features(s, attributes, settings.attributes)
    X = feats.to_numpy()
    n_distinct = len(np.unique(X, axis=0)) if n <= 200_000 else n
    k_max = min(settings.k_max, n_distinct - 1)
    k_min = min(settings.k_min, k_max)
    if k_max < 2:
        labels = pd.Series(np.ones(n, dtype=int), index=scored.index, name="cluster")
        note = (f"only {n_distinct} distinct customer profile(s): too few to cluster, everyone is in cluster 1")
        return ClusterResult(labels, 1, float("nan"), pd.DataFrame(columns=["k", "silhouette", "inertia"]), feats, note)
    rng = np.random.default_rng(seed)
    fit_idx = np.sort(rng.choice(n, FIT_SAMPLE, replace=False)) if n > FIT_SAMPLE else np.arange(n)
    sil_n = min(settings.silhouette_sample, len(fit_idx))
    # the silhouette sample is the one sklearn's silhouette_score(sample_size, random_state=seed) draws;
    # its distance matrix is computed once for all candidate k (float32: 400 MB at 10,000 customers)
    sil_idx = check_random_state(seed).permutation(len(fit_idx))[:sil_n]
    stage(f"clustering: distances between the {sil_n:,} customers of the silhouette sample")
    D = _distances(X[fit_idx][sil_idx])
    rows = []
    for k in range(k_min, k_max + 1):
        stage(f"clustering: k-means with k={k} of {k_min}-{k_max} on {len(fit_idx):,} customers")
        km = KMeans(n_clusters=k, n_init=settings.n_init, random_state=seed).fit(X[fit_idx])
        lab = km.labels_[sil_idx]
        sil = _silhouette(D, lab) if len(np.unique(lab)) > 1 else float("nan")
        rows.append({"k": k, "silhouette": float(sil), "inertia": float(km.inertia_)})
    del D
    curve = pd.DataFrame(rows)
    best = curve.loc[curve["silhouette"].idxmax()]
    k = int(best["k"])
    km = KMeans(n_clusters=k, n_init=settings.n_init, random_state=seed).fit(X)
    raw_labels = km.labels_
    value = pd.Series(s["revenue"].to_numpy()).groupby(raw_labels).mean()
    rank = {old: new for new, old in enumerate(value.sort_values(ascending=False, kind="stable").index, 1)}
    labels_sorted = np.vectorize(rank.get)(raw_labels)
    labels = np.empty(n, dtype=int)
    labels[order] = labels_sorted
    note = (f"k = {k} chosen over {k_min}..{k_max} by the silhouette score "
            f"({best['silhouette']:.2f}; computed on {sil_n:,} sampled customers"
            + (f", candidate fits on {len(fit_idx):,}" if len(fit_idx) < n else "") + ")")
    return ClusterResult(pd.Series(labels, index=scored.index, name="cluster"), k, float(best["silhouette"]),
                         curve, feats.iloc[np.argsort(order)].set_axis(scored.index), note)


def describe_cluster(row: pd.Series, overall: pd.Series) -> str:
    """A few words for a cluster from its medians against everyone's ("recent, frequent, high spend")."""
    def level(v, ref, words):
        if v <= 0.67 * ref:
            return words[0]
        if v >= 1.5 * ref:
            return words[2]
        return words[1]
    rec = level(row["median_recency_days"], overall["recency"], ("recent", "mid recency", "lapsed"))
    freq = "one-off" if row["median_frequency"] <= 1 else level(
        row["median_frequency"], max(overall["frequency"], 1), ("occasional", "regular", "frequent"))
    spend = level(row["median_monetary"], overall["monetary"], ("low spend", "mid spend", "high spend"))
    return f"{rec}, {freq}, {spend}"


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
        top = top.sort_values(["cluster", "amount", "category"], ascending=[True, False, True]).drop_duplicates("cluster")
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
