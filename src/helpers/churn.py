"""Churn: labels and leakage-free features at a snapshot date (issue 5, first part).

A customer is **in the population** of a snapshot when they placed a completed order in the
``active_days`` before it (inclusive of the snapshot day). They **churn** when they place no
completed order in the ``horizon_days`` after the snapshot. Features use only orders on or
before the snapshot day, so changing or deleting any later order cannot change them (a property
test holds this): recency, frequency (purchase days and orders), spend, average order value,
tenure, inter-purchase gaps (mean gap between purchase days, and the current gap relative to it),
spend and order trends (last 90 days against the 90 before), category breadth, share of the main
channel, discount share, and customer attributes named in the parameters.

Also here: the two models (calibrated gradient boosting and a logistic baseline), their backtest
metrics, drivers (permutation importance, partial dependence), risk tiers, Kaplan-Meier retention
curves with the log-rank test, and cohort retention; :mod:`helpers.churn_step` runs them for the
notebook.

The scikit-learn, SciPy and statsmodels modules are imported here, at the top, not inside the
functions: the runner's pre-started kernel imports them while the previous notebook runs.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from helpers.validate import isin_ids

__all__ = ["snapshot_features", "churn_labels", "FEATURES"]

FEATURES = ["recency_days", "purchase_days", "orders", "spend", "average_order_value", "tenure_days",
            "mean_gap_days", "gap_ratio", "spend_last_90", "spend_prev_90", "spend_trend", "orders_last_90",
            "orders_prev_90", "category_breadth", "main_channel_share", "discount_share"]
INT_FEATURES = ["recency_days", "purchase_days", "orders", "tenure_days", "orders_last_90", "orders_prev_90"]


def _validate_cols(df, cols: list[str], what: str = "orders") -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"{what} lack required column(s) {missing}; have {list(df.columns)}")


def _orders_table(orders: pd.DataFrame | ibis.Table) -> ibis.Table:
    """An Ibis table of the orders (a DataFrame becomes an in-memory DuckDB table)."""
    if isinstance(orders, ibis.Table):
        return orders
    _validate_cols(orders, ["customer_id", "order_ts", "amount"])
    keep = [c for c in ("customer_id", "order_ts", "amount", "category", "channel", "discount") if c in orders]
    # ibis.memtable: Ibis 12's create_table(DataFrame) emits SQL that DuckDB 2.0 rejects
    return ibis.memtable(orders[keep])


def snapshot_features(orders: pd.DataFrame | ibis.Table, snapshot: pd.Timestamp, active_days: int = 365,
                      customers: pd.DataFrame | None = None, attributes: list[str] | None = None) -> pd.DataFrame:
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
    customers, attributes : optional
        Customer table and the attribute columns to add (categorical as text, missing = "unknown").

    Returns
    -------
    DataFrame indexed by ``customer_id`` with :data:`FEATURES` (plus attributes), sorted by id.
    Features of absent optional columns (category, channel, discount) are NaN.
    """
    t = _orders_table(orders)
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
    f = g.to_pyarrow().to_pandas().set_index("customer_id").sort_index()
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
        _validate_cols(customers, ["customer_id", *attributes], "customers table")
        attr = customers.assign(customer_id=customers["customer_id"].astype(str)).drop_duplicates("customer_id") \
            .set_index("customer_id")[attributes].reindex(f.index)
        f = f.join(attr.astype("string").fillna("unknown").astype(str))
    return f


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
    end = pd.Timestamp(snapshot).normalize() + pd.Timedelta(days=1)
    stop = end + pd.Timedelta(days=horizon_days)
    if observed_until is not None and stop > pd.Timestamp(observed_until).normalize() + pd.Timedelta(days=1):
        raise ValueError(f"the {horizon_days}-day outcome window after {pd.Timestamp(snapshot).date()} ends after the "
                         f"last observed day {pd.Timestamp(observed_until).date()}; use an earlier snapshot")
    if isinstance(orders, ibis.Table):
        w = orders.filter((orders.order_ts >= ibis.timestamp(end)) & (orders.order_ts < ibis.timestamp(stop)))
        bought = w.select(customer_id=w.customer_id.cast("string")).distinct().to_pyarrow().column(0).to_pandas()
    else:
        ts = orders["order_ts"]
        bought = pd.unique(orders["customer_id"][(ts >= end) & (ts < stop)].astype(str))
    # Arrow's hash membership: pandas' isin on Arrow-backed text loops in Python (5 s at 600k customers)
    churned = ~isin_ids(pd.Series(pd.Index(population).astype(str)), bought).to_numpy()
    return pd.Series(churned.astype("int64"), index=population, name="churned")


# ---- models ---------------------------------------------------------------------------------------

MODEL_LABELS = {"gradient_boosting": "Gradient boosting", "logistic": "Logistic regression",
                "bgnbd_p_alive": "BG/NBD 1 - P(alive)", "bgnbd_no_purchase": "BG/NBD P(no purchase in horizon)"}


def dataset(orders: pd.DataFrame | ibis.Table, snapshot: pd.Timestamp, horizon_days: int, active_days: int = 365,
            observed_until: pd.Timestamp | None = None, customers: pd.DataFrame | None = None,
            attributes: list[str] | None = None, labels_from: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Features and churn labels of one snapshot (features only from before it).

    Features the export cannot provide (no ``category``, ``channel`` or ``discount`` column) are
    left out, so train and evaluation snapshots of one export always have the same columns.

    Parameters
    ----------
    labels_from : DataFrame or Ibis table, optional
        Orders (``customer_id``, ``order_ts``) to read the outcome window from (default ``orders``).
    """
    X = snapshot_features(orders, snapshot, active_days, customers, attributes)
    X = X.drop(columns=[c for c in ("category_breadth", "main_channel_share", "discount_share")
                        if X[c].isna().all() and len(X)])
    src = labels_from if labels_from is not None else orders
    y = churn_labels(src, snapshot, horizon_days, X.index, observed_until)
    return X, y


def _categorical(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]


def make_models(X: pd.DataFrame, seed: int, calibrate: bool = True) -> dict:
    """Unfitted gradient boosting and logistic-regression pipelines for the columns of ``X``.

    Text columns (customer attributes) are one-hot encoded for the logistic model and ordinal
    encoded as native categories for gradient boosting. With ``calibrate`` each model is wrapped
    in isotonic calibration fitted on 3-fold out-of-fold predictions of the training data; the model
    itself is then refitted on all of it (one model to predict with, not an ensemble of three).
    """
    cat = _categorical(X)
    num = [c for c in X.columns if c not in cat]
    hgb_prep = ColumnTransformer([("num", "passthrough", num),
                                  ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                         encoded_missing_value=-1), cat)], verbose_feature_names_out=False)
    hgb = make_pipeline(hgb_prep, HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=40, l2_regularization=1.0,
        early_stopping=True, validation_fraction=0.1, n_iter_no_change=10,
        categorical_features=[False] * len(num) + [True] * len(cat), random_state=seed))
    # log1p of the skewed counts and money so the linear baseline is not dominated by outliers
    log_cols = [c for c in num if c in ("purchase_days", "orders", "spend", "average_order_value", "spend_last_90",
                                        "spend_prev_90", "orders_last_90", "orders_prev_90", "gap_ratio")]
    lin_prep = ColumnTransformer(
        [("log", make_pipeline(SimpleImputer(strategy="median"),
                               FunctionTransformer(lambda v: np.log1p(np.clip(v, 0, None)), feature_names_out="one-to-one"),
                               StandardScaler()), log_cols),
         ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
          [c for c in num if c not in log_cols]),
         ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=20), cat)], verbose_feature_names_out=False)
    logit = make_pipeline(lin_prep, LogisticRegression(max_iter=3000, C=1.0))
    models = {"gradient_boosting": hgb, "logistic": logit}
    if calibrate:
        models = {k: CalibratedClassifierCV(m, method="isotonic", cv=3, ensemble=False) for k, m in models.items()}
    return models


def _check_classes(y: pd.Series, what: str) -> None:
    classes = np.unique(np.asarray(y))
    if len(y) == 0:
        raise ValueError(f"the {what} has no customers: a churn model cannot be trained")
    if len(classes) < 2:
        which = "nobody churned" if classes[0] == 0 else "everybody churned"
        raise ValueError(f"the {what} has a single class ({which} among {len(y):,} customers): "
                         "a churn model cannot be trained; use an earlier snapshot or a longer horizon")
    minority = int(min((y == 0).sum(), (y == 1).sum()))
    if minority < 10:
        raise ValueError(f"the {what} has only {minority} customer(s) in its smaller class (of {len(y):,}): "
                         "too few to train and calibrate a churn model; use more history or a longer horizon")


#: Most customers a model learns from; larger snapshots are sampled (stratified, seeded). At 942k
#: customers, learning from 150k instead of 300k changed ROC AUC by 0.0003 and the Brier score by
#: 0.0002 on the 591k-customer evaluation snapshot (benchmarks/RESULTS.md) and saved 30 s.
FIT_SAMPLE = 150_000


def fit_sample(X: pd.DataFrame, y: pd.Series, seed: int, max_rows: int = FIT_SAMPLE) -> tuple[pd.DataFrame, pd.Series]:
    """``X, y`` unchanged up to ``max_rows`` customers, else a stratified seeded sample of ``max_rows``
    (churn shares kept; rows in their original order)."""
    if len(X) <= max_rows:
        return X, y
    idx, _ = train_test_split(np.arange(len(X)), train_size=max_rows, stratify=np.asarray(y), random_state=seed)
    idx = np.sort(idx)
    return X.iloc[idx], y.iloc[idx]


def fit_models(X: pd.DataFrame, y: pd.Series, seed: int, calibrate: bool = True,
               only: str | None = None, max_rows: int = FIT_SAMPLE) -> dict:
    """Fit gradient boosting and the logistic baseline (see :func:`make_models`) on at most
    ``max_rows`` customers (:func:`fit_sample`: at a million customers the fit is the step's largest
    cost and ranks no better than on 150,000).

    Raises
    ------
    ValueError
        When the training data has a single class (no churners, or nobody stayed) or fewer than
        ten customers in its smaller class.
    """
    _check_classes(y, "training snapshot")
    X, y = fit_sample(X, y, seed, max_rows)
    models = make_models(X, seed, calibrate)
    return {k: m.fit(X, y) for k, m in models.items() if only is None or k == only}


def predict(models: dict, X: pd.DataFrame) -> pd.DataFrame:
    """Churn probability of each customer under each model (columns = model keys)."""
    return pd.DataFrame({k: m.predict_proba(X)[:, 1] for k, m in models.items()}, index=X.index)


def expected_calibration_error(y, p, bins: int = 10) -> float:
    """Mean absolute gap between predicted and observed churn over equal-count bins, weighted by size."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    order = np.argsort(p, kind="stable")
    err = 0.0
    for idx in np.array_split(order, bins):
        if len(idx):
            err += len(idx) * abs(p[idx].mean() - y[idx].mean())
    return err / max(len(y), 1)


def metrics(probs: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
    """ROC AUC, PR AUC, Brier score, log loss and calibration of each score column against ``y``.

    Brier, log loss and calibration are left empty for scores that are not probabilities of the
    outcome (BG/NBD's 1 - P(alive) ranks customers but is a different probability).
    """
    rows = []
    yv = np.asarray(y)
    for name in probs.columns:
        p = probs[name].to_numpy()
        proper = name != "bgnbd_p_alive"
        rows.append({"model": name, "roc_auc": roc_auc_score(yv, p), "pr_auc": average_precision_score(yv, p),
                     "brier": brier_score_loss(yv, p) if proper else np.nan,
                     "log_loss": log_loss(yv, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1]) if proper else np.nan,
                     "mean_predicted": float(p.mean()) if proper else np.nan,
                     "observed_rate": float(yv.mean()),
                     "calibration_error": expected_calibration_error(yv, p) if proper else np.nan})
    return pd.DataFrame(rows)


def calibration_curve(y, p, bins: int = 10) -> pd.DataFrame:
    """Observed churn rate against mean predicted probability in equal-count bins."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    order = np.argsort(p, kind="stable")
    rows = [{"bin": i + 1, "customers": len(idx), "mean_predicted": p[idx].mean(), "observed_rate": y[idx].mean()}
            for i, idx in enumerate(np.array_split(order, bins)) if len(idx)]
    return pd.DataFrame(rows)


def lift_table(y, p, groups: int = 10) -> pd.DataFrame:
    """Deciles by predicted risk (1 = riskiest tenth): churn rate, lift over the base rate, capture.

    ``capture`` is the cumulative share of all churners found by contacting the riskiest deciles
    down to this one. Ties in ``p`` are broken by position (stable), so deciles have equal size.
    """
    y, p = np.asarray(y, float), np.asarray(p, float)
    order = np.argsort(-p, kind="stable")
    base = y.mean()
    total = y.sum()
    rows, found, seen = [], 0.0, 0
    for i, idx in enumerate(np.array_split(order, groups)):
        if not len(idx):
            continue
        found += y[idx].sum()
        seen += len(idx)
        rows.append({"decile": i + 1, "customers": len(idx), "min_probability": p[idx].min(),
                     "churn_rate": y[idx].mean(), "lift": y[idx].mean() / base if base > 0 else np.nan,
                     "share_contacted": seen / len(y), "capture": found / total if total > 0 else np.nan})
    return pd.DataFrame(rows)


def confusion(y, p, threshold: float) -> pd.DataFrame:
    """Counts at an operating point: flagged (p >= threshold) against what happened."""
    y, p = np.asarray(y, int), np.asarray(p, float)
    flag = p >= threshold
    return pd.DataFrame({"churned": [int((flag & (y == 1)).sum()), int((~flag & (y == 1)).sum())],
                         "kept buying": [int((flag & (y == 0)).sum()), int((~flag & (y == 0)).sum())]},
                        index=pd.Index([f"flagged (p >= {threshold:.2f})", "not flagged"], name="prediction"))


def drivers(model, X: pd.DataFrame, y: pd.Series, seed: int, n_repeats: int = 5, max_rows: int = 10_000) -> pd.DataFrame:
    """Permutation importance: drop in ROC AUC when a feature is shuffled, largest first.

    At most ``max_rows`` customers are used (a seeded, stratified sample), which keeps the cost
    bounded on large bases; the standard deviation over repeats is shown beside the mean.
    """
    Xs, ys = _sample(X, y, max_rows, seed)
    r = permutation_importance(model, Xs, ys, scoring="roc_auc", n_repeats=n_repeats, random_state=seed)
    return pd.DataFrame({"feature": X.columns, "importance": r.importances_mean, "std": r.importances_std}) \
        .sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def _sample(X: pd.DataFrame, y: pd.Series, n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    if len(X) <= n:
        return X, y
    Xs, _, ys, _ = train_test_split(X, y, train_size=n, stratify=y, random_state=seed)
    return Xs, ys


FEATURE_WORDS = {
    "recency_days": ("days since the last purchase", "days"),
    "purchase_days": ("number of purchase days", "purchase days"),
    "orders": ("number of orders", "orders"),
    "spend": ("total spend to date", "money"),
    "average_order_value": ("average order value", "money"),
    "tenure_days": ("days since the first purchase", "days"),
    "mean_gap_days": ("usual gap between purchases", "days"),
    "gap_ratio": ("current gap relative to the usual gap", "times the usual gap"),
    "spend_last_90": ("spend in the last 90 days", "money"),
    "spend_prev_90": ("spend in the 90 days before that", "money"),
    "spend_trend": ("spend trend (last 90 days vs the 90 before, -1 to +1)", "trend"),
    "orders_last_90": ("orders in the last 90 days", "orders"),
    "orders_prev_90": ("orders in the 90 days before that", "orders"),
    "category_breadth": ("number of product categories bought", "categories"),
    "main_channel_share": ("share of orders in the main channel", "share"),
    "discount_share": ("discount as a share of list price", "share"),
    "signup_tenure_days": ("days since sign-up", "days"),
}


def feature_label(name: str) -> str:
    """Plain-words name of a feature (attributes keep their column name)."""
    return FEATURE_WORDS.get(name, (name.replace("_", " "), ""))[0]


def _fmt(v: float, unit: str, currency: str) -> str:
    if unit == "money":
        return f"{v:,.0f} {currency}"
    if unit == "share":
        return f"{v:.0%}"
    if unit in ("trend",):
        return f"{v:+.2f}"
    if unit == "times the usual gap":
        return f"{v:.1f}x the usual gap"
    if float(v) == 1 and unit.endswith("s"):
        unit = unit[:-1]  # "1 order", "1 purchase day"
    return f"{v:,.0f} {unit}" if abs(v) >= 10 or float(v).is_integer() else f"{v:,.1f} {unit}"


FLAT_RATIO = 1.1
"""Below this ratio of the risky end's risk to the safe end's, an effect is called flat."""


def partial_dependence(model, X: pd.DataFrame, features: list[str], seed: int, grid: int = 20,
                       max_rows: int = 5_000) -> pd.DataFrame:
    """Average predicted churn when a feature is set to each value of a grid, all else as observed.

    The grid spans the 5th to 95th percentile of the feature (categories: every level). Computed
    on a seeded sample of at most ``max_rows`` customers. Returns long format: feature, value, p.
    """
    rng = np.random.default_rng(seed)
    Xs = X if len(X) <= max_rows else X.iloc[np.sort(rng.choice(len(X), max_rows, replace=False))]
    rows = []
    for f in features:
        col = X[f]
        if pd.api.types.is_numeric_dtype(col):
            lo, hi = np.nanpercentile(col.astype(float), [5, 95])
            vals = np.unique(np.linspace(lo, hi, grid)) if hi > lo else np.array([lo])
            if f in INT_FEATURES:
                vals = np.unique(np.round(vals))
        else:
            vals = col.value_counts().index[:grid].to_numpy()
        for v in vals:
            Xv = Xs.copy()
            Xv[f] = v
            rows.append({"feature": f, "value": v, "p": float(model.predict_proba(Xv)[:, 1].mean())})
    return pd.DataFrame(rows)


def effects_in_words(pdp: pd.DataFrame, currency: str) -> list[str]:
    """One sentence per feature: predicted churn at the low and the high end of its usual range."""
    out = []
    for f, d in pdp.groupby("feature", sort=False):
        if len(d) < 2:
            continue
        label, unit = FEATURE_WORDS.get(f, (f.replace("_", " "), ""))
        if pd.api.types.is_numeric_dtype(d["value"]) and unit:
            lo, hi = d.iloc[0], d.iloc[-1]
            risky, safe = (hi, lo) if hi["p"] >= lo["p"] else (lo, hi)
            ratio = risky["p"] / safe["p"] if safe["p"] > 0 else np.inf
            head = (f"**{label.capitalize()}**: predicted churn risk is {hi['p']:.0%} at "
                    f"{_fmt(hi['value'], unit, currency)} against {lo['p']:.0%} at {_fmt(lo['value'], unit, currency)}, "
                    "all else equal")
            if ratio < FLAT_RATIO:
                out.append(f"{head}: on its own it hardly moves the risk; it matters together with the other features.")
            else:
                out.append(f"{head}: customers at {_fmt(risky['value'], unit, currency)} are {ratio:.1f}x as likely "
                           "to churn.")
        else:
            top, bottom = d.loc[d["p"].idxmax()], d.loc[d["p"].idxmin()]
            out.append(f"**{label.capitalize()}**: predicted churn is highest for {top['value']} ({top['p']:.0%}) and "
                       f"lowest for {bottom['value']} ({bottom['p']:.0%}), all else equal.")
    return out


# ---- tiers -----------------------------------------------------------------------------------------

TIERS = ["high", "medium", "low"]


def tier_thresholds(p: np.ndarray, method: str, high: float, medium: float) -> tuple[float, float]:
    """Probability cut-offs of the high and medium tiers.

    ``method="probability"``: ``high`` and ``medium`` are probabilities. ``method="top_share"``:
    they are shares of the scored customers (0.1 = the riskiest tenth is high), turned into the
    probabilities that cut them off.
    """
    if method == "probability":
        return float(high), float(medium)
    p = np.asarray(p, float)
    if not len(p):
        return 1.0, 1.0
    hi = float(np.quantile(p, 1 - high, method="higher"))
    me = float(np.quantile(p, 1 - high - medium, method="higher"))
    return hi, min(me, hi)


def assign_tiers(p: np.ndarray, high_cut: float, medium_cut: float) -> np.ndarray:
    """``high`` when p >= high_cut, ``medium`` when p >= medium_cut, else ``low``."""
    p = np.asarray(p, float)
    return np.where(p >= high_cut, "high", np.where(p >= medium_cut, "medium", "low")).astype(object)


# ---- retention curves ------------------------------------------------------------------------------

def kaplan_meier(durations, events, groups=None, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier survival table per group (statsmodels ``SurvfuncRight``), with pointwise CIs.

    Returns
    -------
    DataFrame with ``group``, ``time``, ``at_risk``, ``events``, ``survival``, ``ci_low``,
    ``ci_high`` (log-log confidence interval, as statsmodels computes it), one row per event time,
    plus a first row at time 0 with survival 1.
    """
    d = pd.DataFrame({"t": np.asarray(durations, float), "e": np.asarray(events, int),
                      "g": "all" if groups is None else np.asarray(groups, object)})
    rows = []
    for g, s in d.groupby("g", sort=False):
        rows.append({"group": g, "time": 0.0, "at_risk": len(s), "events": 0, "survival": 1.0,
                     "ci_low": 1.0, "ci_high": 1.0})
        if s["e"].sum() == 0:
            continue
        sf = SurvfuncRight(s["t"].to_numpy(), s["e"].to_numpy())
        lo, hi = _pointwise_ci(sf, alpha)
        for i, t in enumerate(sf.surv_times):
            rows.append({"group": g, "time": float(t), "at_risk": int(sf.n_risk[i]), "events": int(sf.n_events[i]),
                         "survival": float(sf.surv_prob[i]), "ci_low": float(lo[i]), "ci_high": float(hi[i])})
    return pd.DataFrame(rows)


def _pointwise_ci(sf, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    z = norm.ppf(1 - alpha / 2)
    s = np.clip(sf.surv_prob, 1e-12, 1 - 1e-12)
    # log(-log S) interval (Kalbfleisch & Prentice); se of log(-log S) from Greenwood's se of S
    se = sf.surv_prob_se / (s * np.abs(np.log(s)))
    lo = s ** np.exp(z * se)
    hi = s ** np.exp(-z * se)
    one = sf.surv_prob >= 1 - 1e-12
    zero = sf.surv_prob <= 1e-12
    lo, hi = np.where(one, 1.0, lo), np.where(one, 1.0, hi)
    return np.where(zero, 0.0, lo), np.where(zero, 0.0, hi)


def logrank(durations, events, groups) -> tuple[float, float, int]:
    """Log-rank test that the groups' survival curves are equal: (chi-square, p-value, df)."""
    g = np.asarray(groups, object)
    chi2, p = survdiff(np.asarray(durations, float), np.asarray(events, int), g)
    return float(chi2), float(p), int(len(pd.unique(g)) - 1)


def time_to_next_purchase(orders: pd.DataFrame | ibis.Table, origin: pd.Timestamp, until: pd.Timestamp,
                          population: pd.Index) -> pd.DataFrame:
    """Days from ``origin`` to each customer's first order after it; censored at ``until``.

    ``orders``: a DataFrame or an Ibis table (the first order per customer is found on the engine).
    Returns ``duration`` (days, 1 = the day after the origin) and ``event`` (1 = bought again,
    0 = censored: no order up to ``until``), indexed like ``population``.
    """
    from helpers.engine import as_table, to_pandas
    start = pd.Timestamp(origin).normalize() + pd.Timedelta(days=1)
    stop = pd.Timestamp(until).normalize() + pd.Timedelta(days=1)
    t = as_table(orders, ("customer_id", "order_ts"))
    w = t.filter((t.order_ts >= ibis.timestamp(start)) & (t.order_ts < ibis.timestamp(stop)))
    f = to_pandas(w.group_by(customer_id=w.customer_id).aggregate(first=w.order_ts.min()))
    first = pd.Series(f["first"].astype("datetime64[us]").to_numpy(), index=f["customer_id"].astype(str))
    first = first.reindex(pd.Index(population).astype(str))
    days = ((first.dt.normalize() - start).dt.days + 1).to_numpy()
    event = ~np.isnan(days.astype(float))
    follow = (stop - start).days
    return pd.DataFrame({"duration": np.where(event, days, follow).astype(float), "event": event.astype(int)},
                        index=population)


def cohort_retention(orders: pd.DataFrame | ibis.Table | str, as_of: pd.Timestamp, cohorts: int = 8) -> pd.DataFrame:
    """Share of each first-purchase quarter's customers who bought in each later quarter.

    Rows: the last ``cohorts`` first-purchase quarters up to the as-of date's quarter, with their
    size; columns ``Q+0`` .. ``Q+(cohorts-1)`` (``Q+0`` is 100% by definition). Quarters not yet
    complete at the as-of date are left empty, never counted as zero.

    ``orders``: a DataFrame, an Ibis table or a Parquet path (:func:`helpers.engine.as_table`); the
    distinct (customer, quarter) pairs and their counts per cohort are computed on the engine, only
    the small cohort-by-quarter table reaches pandas.
    """
    from helpers.engine import as_table, to_pandas
    t = as_table(orders, ("customer_id", "order_ts"))
    o = t.filter(t.order_ts < ibis.timestamp(pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)))
    cq = o.select(customer_id=o.customer_id, q=(o.order_ts.year() * 4 + o.order_ts.quarter() - 1).cast("int64")).distinct()
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


# ---- contractual mode ------------------------------------------------------------------------------

def contractual_dataset(customers: pd.DataFrame, attributes: list[str], as_of: pd.Timestamp,
                        label: str = "churned") -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Features and labels from a customers table with an explicit churn label.

    Features: the named attributes (text as categories) and, when ``signup_date`` is present,
    days since sign-up. Order behaviour is deliberately not used: the label's date is unknown, so
    recent inactivity would reveal the label instead of predicting it.

    Returns
    -------
    (X_labelled, y, X_unlabelled_or_active): training rows with a label, their labels, and the
    customers to score (not churned, or label missing).
    """
    _validate_cols(customers, ["customer_id", label, *attributes], "customers table")
    c = customers.assign(customer_id=customers["customer_id"].astype(str)).drop_duplicates("customer_id") \
        .set_index("customer_id").sort_index()
    X = pd.DataFrame(index=c.index)
    for a in attributes:
        X[a] = c[a] if pd.api.types.is_numeric_dtype(c[a]) and not pd.api.types.is_bool_dtype(c[a]) \
            else c[a].astype("string").fillna("unknown").astype(str)
    if "signup_date" in c:
        X["signup_tenure_days"] = (pd.Timestamp(as_of).normalize() - pd.to_datetime(c["signup_date"])).dt.days.astype(float)
    if X.shape[1] == 0:
        raise ValueError("contractual churn needs customer attributes (columns.customers.attributes) or a "
                         "signup_date to learn from; none are mapped")
    lab = c[label].astype("boolean")
    known = lab.notna().to_numpy()
    y = lab[known].astype(int).rename("churned")
    score = X[~known | ~lab.fillna(False).to_numpy()]
    return X[known], y, score


def cross_validated(X: pd.DataFrame, y: pd.Series, seed: int, folds: int = 5) -> pd.DataFrame:
    """Out-of-fold churn probabilities of both models by stratified k-fold cross-validation."""
    _check_classes(y, "labelled customers table")
    k = int(min(folds, (y == 0).sum(), (y == 1).sum()))
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    out = pd.DataFrame(index=X.index, columns=["gradient_boosting", "logistic"], dtype=float)
    for tr, te in cv.split(X, y):
        ms = fit_models(X.iloc[tr], y.iloc[tr], seed)
        for name, m in ms.items():
            out.iloc[te, out.columns.get_loc(name)] = m.predict_proba(X.iloc[te])[:, 1]
    return out
