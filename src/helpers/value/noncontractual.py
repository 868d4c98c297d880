"""The CLV step for non-contractual businesses: a holdout backtest that chooses the purchase model,
then forward values with intervals.

Backtest: calibrate on history up to ``as_of - holdout_days``, predict each customer's repeat
purchases in the holdout with BG/NBD, MBG/NBD and Pareto/NBD, and compare with what happened, next
to a naive baseline (each customer repeats their calibration rate, ``x / T``). Gamma-Gamma's predicted
spend is compared with the actual mean spend per purchase of customers who bought in the holdout.

**Model choice** (``clv.model: auto``): the criterion is the **mean squared error of each customer's
predicted holdout purchases** (shown as its root, RMSE). The value of a customer is their expected
purchases times their expected spend, and the expectation is exactly what minimises squared error:
a model whose expectations are right has the lowest MSE, so the criterion ranks models by the very
quantity the value multiplies (mean absolute error would favour predicting the median, which for
most customers is zero). Among models within two standard errors of the best (the paired
per-customer difference of squared errors), a model that does not assume customers who bought only
once are still active (MBG/NBD, Pareto/NBD) is preferred to BG/NBD: it fits as well, and its
"who is still active" agrees with history. The chosen model is compared with the naive baseline on
the same criterion, and the page says so when the baseline is better.

**One-time buyers**: among customers with no repeat purchase at the calibration end, each model's
mean P(alive), its predicted share who buy in the holdout, and the share who actually did.

Forward: refit the chosen model and Gamma-Gamma on all history up to the as-of date; per customer
P(alive), expected purchases and discounted CLV over ``horizon_months``. Intervals come from
``n_draws`` parameter draws from each fit's asymptotic normal (log scale, seeded): the purchase
model and the spend model are drawn independently, each draw gives every customer's CLV, and the
interval is the central ``interval`` share of those values (per customer, and for the total).

"Not available" (recognised explicitly, see :mod:`helpers.frame.outcome`): no customer, fewer than
``min_customers`` customers, nobody or fewer than ``min_repeat_buyers`` customers bought twice, a
history shorter than the holdout (the whole step); a calibration period too small for the backtest
(the backtest only); payments at regular monthly intervals for half the repeat buyers or more (a
subscription: :func:`looks_like_subscription`, checked before fitting); a purchase model that the data do not
identify (:class:`~helpers.value.model.CLVFitError`); a spend
model that is not identified (Gamma-Gamma's ``q <= 1``: the value only, the purchase forecast stays).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from helpers.frame.outcome import NotAvailable
from helpers.frame.progress import stage
from helpers.frame.settings import ClvSettings
from helpers.locale import fmt_int, fmt_number, fmt_pct, ntr, tr
from helpers.value import data as clv_data
from helpers.value import model as clv

__all__ = [
    "time_unit_words",
    "MODEL_NAMES",
    "NAIVE",
    "ASSUMES_ONE_TIME_ALIVE",
    "Backtest",
    "ModelChoice",
    "Forward",
    "Orders",
    "purchase_days",
    "data_check",
    "backtest",
    "calibration",
    "choose_model",
    "one_time_buyers",
    "tracking",
    "fit_verdict",
    "forward",
    "score",
    "score_reference",
    "top_share",
    "p_alive_matrix",
    "spend_check_table",
    "groupings",
    "group_table",
    "parameter_table",
    "looks_like_subscription",
    "SUBSCRIPTION_LIKE",
    "spend_not_available",
    "group_totals",
    "row_quantiles",
]


MODEL_NAMES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "paretonbd": "Pareto/NBD"}
#: The naive baseline's row name in the backtest tables.
NAIVE = "naive (calibration rate)"
#: Models that treat every customer who never bought again as still active.
ASSUMES_ONE_TIME_ALIVE = {"bgnbd"}
#: Share of repeat buyers paying at regular monthly intervals (:func:`looks_like_subscription`) from which an
#: order log is taken for a subscription's payments, which the purchase models do not describe.
SUBSCRIPTION_LIKE = 0.5


@dataclass
class ModelChoice:
    """Which purchase model the forecast uses, and why.

    ``table``: one row per fitted model and the baseline: ``model``, ``rmse``, ``mae``,
    ``mse_vs_best`` (difference of mean squared errors to the best model), ``se`` (its standard
    error), ``within_2se``, ``chosen``.
    """

    chosen: str
    table: pd.DataFrame
    how: str
    beats_baseline: bool
    reason: str


@dataclass
class Backtest:
    """Holdout comparison of the purchase models and the naive baseline."""

    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    summary: pd.DataFrame
    fits: dict[str, clv.FitResult]
    failures: dict[str, str]
    spend_fit: clv.FitResult | None
    by_frequency: pd.DataFrame
    metrics: pd.DataFrame
    spend_check: dict
    chosen: str
    choice: ModelChoice | None = None
    one_time: pd.DataFrame | None = None


@dataclass
class Forward:
    """Per-customer forward predictions with intervals, and the final fits.

    ``spend_fit`` is ``None`` when the spend model is not identified: then ``scores`` holds
    P(alive) and expected purchases only, and ``totals`` no value.
    """

    scores: pd.DataFrame
    fit: clv.FitResult
    spend_fit: clv.FitResult | None
    totals: dict
    summary: pd.DataFrame | None = None
    """(x, t_x, T, m_x) of every customer on all history: the forecast's inputs."""
    failures: dict[str, str] = field(default_factory=dict)
    spend_error: clv.CLVFitError | None = None


Orders = pd.DataFrame | clv_data.PurchaseDays | ibis.Table | str | Path
"""The order log as the step's functions take it: a DataFrame or its :func:`purchase_days` (numpy,
the reference), or an Ibis table / the clean orders' Parquet path (aggregated on the engine)."""


def purchase_days(orders: pd.DataFrame, as_of: pd.Timestamp) -> clv_data.PurchaseDays:
    """The order log reduced once to one row per customer and purchase day up to ``as_of``.

    Every function of this step accepts it in place of the orders; building it is the costly
    part of a summary, so a notebook builds it once.
    """
    stage("clv: purchase days per customer")
    return clv_data.purchase_days(orders, pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1))


def _days(orders: Orders, as_of: pd.Timestamp) -> clv_data.PurchaseDays:
    return orders if isinstance(orders, clv_data.PurchaseDays) else purchase_days(orders, as_of)


def _on_engine(orders) -> bool:
    """Whether ``orders`` stay on the engine (an Ibis table, the clean orders' Parquet path, or their
    purchase days computed once on the engine, :class:`helpers.value.data.EngineDays`)."""
    return isinstance(orders, ibis.Table | str | Path | clv_data.EngineDays)


def _remedy_history(settings: ClvSettings) -> str:
    return tr("an order history in which at least {n} customers have bought at least twice",
              n=fmt_int(settings.min_repeat_buyers))


def data_check(summary: pd.DataFrame | None, settings: ClvSettings, part: str, title: str,
               first_day: pd.Timestamp | None = None, as_of: pd.Timestamp | None = None) -> NotAvailable | None:
    """Whether a period's per-customer summary is enough for the purchase models (``None``: it is).

    Checks, in order: customers at all; a history at least as long as the holdout (whole step only,
    when ``first_day`` and ``as_of`` are given: a forecast that cannot be checked on a holdout is not
    shown); ``min_customers`` customers; somebody bought twice; ``min_repeat_buyers`` repeat buyers.
    """
    why_models = tr("the purchase models learn how often customers come back, and how many stop, from "
                    "customers who bought more than once")
    n = 0 if summary is None else len(summary)
    if n == 0:
        return NotAvailable(part, tr("there are no customers with a completed order in this period"), why_models,
                            tr("an order history with completed orders"), title)
    if first_day is not None and as_of is not None:
        span = (pd.Timestamp(as_of) - pd.Timestamp(first_day)).days
        if span < settings.holdout_days:
            return NotAvailable(
                part, tr("the order history covers only {days} days (since {first}), less than the {holdout}-day "
                         "holdout", days=fmt_int(span), first=pd.Timestamp(first_day).date().isoformat(),
                         holdout=fmt_int(settings.holdout_days)),
                tr("a value forecast is shown only once it can be checked against purchases it did not see"),
                tr("at least {days} days of order history (or a shorter clv.holdout_days)",
                   days=fmt_int(settings.holdout_days + 90)), title)
    if n < settings.min_customers:
        return NotAvailable(
            part, ntr("only {n} customer bought in this period, fewer than the {min} the models need",
                      "only {n} customers bought in this period, fewer than the {min} the models need", n,
                      min=fmt_int(settings.min_customers)),
            tr("with fewer customers a quarter of the fits do not converge and the rest miss the purchase rate by a "
               "fifth or more (clv.min_customers)"),
            tr("an order history with at least {min} customers", min=fmt_int(settings.min_customers)), title)
    repeat = int((summary["x"] > 0).sum())
    if repeat == 0:
        return NotAvailable(part, tr("nobody has bought twice yet: all {n} customers bought on one day only",
                                     n=fmt_int(n)), why_models, _remedy_history(settings), title)
    if repeat < settings.min_repeat_buyers:
        return NotAvailable(
            part, tr("only {k} of {n} customers have bought more than once, fewer than {min}", k=fmt_int(repeat),
                     n=fmt_int(n), min=fmt_int(settings.min_repeat_buyers)),
            why_models, _remedy_history(settings), title)
    return None


def _fit_models(s: pd.DataFrame) -> tuple[dict, dict]:
    """Every purchase model on ``s``; the fits are independent and run two at a time (their special
    functions and array arithmetic release the GIL), the slowest (Pareto/NBD) first. Same results as
    one after the other."""
    def one(key):
        try:
            return key, clv.MODELS[key][1](s["x"], s["t_x"], s["T"]), None
        except clv.CLVFitError as e:
            return key, None, str(e)

    order = ["paretonbd"] + [k for k in clv.MODELS if k != "paretonbd"]
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        done = {k: (f, e) for k, f, e in pool.map(one, order)}
    fits = {k: done[k][0] for k in clv.MODELS if done[k][0] is not None}
    failures = {k: done[k][1] for k in clv.MODELS if done[k][1] is not None}
    return fits, failures


def choose_model(pred: dict[str, np.ndarray], naive: np.ndarray, actual: np.ndarray, setting: str) -> ModelChoice:
    """Choose the purchase model on the holdout (see the module docstring for the rule and why).

    Parameters
    ----------
    pred : dict
        Model key -> each customer's predicted holdout purchases.
    naive, actual : array
        The baseline's predictions and the actual holdout purchases.
    setting : str
        ``clv.model``: ``auto`` or a model key (then that model is used if it was fitted).
    """
    actual = np.asarray(actual, float)
    sq = {k: (np.asarray(p, float) - actual) ** 2 for k, p in pred.items()}
    mse = {k: float(v.mean()) for k, v in sq.items()}
    best = min(mse, key=mse.get)
    n = len(actual)
    rows = []
    for k in pred:
        d = sq[k] - sq[best]
        se = float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        rows.append({"model": k, "rmse": np.sqrt(mse[k]), "mae": float(np.abs(pred[k] - actual).mean()),
                     "mse_vs_best": float(d.mean()), "se": se,
                     "within_2se": bool(k == best or (np.isfinite(se) and d.mean() <= 2 * se))})
    t = pd.DataFrame(rows)
    naive_mse = float(((np.asarray(naive, float) - actual) ** 2).mean())
    if setting != "auto" and setting in pred:
        chosen, how = setting, "setting"
        reason = tr("{model} is used because clv.model names it.", model=MODEL_NAMES[setting])
    else:
        close = t[t["within_2se"]]
        without = close[~close["model"].isin(ASSUMES_ONE_TIME_ALIVE)]
        if best in ASSUMES_ONE_TIME_ALIVE and len(without):
            chosen = str(without.sort_values("rmse", kind="stable")["model"].iloc[0])
            how = "auto_one_time"
            reason = tr("{model} is used: its holdout error is within two standard errors of the smallest "
                        "({best}), and unlike {best} it does not assume that customers who bought only once are "
                        "still active.", model=MODEL_NAMES[chosen], best=MODEL_NAMES[best])
        else:
            chosen, how = best, "auto"
            reason = tr("{model} is used: it has the smallest holdout error per customer (RMSE).",
                        model=MODEL_NAMES[chosen])
        if setting != "auto":
            reason = tr("clv.model names {wanted}, which could not be fitted on the calibration period.",
                        wanted=MODEL_NAMES[setting]) + " " + reason
    beats = mse[chosen] <= naive_mse
    t["chosen"] = t["model"] == chosen
    t = pd.concat([t, pd.DataFrame([{"model": NAIVE, "rmse": np.sqrt(naive_mse),
                                     "mae": float(np.abs(np.asarray(naive) - actual).mean()),
                                     "mse_vs_best": naive_mse - mse[best], "se": np.nan, "within_2se": False,
                                     "chosen": False}])], ignore_index=True)
    return ModelChoice(chosen, t, how, bool(beats), reason)


def one_time_buyers(s: pd.DataFrame, fits: dict[str, clv.FitResult]) -> pd.DataFrame | None:
    """Customers with one purchase at the calibration end: predicted share alive and buying, vs actual.

    One row per model: ``customers``, ``mean_p_alive`` (its mean P(alive) at the calibration end),
    ``predicted_buyers_share`` (mean probability of at least one purchase in the holdout) and
    ``actual_buyers_share`` (the share who bought in the holdout). ``None`` when nobody bought once only.
    """
    one = s[s["x"] == 0]
    if one.empty:
        return None
    h = float(s["holdout_length"].iloc[0])
    # a one-time buyer's history is (0, 0, T): evaluate per distinct T
    uT, inv = np.unique(one["T"].to_numpy(float), return_inverse=True)
    zero = np.zeros_like(uT)
    actual = float((one["x_holdout"] > 0).mean())
    rows = []
    for k, f in fits.items():
        pa = clv.p_alive(f.model, f.params, zero, zero, uT)[inv]
        buy = 1.0 - clv.p_no_purchase(f.model, f.params, h, zero, zero, uT)[inv]
        rows.append({"model": MODEL_NAMES[k], "customers": int(len(one)), "mean_p_alive": float(pa.mean()),
                     "predicted_buyers_share": float(buy.mean()), "actual_buyers_share": actual})
    return pd.DataFrame(rows)


def backtest(orders: Orders, as_of: pd.Timestamp, settings: ClvSettings,
             summary: pd.DataFrame | None = None) -> Backtest:
    """Calibrate up to ``as_of - holdout_days``, predict the holdout with every purchase model, compare, choose.

    ``orders``: the clean orders, or their :func:`purchase_days`; ``summary``: the calibration summary
    with holdout columns when already built (:func:`calibration`).

    Raises
    ------
    clv.CLVFitError
        When no purchase model can be fitted on the calibration period (the caller makes the backtest
        "not available" with the reason).
    """
    cal_end = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=settings.holdout_days)
    s = summary if summary is not None else calibration(orders, as_of, settings)
    stage(f"clv: fitting the models on {len(s):,} customers")
    fits, failures = _fit_models(s)
    if not fits:
        raise clv.CLVFitError("; ".join(f"{MODEL_NAMES[k]}: {v}" for k, v in failures.items()))
    h = float(s["holdout_length"].iloc[0])
    pred = {k: clv.expected_purchases(f.model, f.params, h, s["x"], s["t_x"], s["T"]) for k, f in fits.items()}
    naive = np.where(s["T"] > 0, s["x"] / s["T"].where(s["T"] > 0, 1.0), 0.0) * h
    actual = s["x_holdout"].to_numpy(float)
    choice = choose_model(pred, naive, actual, settings.model)
    group = s["x"].clip(upper=7).map(lambda v: "7+" if v >= 7 else str(v))
    bf = pd.DataFrame({"calibration_repeat_purchases": group, "actual": s["x_holdout"], "naive": naive,
                       **{MODEL_NAMES[k]: v for k, v in pred.items()}})
    by_freq = bf.groupby("calibration_repeat_purchases", sort=False).agg(
        customers=("actual", "size"), actual=("actual", "mean"), naive=("naive", "mean"),
        **{n: (n, "mean") for n in (MODEL_NAMES[k] for k in pred)})
    by_freq = by_freq.reindex([str(i) for i in range(7)] + ["7+"]).dropna(how="all").reset_index()
    rows = []
    for key, p in [*pred.items(), (None, naive)]:
        err = np.asarray(p) - actual
        f = fits.get(key) if key else None
        rows.append({"model": MODEL_NAMES[key] if key else NAIVE, "predicted_total": float(np.sum(p)),
                     "actual_total": float(actual.sum()),
                     "total_error_pct": float((np.sum(p) - actual.sum()) / max(actual.sum(), 1)),
                     "mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err ** 2).mean())),
                     "loglik": f.loglik if f else np.nan, "aic": f.aic if f else np.nan})
    metrics = pd.DataFrame(rows)
    spend_fit, spend_check = None, {}
    try:
        spend_fit = clv.fit_spend(s["x"], s["m_x"])
        buyers = s[s["x_holdout"] > 0]
        predicted = clv.expected_spend(spend_fit.params, buyers["x"], buyers["m_x"])
        spend_check = {
            "customers": int(len(buyers)),
            "predicted_mean_spend": float(np.mean(predicted)) if len(buyers) else None,
            "actual_mean_spend": float((buyers["holdout_spend"] / buyers["x_holdout"]).mean()) if len(buyers) else None,
        }
    except clv.CLVFitError as e:
        failures["gammagamma"] = str(e)
    return Backtest(cal_end, pd.Timestamp(as_of).normalize(), s, fits, failures, spend_fit, by_freq, metrics,
                    spend_check, choice.chosen, choice, one_time_buyers(s, fits))


def calibration(orders: Orders, as_of: pd.Timestamp, settings: ClvSettings) -> pd.DataFrame:
    """The backtest's per-customer summary: (x, t_x, T, m_x) to ``as_of - holdout_days``, holdout purchases after.

    Raises
    ------
    clv.CLVFitError
        No order before the calibration end.
    """
    cal_end = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=settings.holdout_days)
    stage(f"clv: backtest, calibration to {cal_end.date()}")
    if _on_engine(orders):
        return clv_data.calibration_summary_engine(orders, cal_end, as_of, settings.unit_days)
    return clv_data.calibration_summary(_days(orders, as_of), cal_end, as_of, settings.unit_days)


def tracking(orders: Orders, bt: Backtest, settings: ClvSettings) -> pd.DataFrame:
    """Weekly cumulative repeat purchases, actual and expected, over calibration and holdout.

    The expectation for the calibration-period customers is ``sum_i E[X(t - first_i)]`` with each
    model's unconditional mean (FHL 2005, figure 2), computed per first-purchase day.
    ``orders``: the clean orders, or their :func:`purchase_days` (to the holdout's end or later; the
    numpy reference), or the orders on the engine (an Ibis table or the Parquet path: the repeat
    purchase days are counted there, :func:`helpers.value.data.weekly_repeat_purchases`).
    """
    first = bt.summary["first_purchase"]
    start = first.min()
    weeks = pd.date_range(start, bt.holdout_end, freq="7D")[1:]
    week_days = weeks.to_numpy().astype("datetime64[D]").astype("int64")
    if _on_engine(orders):
        actual = clv_data.weekly_repeat_purchases(orders, bt.calibration_end, bt.holdout_end, weeks)
    else:
        pdays = _days(orders, bt.holdout_end)
        cust, day = pdays.customer, pdays.day
        block = np.r_[True, cust[1:] != cust[:-1]]
        first_day = np.full(len(pdays.ids), np.iinfo(np.int64).max)
        first_day[cust[block]] = day[block]
        cal_end = clv_data._day_number(bt.calibration_end)
        hold_end = clv_data._day_number(bt.holdout_end)
        f = first_day[cust]
        repeat = np.sort(day[(f <= cal_end) & (day > f) & (day <= hold_end)])
        actual = np.searchsorted(repeat, week_days, side="right")
    cohorts = first.value_counts()
    cohort_days = cohorts.index.to_numpy().astype("datetime64[D]").astype("int64")
    t = np.clip((week_days[None, :] - cohort_days[:, None]) / settings.unit_days, 0, None)  # cohorts x weeks
    zero = np.zeros_like(t)
    out = {"week_end": weeks, "actual": actual.astype(float)}
    for key, fit in bt.fits.items():
        with np.errstate(all="ignore"):
            e = np.where(t > 0, clv.expected_purchases(fit.model, fit.params, t, zero, zero, zero), 0.0)
        out[MODEL_NAMES[key]] = cohorts.to_numpy(float) @ e
    return pd.DataFrame(out)


def time_unit_words(unit_days: float) -> str:
    """The model's time unit in words: ``weeks``, or ``3-day units``."""
    return tr("weeks") if unit_days == 7 else tr("{n}-day units", n=f"{unit_days:g}")


def fit_verdict(bt: Backtest) -> str:
    """A plain-words verdict on the chosen model's holdout fit."""
    m = bt.metrics.set_index("model")
    name = MODEL_NAMES[bt.chosen]
    err = m.loc[name, "total_error_pct"]
    better = m.loc[name, "rmse"] <= m.loc[NAIVE, "rmse"]
    size = abs(err)
    days = fmt_int((bt.holdout_end - bt.calibration_end).days)
    fields = dict(days=days, model=name, predicted=fmt_int(m.loc[name, "predicted_total"]),
                  actual=fmt_int(m.loc[name, "actual_total"]), error=fmt_pct(err, signed=True),
                  rmse=fmt_number(m.loc[name, "rmse"], 2), naive=fmt_number(m.loc[NAIVE, "rmse"], 2))
    total = (tr("Over the {days}-day holdout, {model} predicted {predicted} repeat purchases against {actual} actual "
                "({error}): it tracks the total closely.", **fields) if size < 0.1 else
             tr("Over the {days}-day holdout, {model} predicted {predicted} repeat purchases against {actual} actual "
                "({error}): it tracks the total reasonably.", **fields) if size < 0.25 else
             tr("Over the {days}-day holdout, {model} predicted {predicted} repeat purchases against {actual} actual "
                "({error}): it tracks the total poorly.", **fields))
    per = (tr("Its per-customer error is smaller than the naive baseline's (RMSE {rmse} vs {naive}).", **fields)
           if better else
           tr("Its per-customer error is larger than the naive baseline's (RMSE {rmse} vs {naive}): every purchase "
              "model did worse than assuming each customer keeps their past rate, so treat the forecast as a rough "
              "guide and check the data (a change in how customers buy, a promotion in the holdout).", **fields))
    return total + " " + per


def spend_not_available(error: clv.CLVFitError, settings: ClvSettings) -> NotAvailable:
    """The value part when Gamma-Gamma cannot be used (``error``: what its fit raised)."""
    if isinstance(error, clv.SpendNotIdentified):
        missing = tr("spend per purchase is so heavy-tailed that the spend model cannot estimate an average "
                     "(Gamma-Gamma's q at or near 1)")
        remedy = tr("spend data without extreme outliers (cap or remove them at ingestion), or a longer history "
                    "in which the spend of repeat buyers settles")
    else:
        missing = tr("the spend model could not be fitted on the repeat buyers' spend")
        remedy = _remedy_history(settings)
    return NotAvailable("clv.value", missing,
                        tr("the value of a customer is their expected purchases times their expected spend per "
                           "purchase; the purchase forecast is still shown, the value is not"),
                        remedy, tr("Customer lifetime value (spend model)"))


def forward(orders: Orders, as_of: pd.Timestamp, settings: ClvSettings, seed: int,
            groupings: dict[str, pd.Series] | None = None, chunk: int = 25_000,
            model: str | None = None, summary: pd.DataFrame | None = None,
            start: np.ndarray | None = None) -> Forward:
    """Refit on all history to ``as_of``; P(alive), expected purchases, CLV with intervals per customer.

    Parameters
    ----------
    orders : DataFrame, PurchaseDays, Ibis table or Parquet path
        The clean orders, or their :func:`purchase_days` (see :data:`Orders`).
    groupings : dict of name -> Series, or a function returning it, optional
        Customer id -> group label (e.g. RFM segment, cluster). For each grouping the group
        totals and their intervals are computed draw by draw (``totals["by_<name>"]``), which is
        what an interval of a total means (summing per-customer bounds would overstate it). A
        function is called once the models are fitted, right before the scoring (the step reads
        the segments late: :func:`helpers.value.step.segments_when_scoring`).
    model : str, optional
        The purchase model's key (the backtest's choice); default ``settings.model`` (``auto`` ->
        BG/NBD).
    summary : DataFrame, optional
        The all-history summary when already built.
    start : array, optional
        Log-parameters to start the fit from (the backtest's estimate of the same model).

    Raises
    ------
    clv.CLVFitError
        The purchase model cannot be fitted on all history. A spend model that cannot be fitted is
        not an error: ``spend_fit`` is ``None`` and ``failures["gammagamma"]`` says why.
    """
    stage("clv: refitting on all history")
    if summary is not None:
        s = summary
    elif _on_engine(orders):
        s = clv_data.calibration_summary_engine(orders, as_of, None, settings.unit_days)
    else:
        s = clv_data.calibration_summary(_days(orders, as_of), as_of, None, settings.unit_days)
    key = model or (settings.model if settings.model != "auto" else "bgnbd")
    _name, fn = clv.MODELS[key]
    fit = fn(s["x"], s["t_x"], s["T"], start=start)
    failures, error = {}, None
    try:
        gg = clv.fit_spend(s["x"], s["m_x"])
    except clv.CLVFitError as e:
        gg, error, failures["gammagamma"] = None, e, str(e)
    groupings = groupings() if callable(groupings) else groupings   # read late: once the models are fitted
    out = score(s, fit, gg, settings, seed, groupings, chunk)
    out.summary = s
    out.failures = failures
    out.spend_error = error
    return out


def score(s: pd.DataFrame, fit: clv.FitResult, gg: clv.FitResult | None, settings: ClvSettings, seed: int,
          groupings: dict[str, pd.Series] | None = None, chunk: int = 25_000,
          block_values: int = 2 ** 24) -> Forward:
    """Score customers ``s`` (``customer_id``, ``x``, ``t_x``, ``T``, ``m_x``) with fitted models.

    Spend and the per-customer quantiles are computed in chunks of ``chunk`` customers (``n_draws x
    chunk`` values, 40 MB per array by default; a chunk's work holds a few such arrays). The
    discounted expected transactions of each draw are computed once per unique
    (x, t_x, T) history within a **block** of consecutive chunks, a block holding at most
    ``block_values / n_draws`` unique histories (128 MB of draws by default), so memory does not grow
    with the number of customers: the parts that depend on distinct values only (the hypergeometric
    sums per (x, T) pair, a few thousand numbers per draw) are computed once per draw for all blocks
    (:func:`helpers.value.model.det_tables`). The results are those of :func:`score_reference`, bit
    for bit: each history's value is the same sequence of operations, and the draw totals and group
    totals add the same chunks in the same order. Without a spend model (``gg=None``) only P(alive)
    and the expected purchases are returned.
    """
    horizon = settings.horizon_months * 365.25 / 12 / settings.unit_days
    pa = clv.p_alive(fit.model, fit.params, s["x"], s["t_x"], s["T"])
    exp_h = clv.expected_purchases(fit.model, fit.params, horizon, s["x"], s["t_x"], s["T"])
    if gg is None:
        scores = pd.DataFrame({"customer_id": s["customer_id"].astype(str), "p_alive": pa,
                               "expected_purchases": exp_h})
        return Forward(scores, fit, None, {"customers": int(len(s))})
    ux, utx, uT, _, inv = clv.unique_histories(s["x"], s["t_x"], s["T"])
    index = clv.history_index(ux, utx, uT)
    months, disc, unit = settings.horizon_months, settings.annual_discount, settings.unit_days

    spend = clv.expected_spend(gg.params, s["x"], s["m_x"])
    value = clv.discounted_expected_transactions(fit.model, fit.params, ux, utx, uT, months, disc, unit,
                                                 index=index)[inv] * spend

    names = list(fit.params)
    n_draws = settings.n_draws
    stage(f"clv: scoring {len(s):,} customers with {n_draws} parameter draws")
    draws_p = [dict(zip(names, d, strict=True)) for d in fit.draws(n_draws, seed)]
    draws_g = gg.draws(n_draws, seed + 1)
    lo_q, hi_q = (1 - settings.interval) / 2, 1 - (1 - settings.interval) / 2
    low = np.empty(len(s))
    high = np.empty(len(s))
    totals = np.zeros(n_draws)
    x = s["x"].to_numpy(float)
    m = np.nan_to_num(s["m_x"].to_numpy(float))
    codes = _group_codes(s["customer_id"], groupings)
    group_draws = {g: np.zeros((n_draws, len(c[1]))) for g, c in codes.items()}
    bad = np.zeros(n_draws, bool)
    local = np.empty(len(ux), dtype=np.int64)   # unique history -> its row in the block's draws
    # draws are independent: two threads (the special functions release the GIL)
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        tables = list(pool.map(lambda p: clv.det_tables(fit.model, p, index, months, disc, unit), draws_p))
        for b0, b1 in _blocks(inv, len(ux), chunk, max(block_values // n_draws, chunk)):
            rows = np.unique(inv[b0:b1])
            local[rows] = np.arange(len(rows))
            sub = index.rows(rows)
            # (block's unique histories x draws) in Fortran order: each thread fills contiguous columns
            det_draws = _block_array(len(rows), n_draws)

            def fill(j: int, sub=sub, det_draws=det_draws) -> None:
                det_draws[:, j] = clv.det_rows(fit.model, draws_p[j], sub, tables[j])

            list(pool.map(fill, range(n_draws)))
            bad |= ~np.isfinite(det_draws).all(axis=0)
            if bad.any():
                continue  # no interval will be given: only count the draws that cannot be scored
            for i in range(b0, b1, chunk):
                sl = slice(i, min(i + chunk, b1))
                v = det_draws[local[inv[sl]]]                    # (customers, draws), C order
                v *= _spend_draws(gg.model, draws_g, x[sl], m[sl])
                low[sl], high[sl] = row_quantiles(v, (lo_q, hi_q))
                totals += v.sum(axis=0)
                for g, (cds, labels) in codes.items():
                    onehot = np.zeros((len(labels), len(cds[sl])))
                    onehot[cds[sl], np.arange(len(cds[sl]))] = 1.0
                    group_draws[g] += (onehot @ v).T
            del det_draws
    if bad.any() or not np.isfinite(value).all():
        shown = {k: round(float(v), 4) for k, v in fit.params.items()}
        # a weakly identified fit (e.g. Pareto/NBD's s and beta far beyond the data) has draws where its special
        # functions overflow: no interval can be computed from them, so this model cannot value the base
        raise clv.CLVFitError(
            f"{fit.model}: the expected purchases cannot be computed for {int(bad.sum())} of {n_draws} "
            f"parameter draws (the data hardly bound its parameters: {shown}), so it gives no interval")
    scores = pd.DataFrame({
        "customer_id": s["customer_id"].astype(str), "p_alive": pa,
        "expected_purchases": exp_h, "expected_spend": spend,
        "clv": value, "clv_low": low, "clv_high": high,
    })
    total = float(value.sum())
    tl, th = np.quantile(totals, [lo_q, hi_q])
    out = {"clv_total": total, "clv_total_low": float(tl), "clv_total_high": float(th),
           "customers": int(len(s)), "n_unique_histories": int(len(ux)),
           "draws": n_draws, "interval": settings.interval}
    out.update(group_totals(value, codes, group_draws, settings.interval))
    return Forward(scores, fit, gg, out)


def _block_array(n_rows: int, n_draws: int) -> np.ndarray:
    """The draws of a block's unique histories, ``(n_rows, n_draws)`` in Fortran order (a draw's column is
    contiguous, so two threads fill their columns without copies)."""
    return np.empty((n_rows, n_draws), order="F")


def _spend_draws(model: str, draws_g: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Each customer's expected spend per purchase under each spend-model draw, ``(customers, draws)``.

    Gamma-Gamma's conditional mean ``(gamma + m x) p / (p x + q - 1)`` for repeat buyers and the
    population mean ``p gamma / (q - 1)`` for the others, evaluated only where it applies and in place
    (the operations of :func:`score_reference`'s ``np.where`` expression, so the same numbers).
    """
    if model == "common spend":
        return draws_g[None, :, 0]
    p_, q_, g_ = draws_g[None, :, 0], draws_g[None, :, 1], draws_g[None, :, 2]
    rep = x > 0
    out = np.empty((len(x), draws_g.shape[0]))
    out[~rep] = p_ * g_ / (q_ - 1.0)
    xr, mr = x[rep][:, None], m[rep][:, None]
    num = np.add(g_, mr * xr)
    num *= p_
    den = np.multiply(p_, xr)
    den += q_
    den -= 1.0
    num /= den
    out[rep] = num
    return out


def _blocks(inv: np.ndarray, n_unique: int, chunk: int, cap: int) -> list[tuple[int, int]]:
    """Consecutive customer chunks ``[i, i + chunk)`` grouped into blocks ``(start, stop)`` of at most ``cap``
    distinct histories (``inv``: each customer's history); a block starts at a chunk boundary, so
    the chunks are those of one pass over all customers."""
    seen = np.zeros(n_unique, bool)
    blocks, start, count = [], 0, 0
    for i in range(0, len(inv), chunk):
        ids = inv[i:i + chunk]
        new = np.unique(ids[~seen[ids]])
        if count + len(new) > cap and i > start:
            blocks.append((start, i))
            seen[:] = False
            start, count = i, 0
            new = np.unique(ids)
        seen[new] = True
        count += len(new)
    if len(inv):
        blocks.append((start, len(inv)))
    return blocks


def score_reference(s: pd.DataFrame, fit: clv.FitResult, gg: clv.FitResult | None, settings: ClvSettings, seed: int,
          groupings: dict[str, pd.Series] | None = None, chunk: int = 25_000) -> Forward:
    """The reference of :func:`score`: the same results, with every unique history's discounted expected
    transactions for every draw in memory at once (``unique histories x n_draws`` values: 1 GB at a
    million customers). Kept to test :func:`score` against.
    """
    horizon = settings.horizon_months * 365.25 / 12 / settings.unit_days
    pa = clv.p_alive(fit.model, fit.params, s["x"], s["t_x"], s["T"])
    exp_h = clv.expected_purchases(fit.model, fit.params, horizon, s["x"], s["t_x"], s["T"])
    if gg is None:
        scores = pd.DataFrame({"customer_id": s["customer_id"].astype(str), "p_alive": pa,
                               "expected_purchases": exp_h})
        return Forward(scores, fit, None, {"customers": int(len(s))})
    ux, utx, uT, _, inv = clv.unique_histories(s["x"], s["t_x"], s["T"])
    index = clv.history_index(ux, utx, uT)

    def det(params):  # discounted expected transactions per unique history
        return clv.discounted_expected_transactions(fit.model, params, ux, utx, uT, settings.horizon_months,
                                                    settings.annual_discount, settings.unit_days, index=index)

    spend = clv.expected_spend(gg.params, s["x"], s["m_x"])
    value = det(fit.params)[inv] * spend

    names = list(fit.params)
    stage(f"clv: scoring {len(s):,} customers with {settings.n_draws} parameter draws")
    draws_p = fit.draws(settings.n_draws, seed)
    draws_g = gg.draws(settings.n_draws, seed + 1)
    # draws are independent: two threads (the special functions release the GIL), each fills its column of a
    # (unique histories x draws) array in Fortran order (a column is contiguous; no copy to stack them)
    det_draws = np.empty((len(ux), settings.n_draws), order="F")

    def fill(j: int) -> None:
        det_draws[:, j] = det(dict(zip(names, draws_p[j], strict=True)))

    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        list(pool.map(fill, range(settings.n_draws)))
    bad = ~np.isfinite(det_draws).all(axis=0)
    if bad.any() or not np.isfinite(value).all():
        shown = {k: round(float(v), 4) for k, v in fit.params.items()}
        # a weakly identified fit (e.g. Pareto/NBD's s and beta far beyond the data) has draws where its special
        # functions overflow: no interval can be computed from them, so this model cannot value the base
        raise clv.CLVFitError(
            f"{fit.model}: the expected purchases cannot be computed for {int(bad.sum())} of {settings.n_draws} "
            f"parameter draws (the data hardly bound its parameters: {shown}), so it gives no interval")
    lo_q, hi_q = (1 - settings.interval) / 2, 1 - (1 - settings.interval) / 2
    low = np.empty(len(s))
    high = np.empty(len(s))
    totals = np.zeros(settings.n_draws)
    x = s["x"].to_numpy(float)
    m = np.nan_to_num(s["m_x"].to_numpy(float))
    codes = _group_codes(s["customer_id"], groupings)
    group_draws = {g: np.zeros((settings.n_draws, len(c[1]))) for g, c in codes.items()}
    for i in range(0, len(s), chunk):
        sl = slice(i, i + chunk)
        xs, ms = x[sl][:, None], m[sl][:, None]
        if gg.model == "common spend":
            sp = draws_g[None, :, 0]
        else:
            p_, q_, g_ = draws_g[None, :, 0], draws_g[None, :, 1], draws_g[None, :, 2]
            sp = np.where(xs > 0, (g_ + ms * xs) * p_ / (p_ * xs + q_ - 1.0), p_ * g_ / (q_ - 1.0))
        v = det_draws[inv[sl]] * sp                    # (customers, draws), C order
        low[sl], high[sl] = row_quantiles(v, (lo_q, hi_q))
        totals += v.sum(axis=0)
        for g, (cds, labels) in codes.items():
            onehot = np.zeros((len(labels), len(cds[sl])))
            onehot[cds[sl], np.arange(len(cds[sl]))] = 1.0
            group_draws[g] += (onehot @ v).T
    scores = pd.DataFrame({
        "customer_id": s["customer_id"].astype(str), "p_alive": pa,
        "expected_purchases": exp_h, "expected_spend": spend,
        "clv": value, "clv_low": low, "clv_high": high,
    })
    total = float(value.sum())
    tl, th = np.quantile(totals, [lo_q, hi_q])
    out = {"clv_total": total, "clv_total_low": float(tl), "clv_total_high": float(th),
           "customers": int(len(s)), "n_unique_histories": int(len(ux)),
           "draws": settings.n_draws, "interval": settings.interval}
    out.update(group_totals(value, codes, group_draws, settings.interval))
    return Forward(scores, fit, gg, out)


def row_quantiles(v: np.ndarray, qs: tuple[float, ...]) -> list[np.ndarray]:
    """Quantiles ``qs`` of each row of ``v`` (linear interpolation, as ``np.quantile``'s default).

    A partial sort of each contiguous row at the few positions needed, instead of ``np.quantile``
    along the first axis (which sorts strided columns); the same numbers (tested).
    """
    n = v.shape[1]
    pos = [q * (n - 1) for q in qs]
    lo = [int(np.floor(h)) for h in pos]
    kth = sorted({k for lk in lo for k in (lk, min(lk + 1, n - 1))})
    part = np.partition(v, kth, axis=1)
    return [part[:, lk] + (h - lk) * (part[:, min(lk + 1, n - 1)] - part[:, lk]) for h, lk in zip(pos, lo, strict=True)]


def _group_codes(customer_id: pd.Series, groupings: dict[str, pd.Series] | None) -> dict[str, tuple]:
    """Per grouping: each customer's group code and the group labels (sorted; ``(none)`` for customers without)."""
    codes = {}
    for gname, ser in (groupings or {}).items():
        lab = ser.astype(str).reindex(customer_id.astype(str)).fillna("(none)")
        codes[gname] = pd.factorize(lab, sort=True)
    return codes


def group_totals(value: np.ndarray, codes: dict[str, tuple], group_draws: dict[str, np.ndarray],
                 interval: float) -> dict[str, pd.DataFrame]:
    """``by_<grouping>`` tables: customers, point total, interval from the draw-by-draw group totals, mean, share."""
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    total = float(np.sum(value))
    out = {}
    for g, (cds, labels) in codes.items():
        point = pd.Series(value).groupby(cds).sum()
        lo, hi = np.quantile(group_draws[g], [lo_q, hi_q], axis=0)
        counts = np.bincount(cds, minlength=len(labels))
        out[f"by_{g}"] = (
            pd.DataFrame({g: list(labels), "customers": counts,
                          "clv_total": point.reindex(range(len(labels))).fillna(0.0).to_numpy(),
                          "clv_low": lo, "clv_high": hi})
            .assign(clv_mean=lambda d: d["clv_total"] / d["customers"].clip(lower=1),
                    share_of_clv=lambda d: d["clv_total"] / max(total, 1e-9))
            .sort_values("clv_total", ascending=False)
        )
    return out


def top_share(values: pd.Series, top: float = 0.10) -> float:
    """Share of total value held by the top ``top`` share of customers."""
    v = np.sort(np.asarray(values, float))[::-1]
    k = max(int(np.ceil(top * len(v))), 1)
    return float(v[:k].sum() / v.sum()) if v.sum() > 0 else float("nan")


def p_alive_matrix(summary: pd.DataFrame, p: np.ndarray, unit_days: float = 7.0) -> pd.DataFrame:
    """Mean P(alive) by repeat purchases (rows, 0..9 and 10+) and weeks since the last purchase (columns)."""
    x = summary["x"].clip(upper=10).map(lambda v: "10+" if v >= 10 else str(int(v)))
    since = (summary["T"] - summary["t_x"]).to_numpy() * unit_days / 7.0
    bins = [-0.01, 4, 13, 26, 52, 104, np.inf]
    labels = ["0-4", "4-13", "13-26", "26-52", "52-104", "104+"]
    rec = pd.cut(since, bins=bins, labels=labels)
    t = pd.DataFrame({"x": x, "rec": rec, "p": p}).pivot_table(index="x", columns="rec", values="p", aggfunc="mean",
                                                              observed=False)
    order = [str(i) for i in range(10)] + ["10+"]
    t = t.reindex([o for o in order if o in t.index])
    t.index.name, t.columns.name = tr("Repeat purchases so far"), tr("Weeks since the last purchase")
    return t


def spend_check_table(bt: Backtest) -> pd.DataFrame:
    """Gamma-Gamma's holdout spend check as a one-row table (or a row saying why there is none)."""
    c = bt.spend_check
    if not c or c.get("customers", 0) == 0:
        note = (tr("spend model not identified on the calibration period") if "gammagamma" in bt.failures
                else tr("no customer bought in the holdout"))
        return pd.DataFrame([{"customers": 0, "predicted": None, "actual": None, "note": note}])
    return pd.DataFrame([{"customers": c["customers"], "predicted": c["predicted_mean_spend"],
                          "actual": c["actual_mean_spend"], "note": tr("mean spend per purchase")}])


def groupings(scores: pd.DataFrame | None) -> dict[str, pd.Series]:
    """Segment and cluster of each customer from step 20's ``segment_scores`` (none when it did not run)."""
    if scores is None:
        return {}
    ids = scores["customer_id"].astype(str)
    return {c: pd.Series(scores[c].astype(str).to_numpy(), index=ids) for c in ("rfm_segment", "cluster")
            if c in scores.columns}


def group_table(fw: Forward, name: str) -> pd.DataFrame | None:
    """CLV by group (``by_<name>`` of the forward totals); ``None`` when the grouping is not there."""
    t = fw.totals.get(f"by_{name}")
    if t is None:
        return None
    return t[[name, "customers", "clv_total", "clv_low", "clv_high", "clv_mean", "share_of_clv"]]


def parameter_table(fw: Forward) -> pd.DataFrame:
    """Final parameters of the purchase and spend models used for the forecast, with standard errors."""
    parts = [fw.fit.table()] + ([fw.spend_fit.table()] if fw.spend_fit is not None else [])
    return pd.concat(parts, ignore_index=True)


def looks_like_subscription(days: clv_data.PurchaseDays | pd.DataFrame) -> float:
    """Share of repeat buyers whose purchases come at regular monthly intervals (a subscription's payments).

    A repeat buyer counts when they bought on at least three days, the mean gap between purchase days is
    27 to 35 days and the gaps vary by less than a fifth of it (coefficient of variation < 0.2).
    ``days``: the purchase days (the numpy reference), or the per-customer gap counts and sums of
    :func:`helpers.value.data.purchase_day_gaps_engine` (what the step computes on the engine).
    """
    g = days if isinstance(days, pd.DataFrame) else clv_data.purchase_day_gaps(days)
    n = g["n"].to_numpy(float)
    s1 = g["s1"].to_numpy(float)
    s2 = g["s2"].to_numpy(float)
    many = n >= 2
    if not many.any():
        return 0.0
    mean = s1[many] / n[many]
    sd = np.sqrt(np.maximum(s2[many] / n[many] - mean ** 2, 0.0) * n[many] / (n[many] - 1))
    regular = (mean >= 27) & (mean <= 35) & (sd < 0.2 * mean)
    return float(regular.mean())
