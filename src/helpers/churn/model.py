"""Churn models and their statistics: plain numbers (and feature tables) in, plain numbers out.

- the learned candidates: gradient boosting, a logistic regression (the baseline that is always
  fitted) and their average, :func:`make_models`, :func:`fit_models`, :func:`cross_validated`;
- BG/NBD as a churn forecast: the probability of no purchase in the horizon, P(alive) and expected
  purchases from a BG/NBD fit (:func:`bgnbd_churn`), and :class:`BGNBDChurn`, the same forecast as a
  scikit-learn classifier over the snapshot features (so that it is backtested, explained and
  scored like the learned models);
- the choice among candidates by a proper scoring rule (:func:`choose`), metrics, calibration, lift,
  drivers, partial dependence, risk tiers (:func:`assign_tiers`), Kaplan-Meier and the log-rank test.

The scikit-learn, SciPy and statsmodels modules are imported here, at the top, not inside the
functions: the runner's pre-started kernel imports them while the previous notebook runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from helpers.churn.data import INT_FEATURES
from helpers.value import model as clv

__all__ = [
    "LEARNED",
    "CANDIDATE_ORDER",
    "MIN_CUSTOMERS",
    "MIN_CLASS",
    "DataTooSmall",
    "check_classes",
    "as_categories",
    "CategoryCodes",
    "make_models",
    "Average",
    "FIT_SAMPLE",
    "fit_sample",
    "fit_models",
    "predict",
    "bgnbd_churn",
    "BGNBD_INPUTS",
    "BGNBDChurn",
    "expected_calibration_error",
    "metrics",
    "choose",
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
    "CV_SAMPLE",
    "CrossValidation",
    "cross_validated",
]

#: The models learned from the labels (the logistic regression is the baseline, always fitted); the
#: ``blend`` candidate averages their probabilities.
LEARNED = ("gradient_boosting", "logistic")

#: Simplest first: on an exact tie of the scoring rule the simpler candidate is chosen.
CANDIDATE_ORDER = ("bgnbd", "logistic", "gradient_boosting", "blend")

#: Fewest customers a churn model is trained on: with fewer, a held-out test says next to nothing
#: (the standard error of a ROC AUC on 100 customers is about 0.05) and the calibration has too few
#: customers per risk band.
MIN_CUSTOMERS = 100

#: Fewest customers in the smaller class (churners, or those who stayed): the calibration (3-fold)
#: and the stratified folds need several of each in every fold.
MIN_CLASS = 20


class DataTooSmall(ValueError):
    """The labelled customers cannot train a churn model: too few, or one class only.

    ``kind`` is ``"few"`` (fewer than :data:`MIN_CUSTOMERS`), ``"one_class"`` or ``"minority"``
    (fewer than :data:`MIN_CLASS` in the smaller class); ``n``, ``churned`` count the customers.
    """

    def __init__(self, kind: str, n: int, churned: int, what: str):
        self.kind, self.n, self.churned, self.what = kind, n, churned, what
        super().__init__(f"{what}: {kind} ({n:,} customers, {churned:,} churned)")


def check_classes(y: pd.Series, what: str) -> None:
    """Refuse labels a churn model cannot learn from (see :class:`DataTooSmall`)."""
    y = np.asarray(y)
    n, churned = len(y), int((y == 1).sum())
    if n < MIN_CUSTOMERS:
        raise DataTooSmall("few", n, churned, what)
    if churned in (0, n):
        raise DataTooSmall("one_class", n, churned, what)
    if min(churned, n - churned) < MIN_CLASS:
        raise DataTooSmall("minority", n, churned, what)


def _categorical(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]


def _log1p_clip(v):
    return np.log1p(np.clip(v, 0, None))


#: Counts and money of the order history: log1p so that the linear baseline is not driven by outliers.
_SKEWED = ("purchase_days", "orders", "spend", "average_order_value", "spend_last_90", "spend_prev_90",
           "orders_last_90", "orders_prev_90", "gap_ratio", "expected_purchases", "payments", "total_paid")


def as_categories(*frames: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    """The frames with every text column as a pandas categorical over one sorted set of levels (the
    union of the frames'), so that training, testing and scoring frames encode alike and
    :class:`CategoryCodes` reads their codes instead of hashing strings at every prediction."""
    text = [c for c in frames[0].columns if not pd.api.types.is_numeric_dtype(frames[0][c])]
    out = [f.copy() for f in frames]
    for c in text:
        have = [f[c] for f in frames if c in f]
        levels = sorted(set().union(*(set(map(str, v.cat.categories)) if isinstance(v.dtype, pd.CategoricalDtype)
                                      else set(v.dropna().astype(str).unique()) for v in have)))
        for f in out:
            if c not in f:
                continue
            if isinstance(f[c].dtype, pd.CategoricalDtype):
                f[c] = f[c].cat.rename_categories(lambda v: str(v)).cat.set_categories(levels)
            else:
                f[c] = pd.Categorical(f[c].astype("string").astype(object), categories=levels)
    return tuple(out)


class CategoryCodes(TransformerMixin, BaseEstimator):
    """Text (or categorical) columns as integer codes of the levels seen in fitting; numbers unchanged.

    A level not seen in fitting, and a missing value, get the code -1 (gradient boosting reads a
    negative category as missing; the one-hot encoder as unknown). Encoding by pandas' hash-based
    ``Categorical`` is what keeps scikit-learn's encoders off Python string objects: at 100,000
    subscribers they spent more time checking and sorting strings than the models spent learning.
    """

    def fit(self, X: pd.DataFrame, y=None):
        self.text_ = _categorical(X)
        self.levels_ = {c: (list(X[c].cat.categories) if isinstance(X[c].dtype, pd.CategoricalDtype)
                            else sorted(X[c].dropna().astype(str).unique())) for c in self.text_}
        self.columns_ = list(X.columns)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        out = X[self.columns_].copy()
        for c in self.text_:
            s = X[c]
            if isinstance(s.dtype, pd.CategoricalDtype) and list(s.cat.categories) == self.levels_[c]:
                codes = s.cat.codes.to_numpy()
            else:
                codes = pd.Index(self.levels_[c], dtype=object).get_indexer(s.astype("string").astype(object))
            out[c] = codes.astype(np.int32)
        return out

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.columns_, dtype=object)


def make_models(X: pd.DataFrame, seed: int) -> dict:
    """Unfitted gradient boosting and logistic-regression pipelines for the columns of ``X``.

    Text columns (categories) become integer codes (:class:`CategoryCodes`): native categories for
    gradient boosting, one-hot for the logistic model (levels seen fewer than 20 times pooled);
    numbers are median-imputed with a missing-value indicator and standardised for the logistic model
    (counts and money of the order history on the log scale) and passed as they are to gradient
    boosting, which handles missing values itself.

    Both are fitted by log loss (the logistic regression by maximum likelihood with a mild L2
    penalty, C = 1; gradient boosting with small trees and early stopping on a tenth of the training
    data), so their probabilities are calibrated on the training data without a separate step: an
    isotonic recalibration (3-fold) was tried and made the Brier score no better on the demo's later
    snapshot or on the synthetic telecom book (benchmarks/RESULTS.md, churn).
    """
    cat = _categorical(X)
    num = [c for c in X.columns if c not in cat]
    hgb = make_pipeline(CategoryCodes(), HistGradientBoostingClassifier(
        max_iter=300, learning_rate=0.1, max_leaf_nodes=8, min_samples_leaf=50, l2_regularization=1.0,
        early_stopping=True, validation_fraction=0.1, n_iter_no_change=15,
        categorical_features=[c in cat for c in X.columns], random_state=seed))
    log_cols = [c for c in num if c in _SKEWED]
    lin_prep = ColumnTransformer(
        [("log", make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                               FunctionTransformer(_log1p_clip, feature_names_out="one-to-one"), StandardScaler()),
          log_cols),
         ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
          [c for c in num if c not in log_cols]),
         ("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20), cat)],
        verbose_feature_names_out=False,
    )
    logit = make_pipeline(CategoryCodes(), lin_prep, LogisticRegression(max_iter=3000, C=1.0))
    return {"gradient_boosting": hgb, "logistic": logit}


class Average(ClassifierMixin, BaseEstimator):
    """The mean of fitted classifiers' churn probabilities (the ``blend`` candidate).

    Parameters
    ----------
    models : list
        Fitted classifiers with ``predict_proba``.
    """

    def __init__(self, models: list | None = None):
        self.models = models

    def fit(self, X=None, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = np.mean([m.predict_proba(X)[:, 1] for m in self.models], axis=0)
        return np.column_stack([1 - p, p])


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


def fit_models(X: pd.DataFrame, y: pd.Series, seed: int, only: str | None = None,
               max_rows: int = FIT_SAMPLE) -> dict:
    """Fit gradient boosting and the logistic baseline (see :func:`make_models`) on at most
    ``max_rows`` customers (:func:`fit_sample`: at a million customers the fit is the step's largest
    cost and ranks no better than on 150,000), and their average (``blend``).

    ``only`` fits just one candidate (``blend`` fits both and averages them).

    Raises
    ------
    DataTooSmall
        Fewer than :data:`MIN_CUSTOMERS` customers, a single class, or fewer than :data:`MIN_CLASS`
        customers in the smaller class.
    """
    check_classes(y, "training data")
    X, y = fit_sample(X, y, seed, max_rows)
    need = LEARNED if only in (None, "blend") else (only,)
    fitted = {k: m.fit(X, y) for k, m in make_models(X, seed).items() if k in need}
    if only in (None, "blend"):
        fitted["blend"] = Average([fitted[k] for k in LEARNED]).fit()
    return fitted if only is None else {only: fitted[only]}


def predict(models: dict, X: pd.DataFrame) -> pd.DataFrame:
    """Churn probability of each customer under each model (columns = model keys)."""
    return pd.DataFrame({k: m.predict_proba(X)[:, 1] for k, m in models.items()}, index=X.index)


def bgnbd_churn(params: dict[str, float], x, t_x, T, tau: float) -> pd.DataFrame:
    """BG/NBD's churn forecast for customers with history ``(x, t_x, T)``, over ``tau`` time units.

    Returns
    -------
    DataFrame with ``p_alive`` (still active at T), ``expected_purchases`` in ``(T, T + tau]`` and
    ``no_purchase``, the probability of no purchase in ``(T, T + tau]``: dead already, or alive and
    silent. In BG/NBD a customer drops out only right after a purchase, so an alive customer who
    buys nothing stays alive; their purchase rate given the history and being alive is
    ``Gamma(r + x, alpha + T)``, so silence has probability ``((alpha + T) / (alpha + T + tau))^(r + x)``.
    """
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    pa = clv.p_alive("BG/NBD", params, x, t_x, T)
    r, alpha = params["r"], params["alpha"]
    silent = ((alpha + T) / (alpha + T + tau)) ** (r + x)
    return pd.DataFrame({"p_alive": pa,
                         "expected_purchases": clv.expected_purchases("BG/NBD", params, tau, x, t_x, T),
                         "no_purchase": (1 - pa) + pa * silent})


#: The snapshot features BG/NBD reads: x = purchase_days - 1, t_x = tenure - recency, T = tenure.
BGNBD_INPUTS = ("recency_days", "tenure_days", "purchase_days")


class BGNBDChurn(ClassifierMixin, BaseEstimator):
    """BG/NBD's probability of no purchase in the horizon, as a classifier over snapshot features.

    The parameters are fitted on the whole purchase history up to the snapshot (every customer, not
    only the active ones, and without the labels); ``fit`` only records the classes. Reading
    ``recency_days``, ``tenure_days`` and ``purchase_days`` from ``X`` lets the backtest, the
    permutation importance and the partial dependence treat BG/NBD like the learned models.

    Parameters
    ----------
    params : dict
        BG/NBD's ``r, alpha, a, b`` (time in ``unit_days``).
    horizon_days : int
    unit_days : float
    """

    def __init__(self, params: dict | None = None, horizon_days: int = 90, unit_days: float = 7.0):
        self.params = params
        self.horizon_days = horizon_days
        self.unit_days = unit_days

    def fit(self, X=None, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        rec, ten, days = (np.asarray(X[c], float) for c in BGNBD_INPUTS)
        u = self.unit_days
        # a history is consistent (0 <= recency <= tenure, at least one purchase day) even when a
        # permutation or a partial-dependence grid pairs one customer's recency with another's tenure
        ten = np.maximum(ten, 0.0)
        span = np.clip(ten - rec, 0.0, ten)
        f = bgnbd_churn(self.params, np.maximum(days, 1.0) - 1, span / u, ten / u, self.horizon_days / u)
        p = f["no_purchase"].to_numpy()
        return np.column_stack([1 - p, p])


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
    """ROC AUC, PR AUC, Brier score, log loss and calibration of each candidate's probabilities against ``y``.

    Log loss clips probabilities to [1e-6, 1 - 1e-6] (isotonic calibration can give exactly 0 or 1).
    """
    rows = []
    yv = np.asarray(y)
    for name in probs.columns:
        p = probs[name].to_numpy(float)
        rows.append({"model": name, "roc_auc": roc_auc_score(yv, p), "pr_auc": average_precision_score(yv, p),
                     "brier": brier_score_loss(yv, p),
                     "log_loss": log_loss(yv, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1]),
                     "mean_predicted": float(p.mean()), "observed_rate": float(yv.mean()),
                     "calibration_error": expected_calibration_error(yv, p)})
    return pd.DataFrame(rows)


def choose(m: pd.DataFrame, setting: str, criterion: str) -> str:
    """The chosen candidate: ``setting`` itself, or with ``auto`` the lowest ``criterion`` (a proper
    scoring rule, lower is better); an exact tie goes to the simpler candidate (:data:`CANDIDATE_ORDER`).

    A candidate named in ``setting`` that is not among the metrics' models (BG/NBD could not be
    fitted) falls back to ``auto``.
    """
    names = list(m["model"])
    if setting != "auto" and setting in names:
        return setting
    rank = {k: i for i, k in enumerate(CANDIDATE_ORDER)}
    best = m.assign(_o=[rank.get(k, len(rank)) for k in names]).sort_values([criterion, "_o"], kind="stable")
    return str(best["model"].iloc[0])


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


def confusion(y, flagged) -> dict[str, int]:
    """Counts at an operating point: flagged (the high tier) against what happened.

    Returns ``{"tp", "fp", "fn", "tn"}`` (tp: flagged and churned; fp: flagged, kept buying...).
    """
    y, f = np.asarray(y, int), np.asarray(flagged, bool)
    return {"tp": int((f & (y == 1)).sum()), "fp": int((f & (y == 0)).sum()),
            "fn": int((~f & (y == 1)).sum()), "tn": int((~f & (y == 0)).sum())}


def drivers(
    model, X: pd.DataFrame, y: pd.Series, seed: int, n_repeats: int = 3, max_rows: int = 4_000
) -> pd.DataFrame:
    """Permutation importance: drop in ROC AUC when a feature is shuffled, largest first.

    At most ``max_rows`` customers are used (a seeded, stratified sample), which keeps the cost
    bounded on large bases; the standard deviation over repeats is shown beside the mean. Every
    shuffled copy (features x repeats of the sample) is scored in **one** prediction call: the models'
    fixed cost per call (input checks, encoders) was most of the time when each copy had its own.
    """
    Xs, ys = _sample(X, y, max_rows, seed)
    rng = np.random.default_rng(seed)
    n = len(Xs)
    perms = [(c, rng.permutation(n)) for _ in range(n_repeats) for c in Xs.columns]
    copies = []
    for c, idx in perms:
        Xp = Xs.copy()
        Xp[c] = Xs[c].iloc[idx].to_numpy() if not isinstance(Xs[c].dtype, pd.CategoricalDtype) \
            else Xs[c].iloc[idx].reset_index(drop=True).set_axis(Xs.index)
        copies.append(Xp)
    p = model.predict_proba(pd.concat([Xs, *copies], ignore_index=True))[:, 1]
    yv = np.asarray(ys)
    base = roc_auc_score(yv, p[:n])
    drops = np.array([base - roc_auc_score(yv, p[(k + 1) * n:(k + 2) * n]) for k in range(len(perms))])
    drops = drops.reshape(n_repeats, len(Xs.columns))
    return pd.DataFrame({"feature": Xs.columns, "importance": drops.mean(axis=0), "std": drops.std(axis=0)}) \
        .sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def _sample(X: pd.DataFrame, y: pd.Series, n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    if len(X) <= n:
        return X, y
    Xs, _, ys, _ = train_test_split(X, y, train_size=n, stratify=y, random_state=seed)
    return Xs, ys


def partial_dependence(model, X: pd.DataFrame, features: list[str], seed: int, grid: int = 20,
                       max_rows: int = 2_000, kinds: dict[str, str] | None = None) -> pd.DataFrame:
    """Average predicted churn when a feature is set to each value of a grid, all else as observed.

    The grid spans the 5th to 95th percentile of a number (whole numbers for counts and days),
    both values of a yes/no attribute, and the most frequent levels of a category. Computed on a
    seeded sample of at most ``max_rows`` customers. Returns long format: feature, value, p.
    """
    kinds = kinds or {}
    rng = np.random.default_rng(seed)
    Xs = X if len(X) <= max_rows else X.iloc[np.sort(rng.choice(len(X), max_rows, replace=False))]
    grids, copies = [], []
    for f in features:
        col = X[f]
        if kinds.get(f) == "boolean":
            vals = np.array([0.0, 1.0])
        elif pd.api.types.is_numeric_dtype(col):
            present = col.astype(float).dropna()
            if present.empty:
                continue
            lo, hi = np.nanpercentile(present, [5, 95])
            vals = np.unique(np.linspace(lo, hi, grid)) if hi > lo else np.array([lo])
            if f in INT_FEATURES or kinds.get(f) == "date" or (present % 1 == 0).all():
                vals = np.unique(np.round(vals))
        else:
            vals = col.value_counts().index[:grid].to_numpy()
        for v in vals:
            Xv = Xs.copy()
            if isinstance(Xs[f].dtype, pd.CategoricalDtype):
                Xv[f] = pd.Categorical([v] * len(Xs), dtype=Xs[f].dtype)
            else:
                Xv[f] = v
            grids.append((f, v))
            copies.append(Xv)
    if not copies:
        return pd.DataFrame(columns=["feature", "value", "p"])
    # every grid point of every feature in one prediction call (see :func:`drivers`)
    p = model.predict_proba(pd.concat(copies, ignore_index=True))[:, 1].reshape(len(copies), len(Xs)).mean(axis=1)
    return pd.DataFrame({"feature": [f for f, _ in grids], "value": [v for _, v in grids], "p": p})


TIERS = ["high", "medium", "low"]


def tier_thresholds(p: np.ndarray, method: str, high: float, medium: float) -> tuple[float, float]:
    """Lowest probability of the high and of the medium tier (see :func:`assign_tiers`).

    ``method="probability"``: ``high`` and ``medium`` are the cut-offs themselves.
    ``method="top_share"``: the probabilities of the last customer in each tier (NaN for an empty tier).
    """
    if method == "probability":
        return float(high), float(medium)
    p = np.asarray(p, float)
    t = assign_tiers(p, method, high, medium)
    cut = {k: float(p[t == k].min()) if (t == k).any() else float("nan") for k in ("high", "medium")}
    return cut["high"], cut["medium"]


def assign_tiers(p: np.ndarray, method: str, high: float, medium: float) -> np.ndarray:
    """``high`` / ``medium`` / ``low`` for each churn probability.

    ``method="probability"``: ``high`` when p >= ``high``, ``medium`` when p >= ``medium``.
    ``method="top_share"``: the riskiest ``round(high * n)`` customers are high and the next
    ``round(medium * n)`` medium, whatever the probabilities: each tier is a list of known size a team
    can work. Equal probabilities are ordered by position (stable), so the same input gives the same tiers.
    """
    p = np.asarray(p, float)
    if method == "probability":
        return np.where(p >= high, "high", np.where(p >= medium, "medium", "low")).astype(object)
    n = len(p)
    n_high = int(np.floor(high * n + 0.5))
    n_med = int(np.floor((high + medium) * n + 0.5)) - n_high
    order = np.argsort(-p, kind="stable")
    out = np.full(n, "low", dtype=object)
    out[order[:n_high]] = "high"
    out[order[n_high:n_high + n_med]] = "medium"
    return out


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
    # the groups as integer codes in the labels' sorted order: statsmodels sorts and compares them the same way
    # (the same arithmetic, so the same bits), without sorting millions of Python strings
    codes, levels = pd.factorize(np.asarray(groups, object), sort=True)
    chi2, p = survdiff(np.asarray(durations, float), np.asarray(events, int), codes)
    return float(chi2), float(p), int(len(levels) - 1)


#: Most labelled customers the cross-validation uses (a stratified seeded sample beyond): out-of-fold
#: ROC AUC over 30,000 customers has a standard error near 0.004 (about 8,000 churners), and at a
#: million subscribers five fits of each model on the whole book would take minutes
#: (benchmarks/RESULTS.md, contractual churn).
CV_SAMPLE = 30_000


class CrossValidation:
    """Out-of-fold churn probabilities of the learned candidates, and the first fold's models and test rows.

    Attributes
    ----------
    probs : DataFrame
        One column per model, indexed like the customers that were cross-validated.
    y : Series
        Their labels.
    fold_models : dict
        The models of the first fold (for drivers on customers they did not learn from).
    fold_test : Index
        The first fold's held-out customers.
    sampled : bool
        Whether the customers were a sample of :data:`CV_SAMPLE`.
    folds : int
    """

    def __init__(self, probs, y, fold_models, fold_test, sampled, folds):
        self.probs, self.y, self.fold_models, self.fold_test = probs, y, fold_models, fold_test
        self.sampled, self.folds = sampled, folds


def cross_validated(X: pd.DataFrame, y: pd.Series, seed: int, folds: int = 5,
                    max_rows: int = CV_SAMPLE) -> CrossValidation:
    """Stratified k-fold cross-validation of the learned candidates (gradient boosting, logistic regression
    and their average; seeded; at most ``max_rows`` customers).

    Raises
    ------
    DataTooSmall
        As :func:`fit_models`, for the labelled customers as a whole.
    """
    check_classes(y, "labelled customers")
    Xs, ys = fit_sample(X, y, seed, max_rows)
    k = int(min(folds, (ys == 0).sum(), (ys == 1).sum()))
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    out = pd.DataFrame(index=Xs.index, columns=[*LEARNED, "blend"], dtype=float)
    first: tuple[dict, pd.Index] | None = None
    for tr, te in cv.split(Xs, ys):
        Xtr, ytr = Xs.iloc[tr], ys.iloc[tr]
        models = {name: m.fit(Xtr, ytr) for name, m in make_models(Xtr, seed).items()}
        models["blend"] = Average([models[k] for k in LEARNED]).fit()
        for name, m in models.items():
            out.iloc[te, out.columns.get_loc(name)] = m.predict_proba(Xs.iloc[te])[:, 1]
        if first is None:
            first = (models, Xs.index[te])
    return CrossValidation(out, ys, first[0], first[1], len(Xs) < len(X), k)
