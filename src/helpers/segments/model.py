"""RFM scores, segments, k-means clusters and migration matrices: per-customer numbers in, labels and counts out.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

from helpers.frame.errors import InputDataError
from helpers.frame.outcome import NotAvailable
from helpers.frame.progress import stage
from helpers.frame.settings import ClusteringSettings, RfmSettings
from helpers.locale import fmt_date, fmt_int, fmt_number, fmt_pct, tr
from helpers.segments.data import _validate_cols, period_revenue, values_by_id

__all__ = [
    "rank_scores",
    "frequency_scores",
    "score_customers",
    "assign_segments",
    "cell_segments",
    "segment_codes",
    "segment_codes_of",
    "rfm_cells",
    "segment_of",
    "action_group_of",
    "FIT_SAMPLE",
    "ClusterResult",
    "cluster_features",
    "cluster_customers",
    "NEW",
    "lapsed_segments",
    "Migration",
    "migrate",
]


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
    v = np.asarray(values, dtype="float64")
    if np.isnan(v).any():
        raise ValueError("cannot score missing values")
    n = len(v)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pos = _min_rank(v if higher_is_better else -v)
    return (offset + np.floor(n_scores * (pos - 1) / n)).astype(np.int64)


def _min_rank(v: np.ndarray) -> np.ndarray:
    """1-based rank of each value with ties at their first position (pandas' ``rank(method="min")``, tested
    equal): one plus the number of values below it, from the distinct values and their counts (one sort)."""
    uniq, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
    below = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return (below + 1).astype("float64")[inverse.reshape(-1)]


def _rank_scores_reference(values, n_scores: int = 5, higher_is_better: bool = True, offset: int = 1) -> np.ndarray:
    """The slow, obvious :func:`rank_scores` (pandas' rank), kept to test the fast one against."""
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
        return np.zeros(0, dtype=np.int64), tr("no customers")
    lowest = f.min()
    share_low = float((f == lowest).mean())
    if share_low >= 1 / n_scores and (f > lowest).any():
        scores = np.ones(len(f), dtype=np.int64)
        rest = f > lowest
        scores[rest.to_numpy()] = rank_scores(f[rest], n_scores - 1, True, offset=2)
        how = tr("{share} of customers share the lowest frequency ({lowest}); they get F = 1 and the other "
                 "customers are split into scores 2-5 by quartiles of their frequency (equal frequencies share a "
                 "score)", share=fmt_pct(share_low), lowest=f"{lowest:g}")
        return scores, how
    if share_low >= 1 / n_scores:
        return np.ones(len(f), dtype=np.int64), tr("every customer has the same frequency ({lowest}): all F = 1",
                                                   lowest=f"{lowest:g}")
    return rank_scores(f, n_scores, True), tr("quintiles of frequency (equal frequencies share a score)")


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
    out["rfm_cell"] = rfm_cells(out["r_score"].to_numpy(), out["f_score"].to_numpy(), out["m_score"].to_numpy())
    return out, how


def rfm_cells(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The cell label ``"RFM"`` of each customer (``"545"``), as text: one of the 125 labels taken per customer
    (instead of formatting millions of numbers); the same values and dtype as concatenating the scores as text."""
    labels = np.array([f"{a}{b}{c}" for a in range(1, 6) for b in range(1, 6) for c in range(1, 6)], dtype=object)
    code = (np.asarray(r) - 1) * 25 + (np.asarray(f) - 1) * 5 + (np.asarray(m) - 1)
    return pd.array(labels[code], dtype="str")


def assign_segments(scored: pd.DataFrame, settings: RfmSettings) -> pd.Series:
    """Named segment of every customer: the first matching rule (every cell is covered)."""
    _validate_cols(scored, ["r_score", "f_score", "m_score"], "scored customers")
    codes = segment_codes(*(scored[c].to_numpy() for c in ("r_score", "f_score", "m_score")), settings)
    return pd.Series(pd.Categorical.from_codes(codes, categories=settings.segment_order), index=scored.index,
                     name="rfm_segment")


def cell_segments(settings: RfmSettings) -> np.ndarray:
    """Segment of each of the 125 cells (index ``25 (r - 1) + 5 (f - 1) + (m - 1)``) as a code into
    ``settings.segment_order``: the first rule whose ranges contain the cell (every cell is covered)."""
    order = {name: i for i, name in enumerate(settings.segment_order)}
    out = np.full(125, -1, dtype=np.int16)
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                rule = next((x for x in settings.segments if x.r[0] <= r <= x.r[1] and x.f[0] <= f <= x.f[1]
                             and x.m[0] <= m <= x.m[1]), None)
                if rule is not None:
                    out[(r - 1) * 25 + (f - 1) * 5 + (m - 1)] = order[rule.name]
    return out


def segment_codes(r: np.ndarray, f: np.ndarray, m: np.ndarray, settings: RfmSettings) -> np.ndarray:
    """Segment of every customer as a code into ``settings.segment_order``, from the scores 1-5: one look-up
    in the 125-cell table of :func:`cell_segments` (the rules of :func:`assign_segments`, tested equal)."""
    r, f, m = (np.asarray(x, dtype=np.int64) for x in (r, f, m))
    for name, x in (("r_score", r), ("f_score", f), ("m_score", m)):
        if len(x) and (x.min() < 1 or x.max() > 5):
            raise ValueError(f"{name} must lie in 1..5; found {int(x.min())}..{int(x.max())}")
    codes = cell_segments(settings)[(r - 1) * 25 + (f - 1) * 5 + (m - 1)]
    if (codes < 0).any():  # guarded by RfmSettings' coverage check
        raise ValueError(f"{int((codes < 0).sum())} customers match no segment rule")
    return codes


def segment_codes_of(summary: pd.DataFrame, settings: RfmSettings) -> np.ndarray:
    """Segment of every customer of a summary (:func:`customer_summary`'s columns) as a code into
    ``settings.segment_order``: the scores of :func:`score_customers` and the segments of
    :func:`assign_segments` without building the scored table (for counts over many snapshots)."""
    _validate_cols(summary, ["recency_days", "purchase_days", "orders", "revenue", "average_order_value"],
                   "customer summary")
    r = rank_scores(summary["recency_days"].to_numpy(), higher_is_better=False)
    f, _ = frequency_scores(summary[settings.frequency].to_numpy())
    m = rank_scores(summary["revenue" if settings.monetary == "total" else "average_order_value"].to_numpy())
    return segment_codes(r, f, m, settings)


def _assign_segments_reference(scored: pd.DataFrame, settings: RfmSettings) -> pd.Series:
    """The slow, obvious :func:`assign_segments` (rule by rule over the customers), kept to test the fast one."""
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
    groups = [g.name for g in settings.action_groups]
    lookup = {s: g.name for g in settings.action_groups for s in g.segments}
    if isinstance(segments.dtype, pd.CategoricalDtype):
        # one look-up per category, then the codes: the same as mapping every customer's segment name
        cat_group = np.array([groups.index(lookup[c]) if c in lookup else -1 for c in map(str, segments.cat.categories)]
                             + [-1], dtype=np.int16)
        codes = cat_group[segments.cat.codes.to_numpy()]
        return pd.Series(pd.Categorical.from_codes(codes, categories=groups), index=segments.index,
                         name="action_group")
    return pd.Series(pd.Categorical(segments.astype(str).map(lookup), categories=groups),
                     index=segments.index, name="action_group")


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
    not_available: NotAvailable | None = None
    """Set when the customers are too alike to be split into clusters (everyone is then in cluster 1)."""


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
        note = tr("Only {n} distinct customer profile(s): too few to cluster, everyone is in cluster 1.",
                  n=fmt_int(n_distinct))
        na = NotAvailable(
            "rfm.clustering", title=tr("Data-driven clusters"),
            missing=tr("the customers form only {n} distinct profile(s) of recency, frequency and spend",
                       n=fmt_int(n_distinct)),
            why=tr("k-means needs at least three different profiles to compare two or more clusters"),
            remedy=tr("customers who differ in when, how often or how much they buy"))
        return ClusterResult(labels, 1, float("nan"), pd.DataFrame(columns=["k", "silhouette", "inertia"]), feats,
                             note, na)
    rng = np.random.default_rng(seed)
    fit_idx = np.sort(rng.choice(n, FIT_SAMPLE, replace=False)) if n > FIT_SAMPLE else np.arange(n)
    sil_n = min(settings.silhouette_sample, len(fit_idx))
    # the silhouette sample is the one sklearn's silhouette_score(sample_size, random_state=seed) draws;
    # its distance matrix is computed once for all candidate k (float32: 400 MB at 10,000 customers)
    sil_idx = check_random_state(seed).permutation(len(fit_idx))[:sil_n]
    stage(f"clustering: distances between the {sil_n:,} customers of the silhouette sample")
    D = _distances(X[fit_idx][sil_idx])
    rows, fits = [], {}
    for k in range(k_min, k_max + 1):
        stage(f"clustering: k-means with k={k} of {k_min}-{k_max} on {len(fit_idx):,} customers")
        km = KMeans(n_clusters=k, n_init=settings.n_init, random_state=seed).fit(X[fit_idx])
        fits[k] = km
        lab = km.labels_[sil_idx]
        sil = _silhouette(D, lab) if len(np.unique(lab)) > 1 else float("nan")
        rows.append({"k": k, "silhouette": float(sil), "inertia": float(km.inertia_)})
    del D
    curve = pd.DataFrame(rows)
    best = curve.loc[curve["silhouette"].idxmax()]
    k = int(best["k"])
    if len(fit_idx) == n:
        raw_labels = fits[k].labels_   # the candidate was fitted on everyone: that fit is the final one
    else:
        # everyone: Lloyd's iterations from the centres of the sample's best start; at 1M customers this reached
        # the inertia of n_init new starts on everyone (within 0.01%, lower for 3 of k = 3..6) in 1/30 of the time
        stage(f"clustering: k-means with k={k} on all {n:,} customers, from the sample's centres")
        raw_labels = KMeans(n_clusters=k, init=fits[k].cluster_centers_, n_init=1, random_state=seed).fit(X).labels_
    value = pd.Series(s["revenue"].to_numpy()).groupby(raw_labels).mean()
    rank = {old: new for new, old in enumerate(value.sort_values(ascending=False, kind="stable").index, 1)}
    labels_sorted = np.vectorize(rank.get)(raw_labels)
    labels = np.empty(n, dtype=int)
    labels[order] = labels_sorted
    if len(fit_idx) < n:
        note = tr("k = {k} chosen over {k_min}..{k_max} by the silhouette score ({silhouette}; computed on {sample} "
                  "sampled customers, candidate fits on {fit}).", k=k, k_min=k_min, k_max=k_max,
                  silhouette=fmt_number(best["silhouette"], 2), sample=fmt_int(sil_n), fit=fmt_int(len(fit_idx)))
    else:
        note = tr("k = {k} chosen over {k_min}..{k_max} by the silhouette score ({silhouette}; computed on {sample} "
                  "sampled customers).", k=k, k_min=k_min, k_max=k_max,
                  silhouette=fmt_number(best["silhouette"], 2), sample=fmt_int(sil_n))
    return ClusterResult(pd.Series(labels, index=scored.index, name="cluster"), k, float(best["silhouette"]),
                         curve, feats.iloc[np.argsort(order)].set_axis(scored.index), note)


NEW = "(new)"


@dataclass
class Migration:
    """Per-customer moves and the two transition matrices (rows: previous, columns: this quarter)."""

    moves: pd.DataFrame
    counts: pd.DataFrame
    value: pd.DataFrame
    summary: dict
    not_available: NotAvailable | None = None
    """Set when nobody had bought by the end of the previous quarter: there is no movement to show."""

    @property
    def slipped(self) -> pd.Series:
        """Customers who moved from a segment that is not lapsed into one that is (mask over ``moves``)."""
        lapsed = self.summary["lapsed_segments"]
        m = self.moves
        return (m["from"] != NEW) & m["to"].isin(lapsed) & ~m["from"].isin(lapsed)


def lapsed_segments(settings: RfmSettings) -> list[str]:
    """The segments marked ``lapsed: true`` in the segment map, in ``segment_order``."""
    flagged = {s.name for s in settings.segments if s.lapsed}
    return [s for s in settings.segment_order if s in flagged]


def migrate(previous: pd.DataFrame, current: pd.DataFrame, orders: pd.DataFrame | ibis.Table,
            prev_as_of: pd.Timestamp, settings: RfmSettings) -> Migration:
    """Transition of customers between segments.

    Parameters
    ----------
    previous, current : DataFrame
        ``customer_id`` and ``rfm_segment`` at the previous and at this quarter's end.
    orders : DataFrame or Ibis table
        Clean orders (for the value at stake: spend in the twelve months to ``prev_as_of``,
        aggregated on the engine).
    prev_as_of : Timestamp
        The previous quarter's last day.
    settings : RfmSettings
        ``segment_order`` ranks segments, best first; segments marked ``lapsed`` are where customers
        who slip away end up (``summary["slipped_into_lapsed"]`` counts moves into them).

    Returns
    -------
    Migration
    """
    for name, df in (("previous", previous), ("current", current)):
        for c in ("customer_id", "rfm_segment"):
            if c not in df.columns:
                raise KeyError(f"{name} segments lack {c!r}")
    order = list(settings.segment_order)
    rank = {s: i for i, s in enumerate(order)}
    m = current[["customer_id", "rfm_segment"]].rename(columns={"rfm_segment": "to"}).merge(
        previous[["customer_id", "rfm_segment"]].rename(columns={"rfm_segment": "from"}), on="customer_id", how="left")
    m["to"] = m["to"].astype(str)
    m["from"] = m["from"].astype("object").where(m["from"].notna(), NEW).astype(str)
    end = pd.Timestamp(prev_as_of).normalize()
    spend = period_revenue(orders, end + pd.Timedelta(days=1) - pd.DateOffset(months=12), end)
    m["value_at_stake"] = values_by_id(spend, m["customer_id"])
    fr, to = m["from"].map(rank), m["to"].map(rank)
    m["move"] = "stayed"
    m.loc[m["from"] == NEW, "move"] = "new"
    m.loc[(m["from"] != NEW) & (to < fr), "move"] = "upgrade"
    m.loc[(m["from"] != NEW) & (to > fr), "move"] = "downgrade"
    rows = [NEW, *order]
    counts = pd.crosstab(m["from"], m["to"]).reindex(index=rows, columns=order, fill_value=0)
    value = m.pivot_table(index="from", columns="to", values="value_at_stake", aggfunc="sum", fill_value=0.0)
    value = value.reindex(index=rows, columns=order, fill_value=0.0)
    counts.index.name, counts.columns.name = "previous quarter", "this quarter"
    value.index.name, value.columns.name = "previous quarter", "this quarter"
    gone = lapsed_segments(settings)
    lapsed = (m["from"] != NEW) & m["to"].isin(gone) & ~m["from"].isin(gone)
    summary = {
        "customers": int(len(m)),
        "new": int((m["move"] == "new").sum()),
        "stayed": int((m["move"] == "stayed").sum()),
        "upgrades": int((m["move"] == "upgrade").sum()),
        "downgrades": int((m["move"] == "downgrade").sum()),
        "lapsed_segments": gone,
        "slipped_into_lapsed": int(lapsed.sum()),
        "value_at_stake_of_lapsed": round(float(m.loc[lapsed, "value_at_stake"].sum()), 2),
    }
    na = None
    if len(previous) == 0:
        na = NotAvailable(
            "rfm.migration", title=tr("Movement since last quarter"),
            missing=tr("no customer had bought by the end of the previous quarter ({date})", date=fmt_date(end)),
            why=tr("movement compares each customer's segment then with their segment now"),
            remedy=tr("an order history that reaches back before this quarter"))
    return Migration(m, counts, value, summary, na)
