"""The churn step: a backtest of honest candidates, drivers, risk tiers, value at risk, retention curves.

**Snapshot mode** (orders only, the default): the latest snapshot whose outcome is fully known is
``as_of - horizon_days`` (the evaluation snapshot); the learned models are trained on the snapshot
one horizon earlier, whose outcome window ends exactly where the evaluation snapshot starts, so the
evaluation is on later customers' futures the models never saw. The candidates:

- gradient boosting, logistic regression (the baseline) and their average, fitted by log loss on
  the training snapshot; besides the order-history features they read BG/NBD's P(alive) and
  expected purchases in the horizon, from a BG/NBD fit on the history up to each snapshot only (no
  later order can reach a feature);
- BG/NBD's own probability of no purchase in the horizon (no labels needed), fitted on the history
  up to the evaluation snapshot.

``churn.model: auto`` picks the lowest ``churn.criterion`` (Brier score or log loss: proper scoring
rules, so the chosen model is never worse on it than a baseline on the same page). The chosen
model is refitted on the evaluation snapshot (BG/NBD on the history up to the as-of date) and
scores every customer active at the as-of date.

**Contractual mode** (the customers table carries an explicit ``churned`` label and the business is
``auto`` or ``contractual``): stratified k-fold cross-validation of the learned candidates on the typed
customer attributes, days since sign-up and the payment history; the chosen model, refitted on
every labelled customer, scores the customers not yet churned.

What the data does not allow is **not available**, not a failure (:mod:`helpers.frame.outcome`):
no orders, the first quarter of a history (no snapshot with known outcome and history before it),
too few customers, a single class, no attributes to learn from (the whole model); BG/NBD that
cannot be fitted, attributes without a customers table, segments that were not computed, retention
curves without earlier customers (a part each). Each is recognised explicitly; the parts that can
be computed are still shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from helpers.churn import data as churn_data
from helpers.churn import model as churn
from helpers.frame.engine import to_pandas
from helpers.frame.errors import ParameterError
from helpers.frame.outcome import NotAvailable, summary_fields
from helpers.frame.progress import stage
from helpers.frame.settings import BusinessSettings, ChurnSettings, RfmSettings
from helpers.ingest.attributes import AttributeNote
from helpers.locale import (
    N_,
    currency_unit,
    fmt_date,
    fmt_int,
    fmt_list,
    fmt_number,
    fmt_p,
    fmt_pct,
    fmt_quarter,
    ntr,
    tr,
)
from helpers.page.tables import styled_table
from helpers.page.text import bullet_list, money
from helpers.segments import data as rfm
from helpers.segments import model as rfm_model
from helpers.value import model as clv

__all__ = [
    "MODEL_LABELS",
    "CRITERIA",
    "FEATURE_WORDS",
    "feature_label",
    "FLAT_RATIO",
    "effects_in_words",
    "ChurnResult",
    "value_column",
    "BGNBD_FIT_SAMPLE",
    "BGNBD_UNIT_DAYS",
    "snapshot_data",
    "run",
    "labels",
    "mode_sentence",
    "notes_markdown",
    "metrics_table",
    "metrics_view",
    "choice_sentence",
    "calibration_sentence",
    "lift_sentence",
    "lift_view",
    "confusion_sentence",
    "confusion_view",
    "effects_markdown",
    "scored_customers",
    "value_at_risk_table",
    "value_at_risk_view",
    "segments_not_available",
    "risk_sentences",
    "Retention",
    "retention",
    "retention_sentence",
    "Cohorts",
    "cohorts",
    "cohort_view",
    "cohort_table",
    "churn_scores",
    "CHURN_SCORE_COLUMNS",
    "NOT_SCORED",
    "churn_summary",
]


MODEL_LABELS = {"gradient_boosting": N_("Gradient boosting"), "logistic": N_("Logistic regression (baseline)"),
                "blend": N_("Average of gradient boosting and logistic regression"),
                "bgnbd": N_("BG/NBD probability of no purchase (baseline)")}

CRITERIA = {"brier": N_("Brier score"), "log_loss": N_("log loss")}


FEATURE_WORDS = {
    "recency_days": (N_("days since the last purchase"), "days"),
    "purchase_days": (N_("number of purchase days"), "purchase days"),
    "orders": (N_("number of orders"), "orders"),
    "spend": (N_("total spend to date"), "money"),
    "average_order_value": (N_("average order value"), "money"),
    "tenure_days": (N_("days since the first purchase"), "days"),
    "mean_gap_days": (N_("usual gap between purchases"), "days"),
    "gap_ratio": (N_("current gap relative to the usual gap"), "ratio"),
    "spend_last_90": (N_("spend in the last 90 days"), "money"),
    "spend_prev_90": (N_("spend in the 90 days before that"), "money"),
    "spend_trend": (N_("spend trend (last 90 days vs the 90 before, -1 to +1)"), "trend"),
    "orders_last_90": (N_("orders in the last 90 days"), "orders"),
    "orders_prev_90": (N_("orders in the 90 days before that"), "orders"),
    "category_breadth": (N_("number of product categories bought"), "categories"),
    "main_channel_share": (N_("share of orders in the main channel"), "share"),
    "discount_share": (N_("discount as a share of list price"), "share"),
    "p_alive": (N_("probability of still being active (BG/NBD)"), "share"),
    "expected_purchases": (N_("expected purchases in the horizon (BG/NBD)"), "purchases"),
    "signup_tenure_days": (N_("days since sign-up"), "days"),
    "payments": (N_("number of payments"), "payments"),
    "total_paid": (N_("total paid"), "money"),
    "mean_payment": (N_("average payment"), "money"),
    "last_payment": (N_("latest payment"), "money"),
    "payment_change": (N_("latest payment against the average"), "change"),
    "missed_periods": (N_("missed payment periods"), "periods"),
    "paying_days": (N_("days paid for (tenure)"), "days"),
}


def feature_label(name: str) -> str:
    """Plain-words name of a feature in the page's language (attributes keep their column name)."""
    if name in FEATURE_WORDS:
        return tr(FEATURE_WORDS[name][0])
    return name.replace("_", " ")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fmt(v: float, unit: str, currency: str) -> str:
    """A feature value with its unit, in the page's language."""
    v = float(v)
    if unit == "money":
        return money(v, currency)
    if unit == "share":
        return fmt_pct(v)
    if unit == "change":
        return fmt_pct(v, signed=True)
    if unit == "trend":
        return ("+" if v > 0 else "") + fmt_number(v, 2)
    if unit == "ratio":
        return tr("{value}x the usual gap", value=fmt_number(v, 1))
    counted = {"days": ("{n} day", "{n} days"), "orders": ("{n} order", "{n} orders"),
               "purchase days": ("{n} purchase day", "{n} purchase days"),
               "categories": ("{n} category", "{n} categories"), "payments": ("{n} payment", "{n} payments"),
               "periods": ("{n} period", "{n} periods")}
    if unit in counted:
        one, many = counted[unit]
        return ntr(one, many, round(v)) if abs(v) >= 10 or v.is_integer() else ntr(one, many, round(v, 1))
    if unit == "purchases":
        return tr("{value} purchases", value=fmt_number(v, 1))
    return fmt_number(v, 0 if abs(v) >= 100 or v.is_integer() else (1 if abs(v) >= 10 else 2))


FLAT_RATIO = 1.1
"""Below this ratio of the risky end's risk to the safe end's, an effect is called flat."""


def effects_in_words(pdp: pd.DataFrame, currency: str, kinds: dict[str, str] | None = None) -> list[str]:
    """One sentence per feature: predicted churn at the low and the high end of its usual range
    (numbers), for yes and no (yes/no attributes), or where it is highest and lowest (categories)."""
    kinds = kinds or {}
    out = []
    for f, d in pdp.groupby("feature", sort=False):
        if len(d) < 2:
            continue
        label = _cap(feature_label(f))
        unit = FEATURE_WORDS.get(f, (None, "days" if kinds.get(f) == "date" else ""))[1]
        if kinds.get(f) != "category" and pd.to_numeric(d["value"], errors="coerce").notna().all():
            d = d.assign(value=d["value"].astype(float))
        if kinds.get(f) == "boolean":
            p = d.set_index("value")["p"]
            out.append(tr("**{feature}**: predicted churn risk is {p_yes} for yes against {p_no} for no, all else "
                          "equal.", feature=label, p_yes=fmt_pct(p.get(1.0)), p_no=fmt_pct(p.get(0.0))))
        elif pd.api.types.is_numeric_dtype(d["value"]):
            lo, hi = d.iloc[0], d.iloc[-1]
            risky, safe = (hi, lo) if hi["p"] >= lo["p"] else (lo, hi)
            ratio = risky["p"] / safe["p"] if safe["p"] > 0 else np.inf
            fields = dict(feature=label, p_high=fmt_pct(hi["p"]), high=_fmt(hi["value"], unit, currency),
                          p_low=fmt_pct(lo["p"]), low=_fmt(lo["value"], unit, currency))
            if ratio < FLAT_RATIO:
                out.append(tr("**{feature}**: predicted churn risk is {p_high} at {high} against {p_low} at {low}, "
                              "all else equal: on its own it hardly moves the risk; it matters together with the "
                              "other features.", **fields))
            else:
                out.append(tr("**{feature}**: predicted churn risk is {p_high} at {high} against {p_low} at {low}, "
                              "all else equal: customers at {risky} are {ratio}x as likely to churn.",
                              risky=_fmt(risky["value"], unit, currency),
                              ratio=fmt_number(ratio, 1) if np.isfinite(ratio) else "∞", **fields))
        else:
            top, bottom = d.loc[d["p"].idxmax()], d.loc[d["p"].idxmin()]
            out.append(tr("**{feature}**: predicted churn is highest for {top} ({p_top}) and lowest for {bottom} "
                          "({p_bottom}), all else equal.", feature=label, top=top["value"], p_top=fmt_pct(top["p"]),
                          bottom=bottom["value"], p_bottom=fmt_pct(bottom["p"])))
    return out


NOT_SCORED = "not scored"
"""The tier of customers without a churn score (not active, already churned, or no model)."""


@dataclass
class ChurnResult:
    """Everything the churn page shows and the artifacts it writes.

    ``not_available`` is set when no churn model could be built (the whole step); ``parts`` lists the
    parts that could not be computed while the rest was (BG/NBD, attributes).
    """

    mode: str
    settings: ChurnSettings
    not_available: NotAvailable | None = None
    parts: list[NotAvailable] = field(default_factory=list)
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
    criterion: str = "brier"
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    lift: pd.DataFrame = field(default_factory=pd.DataFrame)
    backtest_threshold: float = float("nan")
    confusion: dict = field(default_factory=dict)
    threshold: float = float("nan")
    medium_threshold: float = float("nan")
    drivers: pd.DataFrame = field(default_factory=pd.DataFrame)
    pdp: pd.DataFrame = field(default_factory=pd.DataFrame)
    effects: list[str] = field(default_factory=list)
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    features: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    notes: list[AttributeNote] = field(default_factory=list)
    sampled: bool = False
    folds: int = 0
    contractual_without_label: bool = False

    @property
    def available(self) -> bool:
        """Whether a churn model was built and customers were scored."""
        return self.not_available is None

    @property
    def reason(self) -> str:
        """The "not available" sentence, or ``""``."""
        return "" if self.not_available is None else self.not_available.reason


def _empty_scores() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pd.Series(dtype=str), "churn_probability": pd.Series(dtype=float),
                         "churn_tier": pd.Series(dtype=object)})


def _unavailable(res: ChurnResult, missing: str, why: str, remedy: str) -> ChurnResult:
    res.not_available = NotAvailable("churn", missing=missing, why=why, remedy=remedy, title=tr("Churn risk"))
    res.scores = _empty_scores()
    return res


def value_column(scores: pd.DataFrame | None, clv_summary: dict | None) -> tuple[str | None, str]:
    """The value measure for value at risk: predicted CLV when the value step ran, else spend to date."""
    if clv_summary is not None and scores is not None and "clv" in scores:
        return "clv", tr("predicted {months}-month value", months=clv_summary["horizon_months"])
    if scores is not None and "revenue" in scores:
        return "revenue", tr("spend to date")
    return None, tr("value")


#: Most customers BG/NBD's four parameters are estimated on (a seeded sample beyond); every customer is scored.
BGNBD_FIT_SAMPLE = 100_000

#: BG/NBD's time unit inside the churn step. Its forecasts do not depend on the unit (only the scale
#: parameter alpha does), so this is a numerical choice, not a parameter.
BGNBD_UNIT_DAYS = 7.0


@dataclass
class _BGNBD:
    """BG/NBD fitted on the history up to one snapshot, or why not."""

    params: dict | None
    not_available: NotAvailable | None = None


def _fit_bgnbd(t: ibis.Table | churn_data.SnapshotSet, snapshot: pd.Timestamp, seed: int,
               fit_sample: int = BGNBD_FIT_SAMPLE) -> _BGNBD:
    """BG/NBD on every customer's history up to ``snapshot`` (a seeded sample of ``fit_sample`` beyond).

    ``t``: the orders, or a :class:`helpers.churn.data.SnapshotSet` with ``snapshot`` (the same history).
    """
    if isinstance(t, churn_data.SnapshotSet):
        hist = t.history(snapshot, BGNBD_UNIT_DAYS)
    else:
        hist = churn_data.purchase_history(t, snapshot, BGNBD_UNIT_DAYS)
    day = fmt_date(pd.Timestamp(snapshot))
    why = tr("its probability of no purchase is a candidate, and its P(alive) and expected purchases are "
             "features of the learned models")
    if not (hist["x"] > 0).any():
        return _BGNBD(None, NotAvailable("churn.bgnbd", missing=tr("nobody had bought twice by {date}", date=day),
                                         why=why, remedy=tr("customers who buy more than once"),
                                         title=tr("BG/NBD in the churn model")))
    f = hist
    if len(hist) > fit_sample:
        rng = np.random.default_rng(seed)
        f = hist.iloc[np.sort(rng.choice(len(hist), fit_sample, replace=False))]
    try:
        fit = clv.fit_bgnbd(f["x"], f["t_x"], f["T"])
    except clv.CLVFitError:
        return _BGNBD(None, NotAvailable(
            "churn.bgnbd", missing=tr("the BG/NBD purchase model did not converge on the history up to {date}",
                                      date=day),
            why=why, remedy=tr("a longer history with more repeat purchases"), title=tr("BG/NBD in the churn model")))
    return _BGNBD(fit.params)


def _with_bgnbd(X: pd.DataFrame, params: dict, horizon_days: int) -> pd.DataFrame:
    """``X`` with BG/NBD's ``p_alive`` and ``expected_purchases`` (from its recency, tenure, purchase days)."""
    u = BGNBD_UNIT_DAYS
    rec, ten, days = (X[c].to_numpy(float) for c in churn.BGNBD_INPUTS)
    f = churn.bgnbd_churn(params, days - 1, (ten - rec) / u, ten / u, horizon_days / u)
    return X.assign(p_alive=f["p_alive"].to_numpy(), expected_purchases=f["expected_purchases"].to_numpy())


def snapshot_data(t: ibis.Table | pd.DataFrame, snapshot: pd.Timestamp, settings: ChurnSettings,
                  customers: pd.DataFrame | None, attributes: list[str], types: dict[str, str] | None,
                  seed: int, bgnbd: bool = True, base: churn_data.SnapshotSet | None = None
                  ) -> tuple[pd.DataFrame, _BGNBD]:
    """The features of every customer active at ``snapshot``, from the orders up to it only.

    Order-history features and attributes (:func:`helpers.churn.data.snapshot_features`), plus BG/NBD's
    P(alive) and expected purchases in the horizon from a BG/NBD fit on the history up to the snapshot
    (when ``bgnbd`` and the fit succeeds). Nothing after the snapshot is read (a property test holds it).
    With ``base`` (a :class:`helpers.churn.data.SnapshotSet` holding ``snapshot``, built from ``t``), the
    features and the history are read from it instead of grouping the orders again (same results).
    """
    if base is not None:
        X = base.features(snapshot, customers, attributes or None, settings.max_levels, types)
    else:
        X = churn_data.snapshot_features(t, snapshot, settings.active_days, customers, attributes or None,
                                         settings.max_levels, types)
    if not bgnbd:
        return X, _BGNBD(None)
    b = _fit_bgnbd(base if base is not None else churn_data.ibis_orders(t), snapshot, seed)
    if b.params is not None:
        X = _with_bgnbd(X, b.params, settings.horizon_days)
    return X, b


def _small_data(res: ChurnResult, e: churn.DataTooSmall, snapshot: pd.Timestamp | None) -> ChurnResult:
    """"Not available" for labels a model cannot learn from (too few customers, one class, a tiny class)."""
    h = res.horizon_days
    stayed = e.n - e.churned
    if snapshot is not None:
        day = fmt_date(snapshot)
        if e.kind == "few":
            missing = ntr("only {n} customer was active on {date}", "only {n} customers were active on {date}",
                          e.n, date=day)
        elif e.kind == "one_class" and e.churned:
            missing = tr("every one of the {n} customers active on {date} placed no order in the next {days} days",
                         n=fmt_int(e.n), date=day, days=h)
        elif e.kind == "one_class":
            missing = tr("every one of the {n} customers active on {date} bought again within {days} days",
                         n=fmt_int(e.n), date=day, days=h)
        else:
            missing = tr("of the {n} customers active on {date}, {churned} churned and {stayed} bought again",
                         n=fmt_int(e.n), date=day, churned=fmt_int(e.churned), stayed=fmt_int(stayed))
        remedy = (tr("a larger customer base or a longer churn.active_days") if e.kind == "few"
                  else tr("a longer order history, or another churn.horizon_days"))
    else:
        if e.kind == "few":
            missing = ntr("only {n} customer has a churn label", "only {n} customers have a churn label", e.n)
        elif e.kind == "one_class":
            missing = (tr("every one of the {n} labelled customers churned", n=fmt_int(e.n)) if e.churned
                       else tr("none of the {n} labelled customers churned", n=fmt_int(e.n)))
        else:
            missing = tr("of the {n} labelled customers, {churned} churned and {stayed} did not",
                         n=fmt_int(e.n), churned=fmt_int(e.churned), stayed=fmt_int(stayed))
        remedy = tr("more labelled customers, with churners and customers who stayed")
    why = {"few": tr("a churn model needs at least {min} customers to learn from and to be tested on",
                     min=fmt_int(churn.MIN_CUSTOMERS)),
           "one_class": tr("a model learns to tell churners from those who stay, and these customers are all alike"),
           "minority": tr("learning and testing need at least {min} churners and {min} customers who stayed",
                          min=fmt_int(churn.MIN_CLASS))}[e.kind]
    return _unavailable(res, missing, why, remedy)


def run(orders: pd.DataFrame | ibis.Table, customers: pd.DataFrame | None, as_of: pd.Timestamp,
        settings: ChurnSettings, seed: int, currency: str, business: BusinessSettings | None = None,
        types: dict[str, str] | None = None, table: ibis.Table | None = None) -> ChurnResult:
    """Run the churn step in the mode the data allows (see the module docstring).

    Parameters
    ----------
    orders : DataFrame or Ibis table
        Clean orders (``customer_id``, ``order_ts``, ``amount``, optional category/channel/discount);
        the notebook passes the engine's table (:func:`helpers.frame.engine.orders_table`), so the order log
        is never loaded into pandas.
    customers : DataFrame or None
        Clean customers (attributes typed at ingestion); a ``churned`` column switches to contractual mode
        unless ``business.model`` is ``non_contractual``.
    as_of : Timestamp
        Last day of the quarter.
    business : BusinessSettings, optional
        The kind of business (``business.model``, ``business.period_months``).
    types : dict, optional
        ``columns.customers.attribute_types``: attributes with a type set in the mapping are never
        left out as identifiers.
    table : Ibis table, optional
        The same orders on the configured engine, when ``orders`` is a DataFrame.

    Raises
    ------
    ParameterError
        ``churn.attributes`` names a column the clean customers table does not have.
    """
    has_label = customers is not None and "churned" in customers.columns and customers["churned"].notna().any()
    model = business.model if business is not None else "auto"
    t = churn_data.ibis_orders(orders if table is None else table)
    if has_label and model != "non_contractual":
        period_days = 30.4375 * (business.period_months if business is not None else 1)
        return _run_contractual(t, customers, as_of, settings, seed, currency, types, period_days)
    res = _run_snapshots(t, customers, as_of, settings, seed, currency, types)
    res.contractual_without_label = model == "contractual"
    return res


def _run_snapshots(t: ibis.Table, customers, as_of, settings: ChurnSettings, seed, currency, types) -> ChurnResult:
    h = settings.horizon_days
    as_of = pd.Timestamp(as_of).normalize()
    ev, tr_ = as_of - pd.Timedelta(days=h), as_of - pd.Timedelta(days=2 * h)
    res = ChurnResult(mode="snapshot", settings=settings, horizon_days=h, criterion=settings.criterion,
                      train_snapshot=tr_, eval_snapshot=ev, scored_at=as_of)
    first = pd.Timestamp(to_pandas(t.aggregate(first=t.order_ts.min()))["first"].iloc[0])
    if pd.isna(first):
        return _unavailable(res, tr("there are no orders"),
                            tr("churn is learned from what customers bought before and after a snapshot"),
                            tr("an order history"))
    first = first.normalize()
    if tr_ <= first:
        return _unavailable(
            res,
            tr("the orders start on {first}; a {days}-day backtest needs a training snapshot on {train} with orders "
               "before it", first=fmt_date(first), days=h, train=fmt_date(tr_)),
            tr("the model is trained on one snapshot and tested on a later one, each followed by {days} days whose "
               "outcome is known", days=h),
            tr("at least {need} days of orders before the as-of date (more for a useful model), or a shorter "
               "churn.horizon_days", need=fmt_int(2 * h + 1)))
    attrs = list(settings.attributes)
    if attrs and customers is None:
        res.parts.append(NotAvailable(
            "churn.attributes", missing=tr("churn.attributes names {names}, and there is no customers table",
                                           names=fmt_list(attrs)),
            why=tr("customer attributes add to what the order history says about churn"),
            remedy=tr("a customers table (sources.customers)"), title=tr("Customer attributes in the churn model")))
        attrs = []
    _check_attributes(attrs, customers)
    stage(f"churn: features at the training ({tr_.date()}) and evaluation ({ev.date()}) snapshots, BG/NBD at each")
    # one pass over the orders for the three snapshots and both outcome windows (same results as one query each)
    base = churn_data.snapshot_set(t, [tr_, ev, as_of], settings.active_days, {tr_: h, ev: h})
    Xtr, btr = snapshot_data(t, tr_, settings, customers, attrs, types, seed, base=base)
    Xev, bev = snapshot_data(t, ev, settings, customers, attrs, types, seed, base=base)
    Xnow, bnow = snapshot_data(t, as_of, settings, customers, attrs, types, seed, base=base)
    failed = next((b.not_available for b in (btr, bev, bnow) if b.not_available is not None), None)
    if failed is not None:
        res.parts.append(failed)
        drop = [c for c in ("p_alive", "expected_purchases") if c in Xtr or c in Xev or c in Xnow]
        Xtr, Xev, Xnow = (X.drop(columns=[c for c in drop if c in X]) for X in (Xtr, Xev, Xnow))
    # a feature with no value at the training snapshot (no category column in the export; nobody has a
    # usual gap yet when nobody bought twice) cannot be learned from
    Xtr = Xtr.loc[:, Xtr.notna().any() | (len(Xtr) == 0)]
    Xev, Xnow = Xev.reindex(columns=Xtr.columns), Xnow.reindex(columns=Xtr.columns)
    Xtr, Xev, Xnow = churn.as_categories(Xtr, Xev, Xnow)
    ytr = base.labels(tr_, h, Xtr.index, as_of)
    yev = base.labels(ev, h, Xev.index, as_of)
    base.release()
    if attrs and customers is not None:
        _, res.notes, kinds = churn_data.attribute_features(customers, attrs, as_of, settings.max_levels, types)
        res.kinds.update(kinds)
    for snap, y in ((tr_, ytr), (ev, yev)):
        try:
            churn.check_classes(y, f"snapshot {snap.date()}")
        except churn.DataTooSmall as e:
            return _small_data(res, e, snap)
    res.n_train, res.n_eval = len(Xtr), len(Xev)
    res.base_rate_train, res.base_rate_eval = float(ytr.mean()), float(yev.mean())
    res.features = list(Xtr.columns)
    res.sampled = max(len(Xtr), len(Xev)) > churn.FIT_SAMPLE
    stage(f"churn: fitting gradient boosting and logistic regression on {len(Xtr):,} customers")
    models = churn.fit_models(Xtr, ytr, seed)
    del Xtr, ytr   # the training snapshot is no longer read: free its frame (about 0.7 GB at 5M customers)
    probs = churn.predict(models, Xev)
    bg_ev = bg_now = None
    if bev.params is not None and bnow.params is not None:
        bg_ev = churn.BGNBDChurn(bev.params, h, BGNBD_UNIT_DAYS).fit()
        bg_now = churn.BGNBDChurn(bnow.params, h, BGNBD_UNIT_DAYS).fit()
        probs["bgnbd"] = bg_ev.predict_proba(Xev)[:, 1]
    stage("churn: backtest metrics, permutation importance, partial dependence")
    res.metrics = churn.metrics(probs, yev)
    res.chosen = churn.choose(res.metrics, settings.model, settings.criterion)
    _backtest(res, probs, yev)
    if res.chosen == "bgnbd":
        cols = list(churn.BGNBD_INPUTS)
        _explain(res, bg_ev, Xev[cols], yev, seed, currency)
        final, Xs = bg_now, Xnow
    else:
        _explain(res, models[res.chosen], Xev, yev, seed, currency)
        stage(f"churn: refitting {res.chosen.replace('_', ' ')} on the evaluation snapshot, scoring active customers")
        final, Xs = churn.fit_models(Xev, yev, seed, only=res.chosen)[res.chosen], Xnow
    res.scores = _score(final, Xs, res)
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


def _backtest(res: ChurnResult, probs: pd.DataFrame, y: pd.Series) -> None:
    """Calibration curves, lift and the high tier's precision and recall from held-out predictions."""
    res.calibration = pd.concat([churn.calibration_curve(y, probs[k]).assign(model=k) for k in probs.columns],
                                ignore_index=True)
    p = probs[res.chosen].to_numpy()
    res.lift = churn.lift_table(y, p)
    t = res.settings.tiers
    tiers = churn.assign_tiers(p, t.method, t.high, t.medium)
    res.backtest_threshold = churn.tier_thresholds(p, t.method, t.high, t.medium)[0]
    res.confusion = churn.confusion(y, tiers == "high")


def _explain(res: ChurnResult, model, X: pd.DataFrame, y: pd.Series, seed: int, currency: str) -> None:
    """Drivers (permutation importance) and the top three's partial dependence, in words."""
    res.drivers = churn.drivers(model, X, y, seed)
    top = res.drivers.loc[res.drivers["importance"] > 0, "feature"].head(3).tolist()
    res.pdp = churn.partial_dependence(model, X, top, seed, kinds=res.kinds)
    res.effects = effects_in_words(res.pdp, currency, res.kinds)


def _score(model, X: pd.DataFrame, res: ChurnResult) -> pd.DataFrame:
    t = res.settings.tiers
    p = model.predict_proba(X)[:, 1] if len(X) else np.array([])
    res.threshold, res.medium_threshold = churn.tier_thresholds(p, t.method, t.high, t.medium)
    return pd.DataFrame({"customer_id": X.index.astype(str), "churn_probability": p,
                         "churn_tier": churn.assign_tiers(p, t.method, t.high, t.medium)})


def _run_contractual(t: ibis.Table, customers: pd.DataFrame, as_of, settings: ChurnSettings, seed, currency,
                     types, period_days: float) -> ChurnResult:
    as_of = pd.Timestamp(as_of).normalize()
    res = ChurnResult(mode="contractual", settings=settings, horizon_days=settings.horizon_days,
                      criterion=settings.criterion, scored_at=as_of)
    _check_attributes(list(settings.attributes), customers)
    attrs = list(settings.attributes) or [c for c in customers.columns
                                          if c not in ("customer_id", "signup_date", "churned")]
    stage("churn: typed attributes and payment history of the labelled customers")
    paid = churn_data.payment_history(t, as_of, period_days)
    d = churn_data.contractual_dataset(customers, attrs, as_of, settings.max_levels, types, paid)
    res.notes, res.kinds = d.notes, dict(d.kinds)
    empty = [c for c in d.X.columns if d.X[c].isna().all()]
    d.X, d.X_score = churn.as_categories(d.X.drop(columns=empty), d.X_score.drop(columns=empty))
    if d.X.shape[1] == 0:
        return _unavailable(res, tr("the customers table has a churn label but no attribute, sign-up date or "
                                    "payment to learn from"),
                            tr("a model predicts churn from what distinguishes customers"),
                            tr("customer attributes (columns.customers.attributes) or the subscribers' payments"))
    res.features = list(d.X.columns)
    stage(f"churn: {settings.cv_folds}-fold cross-validation of both models on {len(d.X):,} labelled customers")
    try:
        cv = churn.cross_validated(d.X, d.y, seed, settings.cv_folds)
    except churn.DataTooSmall as e:
        return _small_data(res, e, None)
    res.n_train, res.n_eval = len(d.X), len(cv.y)
    res.base_rate_train, res.base_rate_eval = float(d.y.mean()), float(cv.y.mean())
    res.sampled, res.folds = cv.sampled, cv.folds
    res.metrics = churn.metrics(cv.probs, cv.y)
    res.chosen = churn.choose(res.metrics, settings.model, settings.criterion)
    _backtest(res, cv.probs, cv.y)
    test = cv.fold_test
    _explain(res, cv.fold_models[res.chosen], d.X.loc[test], d.y.loc[test], seed, currency)
    stage(f"churn: refitting {res.chosen.replace('_', ' ')} on every labelled customer, scoring the active ones")
    final = churn.fit_models(d.X, d.y, seed, only=res.chosen)[res.chosen]
    res.scores = _score(final, d.X_score, res)
    return res


def labels(res: ChurnResult) -> dict[str, str]:
    """Plain-words names of the model's features (for chart axes)."""
    return {f: feature_label(f) for f in res.features}


def _model_name(key: str) -> str:
    return tr(MODEL_LABELS.get(key, key))


def mode_sentence(res: ChurnResult) -> str:
    """What was modelled, on which customers, and the base rates (empty when not available: the notice says it)."""
    if not res.available:
        return ""
    if res.mode == "contractual":
        text = tr("**Contractual mode**: the customers table carries an explicit churn label, so the models learn "
                  "from {n} labelled customers ({rate} churned) with stratified {folds}-fold cross-validation on "
                  "their attributes, tenure and payment history. How recently a subscriber paid is left out: the "
                  "label's date is unknown, so it would reveal the label instead of predicting it. Customers not "
                  "yet churned are scored.", n=fmt_int(res.n_train), rate=fmt_pct(res.base_rate_train, 1),
                  folds=res.folds)
        if res.sampled:
            text += " " + tr("The cross-validation uses a stratified random sample of {n} of them (the churn share "
                             "kept); every customer is scored.", n=fmt_int(churn.CV_SAMPLE))
        return text
    h = res.horizon_days
    text = tr("**Snapshot mode**: a customer with an order in the {active} days before a snapshot *churns* when they "
              "place no order in the {days} days after it. Trained on the snapshot of {train} ({n_train} customers, "
              "{rate_train} churned), tested on the latest snapshot whose outcome is known, {eval} ({n_eval} "
              "customers, {rate_eval} churned); features use only orders up to each snapshot. The chosen model, "
              "refitted on {eval}, scores every customer active on {now} for the next {days} days.",
              active=fmt_int(res.settings.active_days), days=h, train=fmt_date(res.train_snapshot),
              n_train=fmt_int(res.n_train), rate_train=fmt_pct(res.base_rate_train, 1),
              eval=fmt_date(res.eval_snapshot), n_eval=fmt_int(res.n_eval), rate_eval=fmt_pct(res.base_rate_eval, 1),
              now=fmt_date(res.scored_at))
    if res.sampled:
        text += " " + tr("The learned models use a stratified random sample of {n} customers of each snapshot (the "
                         "churn share kept); every customer is scored.", n=fmt_int(churn.FIT_SAMPLE))
    if res.contractual_without_label:
        text += " " + tr("The business is set as contractual but the customers table has no churn label, so a "
                         "subscriber counts as churned when no payment arrives in the {days} days after a snapshot.",
                         days=h)
    return text


def notes_markdown(res: ChurnResult) -> str:
    """How customer attributes entered the model, when not as they are (identifiers, grouped levels)."""
    if not res.notes:
        return ""
    return tr("How the customer attributes enter the model:") + "\n\n" + bullet_list([n.sentence for n in res.notes])


def metrics_table(res: ChurnResult) -> pd.DataFrame:
    """The backtest table (raw names): one row per candidate, best by the rule first, the chosen one marked."""
    if not res.available:
        return pd.DataFrame()
    m = res.metrics.copy()
    m["chosen"] = m["model"] == res.chosen
    return m.sort_values(res.criterion, kind="stable").reset_index(drop=True)


def _see_above():
    from IPython.display import Markdown
    return Markdown(tr("Not available this quarter: see the note at the top of the page."))


def metrics_view(res: ChurnResult):
    """The backtest table for the page (translated headers, rounded); a pointer to the notice when
    there is no model."""
    if not res.available:
        return _see_above()
    m = metrics_table(res)
    h = {"model": tr("Model"), "chosen": tr("Chosen"), "roc_auc": tr("ROC AUC"), "pr_auc": tr("PR AUC"),
         "brier": tr("Brier score"), "log_loss": tr("Log loss"), "mean_predicted": tr("Predicted churn"),
         "observed_rate": tr("Observed churn"), "calibration_error": tr("Calibration error")}
    v = m[list(h)].assign(model=[_model_name(k) for k in m["model"]],
                          chosen=np.where(m["chosen"], tr("yes"), "")).rename(columns=h)
    cap = (tr("Held out: the {date} snapshot, {n} customers. Lower Brier score, log loss and calibration error "
              "are better; higher ROC AUC and PR AUC are better.", date=fmt_date(res.eval_snapshot),
              n=fmt_int(res.n_eval)) if res.mode == "snapshot" else
           tr("Out of fold: {folds}-fold cross-validation, {n} customers. Lower Brier score, log loss and "
              "calibration error are better; higher ROC AUC and PR AUC are better.", folds=res.folds,
              n=fmt_int(res.n_eval)))
    metric_cols = [h["roc_auc"], h["pr_auc"], h["brier"], h["log_loss"]]
    st = styled_table(v, pct_cols=[h["mean_predicted"], h["observed_rate"], h["calibration_error"]],
                      readable_headers=False, caption=cap)
    return st.format("{:.3f}", subset=metric_cols)     # three decimals: the candidates differ in the third


def choice_sentence(res: ChurnResult) -> str:
    """Which model scores the customers and why, against every baseline on the page."""
    if not res.available:
        return ""
    m = res.metrics.set_index("model")
    crit = tr(CRITERIA[res.criterion])
    c = m.loc[res.chosen]
    best = churn.choose(res.metrics, "auto", res.criterion)
    others = [k for k in m.index if k != res.chosen]
    against = tr(", ").join(tr("{model} {value}", model=_model_name(k), value=fmt_number(m.loc[k, res.criterion], 3))
                            for k in others)
    if res.chosen == best:
        text = tr("**{model} scores the customers**: it has the lowest {criterion} in the backtest ({value}, against "
                  "{others}). The {criterion} is the rule because the tiers, the value at risk and the size of a "
                  "campaign all use the probabilities themselves, not only their order.",
                  model=_model_name(res.chosen), criterion=crit, value=fmt_number(c[res.criterion], 3), others=against)
    else:
        text = tr("**{model} scores the customers because churn.model says so**; by the {criterion}, {best} would be "
                  "better ({value_best} against {value}).", model=_model_name(res.chosen), criterion=crit,
                  best=_model_name(best), value_best=fmt_number(m.loc[best, res.criterion], 3),
                  value=fmt_number(c[res.criterion], 3))
    ranks = m["roc_auc"].sort_values(ascending=False, kind="stable")
    better_rank = ranks.index[0]
    if (better_rank != res.chosen and ranks.iloc[0] - c["roc_auc"] >= 0.0005
            and m.loc[better_rank, res.criterion] > c[res.criterion]):
        text += " " + tr("{model} ranks customers slightly better (ROC AUC {auc} against {auc_chosen}) but its "
                         "probabilities are further from what happened.", model=_model_name(better_rank),
                         auc=fmt_number(ranks.iloc[0], 3), auc_chosen=fmt_number(c["roc_auc"], 3))
    return text


def calibration_sentence(res: ChurnResult) -> str:
    """How calibrated the chosen model's probabilities are, in numbers."""
    if not res.available:
        return ""
    m = res.metrics.set_index("model").loc[res.chosen]
    fields = dict(model=_model_name(res.chosen), predicted=fmt_pct(m["mean_predicted"], 1),
                  observed=fmt_pct(m["observed_rate"], 1), gap=fmt_number(m["calibration_error"] * 100, 1))
    head = tr("The learned models are fitted by log loss, so their probabilities are calibrated on the data they "
              "learn from; BG/NBD's are its own forecast. Whether they stay calibrated on customers they did not "
              "see is checked here.")
    if res.mode == "contractual":
        body = tr("Out of fold, {model} predicted an average churn risk of {predicted} against {observed} observed; "
                  "across ten risk bands the predicted and observed rates differ by {gap} percentage points on "
                  "average.", **fields)
    else:
        body = tr("On the {date} snapshot, {model} predicted an average churn risk of {predicted} against {observed} "
                  "observed; across ten risk bands the predicted and observed rates differ by {gap} percentage "
                  "points on average.", date=fmt_date(res.eval_snapshot), **fields)
    return head + " " + body


def lift_sentence(res: ChurnResult) -> str:
    """What contacting the riskiest tenth and fifth would find."""
    if not res.available:
        return tr("Not available this quarter: see the note at the top of the page.")
    if res.lift.empty:
        return ""
    top = res.lift.iloc[0]
    two = res.lift.iloc[min(1, len(res.lift) - 1)]
    return tr("The riskiest tenth of customers churned at {rate} ({lift}x the average of {base}); contacting the "
              "riskiest fifth would reach {capture} of all churners.", rate=fmt_pct(top["churn_rate"]),
              lift=fmt_number(top["lift"], 1), base=fmt_pct(res.base_rate_eval), capture=fmt_pct(two["capture"]))


def lift_view(res: ChurnResult):
    """The lift table for the page."""
    if not res.available or res.lift.empty:
        return None
    h = {"decile": tr("Risk tenth (1 = riskiest)"), "customers": tr("Customers"),
         "min_probability": tr("Lowest probability"), "churn_rate": tr("Churned"), "lift": tr("Lift"),
         "share_contacted": tr("Share contacted"), "capture": tr("Churners reached")}
    return styled_table(res.lift[list(h)].rename(columns=h), int_cols=[h["decile"], h["customers"]],
                        float_cols=[h["min_probability"], h["lift"]],
                        pct_cols=[h["churn_rate"], h["share_contacted"], h["capture"]], readable_headers=False)


def low_tier_note(res: ChurnResult, scored: pd.DataFrame) -> str:
    """With tiers by share, what "low" means: less risky than the others, not unlikely to churn.

    Said when some of the low tier are more likely than not to churn (a retailer where most active
    customers place no order in the horizon: "low risk" beside a probability of 0.78 misleads); empty
    otherwise, and with tiers by probability cut-offs (their meaning is the cut-off itself).
    """
    if res.settings.tiers.method != "top_share" or "churn_probability" not in scored:
        return ""
    p = scored.loc[scored["churn_tier"] == "low", "churn_probability"].to_numpy(dtype=float)
    p = p[np.isfinite(p)]
    if not len(p) or not (p > 0.5).any():
        return ""
    words = dict(p=fmt_number(float(p.max()), 2), share=fmt_pct(float((p > 0.5).mean())))
    if res.mode == "snapshot":
        return tr("The tiers rank customers against each other: \"low\" means less risky than the others, not "
                  "unlikely: the low tier's probabilities run up to {p}, and {share} of its customers are more likely "
                  "than not to place no order.", **words)
    return tr("The tiers rank subscribers against each other: \"low\" means less risky than the others, not "
              "unlikely: the low tier's probabilities run up to {p}, and {share} of its subscribers are more likely "
              "than not to churn.", **words)


def _tier_rule(res: ChurnResult, cut: float) -> str:
    t = res.settings.tiers
    if t.method == "top_share":
        return tr("the riskiest {share}, probability {p} or more", share=fmt_pct(t.high), p=fmt_number(cut, 2))
    return tr("probability {p} or more", p=fmt_number(cut, 2))


def confusion_sentence(res: ChurnResult) -> str:
    """The backtest at the high tier in words: precision and recall."""
    if not res.available:
        return ""
    c = res.confusion
    flagged = c["tp"] + c["fp"]
    prec = c["tp"] / flagged if flagged else float("nan")
    rec = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else float("nan")
    return tr("In the backtest, the high tier ({rule}) held {flagged} customers: {precision} of them did churn "
              "(precision) and they were {recall} of all churners (recall).",
              rule=_tier_rule(res, res.backtest_threshold), flagged=fmt_int(flagged), precision=fmt_pct(prec),
              recall=fmt_pct(rec))


def confusion_view(res: ChurnResult):
    """Flagged (high tier) against what happened, in the backtest."""
    if not res.available:
        return None
    c = res.confusion
    stayed = tr("Kept buying") if res.mode == "snapshot" else tr("Did not churn")
    v = pd.DataFrame({tr("Backtest"): [tr("high tier"), tr("medium or low tier")],
                      tr("Churned"): [c["tp"], c["fn"]], stayed: [c["fp"], c["tn"]]})
    return styled_table(v, int_cols=[tr("Churned"), stayed], readable_headers=False)


def effects_markdown(res: ChurnResult) -> str:
    """The top drivers' effects as a bullet list (which model they describe first)."""
    if not res.available:
        return tr("Not available this quarter: see the note at the top of the page.")
    head = tr("For {model}, the model that scores the customers:", model=_model_name(res.chosen))
    return head + "\n\n" + bullet_list(res.effects)


def scored_customers(res: ChurnResult, scores: pd.DataFrame | None, value_col: str | None,
                     high_value_share: float) -> pd.DataFrame:
    """Churn scores joined to segments and value, with the ``retention_priority`` flag.

    ``retention_priority``: high tier and in the top ``high_value_share`` of the scored customers by
    **spend to date** (what they have been worth; a predicted value such as CLV already counts on them
    leaving, so "high risk and high predicted value" is nearly empty by construction). Without spend
    to date, by ``value_col``. The measure used is ``attrs["priority_col"]``.
    """
    s = res.scores.copy()
    if scores is not None:
        keep = [c for c in ("customer_id", "rfm_segment", "action_group", "revenue", value_col) if c and c in scores]
        s = s.merge(scores[list(dict.fromkeys(keep))].assign(customer_id=lambda d: d["customer_id"].astype(str)),
                    on="customer_id", how="left")
    pcol = "revenue" if "revenue" in s else (value_col if value_col and value_col in s else None)
    if pcol is not None and len(s):
        cut = s[pcol].quantile(1 - high_value_share)
        s["retention_priority"] = (s["churn_tier"] == "high") & (s[pcol] >= cut)
    else:
        s["retention_priority"] = False
    s.attrs["priority_col"] = pcol
    return s


def value_at_risk_table(scored: pd.DataFrame, value_col: str | None) -> pd.DataFrame:
    """Per segment: scored customers, high-risk count and share, mean risk, value at risk, priority count.

    Sorted by the value at risk (or the high-risk count when no value is known). Keys as ``churn.json``'s
    ``by_segment`` records (the review reads them).
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


def value_at_risk_view(var: pd.DataFrame, currency: str):
    """The by-segment table for the page."""
    if var.empty:
        return None
    h = {"segment": tr("Segment"), "action_group": tr("Action group"), "active_customers": tr("Scored customers"),
         "high_risk": tr("High risk"), "share_high_risk": tr("Share at high risk"),
         "mean_churn_probability": tr("Mean churn probability"),
         "value_at_risk": tr("Value at risk ({currency})", currency=currency_unit(currency)),
         "retention_priority": tr("Retention priority")}
    v = var.rename(columns=h)
    return styled_table(v, int_cols=[h["active_customers"], h["high_risk"], h["retention_priority"]],
                        pct_cols=[h["share_high_risk"], h["mean_churn_probability"]],
                        money_cols=[h["value_at_risk"]] if h["value_at_risk"] in v else [], readable_headers=False)


def segments_not_available(res: ChurnResult, scores: pd.DataFrame | None) -> NotAvailable | None:
    """"Not available" for the value at risk by segment when the segments step did not run (and churn did)."""
    if not res.available or (scores is not None and "rfm_segment" in scores):
        return None
    return NotAvailable("churn.segments", missing=tr("the segments step (20_rfm_clustering) did not run"),
                        why=tr("the value at risk is summed per segment and action group"),
                        remedy=tr("the segments step in the run"), title=tr("Value at risk by segment"))


def risk_sentences(res: ChurnResult, scored: pd.DataFrame, var: pd.DataFrame, currency: str, value_label: str,
                   scores: pd.DataFrame | None = None) -> str:
    """Tier counts, customers not scored (of ``scores``, every customer), value at risk and the
    retention-priority list in words."""
    customers_total = None if scores is None else len(scores)
    if not res.available:
        return tr("No risk tiers this quarter: churn risk is not available (see the note at the top of the page). "
                  "In the exports every customer's tier is \"not scored\", never \"low\".")
    n = len(scored)
    counts = scored["churn_tier"].value_counts()
    hi, med, low = (int(counts.get(k, 0)) for k in ("high", "medium", "low"))
    fields = dict(n=fmt_int(n), high=fmt_int(hi), share=fmt_pct(hi / max(n, 1)), medium=fmt_int(med),
                  low=fmt_int(low), days=res.horizon_days, rule=_tier_rule(res, res.threshold))
    if res.mode == "snapshot":
        # the scored customers are the active ones: the same term, and number, as the review and the glossary
        text = tr("Of {n} active customers (bought in the last {active} days), **{high} ({share}) are at high risk** "
                  "of placing no order in the next {days} days ({rule}), {medium} at medium risk and {low} at low "
                  "risk.", active=fmt_int(res.settings.active_days), **fields)
    else:
        text = tr("Of {n} scored subscribers, **{high} ({share}) are at high risk** of churning ({rule}), {medium} "
                  "at medium risk and {low} at low risk.", **fields)
    text = " ".join(x for x in (text, low_tier_note(res, scored)) if x)
    if customers_total is not None and customers_total > n:
        why = (tr("no order in the {days} days before the as-of date", days=fmt_int(res.settings.active_days))
               if res.mode == "snapshot" else tr("already churned"))
        text += " " + tr("{n} customers are not scored ({why}): their tier is \"not scored\".",
                         n=fmt_int(customers_total - n), why=why)
    if "value_at_risk" in var:
        text += " " + tr("The high-risk customers hold {value} of {value_label} (the value at risk).",
                         value=money(var["value_at_risk"].sum(), currency), value_label=value_label)
    pr = int(scored["retention_priority"].sum())
    by = tr("spend to date") if scored.attrs.get("priority_col") == "revenue" else value_label
    text += " " + ntr("**{n} customer is high risk and high value** (top {share} by {value_label}): flagged "
                      "`retention_priority` in segments_export.csv for the retention team. The review's plan may "
                      "hold them out as a control group; its retention-priority.csv lists whom to contact.",
                      "**{n} customers are high risk and high value** (top {share} by {value_label}): they are "
                      "flagged `retention_priority` in segments_export.csv for the retention team. The review's plan "
                      "holds some of them out as a control group; its retention-priority.csv lists whom to "
                      "contact.", pr,
                      share=fmt_pct(res.settings.high_value_share), value_label=by)
    return text


@dataclass
class Retention:
    """Kaplan-Meier curves by action group from ``origin`` to the as-of date, or why not."""

    km: pd.DataFrame
    logrank: dict
    origin: pd.Timestamp
    not_available: NotAvailable | None = None


def retention(orders: pd.DataFrame | ibis.Table, as_of: pd.Timestamp, rfm_settings: RfmSettings,
              settings: ChurnSettings) -> Retention:
    """Kaplan-Meier time to the next purchase after ``as_of - retention_days``, by action group then.

    Customers are grouped by the action group they were in on the origin day (same rules as the
    segments page, recomputed at that date) and followed to the as-of date (censored there).
    Independent of the churn model: the curves are shown when the model is not available.
    """
    origin = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=settings.retention_days)
    summary = rfm.customer_summary(orders, origin)
    if summary.empty:
        return Retention(pd.DataFrame(), {}, origin, NotAvailable(
            "churn.retention", missing=tr("nobody had bought by {date}, the start of the retention window",
                                          date=fmt_date(origin)),
            why=tr("the curves follow the customers of that day until the as-of date"),
            remedy=tr("an order history longer than churn.retention_days ({days} days), or a shorter window",
                      days=fmt_int(settings.retention_days)),
            title=tr("Retention curves")))
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
    return Retention(km, lr, origin)


def retention_sentence(ret: Retention, as_of: pd.Timestamp) -> str:
    """Share who bought again within 90 days and by the as-of date, per group, and the log-rank test."""
    if ret.km.empty:
        return ""
    parts = []
    for g, d in ret.km.groupby("group", observed=True, sort=True):
        s90 = d.loc[d["time"] <= 90, "survival"].iloc[-1]
        parts.append(ntr("{group}: {within} within 90 days, {by_end} by {date} ({n} customer)",
                         "{group}: {within} within 90 days, {by_end} by {date} ({n} customers)",
                         int(d["at_risk"].iloc[0]), group=g, within=fmt_pct(1 - s90),
                         by_end=fmt_pct(1 - d["survival"].iloc[-1]), date=fmt_date(pd.Timestamp(as_of))))
    text = tr("Customers grouped by their action group on {origin}; share who bought again: {parts}.",
              origin=fmt_date(ret.origin), parts=tr("; ").join(parts))
    lr = ret.logrank
    if lr:
        fields = dict(chi2=fmt_int(lr["chi2"]), df=lr["df"], p=fmt_p(lr["p"]))
        text += " " + (tr("The groups' curves differ (log-rank chi-square {chi2} on {df} degrees of freedom, "
                          "p {p}).", **fields) if lr["p"] < 0.05 else
                       tr("The groups' curves do not differ clearly (log-rank chi-square {chi2} on {df} degrees of "
                          "freedom, p {p}).", **fields))
    return text


@dataclass
class Cohorts:
    """Cohort retention (newest cohort first), or why not."""

    table: pd.DataFrame
    not_available: NotAvailable | None = None


def cohort_table(orders: pd.DataFrame | ibis.Table | str, as_of: pd.Timestamp, cohorts: int) -> pd.DataFrame:
    """Cohort retention (see :func:`helpers.churn.data.cohort_retention`, computed on the engine) with the
    cohort as a column, newest first."""
    t = churn_data.cohort_retention(orders, as_of, cohorts).reset_index()
    return t.iloc[::-1].reset_index(drop=True)


def cohorts(orders: pd.DataFrame | ibis.Table | str, as_of: pd.Timestamp, n: int) -> Cohorts:
    """Cohort retention for the page, or "not available" when there is no order up to the as-of date."""
    t = cohort_table(orders, as_of, n)
    if t.empty:
        return Cohorts(t, NotAvailable("churn.cohorts", missing=tr("there is no order up to the as-of date"),
                                       why=tr("cohorts are the customers of each first-purchase quarter"),
                                       remedy=tr("an order history"), title=tr("Cohort retention")))
    return Cohorts(t)


def cohort_view(coh: Cohorts):
    """The cohort table for the page (quarters as Q+0, Q+1...; n/a for quarters not over yet)."""
    if coh.table.empty:
        return None
    t = coh.table.copy()
    t["first purchase"] = [fmt_quarter(q) for q in t["first purchase"]]     # 2026Q3 -> the page's language
    qs = [c for c in t.columns if c.startswith("Q+")]
    h = {"first purchase": tr("First purchase"), "customers": tr("Customers"),
         **{q: tr("Q+{k}", k=q[2:]) for q in qs}}
    return styled_table(t.rename(columns=h), int_cols=[h["customers"]], pct_cols=[h[q] for q in qs],
                        readable_headers=False, caption=tr("n/a: that quarter has not ended yet"))


CHURN_SCORE_COLUMNS = ["customer_id", "churn_probability", "churn_tier", "retention_priority"]


def churn_scores(scores: pd.DataFrame | None, scored: pd.DataFrame) -> pd.DataFrame:
    """The ``churn_scores`` artifact: ``churn_probability``, ``churn_tier`` and ``retention_priority``
    of every customer of ``scores`` (the segments step's customers; the scored ones alone without it).

    Customers without a score (no order in ``active_days``, already churned in contractual mode, or
    no model this quarter) get an empty probability and the tier :data:`NOT_SCORED`, never ``low``.
    """
    add = scored.reindex(columns=CHURN_SCORE_COLUMNS)
    if scores is None:
        return add.reset_index(drop=True)
    out = scores[["customer_id"]].assign(customer_id=lambda d: d["customer_id"].astype(str)) \
        .merge(add, on="customer_id", how="left")
    out["churn_tier"] = out["churn_tier"].astype(object).where(out["churn_tier"].notna(), NOT_SCORED)
    out["retention_priority"] = out["retention_priority"].astype("boolean").fillna(False).astype(bool)
    return out


def churn_summary(res: ChurnResult, scored: pd.DataFrame, var: pd.DataFrame, ret: Retention, coh: Cohorts,
                  value_col: str | None, value_label: str, scores: pd.DataFrame | None = None) -> dict:
    """``churn.json``: availability (``available``, ``reason``, ``unavailable``), mode, snapshots, each
    candidate's metrics, the chosen model and the rule, tiers, value at risk, drivers, retention."""
    parts = [*res.parts, segments_not_available(res, scores), ret.not_available, coh.not_available]
    out: dict = {**summary_fields(res.not_available, [p for p in parts if p is not None]),
                 "mode": res.mode, "horizon_days": res.horizon_days,
                 "retention_origin": ret.origin, "logrank": ret.logrank}
    if not res.available:
        return out
    out.update({
        "train_snapshot": res.train_snapshot, "eval_snapshot": res.eval_snapshot, "scored_at": res.scored_at,
        "n_train": res.n_train, "n_eval": res.n_eval, "base_rate_train": res.base_rate_train,
        "base_rate": res.base_rate_eval, "chosen_model": res.chosen, "criterion": res.criterion,
        "candidates": list(res.metrics["model"]), "cv_folds": res.folds or None,
        "metrics": {r["model"]: {k: (None if pd.isna(v) else float(v)) for k, v in r.items() if k != "model"}
                    for r in res.metrics.to_dict(orient="records")},
        "tier_method": res.settings.tiers.method,
        "thresholds": {"high": res.threshold, "medium": res.medium_threshold},
        "tier_counts": {t: int((scored["churn_tier"] == t).sum()) for t in churn.TIERS},
        "scored_customers": int(len(scored)),
        # with tiers by share, the high tier is always the same share: the expected number of churners
        # (the sum of the probabilities) is what moves quarter to quarter
        "expected_churners": float(scored["churn_probability"].sum()),
        "mean_probability": float(scored["churn_probability"].mean()) if len(scored) else None,
        "retention_priority": int(scored["retention_priority"].sum()),
        "value_column": value_col, "value_label": value_label,
        "value_at_risk": float(var["value_at_risk"].sum()) if "value_at_risk" in var else None,
        "by_segment": var.to_dict(orient="records"),
        "features": res.features,
        "attribute_notes": [n.sentence for n in res.notes],
        "drivers": res.drivers.head(5).to_dict(orient="records"),
        "effects": res.effects,
    })
    return out
