"""Churn models and their statistics: classifiers, metrics, calibration, lift, drivers, tiers, Kaplan-Meier.
"""

from __future__ import annotations

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

from helpers.churn.data import INT_FEATURES

__all__ = [
    "make_models",
    "FIT_SAMPLE",
    "fit_sample",
    "fit_models",
    "predict",
    "expected_calibration_error",
    "metrics",
    "calibration_curve",
    "lift_table",
    "confusion",
    "drivers",
    "partial_dependence",
    "TIERS",
    "tier_thresholds",
    "assign_tiers",
    "kaplan_meier",
    "logrank",
    "cross_validated",
]


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
    hgb_prep = ColumnTransformer(
        [
            ("num", "passthrough", num),
            (
                "cat",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1),
                cat,
            ),
        ],
        verbose_feature_names_out=False,
    )
    hgb = make_pipeline(hgb_prep, HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=40, l2_regularization=1.0,
        early_stopping=True, validation_fraction=0.1, n_iter_no_change=10,
        categorical_features=[False] * len(num) + [True] * len(cat), random_state=seed))
    # log1p of the skewed counts and money so the linear baseline is not dominated by outliers
    log_cols = [c for c in num if c in ("purchase_days", "orders", "spend", "average_order_value", "spend_last_90",
                                        "spend_prev_90", "orders_last_90", "orders_prev_90", "gap_ratio")]
    lin_prep = ColumnTransformer(
        [
            (
                "log",
                make_pipeline(
                    SimpleImputer(strategy="median"),
                    FunctionTransformer(lambda v: np.log1p(np.clip(v, 0, None)), feature_names_out="one-to-one"),
                    StandardScaler(),
                ),
                log_cols,
            ),
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                [c for c in num if c not in log_cols],
            ),
            ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=20), cat),
        ],
        verbose_feature_names_out=False,
    )
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


def drivers(
    model, X: pd.DataFrame, y: pd.Series, seed: int, n_repeats: int = 5, max_rows: int = 10_000
) -> pd.DataFrame:
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
