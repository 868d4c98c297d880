"""The customer-value page: one result for either kind of business, its sections, its JSON summary.

:func:`run` decides the kind of business (``business.model``; ``auto``: a subscription when the
customers table carries a churn label), checks that the data allow the models, runs the backtest and
the forecast of that kind (:mod:`helpers.value.noncontractual` for customers who buy when they like,
:mod:`helpers.value.contractual` for subscriptions) and keeps what could not be computed as
:class:`~helpers.frame.outcome.NotAvailable` parts. The ``show_*`` functions display one section each
(what applies to the kind of business, or why it is not available), so the notebook reads the same
for both; :func:`summary` is ``clv.json`` and :func:`save` writes it, with ``value_scores`` only when
there are values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.frame.outcome import NotAvailable, summary_fields
from helpers.frame.progress import stage
from helpers.frame.settings import BusinessSettings, ClvSettings
from helpers.locale import N_, fmt_date, fmt_int, fmt_money, fmt_number, fmt_pct, tr
from helpers.value import contractual as ct
from helpers.value import data as clv_data
from helpers.value import figures as fg
from helpers.value import model as clv
from helpers.value import noncontractual as nc

__all__ = ["ValueResult", "run", "segments_when_scoring", "activity", "show_overview", "show_backtest",
           "show_forecast", "show_activity",
           "show_groups", "summary", "save", "check_saved", "value_sentences", "mode_sentence"]

TITLE = N_("Customer lifetime value")


@dataclass
class ValueResult:
    """Everything the page shows, for either kind of business.

    ``unavailable``: the whole step is not available (then nothing else is set); ``parts``: parts of
    an available step that are not (the backtest, the value...).
    """

    contractual: bool
    why_mode: str
    settings: ClvSettings
    seed: int
    as_of: pd.Timestamp
    currency: str = ""
    period_months: int = 1
    unavailable: NotAvailable | None = None
    parts: list[NotAvailable] = field(default_factory=list)
    # customers who buy when they like
    backtest: nc.Backtest | None = None
    tracking: pd.DataFrame | None = None
    forward: nc.Forward | None = None
    model_key: str | None = None
    model_reason: str = ""
    subscription_share: float = 0.0
    failures: dict[str, str] = field(default_factory=dict)
    _activity: dict | None = None
    # subscriptions
    subs: ct.Subscribers | None = None
    rbacktest: ct.RetentionBacktest | None = None
    rforward: ct.RetentionForward | None = None

    @property
    def model(self) -> str | None:
        """The forecast's model, as its name (``BG/NBD``, ``sBG``...), or ``None``."""
        if self.contractual:
            return ct.RETENTION_NAMES.get(self.model_key, self.model_key) if self.rforward is not None else None
        return nc.MODEL_NAMES[self.model_key] if self.forward is not None else None

    @property
    def value_available(self) -> bool:
        """Whether every customer has a value (``value_scores`` is written)."""
        if self.contractual:
            return self.rforward is not None
        return self.forward is not None and self.forward.spend_fit is not None

    @property
    def scores(self) -> pd.DataFrame | None:
        """``value_scores``: one row per customer, or ``None`` when there are no values."""
        if not self.value_available:
            return None
        return self.rforward.scores if self.contractual else self.forward.scores

    @property
    def totals(self) -> dict:
        if self.contractual:
            return self.rforward.totals if self.rforward is not None else {}
        return self.forward.totals if self.forward is not None else {}


def has_churn_label(customers: pd.DataFrame | None) -> bool:
    """Whether the customers table carries a churn label with at least one value."""
    return customers is not None and "churned" in customers.columns and bool(customers["churned"].notna().any())


def _why_mode(business: BusinessSettings, label: bool, contractual: bool) -> str:
    if contractual:
        if business.model == "contractual":
            return tr("business.model is set to contractual")
        return tr("the customers table has a churn label (churned), so business.model: auto treats it as one")
    if business.model == "non_contractual":
        return tr("business.model is set to non_contractual")
    return tr("the customers table has no churn label and business.model is auto")


Groupings = dict[str, pd.Series] | Callable[[], dict[str, pd.Series]] | None


def _resolved(groupings: Groupings) -> dict[str, pd.Series] | None:
    """The groupings, read now if they were given as a function (see :func:`run`)."""
    return groupings() if callable(groupings) else groupings


def _once(groupings: Groupings) -> Groupings:
    """Groupings given as a function: a function that reads them on its first call only (a model that
    fails to score is followed by the next one, which must not read them again)."""
    if not callable(groupings):
        return groupings
    got: list[dict[str, pd.Series] | None] = []

    def read() -> dict[str, pd.Series] | None:
        if not got:
            got.append(groupings())
        return got[0]
    return read


def segments_when_scoring(catalog) -> Callable[[], dict[str, pd.Series]]:
    """A function reading step 20's segments and clusters (:func:`helpers.value.noncontractual.groupings`)
    when it is called: :func:`run` calls it only once the models are fitted, so the catalog's wait
    for ``segment_scores`` (20_rfm_clustering running beside this step) comes as late as it can.

    Parameters
    ----------
    catalog : helpers.frame.catalog.Catalog
        The notebook's catalog.
    """
    return lambda: nc.groupings(catalog.load_optional("segment_scores"))


def run(orders, customers: pd.DataFrame | None, as_of: pd.Timestamp, business: BusinessSettings,
        settings: ClvSettings, seed: int, groupings: Groupings = None,
        currency: str = "") -> ValueResult:
    """The whole step: mode, data checks, backtest, forecast; what cannot be computed becomes "not available".

    Parameters
    ----------
    orders : Ibis table, Parquet path or DataFrame
        The clean orders (``customer_id``, ``order_ts``, ``amount``); in a subscription business, the payments.
        They stay on the engine (an Ibis table on its own backend, DuckDB or Spark; a path or a frame
        on the process's DuckDB): only per-customer tables come back.
    customers : DataFrame, optional
        The clean customers (its ``churned`` column is the churn label of subscriptions).
    groupings : dict or function, optional
        Customer id -> segment / cluster (:func:`helpers.value.noncontractual.groupings`), for value by group;
        or a function returning them, called only when the customers are scored (after the backtest and
        the fits): the notebook passes :func:`segments_when_scoring`, so
        this step runs beside 20_rfm_clustering and waits for its segments only there.
    """
    as_of = pd.Timestamp(as_of).normalize()
    label = has_churn_label(customers)
    contractual = business.contractual(label)
    res = ValueResult(contractual, _why_mode(business, label, contractual), settings, seed, as_of, currency,
                      business.period_months)
    if contractual:
        _run_contractual(res, orders, customers, business, groupings)
    else:
        _run_non_contractual(res, orders, groupings)
    return res


def _orders_on_engine(orders):
    """The orders as an Ibis table: a table as it is; a Parquet path or a DataFrame on the process's DuckDB."""
    from helpers.frame.engine import as_table
    if isinstance(orders, pd.DataFrame):
        orders = orders[["customer_id", "order_ts", "amount"]]
    return as_table(orders)


def _run_non_contractual(res: ValueResult, orders, groupings) -> None:
    # the order log stays on the engine: per-customer summaries and gap counts come back, one row each;
    # the purchase days are computed once (one pass over the order log) and every summary reads them
    stage("clv: purchase days per customer on the engine")
    days = clv_data.engine_purchase_days(_orders_on_engine(orders), res.as_of + pd.Timedelta(days=1))
    try:
        _non_contractual_parts(res, days, groupings)
    finally:
        days.release()


def _non_contractual_parts(res: ValueResult, t: clv_data.EngineDays, groupings) -> None:
    s_ = res.settings
    title = tr(TITLE)
    res.subscription_share = nc.looks_like_subscription(
        clv_data.purchase_day_gaps_engine(t, res.as_of + pd.Timedelta(days=1)))
    try:
        s_all = clv_data.calibration_summary_engine(t, res.as_of, None, s_.unit_days)
    except clv.CLVFitError:  # raised for one case only: no purchase up to the as-of date
        res.unavailable = nc.data_check(None, s_, "clv", title)
        return
    first = pd.Timestamp(s_all["first_purchase"].min())
    res.unavailable = nc.data_check(s_all, s_, "clv", title, first_day=first, as_of=res.as_of)
    if res.unavailable is None and res.subscription_share >= nc.SUBSCRIPTION_LIKE:
        res.unavailable = _subscription_na(res.subscription_share)
    if res.unavailable is not None:
        return
    # the backtest: a part of its own
    cal_end = res.as_of - pd.Timedelta(days=s_.holdout_days)
    s_cal = nc.calibration(t, res.as_of, s_) if first <= cal_end else None
    na = nc.data_check(s_cal, s_, "clv.backtest", tr("Backtest"))
    if na is None:
        try:
            res.backtest = nc.backtest(t, res.as_of, s_, summary=s_cal)
        except clv.CLVFitError as e:
            res.failures.update({"backtest": str(e)})
            na = NotAvailable("clv.backtest", tr("no purchase model could be fitted on the calibration period"),
                              tr("the backtest checks the forecast against purchases the model did not see"),
                              tr("a longer calibration period with more repeat buyers"), tr("Backtest"))
    if na is not None:
        res.parts.append(na)
    else:
        res.tracking = nc.tracking(t, res.backtest, s_)
    # the model: the backtest's choice, else (auto) the lowest AIC on all history
    order = _model_order(res, s_all)
    # the forecast reads the all-history summary only: free the purchase days now, not when the step
    # ends (at 5M customers the engine's copy is a gigabyte, held while the customers are scored)
    t.release()
    fw, errors = None, {}
    groupings = _once(groupings)   # read by the forecast right before it scores (after the refit)
    for key in order:
        try:
            start = res.backtest.fits[key].log_params if res.backtest is not None and key in res.backtest.fits else None
            fw = nc.forward(t, res.as_of, s_, res.seed, groupings, model=key, summary=s_all, start=start)
        except clv.CLVFitError as e:
            errors[key] = str(e)
            continue
        res.model_key = key
        break
    if fw is None:
        res.unavailable = _purchase_na(errors)
        res.failures = errors
        res.parts = []
        return
    res.forward = fw
    if res.model_key != order[0]:
        res.failures.update(errors)
        res.model_reason = tr("{wanted} could not be fitted or scored on all history, so {model} is used.",
                              wanted=nc.MODEL_NAMES[order[0]],
                              model=nc.MODEL_NAMES[res.model_key])
    if fw.spend_fit is None:
        res.unavailable = nc.spend_not_available(fw.spend_error, s_)


def _model_order(res: ValueResult, s_all: pd.DataFrame) -> list[str]:
    """Purchase models to try for the forecast, best first, and the sentence saying why."""
    s_ = res.settings
    keys = list(nc.MODEL_NAMES)
    if res.backtest is not None:
        ch = res.backtest.choice
        res.model_reason = ch.reason
        ranked = ch.table[ch.table["model"].isin(keys)].sort_values("rmse", kind="stable")["model"].tolist()
        first = [ch.chosen] + [k for k in ranked if k != ch.chosen]
        return first + [k for k in keys if k not in first]   # then those that failed on the calibration period
    if s_.model != "auto":
        res.model_reason = tr("{model} is used because clv.model names it; without a backtest it is not checked "
                              "against a holdout.", model=nc.MODEL_NAMES[s_.model])
        return [s_.model] + [k for k in keys if k != s_.model]
    fits = {}
    for key, (_n, fn) in clv.MODELS.items():
        try:
            fits[key] = fn(s_all["x"], s_all["t_x"], s_all["T"])
        except clv.CLVFitError:
            continue
    ranked = sorted(fits, key=lambda k: fits[k].aic) or keys
    if fits:
        res.model_reason = tr("Without a backtest the model is chosen by Akaike's information criterion on all "
                              "history: {model} (AIC {aic}).", model=nc.MODEL_NAMES[ranked[0]],
                              aic=fmt_number(fits[ranked[0]].aic, 1))
    return ranked + [k for k in keys if k not in ranked]


def _subscription_na(share: float) -> NotAvailable:
    """Payments at regular monthly intervals: a subscription, which purchase models do not describe."""
    return NotAvailable(
        "clv", tr("{share} of repeat buyers pay at regular monthly intervals, like subscription payments",
                  share=fmt_pct(share)),
        tr("BG/NBD-type models describe customers who buy when they like and leave unseen; regular payments "
           "until a cancellation are a subscription, which they cannot describe (on such data they run to the edge "
           "of their parameter space or describe everybody as buying at one rate)"),
        tr("the subscription models: set business.model: contractual (and map the churn label in "
           "columns.customers.churned if the export has one)"), tr(TITLE))


def _purchase_na(errors: dict[str, str]) -> NotAvailable:
    """No purchase model fits all history (their own messages are in ``clv.json``, ``failures``)."""
    models = tr(", ").join(nc.MODEL_NAMES[k] for k in nc.MODEL_NAMES if k in errors)
    return NotAvailable("clv", tr("no purchase model ({models}) could be fitted on the order history", models=models),
                        tr("the value of a customer is forecast from how often they buy and how likely they are to "
                           "have stopped"),
                        tr("a longer order history with more repeat buyers"), tr(TITLE))


def _run_contractual(res: ValueResult, orders, customers, business: BusinessSettings, groupings) -> None:
    s_ = res.settings
    title = tr(TITLE)
    subs = ct.subscribers(orders, customers, res.as_of, business, s_)
    res.subs = subs
    res.unavailable = ct.data_check(subs.status, s_, "clv", title)
    if res.unavailable is not None:
        return
    from helpers.value import periods as pr
    cal = pr.status_at(subs.table, subs.calibration_end, subs.as_of, subs.period_months, s_.payment_grace_days)
    na = ct.data_check(cal, s_, "clv.backtest", tr("Backtest"))
    if na is None:
        try:
            res.rbacktest = ct.retention_backtest(subs, s_)
        except clv.CLVFitError as e:
            res.failures.update({"backtest": str(e)})
            na = NotAvailable("clv.backtest", tr("no retention model could be fitted on the calibration period"),
                              tr("the backtest checks the forecast against renewals the model did not see"),
                              tr("a longer history with more cancellations before the holdout"), tr("Backtest"))
    if na is not None:
        res.parts.append(na)
    if res.rbacktest is not None:
        order = [res.rbacktest.chosen] + [k for k in ("sbg", "bdw") if k != res.rbacktest.chosen]
        res.model_reason = res.rbacktest.reason
    elif s_.retention_model != "auto":
        order = [s_.retention_model] + [k for k in ("sbg", "bdw") if k != s_.retention_model]
        res.model_reason = tr("{model} is used because clv.retention_model names it; without a backtest it is not "
                              "checked against a holdout.", model=ct.RETENTION_NAMES[s_.retention_model])
    else:
        order = ["sbg", "bdw"]
        res.model_reason = tr("Without a backtest the sBG is used: the standard retention model, which the "
                              "duration-dependent BdW replaces only when a holdout shows it predicts better.")
    errors = {}
    groupings = _resolved(groupings)
    for key in order:
        try:
            res.rforward = ct.retention_forward(subs, s_, res.seed, groupings, key)
        except clv.CLVFitError as e:
            errors[key] = str(e)
            continue
        res.model_key = key
        break
    if res.rforward is None:
        res.failures.update(errors)
        res.unavailable = NotAvailable(
            "clv", tr("no retention model ({models}) could be fitted on the subscribers' history",
                      models=tr(", ").join(ct.RETENTION_NAMES.get(k, k) for k in errors)),
            tr("the value of a subscriber is how long they are expected to stay"),
            tr("a longer history with more renewals and cancellations"), title)
        res.parts = []


# ---------------------------------------------------------------- sentences and tables


def _period_words(period_months: int) -> str:
    return tr("month") if period_months == 1 else tr("{n} months", n=period_months)


def mode_sentence(res: ValueResult) -> str:
    """Which kind of business the page assumes, why, and what that means for the models."""
    if res.contractual:
        return tr("This is treated as a subscription business because {why}: subscribers pay every {period} until "
                  "they cancel, so we see who has left. Purchase-frequency models such as BG/NBD are built for "
                  "customers whose departure is never seen and do not apply; value is forecast from retention "
                  "instead: how long the subscribers of each acquisition cohort stay (the sBG model of Fader & Hardie, "
                  "or its duration-dependent version, BdW), times what each active subscriber pays per period.",
                  why=res.why_mode, period=_period_words(res.period_months))
    return tr("Customers buy when they like ({why}), so value is forecast from purchase histories: a purchase model "
              "(BG/NBD, MBG/NBD or Pareto/NBD) for how often each customer buys and whether they are still active, "
              "and Gamma-Gamma for how much they spend per purchase.", why=res.why_mode)


def _show(obj) -> None:
    """Display a table or a figure now (a figure is closed, so the inline backend does not show it twice)."""
    import matplotlib.pyplot as plt
    from IPython.display import display
    display(obj)
    if isinstance(obj, plt.Figure):
        plt.close(obj)


def _md(text: str) -> None:
    from IPython.display import Markdown
    _show(Markdown(text))


def _na(*parts: NotAvailable | None) -> None:
    from helpers.page import show_not_available
    show_not_available(*parts)


def _table(df: pd.DataFrame, spec: list[tuple[str, str, str]], currency: str = "", caption: str | None = None):
    """A table for the page: ``spec`` = (column, header, kind) with kind money / int / pct / signed_pct / float1 /
    float2 / float3 / text; values formatted in the page's language, numbers right-aligned."""
    from helpers.page import styled_table
    fmt = {
        "money": lambda v: fmt_money(v, currency), "int": fmt_int, "pct": lambda v: fmt_pct(v, 1),
        "signed_pct": lambda v: fmt_pct(v, 1, signed=True), "float1": lambda v: fmt_number(v, 1),
        "float2": lambda v: fmt_number(v, 2), "float3": lambda v: fmt_number(v, 3),
        "text": lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v),
        "yes": lambda v: tr("yes") if v else "",
    }
    out = pd.DataFrame({header: [fmt[kind](v) for v in df[col]] for col, header, kind in spec})
    numeric = [h for _c, h, k in spec if k not in ("text", "yes")]
    return styled_table(out, readable_headers=False, caption=caption).set_properties(
        subset=numeric, **{"text-align": "right"})


def _not_here(res: ValueResult) -> bool:
    """True (after a short note) when the whole step is not available: its reason is at the top of the page."""
    if res.unavailable is not None and res.forward is None and res.rforward is None:
        _md(tr("Not available: see the note at the top of this page."))
        return True
    return False


def show_overview(res: ValueResult) -> None:
    """Which models and why (the kind of business, the model choice), or why the step is not available."""
    _md(mode_sentence(res))
    _na(res.unavailable)
    if res.model is not None:
        _md(tr("Forecast model: **{model}**.", model=res.model) + " " + res.model_reason)


def show_backtest(res: ValueResult) -> None:
    """The holdout backtest: the comparison of the models and the baseline, and what it chose."""
    if _not_here(res):
        return
    _na(*[p for p in res.parts if p.part == "clv.backtest"])
    if res.contractual and res.rbacktest is not None:
        _contractual_backtest(res)
    elif res.backtest is not None:
        _purchase_backtest(res)


def _purchase_backtest(res: ValueResult) -> None:
    bt = res.backtest
    _md(tr("Calibration up to {cal}, holdout to {end}.", cal=fmt_date(bt.calibration_end), end=fmt_date(bt.holdout_end))
        + " " + nc.fit_verdict(bt))
    t = bt.metrics.merge(bt.choice.table[["model", "se", "mse_vs_best"]].assign(
        model=lambda d: d["model"].map(lambda k: nc.MODEL_NAMES.get(k, k))), on="model", how="left")
    t["chosen"] = t["model"] == nc.MODEL_NAMES[bt.chosen]
    t["model"] = t["model"].map(lambda m: tr("naive (calibration rate)") if m == nc.NAIVE else m)
    _md(tr("Model choice: the smallest error per customer on the holdout (RMSE of the predicted purchases: the value "
           "multiplies exactly this expectation, and squared error is what an expectation gets right); a model that "
           "does not assume one-time buyers are still active is preferred when within two standard errors of the "
           "best."))
    _show(_table(t, [("model", tr("Model"), "text"), ("predicted_total", tr("Predicted repeat purchases"), "int"),
                     ("actual_total", tr("Actual repeat purchases"), "int"),
                     ("total_error_pct", tr("Error of the total"), "signed_pct"),
                     ("mae", tr("MAE per customer"), "float3"), ("rmse", tr("RMSE per customer"), "float3"),
                     ("mse_vs_best", tr("MSE above the best"), "float3"), ("se", tr("Its standard error"), "float3"),
                     ("chosen", tr("Chosen"), "yes")]))
    if not bt.choice.beats_baseline:
        _md(tr("**Every purchase model did worse than the naive baseline on this holdout.** The forecast below still "
               "uses {model}, the best of them, but read it as a rough guide: customers bought differently in the "
               "holdout than before it (a promotion, a change of assortment or channel).", model=res.model))
    _show(fg.backtest_frequency_chart(bt.by_frequency))
    if res.tracking is not None:
        _show(fg.tracking_chart(res.tracking, bt.calibration_end))
    one = bt.one_time
    if one is not None:
        n = fmt_int(one["customers"].iloc[0])
        _md(tr("**Customers who had bought only once by the calibration end ({n})**: how many each model believed "
               "still customers, how many it expected to buy again in the holdout, and how many did. BG/NBD counts "
               "them all as still customers by assumption; MBG/NBD and Pareto/NBD let them have left.", n=n))
        _show(_table(one, [("model", tr("Model"), "text"),
                           ("mean_p_alive", tr("Predicted share still customers"), "pct"),
                           ("predicted_buyers_share", tr("Predicted share buying in the holdout"), "pct"),
                           ("actual_buyers_share", tr("Actual share who bought in the holdout"), "pct")]))
    _md(tr("Spend check: the spend model's predicted spend per purchase for the customers who bought in the holdout, "
           "against what they actually spent per purchase."))
    sc = nc.spend_check_table(bt)
    _show(_table(sc, [("customers", tr("Customers"), "int"), ("predicted", tr("Predicted"), "money"),
                      ("actual", tr("Actual"), "money"), ("note", tr("Note"), "text")], res.currency))


def _contractual_backtest(res: ValueResult) -> None:
    bt = res.rbacktest
    chosen = bt.metrics[bt.metrics["chosen"]].iloc[0]
    _md(tr("Calibration up to {cal}, holdout to {end}: of the {n} subscribers active at the calibration date, {actual} "
           "were still subscribed at the end; {model} predicted {predicted} ({error}).",
           cal=fmt_date(bt.calibration_end), end=fmt_date(bt.holdout_end),
           n=fmt_int(bt.curve["actual"].iloc[0]), actual=fmt_int(chosen["actual_survivors"]), model=chosen["model"],
           predicted=fmt_int(chosen["predicted_survivors"]), error=fmt_pct(chosen["error_pct"], 1, signed=True)))
    _md(tr("Model choice: the highest log-likelihood of what each subscriber did in the holdout (renewed or cancelled, "
           "and when): it scores the whole predicted distribution of how long subscribers stay, which is what their "
           "value is built on."))
    _show(_table(bt.metrics, [("model", tr("Model"), "text"),
                              ("holdout_loglik", tr("Holdout log-likelihood"), "float1"),
                              ("predicted_survivors", tr("Predicted still subscribed"), "int"),
                              ("actual_survivors", tr("Actually still subscribed"), "int"),
                              ("error_pct", tr("Error"), "signed_pct"),
                              ("cohort_fits", tr("Cohorts with their own fit"), "int"),
                              ("chosen", tr("Chosen"), "yes")]))
    if not bt.beats_baseline:
        _md(tr("**The chosen model predicted the holdout worse than one churn rate for everybody.** Read the value "
               "below as a rough guide."))
    _show(fg.survivors_chart(bt.curve))
    _show(_table(bt.by_cohort, [("cohort", tr("Acquisition cohort"), "text"),
                                ("active_at_calibration", tr("Active at the calibration date"), "int"),
                                ("actual_survivors", tr("Actually still subscribed"), "int"),
                                ("predicted_survivors", tr("Predicted still subscribed"), "float1"),
                                ("error_pct", tr("Error"), "signed_pct")]))


#: Parameters shown by their usual symbols (the same in every language).
SYMBOLS = {"alpha": "α", "beta": "β", "gamma": "γ", "theta": "θ"}


def _display_params(t: pd.DataFrame) -> pd.DataFrame:
    """A fit's parameter table with symbols for the parameters and the page's words for the spend model."""
    names = {"common spend": tr("common spend"), "geometric": tr("geometric")}
    return t.assign(parameter=t["parameter"].map(lambda p: SYMBOLS.get(p, tr("mean") if p == "mean" else p)),
                    model=t["model"].map(lambda m: names.get(m, m)))


def _param_spec() -> list[tuple[str, str, str]]:
    return [("model", tr("Model"), "text"), ("parameter", tr("Parameter"), "text"),
            ("estimate", tr("Estimate"), "float3"), ("std_error", tr("Standard error"), "float3"),
            ("ci_low", tr("95% interval, low"), "float3"), ("ci_high", tr("95% interval, high"), "float3")]


def show_forecast(res: ValueResult) -> None:
    """The forecast model refitted on all history (parameters with standard errors) and the value in words."""
    if _not_here(res):
        return
    if res.contractual:
        fw = res.rforward
        _md(tr("The {model} model refitted on every subscriber's history, overall and for each acquisition cohort with "
               "at least {n} subscribers and {k} cancellations; a cohort keeps its own parameters when they fit it "
               "significantly better than the overall ones (likelihood-ratio test at 5%), else it uses the overall "
               "fit. Retention after one {period} and after 12 months are what the model expects of a newly acquired "
               "subscriber of the cohort.",
               model=res.model, n=fmt_int(res.settings.min_cohort_customers),
               k=fmt_int(res.settings.min_cancellations), period=_period_words(res.period_months)))
        spec = [("cohort", tr("Acquisition cohort"), "text"), ("subscribers", tr("Subscribers"), "int"),
                ("active", tr("Active"), "int"), ("cancelled", tr("Cancelled"), "int"),
                ("fit", tr("Fit"), "text")]
        for p in fw.fit.params:
            sym = SYMBOLS.get(p, p)
            spec += [(p, sym, "float3"), (f"{p}_se", tr("{p} standard error", p=sym), "float3")]
        spec += [("retention_1", tr("Retention after one period"), "pct"),
                 ("retention_12", tr("Retention after 12 months"), "pct")]
        cohorts = fw.cohorts.assign(fit=fw.cohorts["fit"].map({"own": tr("own"), "overall": tr("overall")}))
        _show(_table(cohorts, spec))
        for note in fw.notes:
            _md(note)
        _show(fg.retention_curves_chart(fw.curves, _period_words(res.period_months)))
        _show(_table(_display_params(fw.fit.table()), _param_spec(),
                     caption=tr("All subscribers together")))
    else:
        fw = res.forward
        _md(tr("Parameter estimates with standard errors and 95% intervals (time in {unit}).",
               unit=nc.time_unit_words(res.settings.unit_days)))
        _show(_table(_display_params(nc.parameter_table(fw)), _param_spec()))
        if fw.spend_fit is not None and fw.spend_fit.model == "common spend":
            _md(tr("Customers' average spend per purchase does not differ beyond chance, so every customer's expected "
                   "spend per purchase is the overall mean ({mean}): the limit of Gamma-Gamma when its spread between "
                   "customers vanishes.", mean=fmt_money(fw.spend_fit.params["mean"], res.currency, 2)))
        if fw.spend_fit is None:
            _na(res.unavailable)
            _md(tr("Purchase forecast without value: {n} purchases expected from the {customers} customers over the "
                   "next {months} months.", n=fmt_int(fw.scores["expected_purchases"].sum()),
                   customers=fmt_int(len(fw.scores)), months=res.settings.horizon_months))
            return
    _md(value_sentences(res))


def value_sentences(res: ValueResult) -> str:
    """Headline numbers of the forecast in words (markdown bullets)."""
    t = res.totals
    s_ = res.settings
    cur = res.currency
    share = nc.top_share(res.scores["clv"])
    lines = [tr("Predicted value of the customer base over the next {months} months: **{total}** ({interval} interval "
                "{low} to {high}), discounted at {discount} a year.", months=s_.horizon_months,
                total=fmt_money(t["clv_total"], cur), interval=fmt_pct(s_.interval),
                low=fmt_money(t["clv_total_low"], cur), high=fmt_money(t["clv_total_high"], cur),
                discount=fmt_pct(s_.annual_discount))]
    if res.contractual:
        lines.append(tr("{active} active subscribers pay {pay} per {period} together.",
                        active=fmt_int(t["active_subscribers"]), pay=fmt_money(t["payment_per_period_total"], cur),
                        period=_period_words(res.period_months)))
        if "residual_value_total" in t:
            lines.append(tr("Over their whole expected remaining lifetime (discounted expected residual lifetime, "
                            "Fader & Hardie 2010) they are worth {total} ({low} to {high}).",
                            total=fmt_money(t["residual_value_total"], cur),
                            low=fmt_money(t["residual_value_low"], cur), high=fmt_money(t["residual_value_high"], cur)))
        lines.append(tr("The top 10% of subscribers hold {share} of the next {months} months' value.",
                        share=fmt_pct(share), months=s_.horizon_months))
    else:
        lines.append(tr("The top 10% of customers hold {share} of that value.", share=fmt_pct(share)))
    return "\n".join(f"- {x}" for x in lines)


def show_activity(res: ValueResult) -> None:
    """Who is still active (customers who buy when they like) or likely to stay (subscribers)."""
    if _not_here(res):
        return
    if res.contractual:
        fw = res.rforward
        k = ct.horizon_periods(res.settings, res.period_months)
        _md(ct.active_share_sentence(fw, res.settings, res.period_months))
        active = fw.scores["expected_spend"] > 0
        _show(fg.subscribed_chart(fw.scores.loc[active, "p_alive"], k))
        return
    fw = res.forward
    a = activity(res)
    _md(tr("{buy} of customers are expected to buy at least once in the next {days} days; among the {n} customers "
           "who have bought only once, {one_buy} are.", buy=fmt_pct(a["buy_share"]), days=fmt_int(a["days"]),
           n=fmt_int(a["one_time_customers"]), one_buy=fmt_pct(a["one_time_buy_share"]))
        + (" " + tr("The backtest checked exactly this over a holdout of the same length: for customers who had bought "
                    "only once, {model} predicted {pred} would buy again and {act} did.", model=res.model,
                    pred=fmt_pct(a["backtest_predicted"]), act=fmt_pct(a["backtest_actual"]))
           if a.get("backtest_predicted") is not None else ""))
    _md(tr("{share} of customers are more likely still customers than not (P(alive), the model's chance that a "
           "customer has not silently left, at least 0.5); among those who have bought only once, {one_share} are.",
           share=fmt_pct(a["alive_share"]),
           one_share=fmt_pct(a["one_time_alive_share"]))
        + (" " + tr("BG/NBD assumes that a customer can stop only right after a repeat purchase, so it counts every "
                    "customer who bought once only as still a customer, however long ago that was; for them the "
                    "chance of buying again above is the number to act on.")
           if res.model_key in nc.ASSUMES_ONE_TIME_ALIVE else ""))
    one = (fw.summary["x"] == 0).to_numpy()
    _show(fg.buy_chart(pd.Series(a["p_buy"]), pd.Series(one), a["days"]))
    matrix = nc.p_alive_matrix(fw.summary, fw.scores["p_alive"].to_numpy(), res.settings.unit_days)
    _show(fg.p_alive_matrix_chart(matrix, one_time_alive=res.model_key in nc.ASSUMES_ONE_TIME_ALIVE
                                  and bool(one.any())))


def activity(res: ValueResult) -> dict:
    """Who is still active, in numbers that history can check (customers who buy when they like).

    ``p_buy``: each customer's probability of at least one purchase in the next ``holdout_days`` days (the
    quantity the backtest checks for one-time buyers); ``buy_share``, ``one_time_buy_share``: their means;
    ``alive_share``, ``one_time_alive_share``: shares with P(alive) >= 0.5; ``backtest_predicted``,
    ``backtest_actual``: the chosen model's one-time-buyer check on the holdout.
    """
    if res._activity is not None:
        return res._activity
    fw = res.forward
    s = fw.summary
    days = res.settings.holdout_days
    h = days / res.settings.unit_days
    p_buy = 1.0 - clv.p_no_purchase(fw.fit.model, fw.fit.params, h, s["x"], s["t_x"], s["T"])
    one = (s["x"] == 0).to_numpy()
    pa = fw.scores["p_alive"].to_numpy()
    out = {"days": days, "p_buy": p_buy, "buy_share": float(p_buy.mean()),
           "one_time_customers": int(one.sum()),
           "one_time_buy_share": float(p_buy[one].mean()) if one.any() else None,
           "alive_share": float((pa >= 0.5).mean()),
           "one_time_alive_share": float((pa[one] >= 0.5).mean()) if one.any() else None}
    bt = res.backtest
    if bt is not None and bt.one_time is not None:
        row = bt.one_time[bt.one_time["model"] == res.model]
        if len(row):
            out["backtest_predicted"] = float(row["predicted_buyers_share"].iloc[0])
            out["backtest_actual"] = float(row["actual_buyers_share"].iloc[0])
    res._activity = out
    return out


def _group_spec() -> list[tuple[str, str, str]]:
    return [("customers", tr("Customers"), "int"), ("clv_total", tr("Predicted value"), "money"),
            ("clv_low", tr("Interval, low"), "money"), ("clv_high", tr("Interval, high"), "money"),
            ("clv_mean", tr("Per customer"), "money"), ("share_of_clv", tr("Share of the value"), "pct")]


def show_groups(res: ValueResult) -> None:
    """Value by RFM segment and cluster (and acquisition cohort for subscriptions), with intervals."""
    if _not_here(res):
        return
    if not res.value_available:
        _md(tr("Value by segment is not available: the value itself is not (see above)."))
        return
    headers = {"rfm_segment": tr("RFM segment"), "cluster": tr("Cluster"), "cohort": tr("Acquisition cohort")}
    shown = False
    for g in ("rfm_segment", "cluster", "cohort"):
        t = res.totals.get(f"by_{g}")
        if t is None:
            continue
        shown = True
        _show(_table(t, [(g, headers[g], "text"), *_group_spec()], res.currency))
        if g != "cluster":
            _show(fg.clv_by_group_chart(t, g, res.currency, res.settings.horizon_months))
    if "by_rfm_segment" not in res.totals:
        _md(tr("Value by segment and cluster is not available: the segments step (20_rfm_clustering) did not run."))
    elif not shown:
        _md(tr("No groups to show."))


# ---------------------------------------------------------------- clv.json


def _fit_dict(f: clv.FitResult) -> dict:
    return {"model": f.model, "params": f.params, "se": f.se, "loglik": f.loglik, "aic": f.aic,
            "n": f.n, "n_unique": f.n_unique}


def _records(df: pd.DataFrame | None) -> list[dict] | None:
    return None if df is None else df.to_dict(orient="records")


def summary(res: ValueResult) -> dict:
    """The ``clv.json`` artifact.

    Always: ``available``, ``reason``, ``unavailable`` (:func:`helpers.frame.outcome.summary_fields`),
    ``mode`` (``contractual`` / ``non_contractual``), ``mode_reason``, ``model`` (the forecast's model,
    ``null`` when none), ``model_reason``, ``description`` (the methods in a sentence),
    ``horizon_months`` (the horizon of ``value_scores``' ``clv`` and ``expected_purchases``),
    ``annual_discount``, ``unit_days``, ``period_months``. When there is a forecast: ``backtest``
    (``verdict`` always), ``final``, ``totals``, ``top10_share`` and ``by_rfm_segment`` / ``by_cluster``
    (``by_cohort`` for subscriptions). Non-contractual backtests add ``choice`` and ``one_time_buyers``.
    """
    s_ = res.settings
    value_part = res.unavailable if (res.unavailable is not None and res.unavailable.part != "clv") else None
    step_na = res.unavailable
    out = {
        **summary_fields(step_na, [p for p in res.parts if p is not step_na]),
        "mode": "contractual" if res.contractual else "non_contractual", "mode_reason": res.why_mode,
        "model": res.model, "model_reason": res.model_reason, "description": mode_sentence(res),
        "horizon_months": s_.horizon_months, "annual_discount": s_.annual_discount, "unit_days": s_.unit_days,
        "period_months": res.period_months,
    }
    if not res.contractual:
        out["subscription_like_share"] = res.subscription_share
    if res.failures:
        out["failures"] = res.failures
    if res.forward is None and res.rforward is None:
        return out
    bt_na = next((p for p in res.parts if p.part == "clv.backtest"), None)
    if res.contractual:
        fw, bt = res.rforward, res.rbacktest
        out["backtest"] = ({"available": False, "verdict": bt_na.reason} if bt is None else {
            "available": True, "calibration_end": bt.calibration_end.date().isoformat(),
            "holdout_end": bt.holdout_end.date().isoformat(), "criterion": "holdout log-likelihood",
            "chosen": ct.RETENTION_NAMES.get(bt.chosen, bt.chosen), "reason": bt.reason,
            "beats_baseline": bt.beats_baseline, "fits": {k: _fit_dict(f) for k, f in bt.fits.items()},
            "failures": bt.failures, "metrics": _records(bt.metrics), "survivors": _records(
                bt.curve.assign(date=bt.curve["date"].map(lambda d: pd.Timestamp(d).date().isoformat()))),
            "by_cohort": _records(bt.by_cohort), "subscribers_at_calibration": bt.subscribers,
            "verdict": tr("{model}: {error} error on the subscribers still subscribed at the end of the holdout.",
                          model=bt.metrics.loc[bt.metrics["chosen"], "model"].iloc[0],
                          error=fmt_pct(bt.metrics.loc[bt.metrics["chosen"], "error_pct"].iloc[0], 1, signed=True))})
        out["final"] = {"retention": _fit_dict(fw.fit), "cohorts": _records(fw.cohorts),
                        "label_used": res.subs.label_used}
        out["one_time_buyers"] = None
    else:
        fw, bt = res.forward, res.backtest
        if bt is None:
            out["backtest"] = {"available": False, "verdict": bt_na.reason if bt_na else ""}
        else:
            ch = bt.choice
            out["backtest"] = {
                "available": True, "calibration_end": bt.calibration_end.date().isoformat(),
                "holdout_end": bt.holdout_end.date().isoformat(),
                "fits": {nc.MODEL_NAMES[k]: _fit_dict(f) for k, f in bt.fits.items()},
                "failures": bt.failures, "metrics": _records(bt.metrics), "by_frequency": _records(bt.by_frequency),
                "spend_check": bt.spend_check, "verdict": nc.fit_verdict(bt),
                "choice": {"criterion": "holdout RMSE of each customer's predicted purchases; a model without the "
                                        "one-time-buyer assumption preferred within two standard errors",
                           "chosen": nc.MODEL_NAMES[ch.chosen], "how": ch.how, "beats_baseline": ch.beats_baseline,
                           "reason": ch.reason,
                           "table": _records(ch.table.assign(model=ch.table["model"].map(
                               lambda k: nc.MODEL_NAMES.get(k, k))))},
            }
            out["one_time_buyers"] = _records(bt.one_time)
        out["final"] = {"purchases": _fit_dict(fw.fit),
                        "spend": _fit_dict(fw.spend_fit) if fw.spend_fit is not None else None}
        out["activity"] = {k: v for k, v in activity(res).items() if k != "p_buy"}
        if value_part is not None:
            out["final"]["expected_purchases_total"] = float(fw.scores["expected_purchases"].sum())
    t = res.totals
    out["totals"] = {k: v for k, v in t.items() if not k.startswith("by_")}
    if res.value_available:
        out["top10_share"] = nc.top_share(res.scores["clv"])
        out.update({k: _records(v) for k, v in t.items() if k.startswith("by_")})
    return out


def save(cat, res: ValueResult) -> None:
    """Write ``clv.json``, and ``value_scores`` when every customer has a value."""
    if res.scores is not None:
        cat.save("value_scores", res.scores)
    cat.save("clv", summary(res))


def check_saved(cat, res: ValueResult) -> None:
    """Invariants of what :func:`save` wrote (a broken step fails here instead of publishing nonsense).

    Raises
    ------
    AssertionError
        Duplicate or missing customers, values below their interval, probabilities outside [0, 1],
        a summary that disagrees with the result.
    """
    s = cat.load("clv")
    assert s["available"] == (res.unavailable is None), "clv.json available flag disagrees with the result"
    if res.scores is None:
        return
    out = cat.load("value_scores")
    assert out["customer_id"].is_unique and out["clv"].notna().all()
    assert (out["clv_low"] <= out["clv_high"] + 1e-6).all() and (out["clv"] >= 0).all()
    assert out["p_alive"].between(0, 1).all()
    assert abs(out["clv"].sum() - s["totals"]["clv_total"]) <= 1e-6 * max(1.0, abs(s["totals"]["clv_total"]))

