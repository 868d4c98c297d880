"""Churn: labels and leakage-free features at a snapshot date (issue 5, first part).

A customer is **in the population** of a snapshot when they placed a completed order in the
``active_days`` before it (inclusive of the snapshot day). They **churn** when they place no
completed order in the ``horizon_days`` after the snapshot. Features use only orders on or
before the snapshot day, so changing or deleting any later order cannot change them (a property
test holds this): recency, frequency (purchase days and orders), spend, average order value,
tenure, inter-purchase gaps (mean gap between purchase days, and the current gap relative to it),
spend and order trends (last 90 days against the 90 before), category breadth, share of the main
channel, discount share, and customer attributes named in the parameters.

Not yet in the pipeline: the model, backtest, drivers, tiers and retention curves follow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["snapshot_features", "churn_labels", "FEATURES"]

FEATURES = ["recency_days", "purchase_days", "orders", "spend", "average_order_value", "tenure_days",
            "mean_gap_days", "gap_ratio", "spend_last_90", "spend_prev_90", "spend_trend", "orders_last_90",
            "orders_prev_90", "category_breadth", "main_channel_share", "discount_share"]


def _validate_cols(df: pd.DataFrame, cols: list[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"orders lack required column(s) {missing}; have {list(df.columns)}")


def snapshot_features(orders: pd.DataFrame, snapshot: pd.Timestamp, active_days: int = 365,
                      customers: pd.DataFrame | None = None, attributes: list[str] | None = None) -> pd.DataFrame:
    """Features of every customer active in the ``active_days`` up to ``snapshot`` (inclusive).

    Parameters
    ----------
    orders : DataFrame
        Clean orders: ``customer_id``, ``order_ts``, ``amount``; optional ``category``,
        ``channel``, ``discount``.
    snapshot : Timestamp
        Day of the snapshot; orders up to the end of that day are history, later ones are not read.
    active_days : int
        Population: customers with an order in ``(snapshot - active_days, snapshot]``.
    customers, attributes : optional
        Customer table and the attribute columns to add (categorical as text).

    Returns
    -------
    DataFrame indexed by ``customer_id`` with :data:`FEATURES` (plus attributes), sorted by id.
    """
    _validate_cols(orders, ["customer_id", "order_ts", "amount"])
    day = pd.Timestamp(snapshot).normalize()
    end = day + pd.Timedelta(days=1)
    hist = orders[orders["order_ts"] < end]
    last = hist.groupby("customer_id")["order_ts"].max()
    active = last[last >= end - pd.Timedelta(days=active_days)].index
    h = hist[hist["customer_id"].isin(active)].copy()
    h["_day"] = h["order_ts"].dt.normalize()
    g = h.groupby("customer_id")
    f = pd.DataFrame(index=pd.Index(sorted(active), name="customer_id"))
    first, lastd = g["_day"].min(), g["_day"].max()
    f["recency_days"] = (day - lastd).dt.days
    f["tenure_days"] = (day - first).dt.days
    f["orders"] = g.size()
    f["purchase_days"] = g["_day"].nunique()
    f["spend"] = g["amount"].sum()
    f["average_order_value"] = f["spend"] / f["orders"]
    span = (lastd - first).dt.days
    gaps = f["purchase_days"] - 1
    f["mean_gap_days"] = (span / gaps.where(gaps > 0)).astype(float)
    # current gap relative to the customer's usual gap (NaN for one-time buyers, filled below)
    f["gap_ratio"] = f["recency_days"] / f["mean_gap_days"]
    for name, lo, hi in (("last_90", 90, 0), ("prev_90", 180, 90)):
        w = h[(h["_day"] > day - pd.Timedelta(days=lo)) & (h["_day"] <= day - pd.Timedelta(days=hi))]
        wg = w.groupby("customer_id")
        f[f"spend_{name}"] = wg["amount"].sum()
        f[f"orders_{name}"] = wg.size()
    f["spend_trend"] = (f["spend_last_90"].fillna(0) - f["spend_prev_90"].fillna(0)) / \
        (f["spend_prev_90"].fillna(0) + f["spend_last_90"].fillna(0)).replace(0, np.nan)
    f["category_breadth"] = g["category"].nunique() if "category" in h else np.nan
    if "channel" in h:
        top = h.groupby(["customer_id", "channel"]).size().groupby(level=0).max()
        f["main_channel_share"] = top / f["orders"]
    else:
        f["main_channel_share"] = np.nan
    if "discount" in h:
        f["discount_share"] = g["discount"].sum() / (f["spend"] + g["discount"].sum()).replace(0, np.nan)
    else:
        f["discount_share"] = np.nan
    fill_zero = ["spend_last_90", "spend_prev_90", "orders_last_90", "orders_prev_90", "spend_trend"]
    f[fill_zero] = f[fill_zero].fillna(0.0)
    if attributes:
        if customers is None:
            raise KeyError(f"attributes {attributes} need a customers table")
        attr = customers.set_index("customer_id")[attributes].reindex(f.index)
        f = f.join(attr.astype("string").fillna("unknown").astype(str))
    return f


def churn_labels(orders: pd.DataFrame, snapshot: pd.Timestamp, horizon_days: int, population: pd.Index,
                 observed_until: pd.Timestamp | None = None) -> pd.Series:
    """1 when a customer of ``population`` places no order in ``(snapshot, snapshot + horizon_days]``.

    Parameters
    ----------
    observed_until : Timestamp, optional
        Last day the orders cover (the as-of date). When given, a window that ends after it is refused.

    Raises
    ------
    ValueError
        When the outcome window is not fully observed (labels would count unobserved days as churn).
    """
    _validate_cols(orders, ["customer_id", "order_ts"])
    end = pd.Timestamp(snapshot).normalize() + pd.Timedelta(days=1)
    stop = end + pd.Timedelta(days=horizon_days)
    if observed_until is not None and stop > pd.Timestamp(observed_until).normalize() + pd.Timedelta(days=1):
        raise ValueError(f"the {horizon_days}-day outcome window after {pd.Timestamp(snapshot).date()} ends after the "
                         f"last observed day {pd.Timestamp(observed_until).date()}; use an earlier snapshot")
    window = orders[(orders["order_ts"] >= end) & (orders["order_ts"] < stop)]
    bought = set(window["customer_id"])
    return pd.Series([0 if c in bought else 1 for c in population], index=population, name="churned", dtype="int64")


# ---- models and backtest metrics ------------------------------------------------------------------

def dataset(orders: pd.DataFrame, snapshot: pd.Timestamp, horizon_days: int, active_days: int = 365,
            observed_until: pd.Timestamp | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric features and churn labels of one snapshot (features only from before it).

    Features the export cannot provide (no ``category``, ``channel`` or ``discount`` column) are
    left out, so train and evaluation snapshots of one export always have the same columns.
    """
    X = snapshot_features(orders, snapshot, active_days)[FEATURES]
    absent = [c for c, col in (("category_breadth", "category"), ("main_channel_share", "channel"),
                               ("discount_share", "discount")) if col not in orders.columns]
    X = X.drop(columns=absent)
    y = churn_labels(orders, snapshot, horizon_days, X.index, observed_until)
    return X, y


def fit_models(X: pd.DataFrame, y: pd.Series, seed: int) -> dict:
    """Gradient boosting (HistGradientBoostingClassifier) and a logistic-regression baseline.

    Raises
    ------
    ValueError
        When the training snapshot has a single class (no churners, or nobody stayed).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    classes = np.unique(y)
    if len(classes) < 2:
        what = "nobody churned" if classes[0] == 0 else "everybody churned"
        raise ValueError(f"the training snapshot has a single class ({what} among {len(y):,} customers): "
                         "a churn model cannot be trained; use an earlier snapshot or a longer horizon")
    hgb = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=seed, early_stopping=False)
    logit = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=2000))
    return {"gradient boosting": hgb.fit(X, y), "logistic regression": logit.fit(X, y)}


def metrics(models: dict, X: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
    """ROC AUC, PR AUC, Brier score and log loss of each model on a labelled snapshot."""
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
    rows = []
    for name, m in models.items():
        p = m.predict_proba(X)[:, 1]
        rows.append({"model": name, "roc_auc": roc_auc_score(y, p), "pr_auc": average_precision_score(y, p),
                     "brier": brier_score_loss(y, p), "log_loss": log_loss(y, np.clip(p, 1e-6, 1 - 1e-6)),
                     "base_rate": float(np.mean(y))})
    return pd.DataFrame(rows)


def drivers(model, X: pd.DataFrame, y: pd.Series, seed: int, n_repeats: int = 5) -> pd.DataFrame:
    """Permutation importance (drop in ROC AUC when a feature is shuffled), largest first."""
    from sklearn.inspection import permutation_importance
    r = permutation_importance(model, X, y, scoring="roc_auc", n_repeats=n_repeats, random_state=seed)
    return pd.DataFrame({"feature": X.columns, "importance": r.importances_mean, "std": r.importances_std}) \
        .sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
