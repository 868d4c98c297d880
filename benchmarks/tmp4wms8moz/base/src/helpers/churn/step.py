"""The churn step: a time-based backtest, drivers, risk tiers, value at risk, retention curves.

**Snapshot mode** (orders only, the default): the latest snapshot whose outcome is fully known is
``as_of - horizon_days`` (the evaluation snapshot); the model is trained on the snapshot one
horizon earlier, whose outcome window ends exactly where the evaluation snapshot starts, so the
evaluation is on later customers' futures the model never saw. Both models (gradient boosting and
the logistic baseline) are calibrated by isotonic regression in 3-fold cross-validation on the
training snapshot. When the CLV step ran, BG/NBD fitted on the history up to the evaluation
snapshot is compared too: its 1 - P(alive) (a ranking) and its probability of no purchase in the
horizon (a calibrated-by-construction forecast). The chosen model is refitted on the evaluation
snapshot and scores every customer active at the as-of date.

**Contractual mode** (the customers table carries an explicit ``churned`` label): stratified
k-fold cross-validation on the customer attributes (and days since sign-up); the model refitted on
every labelled customer scores the customers not yet churned.

When a model cannot be trained (too little history, a single class) the step does not fail the
review: :class:`ChurnResult` says why (``available=False``), the page shows the reason and
``churn.json`` records it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from helpers.churn import data as churn_data
from helpers.churn import model as churn
from helpers.churn import step as churn_step
from helpers.frame.engine import to_pandas
from helpers.frame.errors import ParameterError
from helpers.frame.progress import stage
from helpers.frame.settings import ChurnSettings, RfmSettings
from helpers.segments import data as rfm
from helpers.segments import model as rfm_model
from helpers.value import model as clv

__all__ = [
    "MODEL_LABELS",
    "FEATURE_WORDS",
    "feature_label",
    "FLAT_RATIO",
    "effects_in_words",
    "ChurnResult",
    "value_column",
    "BGNBD_FIT_SAMPLE",
    "run",
    "labels",
    "mode_sentence",
    "metrics_table",
    "calibration_sentence",
    "lift_sentence",
    "confusion_sentence",
    "scored_customers",
    "value_at_risk_table",
    "risk_sentences",
    "retention",
    "retention_sentence",
    "cohort_table",
    "churn_scores",
    "CHURN_SCORE_COLUMNS",
    "churn_summary",
]


MODEL_LABELS = {"gradient_boosting": "Gradient boosting", "logistic": "Logistic regression",
                "bgnbd_p_alive": "BG/NBD 1 - P(alive)", "bgnbd_no_purchase": "BG/NBD P(no purchase in horizon)"}


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
            head = (
                f"**{label.capitalize()}**: predicted churn risk is {hi['p']:.0%} at "
                f"{_fmt(hi['value'], unit, currency)} against {lo['p']:.0%} at {_fmt(lo['value'], unit, currency)}, "
                "all else equal"
            )
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


@dataclass
class ChurnResult:
    """Everything the churn page shows and the artifacts it writes."""

    available: bool
    mode: str
    reason: str = ""
    horizon_days: int = 90
    train_snapshot: pd.Timestamp | None = None
    eval_snapshot: pd.Timestamp | None = None
    scored_at: pd.Timestamp | None = None
    n_train: int = 0
    n_eval: int = 0
    base_rate_train: float = float("nan")
    base_rate_eval: float = float("nan")
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    chosen: str = ""
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    lift: pd.DataFrame = field(default_factory=pd.DataFrame)
    threshold: float = float("nan")
    medium_threshold: float = float("nan")
    confusion: pd.DataFrame = field(default_factory=pd.DataFrame)
    drivers: pd.DataFrame = field(default_factory=pd.DataFrame)
    pdp: pd.DataFrame = field(default_factory=pd.DataFrame)
    effects: list[str] = field(default_factory=list)
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    features: list[str] = field(default_factory=list)


def _unavailable(mode: str, reason: str, settings: ChurnSettings) -> ChurnResult:
    empty = pd.DataFrame({"customer_id": pd.Series(dtype=str), "churn_probability": pd.Series(dtype=float),
                          "churn_tier": pd.Series(dtype=object)})
    return ChurnResult(available=False, mode=mode, reason=reason.rstrip("."), horizon_days=settings.horizon_days,
                       scores=empty)


def value_column(scores: pd.DataFrame | None, clv_summary: dict | None) -> tuple[str | None, str]:
    """The value measure for value at risk: predicted CLV when the value step ran, else spend to date."""
    if clv_summary is not None and scores is not None:
        if "clv" in scores:
            return "clv", f"predicted {clv_summary['horizon_months']}-month value"
    if scores is not None and "revenue" in scores:
        return "revenue", "spend to date"
    return None, "value"


def _rfm_history(t: ibis.Table, snapshot: pd.Timestamp, unit_days: float) -> pd.DataFrame:
    """BG/NBD's (x, t_x, T) of every customer with an order up to the end of ``snapshot`` (Ibis on DuckDB).

    The same quantities as :func:`helpers.value.data.calibration_summary` (one purchase occasion per
    customer-day): x = purchase days - 1, t_x = last - first purchase day, T = snapshot - first day.
    """
    day = pd.Timestamp(snapshot).normalize()
    h = t.filter(t.order_ts < ibis.timestamp(day + pd.Timedelta(days=1))).mutate(_day=t.order_ts.date())
    g = h.group_by("customer_id").aggregate(first=h._day.min(), last=h._day.max(), n=h._day.nunique())
    d0 = ibis.date(day.date())
    g = g.mutate(span=g.last.delta(g.first, unit="day"), age=d0.delta(g.first, unit="day"))
    # sorted by id: the seeded fit sample of _bgnbd_scores picks rows by position
    s = g.select("customer_id", "n", "span", "age").order_by("customer_id").to_pyarrow().to_pandas()
    return pd.DataFrame({"x": s["n"].to_numpy() - 1, "t_x": s["span"].to_numpy() / unit_days,
                         "T": s["age"].to_numpy() / unit_days}, index=pd.Index(s["customer_id"].astype(str)))


BGNBD_FIT_SAMPLE = 100_000


def _bgnbd_scores(t: ibis.Table, snapshot: pd.Timestamp, population: pd.Index, horizon_days: int,
                  unit_days: float, seed: int = 0, fit_sample: int = BGNBD_FIT_SAMPLE) -> pd.DataFrame | None:
    """BG/NBD at the snapshot: 1 - P(alive) and P(no purchase in the horizon), or None when it cannot be fitted.

    The four BG/NBD parameters are estimated on a seeded sample of ``fit_sample`` customers when there
    are more (a comparison row does not need the precision of a million histories, and a fit that runs
    to the edge of the parameter space costs seconds per 100k customers); every customer is scored.
    """
    try:
        s = _rfm_history(t, snapshot, unit_days)
        f = s
        if len(s) > fit_sample:
            rng = np.random.default_rng(seed)
            f = s.iloc[np.sort(rng.choice(len(s), fit_sample, replace=False))]
        fit = clv.fit_bgnbd(f["x"], f["t_x"], f["T"])
    except clv.CLVFitError:
        return None
    s = s.reindex(pd.Index(population).astype(str))
    pa = clv.p_alive("BG/NBD", fit.params, s["x"], s["t_x"], s["T"])
    r, alpha = fit.params["r"], fit.params["alpha"]
    tau = horizon_days / unit_days
    # no purchase in (T, T + tau]: dead already, or alive and the Poisson process stays silent
    # (E[exp(-lambda tau)] under the posterior Gamma(r + x, alpha + T)); BG/NBD drops out only at purchases
    silent = ((alpha + s["T"]) / (alpha + s["T"] + tau)) ** (r + s["x"])
    return pd.DataFrame({"bgnbd_p_alive": 1 - pa, "bgnbd_no_purchase": (1 - pa) + pa * silent},
                        index=population)


def _choose(m: pd.DataFrame, setting: str) -> str:
    if setting != "auto":
        return setting
    ml = m[m["model"].isin(["gradient_boosting", "logistic"])].set_index("model")
    # higher ROC AUC; a tie (to 3 decimals) goes to the simpler logistic model
    auc = ml["roc_auc"].round(3)
    return "logistic" if auc["logistic"] >= auc["gradient_boosting"] else "gradient_boosting"


def _evaluate(res: ChurnResult, probs: pd.DataFrame, y: pd.Series, model, X: pd.DataFrame, Xy: pd.Series,
              settings: ChurnSettings, seed: int, currency: str) -> None:
    """Fill metrics, calibration, lift, confusion, drivers and partial dependence from held-out predictions."""
    res.metrics = churn.metrics(probs, y)
    res.chosen = _choose(res.metrics, settings.model)
    cal = [
        churn.calibration_curve(y, probs[k]).assign(model=k)
        for k in ("gradient_boosting", "logistic", "bgnbd_no_purchase")
        if k in probs
    ]
    res.calibration = pd.concat(cal, ignore_index=True)
    p = probs[res.chosen].to_numpy()
    res.lift = churn.lift_table(y, p)
    t = settings.tiers
    res.threshold, res.medium_threshold = churn.tier_thresholds(p, t.method, t.high, t.medium)
    res.confusion = churn.confusion(y, p, res.threshold)
    if model is not None:
        res.drivers = churn.drivers(model, X, Xy, seed)
        top = res.drivers["feature"].head(3).tolist()
        res.pdp = churn.partial_dependence(model, X, top, seed)
        res.effects = churn_step.effects_in_words(res.pdp, currency)


def run(orders: pd.DataFrame | ibis.Table, customers: pd.DataFrame | None, as_of: pd.Timestamp, settings: ChurnSettings,
        seed: int, currency: str, clv_summary: dict | None = None, table: ibis.Table | None = None) -> ChurnResult:
    """Run the churn step in the mode the data allows (see the module docstring).

    Parameters
    ----------
    orders : DataFrame or Ibis table
        Clean orders (``customer_id``, ``order_ts``, ``amount``, optional category/channel/discount);
        the notebook passes the engine's table (:func:`helpers.frame.engine.orders_table`), so the order log
        is never loaded into pandas.
    customers : DataFrame or None
        Clean customers; a ``churned`` column switches to contractual mode.
    as_of : Timestamp
        Last day of the quarter.
    clv_summary : dict, optional
        ``clv.json`` when the CLV step ran: adds BG/NBD to the backtest.
    table : Ibis table, optional
        The same orders on the configured engine, when ``orders`` is a DataFrame: snapshot features
        and BG/NBD histories run there; default ``orders`` itself (a DataFrame becomes an in-memory
        DuckDB table).
    """
    if customers is not None and "churned" in customers.columns and customers["churned"].notna().any():
        return _run_contractual(customers, as_of, settings, seed, currency)
    return _run_snapshots(orders, customers, as_of, settings, seed, currency, clv_summary, table)


def _run_snapshots(orders, customers, as_of, settings, seed, currency, clv_summary, table=None) -> ChurnResult:
    h = settings.horizon_days
    as_of = pd.Timestamp(as_of).normalize()
    ev, tr = as_of - pd.Timedelta(days=h), as_of - pd.Timedelta(days=2 * h)
    t = churn_data._orders_table(orders if table is None else table)
    first = pd.Timestamp(to_pandas(t.aggregate(first=t.order_ts.min()))["first"].iloc[0])
    if pd.isna(first):
        return _unavailable("snapshot", "there are no orders to learn from", settings)
    first = first.normalize()
    if tr <= first:
        return _unavailable(
            "snapshot",
            f"the orders start on {first.date()}: a {h}-day backtest needs a training "
            f"snapshot on {tr.date()} with history before it (at least {2 * h} days of orders "
            "before the as-of date, more for a useful model); shorten churn.horizon_days or add history",
            settings,
        )
    attrs = list(settings.attributes)
    if attrs and customers is None:
        return _unavailable(
            "snapshot", f"churn.attributes {attrs} need a customers table, and none was given", settings
        )
    _check_attributes(attrs, customers)
    stage(f"churn: features and labels at the training ({tr.date()}) and evaluation ({ev.date()}) snapshots")
    try:
        Xtr, ytr = churn_data.dataset(t, tr, h, settings.active_days, as_of, customers, attrs)
        Xev, yev = churn_data.dataset(t, ev, h, settings.active_days, as_of, customers, attrs)
        Xev = Xev[Xtr.columns]
        stage(f"churn: fitting gradient boosting and logistic regression on {len(Xtr):,} customers")
        models = churn.fit_models(Xtr, ytr, seed)
    except ValueError as e:
        return _unavailable("snapshot", str(e), settings)
    res = ChurnResult(available=True, mode="snapshot", horizon_days=h, train_snapshot=tr, eval_snapshot=ev,
                      scored_at=as_of, n_train=len(Xtr), n_eval=len(Xev), base_rate_train=float(ytr.mean()),
                      base_rate_eval=float(yev.mean()), features=list(Xtr.columns))
    probs = churn.predict(models, Xev)
    if clv_summary is not None:
        stage("churn: BG/NBD comparison at the evaluation snapshot")
        bg = _bgnbd_scores(t, ev, Xev.index, h, float(clv_summary.get("unit_days", 7.0)), seed)
        if bg is not None:
            probs = probs.join(bg)
    chosen = _choose(churn.metrics(probs, yev), settings.model)
    stage("churn: backtest metrics, permutation importance, partial dependence")
    _evaluate(res, probs, yev, models[chosen], Xev, yev, settings, seed, currency)
    stage(
        f"churn: refitting {res.chosen.replace('_', ' ')} on the evaluation snapshot and scoring the active customers"
    )
    try:
        final = churn.fit_models(Xev, yev, seed, only=res.chosen)[res.chosen]
    except ValueError as e:
        return _unavailable("snapshot", f"refit on the latest labelled snapshot: {e}", settings)
    Xnow = churn_data.snapshot_features(t, as_of, settings.active_days, customers, attrs)[Xtr.columns]
    res.scores = _score(final, Xnow, res)
    return res


def _check_attributes(attrs: list[str], customers: pd.DataFrame | None) -> None:
    """Refuse ``churn.attributes`` naming columns the clean customers table does not have."""
    if not attrs or customers is None:
        return
    missing = [a for a in attrs if a not in customers.columns]
    if missing:
        have = [c for c in customers.columns if c != "customer_id"]
        raise ParameterError(f"churn.attributes names {missing}, which the customers table does not have "
                             f"(its columns after cleaning: {have}); fix the name in the parameters file "
                             "or map the column under columns.customers")


def _run_contractual(customers, as_of, settings, seed, currency) -> ChurnResult:
    _check_attributes(list(settings.attributes), customers)
    attrs = list(settings.attributes) or [c for c in customers.columns
                                          if c not in ("customer_id", "signup_date", "churned")]
    try:
        X, y, Xs = churn_data.contractual_dataset(customers, attrs, as_of)
        probs = churn.cross_validated(X, y, seed)
    except ValueError as e:
        return _unavailable("contractual", str(e), settings)
    res = ChurnResult(
        available=True,
        mode="contractual",
        horizon_days=settings.horizon_days,
        scored_at=pd.Timestamp(as_of),
        n_train=len(X),
        n_eval=len(X),
        base_rate_train=float(y.mean()),
        base_rate_eval=float(y.mean()),
        features=list(X.columns),
    )
    chosen = _choose(churn.metrics(probs, y), settings.model)
    # drivers on a stratified quarter held out from a model fitted on the other three quarters
    Xa, Xb, ya, yb = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    _evaluate(res, probs, y, churn.fit_models(Xa, ya, seed, only=chosen)[chosen], Xb, yb, settings, seed, currency)
    # metrics were computed on all out-of-fold predictions; drivers on the held-out quarter
    final = churn.fit_models(X, y, seed, only=res.chosen)[res.chosen]
    res.scores = _score(final, Xs, res)
    return res


def _score(model, X: pd.DataFrame, res: ChurnResult) -> pd.DataFrame:
    p = model.predict_proba(X)[:, 1] if len(X) else np.array([])
    return pd.DataFrame({"customer_id": X.index.astype(str), "churn_probability": p,
                         "churn_tier": churn.assign_tiers(p, res.threshold, res.medium_threshold)})


def labels(res: ChurnResult) -> dict[str, str]:
    """Plain-words names of the model's features (for chart axes)."""
    return {f: churn_step.feature_label(f) for f in res.features}


def mode_sentence(res: ChurnResult) -> str:
    """What was modelled, on which snapshots, and the base rates (or why nothing was)."""
    if not res.available:
        return f"**Churn risk is not available this quarter**: {res.reason}."
    if res.mode == "contractual":
        return (
            f"**Contractual mode**: the customers table carries an explicit churn label, so the model learns from "
            f"{res.n_train:,} labelled customers ({res.base_rate_train:.1%} churned) with stratified 5-fold "
            f"cross-validation on their attributes ({', '.join(churn_step.feature_label(f) for f in res.features)}); "
            "order behaviour is left out because the label's date is unknown. Customers not yet churned are scored."
        )
    h = res.horizon_days
    return (
        f"**Snapshot mode**: a customer with an order in the year before a snapshot *churns* when they place no "
        f"order in the {h} days after it. Trained on the snapshot of {res.train_snapshot.date()} "
        f"({res.n_train:,} customers, {res.base_rate_train:.1%} churned), tested on the latest snapshot whose "
        f"outcome is known, {res.eval_snapshot.date()} ({res.n_eval:,} customers, {res.base_rate_eval:.1%} "
        f"churned); features use only orders up to each snapshot. The chosen model, refitted on "
        f"{res.eval_snapshot.date()}, scores every customer active on {res.scored_at.date()} for the next {h} days."
        + (
            f" The models learn from a stratified random sample of {churn.FIT_SAMPLE:,} customers of each snapshot "
            "(the churn share kept); every customer is scored."
            if max(res.n_train, res.n_eval) > churn.FIT_SAMPLE
            else ""
        )
    )


def metrics_table(res: ChurnResult) -> pd.DataFrame:
    """The backtest table: one row per model, best ROC AUC first, the chosen model marked."""
    if not res.available:
        return pd.DataFrame([{"model": "not available", "note": res.reason}])
    m = res.metrics.copy()
    m["chosen"] = np.where(m["model"] == res.chosen, "yes", "")
    m["model"] = m["model"].map(churn_step.MODEL_LABELS)
    m = m.sort_values("roc_auc", ascending=False, kind="stable")
    return m[["model", "chosen", "roc_auc", "pr_auc", "brier", "log_loss", "mean_predicted", "observed_rate",
              "calibration_error"]].reset_index(drop=True)


def calibration_sentence(res: ChurnResult) -> str:
    """How calibrated the chosen model's probabilities are, in numbers."""
    if not res.available:
        return ""
    m = res.metrics.set_index("model").loc[res.chosen]
    where = "out of fold" if res.mode == "contractual" else f"on the {res.eval_snapshot.date()} snapshot"
    text = (f"Probabilities are calibrated by isotonic regression (3-fold cross-validation inside the training data). "
            f"{where.capitalize()}, {churn_step.MODEL_LABELS[res.chosen].lower()} predicted an average churn risk of "
            f"{m['mean_predicted']:.1%} against {m['observed_rate']:.1%} observed; across ten risk bands the "
            f"predicted and observed rates differ by {m['calibration_error'] * 100:.1f} percentage points on average.")
    mm = res.metrics.set_index("model")
    if "bgnbd_p_alive" in mm.index:
        b, n = mm.loc["bgnbd_p_alive"], mm.loc["bgnbd_no_purchase"]
        text += (
            f" For comparison, the value model (BG/NBD, refitted on the history up to the snapshot) ranks customers "
            f"with ROC AUC {b['roc_auc']:.3f} by 1 - P(alive) and {n['roc_auc']:.3f} by its probability of no "
            f"purchase in {res.horizon_days} days, against {m['roc_auc']:.3f} for the chosen model"
            + (
                "; BG/NBD ranks at least as well here, a sign that purchase timing alone carries the signal."
                if n["roc_auc"] >= m["roc_auc"]
                else "."
            )
        )
    return text


def lift_sentence(res: ChurnResult) -> str:
    """What contacting the riskiest tenth and fifth would find."""
    if not res.available or res.lift.empty:
        return ""
    top = res.lift.iloc[0]
    two = res.lift.iloc[min(1, len(res.lift) - 1)]
    return (
        f"The riskiest tenth of customers churned at {top['churn_rate']:.0%} ({top['lift']:.1f}x the average of "
        f"{res.base_rate_eval:.0%}); contacting the riskiest fifth would reach {two['capture']:.0%} of all churners."
    )


def confusion_sentence(res: ChurnResult) -> str:
    """The operating point (the high-risk cut-off) in words: precision and recall."""
    if not res.available:
        return ""
    c = res.confusion
    tp, fn = c["churned"].iloc[0], c["churned"].iloc[1]
    fp = c["kept buying"].iloc[0]
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    return (f"At the high-risk cut-off (probability {res.threshold:.2f}), {tp + fp:,} customers were flagged: "
            f"{prec:.0%} of them did churn (precision) and they were {rec:.0%} of all churners (recall).")


def scored_customers(res: ChurnResult, scores: pd.DataFrame | None, value_col: str | None,
                     high_value_share: float) -> pd.DataFrame:
    """Churn scores joined to segments and value, with the ``retention_priority`` flag.

    ``retention_priority``: high tier and value in the top ``high_value_share`` of the scored
    customers (value = CLV when the value step ran, else spend to date).
    """
    s = res.scores.copy()
    if scores is not None:
        keep = [c for c in ("customer_id", "rfm_segment", "action_group", "revenue", value_col) if c and c in scores]
        s = s.merge(scores[list(dict.fromkeys(keep))].assign(customer_id=lambda d: d["customer_id"].astype(str)),
                    on="customer_id", how="left")
    vcol = value_col if value_col and value_col in s else ("revenue" if "revenue" in s else None)
    if vcol is not None and len(s):
        cut = s[vcol].quantile(1 - high_value_share)
        s["retention_priority"] = (s["churn_tier"] == "high") & (s[vcol] >= cut)
    else:
        s["retention_priority"] = False
    s.attrs["value_col"] = vcol
    return s


def value_at_risk_table(scored: pd.DataFrame, value_col: str | None) -> pd.DataFrame:
    """Per segment: scored customers, high-risk count and share, mean risk, value at risk, priority count.

    Sorted by the value at risk (or the high-risk count when no value is known).
    """
    if scored.empty or "rfm_segment" not in scored:
        return pd.DataFrame()
    g = scored.groupby("rfm_segment", observed=True)
    t = pd.DataFrame({"action_group": g["action_group"].first(), "active_customers": g.size(),
                      "high_risk": g["churn_tier"].apply(lambda s: int((s == "high").sum())),
                      "mean_churn_probability": g["churn_probability"].mean(),
                      "retention_priority": g["retention_priority"].sum().astype(int)})
    t["share_high_risk"] = t["high_risk"] / t["active_customers"]
    if value_col and value_col in scored:
        high = scored[scored["churn_tier"] == "high"]
        t["value_at_risk"] = high.groupby("rfm_segment", observed=True)[value_col].sum().reindex(t.index).fillna(0.0)
        key = "value_at_risk"
    else:
        key = "high_risk"
    t = t.reset_index().rename(columns={"rfm_segment": "segment"})
    cols = ["segment", "action_group", "active_customers", "high_risk", "share_high_risk", "mean_churn_probability",
            "value_at_risk", "retention_priority"]
    return t.sort_values([key, "high_risk"], ascending=False, kind="stable")[[c for c in cols if c in t]] \
        .reset_index(drop=True)


def risk_sentences(res: ChurnResult, scored: pd.DataFrame, var: pd.DataFrame, currency: str, value_label: str) -> str:
    """Tier counts, value at risk and the retention-priority list in words."""
    if not res.available:
        return f"No churn tiers this quarter: {res.reason}."
    from helpers.page.text import money
    n = len(scored)
    counts = scored["churn_tier"].value_counts()
    hi = int(counts.get("high", 0))
    text = (
        f"Of {n:,} active customers, **{hi:,} ({hi / max(n, 1):.0%}) are at high risk** of placing no order in the "
        f"next {res.horizon_days} days (probability at least {res.threshold:.2f}), {int(counts.get('medium', 0)):,} "
        f"at medium risk (at least {res.medium_threshold:.2f}) and {int(counts.get('low', 0)):,} at low risk."
    )
    if "value_at_risk" in var:
        text += (f" The high-risk customers hold {money(var['value_at_risk'].sum(), currency)} of {value_label} "
                 "(the value at risk).")
    pr = int(scored["retention_priority"].sum())
    text += (f" **{pr:,} customers are high risk and high value** (top of {value_label}): they are flagged "
             "`retention_priority` in segments_export.csv for the retention team.")
    return text


def retention(orders: pd.DataFrame | ibis.Table, as_of: pd.Timestamp, rfm_settings: RfmSettings,
              settings: ChurnSettings) -> tuple[pd.DataFrame, dict, pd.Timestamp]:
    """Kaplan-Meier time to the next purchase after ``as_of - retention_days``, by action group then.

    Customers are grouped by the action group they were in on the origin day (same rules as the
    segments page, recomputed at that date) and followed to the as-of date (censored there).
    ``orders``: a DataFrame or an Ibis table (the notebook passes the engine's table).

    Returns
    -------
    (km table, log-rank {"chi2", "p", "df"}, origin)
    """
    origin = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=settings.retention_days)
    summary = rfm.customer_summary(orders, origin)
    if summary.empty:
        return pd.DataFrame(), {}, origin
    seg = rfm_model.segment_of(summary, rfm_settings)
    pop = pd.Index(seg["customer_id"].astype(str))
    tt = churn_data.time_to_next_purchase(orders, origin, as_of, pop)
    groups = seg["action_group"].astype(str).to_numpy()
    km = churn.kaplan_meier(tt["duration"], tt["event"], groups)
    order = [g.name for g in rfm_settings.action_groups]
    km["group"] = pd.Categorical(km["group"], categories=order)
    km = km.sort_values(["group", "time"], kind="stable").reset_index(drop=True)
    lr = {}
    if len(pd.unique(groups)) > 1 and tt["event"].sum() > 0:
        chi2, p, df = churn.logrank(tt["duration"], tt["event"], groups)
        lr = {"chi2": chi2, "p": p, "df": df}
    return km, lr, origin


def retention_sentence(km: pd.DataFrame, lr: dict, origin: pd.Timestamp, as_of: pd.Timestamp) -> str:
    """Share who bought again within 90 days and by the as-of date, per group, and the log-rank test."""
    if km.empty:
        return "No customers had bought before the start of the retention window."
    parts = []
    for g, d in km.groupby("group", observed=True, sort=True):
        n = int(d["at_risk"].iloc[0])
        s90 = d.loc[d["time"] <= 90, "survival"].iloc[-1]
        s_end = d["survival"].iloc[-1]
        parts.append(
            f"{g}: {1 - s90:.0%} within 90 days, {1 - s_end:.0%} by {pd.Timestamp(as_of).date()} ({n:,} customers)"
        )
    text = (f"Customers grouped by their action group on {origin.date()}; share who bought again — "
            + "; ".join(parts) + ".")
    if lr:
        pv = "< 0.001" if lr["p"] < 0.001 else f"= {lr['p']:.3f}"
        verdict = "differ" if lr["p"] < 0.05 else "do not differ clearly"
        text += (f" The groups' curves {verdict} (log-rank chi-square {lr['chi2']:,.0f} on {lr['df']} degrees of "
                 f"freedom, p {pv}).")
    return text


def cohort_table(orders: pd.DataFrame | ibis.Table | str, as_of: pd.Timestamp, cohorts: int) -> pd.DataFrame:
    """Cohort retention (see :func:`helpers.churn.data.cohort_retention`, computed on the engine) with the
    cohort as a column, newest first."""
    t = churn_data.cohort_retention(orders, as_of, cohorts).reset_index()
    return t.iloc[::-1].reset_index(drop=True)


CHURN_SCORE_COLUMNS = ["customer_id", "churn_probability", "churn_tier", "retention_priority"]


def churn_scores(scores: pd.DataFrame | None, scored: pd.DataFrame) -> pd.DataFrame:
    """The ``churn_scores`` artifact: ``churn_probability``, ``churn_tier`` and ``retention_priority``
    of every customer of ``scores`` (the segments step's customers; the scored ones alone without it).

    Customers outside the scored population (no order in ``active_days``, or already churned in
    contractual mode) get an empty probability and the tier ``not active``.
    """
    add = scored.reindex(columns=CHURN_SCORE_COLUMNS)
    if scores is None:
        return add.reset_index(drop=True)
    out = scores[["customer_id"]].merge(add, on="customer_id", how="left")
    out["churn_tier"] = out["churn_tier"].fillna("not active")
    out["retention_priority"] = out["retention_priority"].fillna(False).astype(bool)
    return out


def churn_summary(res: ChurnResult, scored: pd.DataFrame, var: pd.DataFrame, lr: dict, origin: pd.Timestamp,
                  value_col: str | None) -> dict:
    """``churn.json``: mode, snapshots, metrics of each model, base rate, tiers, value at risk."""
    out: dict = {"available": res.available, "mode": res.mode, "horizon_days": res.horizon_days}
    if not res.available:
        out["reason"] = res.reason
        return out
    out.update({
        "train_snapshot": res.train_snapshot, "eval_snapshot": res.eval_snapshot, "scored_at": res.scored_at,
        "n_train": res.n_train, "n_eval": res.n_eval, "base_rate_train": res.base_rate_train,
        "base_rate": res.base_rate_eval, "chosen_model": res.chosen,
        "metrics": {r["model"]: {k: (None if pd.isna(v) else float(v)) for k, v in r.items() if k != "model"}
                    for r in res.metrics.to_dict(orient="records")},
        "thresholds": {"high": res.threshold, "medium": res.medium_threshold},
        "tier_counts": {t: int((scored["churn_tier"] == t).sum()) for t in churn.TIERS},
        "scored_customers": int(len(scored)),
        "retention_priority": int(scored["retention_priority"].sum()),
        "value_column": value_col,
        "value_at_risk": float(var["value_at_risk"].sum()) if "value_at_risk" in var else None,
        "by_segment": var.to_dict(orient="records"),
        "drivers": res.drivers.head(5).to_dict(orient="records"),
        "effects": res.effects,
        "retention_origin": origin, "logrank": lr,
    })
    return out
