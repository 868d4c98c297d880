"""The CLV step for subscriptions (contractual businesses): retention by cohort, backtest, value with intervals.

A subscription business knows when a customer leaves (they cancel, or stop paying), so the value of
a subscriber is how many more periods they will pay for, times what they pay per period. Retention
comes from the sBG or the beta-discrete-Weibull (:mod:`helpers.value.retention`), fitted by maximum
likelihood on every subscriber's periods paid and status, overall and by acquisition cohort.

**Backtest**: the models are fitted on the subscribers' history up to ``as_of - holdout_days``
(status and periods as they were then) and asked how many of the subscribers active then are still
subscribed at each month of the holdout, against what happened, beside the naive geometric model
(one churn rate for all). **Model choice** (``clv.retention_model: auto``): the highest **holdout
log-likelihood** of what each subscriber did after the calibration date (cancelled at period ``n``,
or still subscribed): a proper scoring rule of the whole predicted distribution of lifetimes, which
is what a value built on survival probabilities needs, and it needs no binning. The BdW has one
parameter more than the sBG (which it contains, ``c = 1``) and is chosen only when it wins by more
than one log-likelihood unit (:data:`BDW_MARGIN`); the geometric baseline is scored the same way and
is used when it beats both (the page then says so). The backtest fits each model the way the
forecast does, by cohort where a cohort is large enough.

**Value** (Fader & Hardie 2010): for each active subscriber in period ``n``, the discounted expected
payments over the next ``K = horizon_months / period_months`` renewals (``clv``: the same horizon as
the non-contractual page, so one number means the same on every page) and over the whole residual
lifetime (DERL, in ``clv.json``), times the current payment per period. Each cohort with at least
``min_cohort_customers`` subscribers and ``min_cancellations`` cancellations has its own fit; the
others use the fit of all subscribers. Intervals: ``n_draws`` draws of each fit's parameters from its
asymptotic normal (log scale, seeded), every subscriber's value per draw, central ``interval`` share.

``value_scores`` keeps the non-contractual columns with these meanings: ``p_alive`` = probability
that the subscriber is still subscribed at the end of the horizon (0 for those who cancelled),
``expected_purchases`` = expected payments over the horizon, ``expected_spend`` = current payment per
period, ``clv``, ``clv_low``, ``clv_high`` = discounted value over the horizon and its interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.frame.outcome import NotAvailable
from helpers.frame.progress import stage
from helpers.frame.settings import BusinessSettings, ClvSettings
from helpers.locale import fmt_int, fmt_pct, ntr, tr
from helpers.value import model as clv
from helpers.value import periods as pr
from helpers.value import retention as rt
from helpers.value.noncontractual import _group_codes, group_totals

__all__ = [
    "RETENTION_NAMES",
    "BASELINE",
    "BDW_MARGIN",
    "COHORT_TEST_LEVEL",
    "Subscribers",
    "RetentionBacktest",
    "RetentionForward",
    "subscribers",
    "data_check",
    "CohortFits",
    "fit_by_cohort",
    "active_share_sentence",
    "retention_backtest",
    "retention_forward",
    "horizon_periods",
    "period_discount",
    "cohort_curves",
]

RETENTION_NAMES = {"sbg": "sBG", "bdw": "BdW"}
#: The naive baseline of the retention backtest (one churn probability for everybody).
BASELINE = "geometric"
#: Holdout log-likelihood units by which the BdW must beat the sBG (which is the BdW with c = 1) to be
#: chosen: one, the penalty of one extra parameter in Akaike's criterion.
BDW_MARGIN = 1.0
#: Significance level of the likelihood-ratio test that gives a cohort its own retention parameters.
COHORT_TEST_LEVEL = 0.05


@dataclass
class Subscribers:
    """Every subscriber's payments summary and status at the as-of date (and what the backtest needs)."""

    table: pd.DataFrame
    status: pd.DataFrame
    as_of: pd.Timestamp
    calibration_end: pd.Timestamp
    period_months: int
    label_used: bool


@dataclass
class RetentionBacktest:
    """Holdout comparison of the retention models and the geometric baseline."""

    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    fits: dict[str, clv.FitResult]
    failures: dict[str, str]
    metrics: pd.DataFrame
    curve: pd.DataFrame
    by_cohort: pd.DataFrame
    chosen: str
    reason: str
    beats_baseline: bool
    subscribers: int


@dataclass
class RetentionForward:
    """The retention model refitted on all history, by cohort, and every subscriber's value."""

    scores: pd.DataFrame
    fit: clv.FitResult
    cohorts: pd.DataFrame
    cohort_fits: dict[str, clv.FitResult]
    totals: dict
    curves: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def horizon_periods(settings: ClvSettings, period_months: int) -> int:
    """Renewals in the value horizon: ``horizon_months // period_months``, at least one."""
    return max(settings.horizon_months // period_months, 1)


def period_discount(settings: ClvSettings, period_months: int) -> float:
    """Discount rate per period from the yearly rate: ``(1 + annual)^(period_months / 12) - 1``."""
    return (1.0 + settings.annual_discount) ** (period_months / 12) - 1.0


def subscribers(orders, customers: pd.DataFrame | None, as_of: pd.Timestamp, business: BusinessSettings,
                settings: ClvSettings) -> Subscribers:
    """Periods paid, current payment and status of every subscriber, from the payments (on the engine).

    Parameters
    ----------
    orders : Parquet path, DataFrame or Ibis table
        The clean orders: in a subscription business, the payments.
    customers : DataFrame, optional
        Its ``churned`` column, when present, decides who has cancelled (else the payments do).
    """
    as_of = pd.Timestamp(as_of).normalize()
    cal_end = as_of - pd.Timedelta(days=settings.holdout_days)
    stage("clv: renewal periods per subscriber")
    table = pr.renewal_table(orders, as_of, business.period_months, cal_end, customers)
    status = pr.status_at(table, as_of, as_of, business.period_months, settings.payment_grace_days)
    status["cohort"] = pr.cohort_labels(status["first"], settings.cohort).to_numpy()
    label = bool(table["label"].notna().any())
    return Subscribers(table, status, as_of, cal_end, business.period_months, label)


def data_check(status: pd.DataFrame, settings: ClvSettings, part: str, title: str) -> NotAvailable | None:
    """Whether subscribers' statuses are enough for the retention models (``None``: they are)."""
    n = len(status)
    why = tr("retention is learned from subscribers who renewed and subscribers who cancelled; the value of a "
             "subscriber is how long they are expected to stay")
    if n == 0:
        return NotAvailable(part, tr("there are no subscribers with a payment in this period"), why,
                            tr("a payment history"), title)
    if n < settings.min_customers:
        return NotAvailable(part, ntr("only {n} subscriber, fewer than the {min} the retention models need",
                                      "only {n} subscribers, fewer than the {min} the retention models need", n,
                                      min=fmt_int(settings.min_customers)), why,
                            tr("a payment history with at least {min} subscribers",
                               min=fmt_int(settings.min_customers)), title)
    churns = int(status["churned"].sum())
    if churns == 0:
        return NotAvailable(part, tr("none of the {n} subscribers has cancelled yet", n=fmt_int(n)), why,
                            tr("a longer history in which some subscribers have cancelled (at least {min})",
                               min=fmt_int(settings.min_cancellations)), title)
    if churns < settings.min_cancellations:
        return NotAvailable(part, tr("only {k} of {n} subscribers have cancelled, fewer than {min}", k=fmt_int(churns),
                                     n=fmt_int(n), min=fmt_int(settings.min_cancellations)), why,
                            tr("a longer history in which at least {min} subscribers have cancelled",
                               min=fmt_int(settings.min_cancellations)), title)
    if int(status["n"].max()) < 2:
        return NotAvailable(part, tr("every subscriber is still in their first period"), why,
                            tr("a history in which subscribers have renewed at least once"), title)
    return None


@dataclass
class CohortFits:
    """One retention model fitted on all subscribers and on every cohort large enough for its own fit.

    ``cohorts``: the cohorts that keep their own parameters; ``own``: every cohort's own fit, kept or
    not (a start for the next model).
    """

    overall: clv.FitResult
    cohorts: dict[str, clv.FitResult]
    notes: list[str]
    failures: dict[str, str]
    own: dict[str, clv.FitResult] = field(default_factory=dict)

    def params_of(self, cohort: np.ndarray) -> list[tuple[np.ndarray, dict[str, float]]]:
        """(rows, parameters) pairs covering every subscriber: each cohort's own fit, else the overall one."""
        codes, labels = pd.factorize(pd.Series(cohort))
        out = []
        rest = np.ones(len(codes), bool)
        for i, c in enumerate(labels):
            if c in self.cohorts:
                sel = codes == i
                out.append((sel, self.cohorts[c].params))
                rest &= ~sel
        out.append((rest, self.overall.params))
        return out


def _fit_one(name: str, d: rt.RetentionData, start: clv.FitResult | None) -> clv.FitResult:
    """``name`` on ``d``; the BdW starts from the sBG's estimate on the same data when given."""
    if name == "BdW":
        return rt.fit_bdw(d, start=None if start is None else start.log_params)
    return rt.fit_retention(name, d)


def fit_by_cohort(status: pd.DataFrame, name: str, settings: ClvSettings, sbg: CohortFits | None = None) -> CohortFits:
    """Fit ``name`` on all subscribers, then give a cohort its own parameters when the data say it differs.

    A cohort is fitted on its own when it has at least ``min_cohort_customers`` subscribers and
    ``min_cancellations`` cancellations; it keeps its own parameters when they fit its subscribers
    significantly better than the overall ones (likelihood-ratio test at :data:`COHORT_TEST_LEVEL`,
    degrees of freedom = the model's parameters). A young cohort, observed over a few periods only,
    cannot tell heterogeneity from a constant churn rate; its own fit would project its retention
    from those few periods, the overall fit from every cohort's longer history. A cohort whose own
    fit does not converge uses the overall fit, with a note. ``sbg``: the sBG's fits on the same
    subscribers, where the BdW's searches start.

    Raises
    ------
    clv.CLVFitError
        The model cannot be fitted on all subscribers.
    """
    from scipy.stats import chi2
    overall = _fit_one(name, rt.retention_data(status["n"], status["churned"]), sbg.overall if sbg else None)
    fits, notes, failures, own = {}, [], {}, {}
    for cohort, g in status.groupby("cohort", sort=True):
        if len(g) >= settings.min_cohort_customers and int(g["churned"].sum()) >= settings.min_cancellations:
            d = rt.retention_data(g["n"], g["churned"])
            try:
                own[cohort] = _fit_one(name, d, sbg.own.get(cohort) if sbg else None)
            except clv.CLVFitError as e:
                notes.append(tr("Cohort {cohort}: its own {model} fit did not converge; it uses the fit of all "
                                "subscribers.", cohort=cohort, model=name))
                failures[cohort] = str(e)
                continue
            at_overall = float((d.weight * rt.retention_loglik(name, overall.params, d.n, d.churned)).sum())
            lr = 2.0 * (own[cohort].loglik - at_overall)
            if chi2.sf(max(lr, 0.0), len(own[cohort].params)) < COHORT_TEST_LEVEL:
                fits[cohort] = own[cohort]
    return CohortFits(overall, fits, notes, failures, own)


def _fit_all(status: pd.DataFrame, settings: ClvSettings) -> tuple[dict[str, CohortFits], dict[str, str]]:
    fits, failures = {}, {}
    for key in (*RETENTION_NAMES, BASELINE):
        try:
            fits[key] = fit_by_cohort(status, _name(key), settings, sbg=fits.get("sbg") if key == "bdw" else None)
        except clv.CLVFitError as e:
            failures[key] = str(e)
    return fits, failures


def _name(key: str) -> str:
    return RETENTION_NAMES.get(key, BASELINE)


def _label(key: str) -> str:
    """A model's name in tables: the baseline says it is the naive one."""
    return tr("geometric (naive baseline)") if key == BASELINE else _name(key)


def retention_backtest(subs: Subscribers, settings: ClvSettings) -> RetentionBacktest:
    """Fit on the history to the calibration date, predict the holdout's survivors, compare, choose.

    Raises
    ------
    clv.CLVFitError
        No retention model can be fitted on the calibration period.
    """
    P = subs.period_months
    cal = pr.status_at(subs.table, subs.calibration_end, subs.as_of, P, settings.payment_grace_days)
    cal["cohort"] = pr.cohort_labels(cal["first"], settings.cohort).to_numpy()
    stage(f"clv: retention backtest, calibration to {subs.calibration_end.date()}")
    fits, failures = _fit_all(cal, settings)
    if not any(k in fits for k in RETENTION_NAMES):
        raise clv.CLVFitError("; ".join(f"{_name(k)}: {v}" for k, v in failures.items()))
    act = cal[~cal["churned"]].reset_index(drop=True)
    cohort = act["cohort"].to_numpy()
    n0 = act["n"].to_numpy(float)
    n1 = act["n_final"].to_numpy(float)
    ch1 = act["churned_final"].to_numpy(bool)
    # months of the holdout: the survivors of the calibration base at each month end
    months = max(int(round(settings.holdout_days / 30.436875)), 1)
    dates = [subs.calibration_end + pd.DateOffset(months=m) for m in range(months + 1)]
    dates[-1] = min(dates[-1], subs.as_of)
    first = act["first"]
    curve = {"date": dates, "actual": []}
    reach = []
    for dte in dates:
        running = np.floor(pr.whole_months(first, pd.Timestamp(dte)) / P) + 1
        reach.append(running)
        curve["actual"].append(float((~ch1 | (running <= n1)).sum()))
    final_running = reach[-1]

    masks = {k: f.params_of(cohort) for k, f in fits.items()}

    def per_subscriber(key: str, fn) -> np.ndarray:
        out = np.zeros(len(act))
        for sel, params in masks[key]:
            out[sel] = fn(_name(key), params, sel)
        return out

    rows, survivors = [], {}
    for k in fits:
        hl = per_subscriber(k, lambda m, p, sel: rt.holdout_loglik(m, p, n0[sel], n1[sel], ch1[sel]))
        curve[_label(k)] = [float(per_subscriber(k, lambda m, p, sel, r=r: rt.expected_survivors(
            m, p, n0[sel], np.maximum(r[sel] - n0[sel], 0))).sum()) for r in reach]
        survivors[k] = per_subscriber(k, lambda m, p, sel: rt.expected_survivors(
            m, p, n0[sel], np.maximum(final_running[sel] - n0[sel], 0)))
        f = fits[k].overall
        rows.append({"model": _label(k), "key": k, "holdout_loglik": float(hl.sum()),
                     "predicted_survivors": curve[_label(k)][-1], "actual_survivors": curve["actual"][-1],
                     "error_pct": (curve[_label(k)][-1] - curve["actual"][-1]) / max(curve["actual"][-1], 1.0),
                     "cohort_fits": len(fits[k].cohorts), "calibration_loglik": f.loglik, "aic": f.aic})
    metrics = pd.DataFrame(rows)
    ll = metrics.set_index("key")["holdout_loglik"]
    candidates = [k for k in RETENTION_NAMES if k in fits]
    best = max(candidates, key=lambda k: ll[k])
    if best == "bdw" and "sbg" in fits and ll["bdw"] - ll["sbg"] <= BDW_MARGIN:
        best = "sbg"  # the sBG is the BdW with c = 1: its extra parameter must earn its keep on the holdout
    base_ll = ll.get(BASELINE, -np.inf)
    if settings.retention_model != "auto" and settings.retention_model in fits:
        chosen = settings.retention_model
        reason = tr("{model} is used because clv.retention_model names it.", model=_name(chosen))
    elif base_ll > ll[best]:
        chosen = BASELINE
        reason = tr("Neither sBG nor BdW predicted the holdout better than one churn rate for everybody, so the "
                    "forecast uses that geometric model: the data show no sign that the subscribers who stay are the "
                    "loyal ones, and the forecast is only as good as that simple assumption.")
    else:
        chosen = best
        other = next((k for k in candidates if k != best), None)
        reason = (tr("{model} is used: its holdout log-likelihood is {ll}, against {other_ll} for {other}; BdW "
                     "(duration dependence) is preferred only when it beats the sBG by more than one unit, the "
                     "price of its extra parameter.", model=_name(best), ll=f"{ll[best]:,.1f}", other=_name(other),
                     other_ll=f"{ll[other]:,.1f}") if other else
                  tr("{model} is used: the only retention model that could be fitted on the calibration period.",
                     model=_name(best)))
    beats = bool(ll[chosen] >= base_ll)
    metrics["chosen"] = metrics["key"] == chosen
    # by cohort: the chosen model's predicted survivors against the actual ones
    alive = (~ch1) | (final_running <= n1)
    by = (pd.DataFrame({"cohort": cohort, "active_at_calibration": 1, "actual_survivors": alive.astype(float),
                        "predicted_survivors": survivors[chosen]})
          .groupby("cohort", sort=True).sum().reset_index())
    by["error_pct"] = (by["predicted_survivors"] - by["actual_survivors"]) / by["actual_survivors"].clip(lower=1)
    return RetentionBacktest(subs.calibration_end, subs.as_of, {k: f.overall for k, f in fits.items()}, failures,
                             metrics.drop(columns="key"), pd.DataFrame(curve), by, chosen, reason, beats, int(len(cal)))


def _fit_dict(f: clv.FitResult) -> dict:
    return {"model": f.model, "params": f.params, "se": f.se, "loglik": f.loglik, "aic": f.aic, "n": f.n}


def retention_forward(subs: Subscribers, settings: ClvSettings, seed: int, groupings: dict[str, pd.Series] | None,
                      model: str) -> RetentionForward:
    """Refit ``model`` on all history, overall and by cohort, and value every active subscriber.

    Raises
    ------
    clv.CLVFitError
        The model cannot be fitted on all subscribers.
    """
    st = subs.status
    name = _name(model)
    stage(f"clv: {name} on {len(st):,} subscribers, overall and by cohort")
    cf = fit_by_cohort(st, name, settings)
    rows = []
    for cohort, g in st.groupby("cohort", sort=True):
        f = cf.cohorts.get(cohort, cf.overall)
        rows.append({"cohort": cohort, "subscribers": int(len(g)), "active": int((~g["churned"]).sum()),
                     "cancelled": int(g["churned"].sum()), "fit": "own" if cohort in cf.cohorts else "overall",
                     **{k: v for k, v in f.params.items()}, **{f"{k}_se": v for k, v in f.se.items()},
                     "retention_1": float(rt.survival(name, f.params, 1)),
                     "retention_12": float(rt.survival(name, f.params, 12 // subs.period_months or 1))})
    cohorts = pd.DataFrame(rows)
    scores, totals = _value(subs, settings, seed, groupings, name, cf.overall, cf.cohorts)
    return RetentionForward(scores, cf.overall, cohorts, cf.cohorts, totals,
                            cohort_curves(st, name, cf.overall, cf.cohorts), cf.notes)


def _value(subs: Subscribers, settings: ClvSettings, seed: int, groupings: dict[str, pd.Series] | None, name: str,
           overall: clv.FitResult, fits: dict[str, clv.FitResult]) -> tuple[pd.DataFrame, dict]:
    """Per subscriber and in total: value over the horizon with intervals, and the residual lifetime value."""
    st = subs.status
    K = horizon_periods(settings, subs.period_months)
    d = period_discount(settings, subs.period_months)
    lifetime = d > 0
    active = ~st["churned"].to_numpy(bool)
    n = st["n"].to_numpy(np.int64)
    pay = np.where(active, st["payment"].to_numpy(float), 0.0)
    n_max = int(n.max())
    # which fit each subscriber uses: 0 = overall, i = the i-th cohort fit
    labels = ["(all)"] + list(fits)
    fit_of = np.zeros(len(st), np.int64)
    for i, c in enumerate(fits, start=1):
        fit_of[st["cohort"].to_numpy() == c] = i
    all_fits = [overall] + [fits[c] for c in fits]
    D = settings.n_draws
    lo_q, hi_q = (1 - settings.interval) / 2, 1 - (1 - settings.interval) / 2
    stage(f"clv: value of {int(active.sum()):,} active subscribers with {D} parameter draws")
    # every quantity depends on (fit, period) only: grids of (draws x periods) per fit, never draws x subscribers
    point, draws = [], []
    for i, f in enumerate(all_fits):
        point.append(rt.value_grid(name, {k: np.array([v]) for k, v in f.params.items()}, n_max, d, K, lifetime))
        dr = f.draws(D, seed + i)
        draws.append(rt.value_grid(name, {k: dr[:, j] for j, k in enumerate(f.params)}, n_max, d, K, lifetime))
    col = n - 1

    def pick(grids: list[np.ndarray]) -> np.ndarray:
        out = np.zeros(len(st))
        for i, g in enumerate(grids):
            sel = fit_of == i
            out[sel] = g[col[sel]]
        return out

    h_point = pick([g["horizon"][0] for g in point])
    value = pay * h_point
    q_lo = pick([np.quantile(g["horizon"], lo_q, axis=0) for g in draws])
    q_hi = pick([np.quantile(g["horizon"], hi_q, axis=0) for g in draws])
    survive = np.where(active, pick([g["survive"][0] for g in point]), 0.0)
    payments = np.where(active, pick([g["payments"][0] for g in point]), 0.0)
    scores = pd.DataFrame({"customer_id": st["customer_id"].astype(str).to_numpy(), "p_alive": survive,
                           "expected_purchases": payments, "expected_spend": pay,
                           "clv": value, "clv_low": pay * q_lo, "clv_high": pay * q_hi})
    codes = _group_codes(scores["customer_id"], {**(groupings or {}),
                                                 "cohort": pd.Series(st["cohort"].to_numpy(),
                                                                     index=st["customer_id"].astype(str))})

    def draw_totals(key: str, labels_of: np.ndarray | None = None, n_labels: int = 1) -> np.ndarray:
        """Per draw (and group): sum over subscribers of payment x grid, via payments summed per (period, group)."""
        g_of = np.zeros(len(st), np.int64) if labels_of is None else labels_of
        out = np.zeros((D, n_labels))
        for i, g in enumerate(draws):
            sel = fit_of == i
            w = np.bincount(col[sel] * n_labels + g_of[sel], weights=pay[sel], minlength=n_max * n_labels)
            out += g[key] @ w.reshape(n_max, n_labels)
        return out

    tot = draw_totals("horizon")[:, 0]
    totals = {"clv_total": float(value.sum()), "clv_total_low": float(np.quantile(tot, lo_q)),
              "clv_total_high": float(np.quantile(tot, hi_q)), "customers": int(len(st)),
              "active_subscribers": int(active.sum()), "payment_per_period_total": float(pay.sum()),
              "horizon_periods": K, "period_discount": d, "draws": D, "interval": settings.interval,
              "fits": labels}
    if lifetime:
        l_tot = draw_totals("lifetime")[:, 0]
        totals.update({"residual_value_total": float((pay * pick([g["lifetime"][0] for g in point])).sum()),
                       "residual_value_low": float(np.quantile(l_tot, lo_q)),
                       "residual_value_high": float(np.quantile(l_tot, hi_q))})
    group_draws = {g: draw_totals("horizon", cds, len(labs)) for g, (cds, labs) in codes.items()}
    totals.update(group_totals(value, codes, group_draws, settings.interval))
    return scores, totals


def cohort_curves(status: pd.DataFrame, name: str, overall: clv.FitResult, fits: dict[str, clv.FitResult],
                  largest: int = 6) -> pd.DataFrame:
    """Observed (Kaplan-Meier) and fitted share still subscribed by renewal, for the ``largest`` cohorts.

    Long format: ``cohort``, ``period``, ``observed`` (NaN where the cohort has not been observed that long),
    ``fitted``.
    """
    sizes = status["cohort"].value_counts()
    keep = sorted(sizes.index[:largest])
    out = []
    for c in keep:
        g = status[status["cohort"] == c]
        periods = int(g["n"].max())
        emp = rt.empirical_survival(g["n"], g["churned"], periods)
        f = fits.get(c, overall)
        out.append(emp.assign(cohort=c, fitted=rt.survival(name, f.params, emp["period"]))
                   .rename(columns={"share": "observed"}))
    return pd.concat(out, ignore_index=True)[["cohort", "period", "observed", "fitted", "at_risk"]]


def active_share_sentence(fw: RetentionForward, settings: ClvSettings, period_months: int) -> str:
    """How many active subscribers are expected to be still subscribed at the end of the horizon."""
    s = fw.scores
    active = s["expected_spend"] > 0
    k = horizon_periods(settings, period_months)
    return tr("{active} subscribers are active; on average each has a {share} chance of still being subscribed "
              "after the next {k} renewals, and {low} of them less than an even chance.",
              active=fmt_int(active.sum()), share=fmt_pct(s.loc[active, "p_alive"].mean()), k=fmt_int(k),
              low=fmt_int((s.loc[active, "p_alive"] < 0.5).sum()))
