"""The CLV step: a calibration/holdout backtest every quarter, then forward values with intervals.

Backtest: calibrate on history up to ``as_of - holdout_days``, predict each customer's repeat
purchases in the holdout with BG/NBD and Pareto/NBD, and compare with what happened, next to a
naive baseline (each customer repeats their calibration rate, ``x / T``). Gamma-Gamma's predicted
spend is compared with the actual mean spend per purchase of customers who bought in the holdout.

Forward: refit the chosen model and Gamma-Gamma on all history up to the as-of date; per customer
P(alive), expected purchases and discounted CLV over ``horizon_months``. Intervals come from
``n_draws`` parameter draws from each fit's asymptotic normal (log scale, seeded): the purchase
model and the spend model are drawn independently, each draw gives every customer's CLV, and the
interval is the central ``interval`` share of those values (per customer, and for the total).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.frame.outcome import summary_fields
from helpers.frame.progress import stage
from helpers.frame.settings import ClvSettings
from helpers.value import data as clv_data
from helpers.value import model as clv

__all__ = [
    "time_unit_words",
    "backtest_sentence",
    "MODEL_NAMES",
    "Backtest",
    "Forward",
    "Orders",
    "purchase_days",
    "backtest",
    "tracking",
    "fit_verdict",
    "forward",
    "score",
    "top_share",
    "p_alive_matrix",
    "clv_summary",
    "spend_check_table",
    "groupings",
    "group_table",
    "parameter_table",
    "value_sentences",
]


MODEL_NAMES = {"bgnbd": "BG/NBD", "paretonbd": "Pareto/NBD"}


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


@dataclass
class Forward:
    """Per-customer forward predictions with intervals, and the final fits."""

    scores: pd.DataFrame
    fit: clv.FitResult
    spend_fit: clv.FitResult
    totals: dict
    summary: pd.DataFrame | None = None
    """(x, t_x, T, m_x) of every customer on all history: the forecast's inputs."""


Orders = pd.DataFrame | clv_data.PurchaseDays


def purchase_days(orders: pd.DataFrame, as_of: pd.Timestamp) -> clv_data.PurchaseDays:
    """The order log reduced once to one row per customer and purchase day up to ``as_of``.

    Every function of this step accepts it in place of the orders; building it is the costly
    part of a summary, so a notebook builds it once.
    """
    stage("clv: purchase days per customer")
    return clv_data.purchase_days(orders, pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1))


def _days(orders: Orders, as_of: pd.Timestamp) -> clv_data.PurchaseDays:
    return orders if isinstance(orders, clv_data.PurchaseDays) else purchase_days(orders, as_of)


def _fit_models(s: pd.DataFrame) -> tuple[dict, dict]:
    fits, failures = {}, {}
    for key, (_name, fn) in clv.MODELS.items():
        try:
            fits[key] = fn(s["x"], s["t_x"], s["T"])
        except clv.CLVFitError as e:
            failures[key] = str(e)
    return fits, failures


def backtest(orders: Orders, as_of: pd.Timestamp, settings: ClvSettings) -> Backtest:
    """Calibrate up to ``as_of - holdout_days``, predict the holdout, compare.

    ``orders``: the clean orders, or their :func:`purchase_days`.

    Raises
    ------
    clv.CLVFitError
        When the chosen model cannot be fitted on the calibration period.
    """
    cal_end = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=settings.holdout_days)
    stage(f"clv: backtest, calibration to {cal_end.date()}")
    s = clv_data.calibration_summary(_days(orders, as_of), cal_end, as_of, settings.unit_days)
    stage(f"clv: fitting the models on {len(s):,} customers")
    fits, failures = _fit_models(s)
    if settings.model not in fits:
        raise clv.CLVFitError(f"backtest: {MODEL_NAMES[settings.model]} cannot be fitted on the calibration period "
                              f"to {cal_end.date()}: {failures.get(settings.model)}")
    h = float(s["holdout_length"].iloc[0])
    pred = {k: clv.expected_purchases(f.model, f.params, h, s["x"], s["t_x"], s["T"]) for k, f in fits.items()}
    naive = np.where(s["T"] > 0, s["x"] / s["T"].where(s["T"] > 0, 1.0), 0.0) * h
    group = s["x"].clip(upper=7).map(lambda v: "7+" if v >= 7 else str(v))
    bf = pd.DataFrame({"calibration_repeat_purchases": group, "actual": s["x_holdout"], "naive": naive,
                       **{MODEL_NAMES[k]: v for k, v in pred.items()}})
    by_freq = bf.groupby("calibration_repeat_purchases", sort=False).agg(
        customers=("actual", "size"), actual=("actual", "mean"), naive=("naive", "mean"),
        **{n: (n, "mean") for n in (MODEL_NAMES[k] for k in pred)})
    by_freq = by_freq.reindex([str(i) for i in range(7)] + ["7+"]).dropna(how="all").reset_index()
    rows = []
    actual = s["x_holdout"].to_numpy(float)
    for name, p in [(MODEL_NAMES[k], v) for k, v in pred.items()] + [("naive (calibration rate)", naive)]:
        err = np.asarray(p) - actual
        f = next((fits[k] for k in fits if MODEL_NAMES[k] == name), None)
        rows.append({"model": name, "predicted_total": float(np.sum(p)), "actual_total": float(actual.sum()),
                     "total_error_pct": float((np.sum(p) - actual.sum()) / max(actual.sum(), 1)),
                     "mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err ** 2).mean())),
                     "loglik": f.loglik if f else np.nan, "aic": f.aic if f else np.nan})
    metrics = pd.DataFrame(rows)
    spend_fit, spend_check = None, {}
    try:
        spend_fit = clv.fit_gammagamma(s["x"], s["m_x"])
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
                    spend_check, settings.model)


def tracking(orders: Orders, bt: Backtest, settings: ClvSettings) -> pd.DataFrame:
    """Weekly cumulative repeat purchases, actual and expected, over calibration and holdout.

    The expectation for the calibration-period customers is ``sum_i E[X(t - first_i)]`` with the
    unconditional BG/NBD / Pareto/NBD mean (FHL 2005, figure 2), computed per first-purchase day.
    ``orders``: the clean orders, or their :func:`purchase_days` (to the holdout's end or later).
    """
    pdays = _days(orders, bt.holdout_end)
    cust, day = pdays.customer, pdays.day
    block = np.r_[True, cust[1:] != cust[:-1]]
    first_day = np.full(len(pdays.ids), np.iinfo(np.int64).max)
    first_day[cust[block]] = day[block]
    cal_end = clv_data._day_number(bt.calibration_end)
    hold_end = clv_data._day_number(bt.holdout_end)
    f = first_day[cust]
    repeat = np.sort(day[(f <= cal_end) & (day > f) & (day <= hold_end)])
    first = bt.summary["first_purchase"]
    start = first.min()
    weeks = pd.date_range(start, bt.holdout_end, freq="7D")[1:]
    week_days = weeks.to_numpy().astype("datetime64[D]").astype("int64")
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
    return "weeks" if unit_days == 7 else f"{unit_days:g}-day units"


def backtest_sentence(bt: Backtest) -> str:
    """Where calibration ends and the holdout runs, then the verdict on the chosen model."""
    return (f"Calibration up to {bt.calibration_end.date()}, holdout to {bt.holdout_end.date()}. "
            + fit_verdict(bt))


def fit_verdict(bt: Backtest) -> str:
    """A plain-words verdict on the chosen model's holdout fit."""
    m = bt.metrics.set_index("model")
    name = MODEL_NAMES[bt.chosen]
    err = m.loc[name, "total_error_pct"]
    better = m.loc[name, "mae"] < m.loc["naive (calibration rate)", "mae"]
    size = abs(err)
    quality = "closely" if size < 0.1 else ("reasonably" if size < 0.25 else "poorly")
    return (f"Over the {int((bt.holdout_end - bt.calibration_end).days)}-day holdout, {name} predicted "
            f"{m.loc[name, 'predicted_total']:,.0f} repeat purchases against {m.loc[name, 'actual_total']:,.0f} actual "
            f"({err:+.0%}): it tracks the total {quality}, and its per-customer error is "
            f"{'smaller' if better else 'not smaller'} than the naive baseline's "
            f"(MAE {m.loc[name, 'mae']:.2f} vs {m.loc['naive (calibration rate)', 'mae']:.2f}).")


def forward(orders: Orders, as_of: pd.Timestamp, settings: ClvSettings, seed: int,
            groupings: dict[str, pd.Series] | None = None, chunk: int = 50_000) -> Forward:
    """Refit on all history to ``as_of``; P(alive), expected purchases, CLV with intervals per customer.

    Parameters
    ----------
    orders : DataFrame or PurchaseDays
        The clean orders, or their :func:`purchase_days`.
    groupings : dict of name -> Series, optional
        Customer id -> group label (e.g. RFM segment, cluster). For each grouping the group
        totals and their intervals are computed draw by draw (``totals["by_<name>"]``), which is
        what an interval of a total means (summing per-customer bounds would overstate it).
    """
    stage("clv: refitting on all history")
    s = clv_data.calibration_summary(_days(orders, as_of), as_of, None, settings.unit_days)
    _name, fn = clv.MODELS[settings.model]
    fit = fn(s["x"], s["t_x"], s["T"])
    gg = clv.fit_gammagamma(s["x"], s["m_x"])
    out = score(s, fit, gg, settings, seed, groupings, chunk)
    out.summary = s
    return out


def score(s: pd.DataFrame, fit: clv.FitResult, gg: clv.FitResult, settings: ClvSettings, seed: int,
          groupings: dict[str, pd.Series] | None = None, chunk: int = 50_000) -> Forward:
    """Score customers ``s`` (``customer_id``, ``x``, ``t_x``, ``T``, ``m_x``) with fitted models.

    Discounted expected transactions are computed once per unique (x, t_x, T) history and draw;
    spend and the per-customer quantiles are computed in chunks of ``chunk`` customers, so memory
    stays at ``n_draws x chunk`` values.
    """
    horizon = settings.horizon_months * 365.25 / 12 / settings.unit_days
    ux, utx, uT, _, inv = clv.unique_histories(s["x"], s["t_x"], s["T"])

    pidx, (px, pT) = clv._factorize_rows(ux, uT)

    def det(params):  # discounted expected transactions per unique history
        return clv.discounted_expected_transactions(fit.model, params, ux, utx, uT, settings.horizon_months,
                                                    settings.annual_discount, settings.unit_days,
                                                    pairs=(px, pT, pidx))

    pa = clv.p_alive(fit.model, fit.params, s["x"], s["t_x"], s["T"])
    exp_h = clv.expected_purchases(fit.model, fit.params, horizon, s["x"], s["t_x"], s["T"])
    spend = clv.expected_spend(gg.params, s["x"], s["m_x"])
    value = det(fit.params)[inv] * spend

    names = list(fit.params)
    stage(f"clv: scoring {len(s):,} customers with {settings.n_draws} parameter draws")
    draws_p = fit.draws(settings.n_draws, seed)
    draws_g = gg.draws(settings.n_draws, seed + 1)
    # draws are independent: two threads (the special functions release the GIL), results in draw order
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        det_draws = np.stack(
            list(pool.map(lambda d: det(dict(zip(names, d, strict=True))), draws_p))
        )  # (draws, unique)
    lo_q, hi_q = (1 - settings.interval) / 2, 1 - (1 - settings.interval) / 2
    low = np.empty(len(s))
    high = np.empty(len(s))
    totals = np.zeros(settings.n_draws)
    x = s["x"].to_numpy(float)
    m = np.nan_to_num(s["m_x"].to_numpy(float))
    codes = {}
    for gname, ser in (groupings or {}).items():
        lab = ser.astype(str).reindex(s["customer_id"].astype(str)).fillna("(none)")
        codes[gname] = pd.factorize(lab, sort=True)
    group_draws = {g: np.zeros((settings.n_draws, len(c[1]))) for g, c in codes.items()}
    for i in range(0, len(s), chunk):
        sl = slice(i, i + chunk)
        p_, q_, g_ = draws_g[:, 0:1], draws_g[:, 1:2], draws_g[:, 2:3]
        sp = np.where(x[sl] > 0, (g_ + m[sl] * x[sl]) * p_ / (p_ * x[sl] + q_ - 1.0), p_ * g_ / (q_ - 1.0))
        v = det_draws[:, inv[sl]] * sp
        low[sl], high[sl] = np.quantile(v, [lo_q, hi_q], axis=0)
        totals += v.sum(axis=1)
        for g, (cds, _) in codes.items():
            onehot = np.zeros((len(cds[sl]), len(codes[g][1])))
            onehot[np.arange(len(cds[sl])), cds[sl]] = 1.0
            group_draws[g] += v @ onehot
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
    for g, (cds, labels) in codes.items():
        point = pd.Series(value).groupby(cds).sum()
        lo, hi = np.quantile(group_draws[g], [lo_q, hi_q], axis=0)
        counts = np.bincount(cds, minlength=len(labels))
        out[f"by_{g}"] = (
            pd.DataFrame(
                {
                    g: list(labels),
                    "customers": counts,
                    "clv_total": point.reindex(range(len(labels))).to_numpy(),
                    "clv_low": lo,
                    "clv_high": hi,
                }
            )
            .assign(
                clv_mean=lambda d: d["clv_total"] / d["customers"].clip(lower=1),
                share_of_clv=lambda d: d["clv_total"] / max(total, 1e-9),
            )
            .sort_values("clv_total", ascending=False)
        )
    return Forward(scores, fit, gg, out)


def top_share(values: pd.Series, top: float = 0.10) -> float:
    """Share of total value held by the top ``top`` share of customers."""
    v = np.sort(np.asarray(values, float))[::-1]
    k = max(int(np.ceil(top * len(v))), 1)
    return float(v[:k].sum() / v.sum()) if v.sum() > 0 else float("nan")


def p_alive_matrix(summary: pd.DataFrame, p: np.ndarray) -> pd.DataFrame:
    """Mean P(alive) by repeat purchases (rows, 0..9 and 10+) and weeks since last purchase (columns)."""
    x = summary["x"].clip(upper=10).map(lambda v: "10+" if v >= 10 else str(int(v)))
    since = (summary["T"] - summary["t_x"]).to_numpy()
    bins = [-0.01, 4, 13, 26, 52, 104, np.inf]
    labels = ["0-4", "4-13", "13-26", "26-52", "52-104", "104+"]
    rec = pd.cut(since, bins=bins, labels=labels)
    t = pd.DataFrame({"x": x, "rec": rec, "p": p}).pivot_table(index="x", columns="rec", values="p", aggfunc="mean",
                                                              observed=False)
    order = [str(i) for i in range(10)] + ["10+"]
    t = t.reindex([o for o in order if o in t.index])
    t.index.name, t.columns.name = "repeat purchases", "time units since last purchase"
    return t


def clv_summary(bt: Backtest, fw: Forward, settings: ClvSettings, top10: float) -> dict:
    """The ``clv.json`` artifact. ``horizon_months`` is the horizon of ``value_scores``' ``clv`` and
    ``expected_purchases`` columns."""
    def fit_dict(f):
        return {"model": f.model, "params": f.params, "se": f.se, "loglik": f.loglik, "aic": f.aic,
                "n": f.n, "n_unique": f.n_unique}
    by = {k: v.to_dict(orient="records") for k, v in fw.totals.items() if k.startswith("by_")}
    return {
        **summary_fields(None),
        "model": MODEL_NAMES[settings.model], "horizon_months": settings.horizon_months,
        "annual_discount": settings.annual_discount, "unit_days": settings.unit_days,
        "backtest": {"calibration_end": bt.calibration_end.date().isoformat(),
                     "holdout_end": bt.holdout_end.date().isoformat(),
                     "fits": {MODEL_NAMES[k]: fit_dict(f) for k, f in bt.fits.items()},
                     "failures": bt.failures, "metrics": bt.metrics.to_dict(orient="records"),
                     "by_frequency": bt.by_frequency.to_dict(orient="records"),
                     "spend_check": bt.spend_check, "verdict": fit_verdict(bt)},
        "final": {"purchases": fit_dict(fw.fit), "spend": fit_dict(fw.spend_fit)},
        "totals": {k: v for k, v in fw.totals.items() if not k.startswith("by_")},
        "top10_share": top10,
        **by,
    }


def spend_check_table(bt: Backtest) -> pd.DataFrame:
    """Gamma-Gamma's holdout spend check as a one-row table (or a 'not available' row)."""
    c = bt.spend_check
    if not c or c.get("customers", 0) == 0:
        return pd.DataFrame([{"customers": 0, "predicted": None, "actual": None,
                              "note": bt.failures.get("gammagamma", "no customer bought in the holdout")}])
    return pd.DataFrame([{"customers": c["customers"], "predicted": c["predicted_mean_spend"],
                          "actual": c["actual_mean_spend"], "note": "mean spend per purchase"}])


def groupings(scores: pd.DataFrame | None) -> dict[str, pd.Series]:
    """Segment and cluster of each customer from step 20's ``segment_scores`` (none when it did not run)."""
    if scores is None:
        return {}
    ids = scores["customer_id"].astype(str)
    return {c: pd.Series(scores[c].astype(str).to_numpy(), index=ids) for c in ("rfm_segment", "cluster")
            if c in scores.columns}


def group_table(fw: Forward, name: str) -> pd.DataFrame:
    """CLV by group (``by_<name>`` of the forward totals), or one 'not available' row."""
    t = fw.totals.get(f"by_{name}")
    if t is None:
        return pd.DataFrame([{name: "not available (segments step did not run)", "customers": None}])
    return t[[name, "customers", "clv_total", "clv_low", "clv_high", "clv_mean", "share_of_clv"]]


def parameter_table(fw: Forward) -> pd.DataFrame:
    """Final parameters of the purchase and spend models used for the forecast, with standard errors."""
    return pd.concat([fw.fit.table(), fw.spend_fit.table()], ignore_index=True)


def value_sentences(fw: Forward, settings: ClvSettings, currency: str) -> str:
    """Headline numbers of the forecast in words."""
    from helpers.page.text import money
    t = fw.totals
    col = "clv"
    share = top_share(fw.scores[col])
    active = (fw.scores["p_alive"] >= 0.5).mean()
    return (f"- Predicted value of the customer base over the next {settings.horizon_months} months: "
            f"**{money(t['clv_total'], currency)}** ({settings.interval:.0%} interval "
            f"{money(t['clv_total_low'], currency)} to {money(t['clv_total_high'], currency)}), discounted at "
            f"{settings.annual_discount:.0%} a year.\n"
            f"- The top 10% of customers hold {share:.0%} of that value.\n"
            f"- {active:.0%} of customers are more likely active than not (P(alive) at least 0.5).")
