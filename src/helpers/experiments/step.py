"""A/B evaluation: outcomes from orders, trust checks, effects, segments and a decision per experiment.

Outcomes per experiment, variant and customer: **conversion** (a completed order within
``window_days`` after assignment), **revenue** and **orders** in that window, **discount** given in
it, and **pre-period revenue** over the same window before assignment (the CUPED covariate).
Customers assigned to more than one variant of an experiment are counted and excluded.
Segments are taken **at the experiment's start** (RFM on the orders before the first assignment),
so the treatment cannot move customers between the segments it is evaluated in.

Decision (primary metric, Holm-adjusted across experiments), in this order:
- failed sample-ratio or pre-period balance check: "Do not trust";
- significant and negative, or a guardrail breached: "Do not ship";
- the treatment x segment F-test significant and the effect significant and positive
  (Benjamini-Hochberg across segments) in some segments but not in all: "Ship to segments", the
  segments recorded in ``ship_to``;
- significant and positive: "Ship" (to everyone; ``ship_to`` empty);
- otherwise "Inconclusive", with the smallest effect the design could detect (planned from the
  arm sizes and the control's rate, not post-hoc power).
With ``ab.cost_per_treated`` for the experiment, a shipped decision carries its net value per
treated customer (revenue lift in the window x ``review.plan.gross_margin`` minus the cost), over the
segments shipped to; a treatment that works but whose net value is negative (it costs more than the
gross profit it brings, as the plan would price it) is "Do not ship", its net value kept to say why.

What the data may not allow is recognised per experiment and reported as "not available" while the
others are evaluated: a single arm, no control variant, an arm with fewer than two customers, no
conversions yet in either arm; a treatment x segment test that is not identified leaves the
experiment's main result standing. Statistics and conventions: :mod:`helpers.experiments.model`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from helpers.experiments import model as st
from helpers.experiments.data import segments_at_start
from helpers.experiments.model import interaction_test
from helpers.experiments.outcomes_engine import outcomes_engine
from helpers.frame.outcome import NotAvailable, summary_fields
from helpers.frame.settings import AbSettings, RfmSettings
from helpers.locale import (
    fmt_clauses,
    fmt_int,
    fmt_labelled,
    fmt_list,
    fmt_money,
    fmt_number,
    fmt_p,
    fmt_pct,
    fmt_points,
    tr,
)

__all__ = [
    "AbOutcome",
    "DECISIONS",
    "p_is",
    "decision_label",
    "targeted_segments",
    "guardrail_words",
    "metric_name",
    "net_value_words",
    "segments_table",
    "no_experiments",
    "ExperimentResult",
    "evaluate",
    "summary_table",
    "effects_table",
    "experiment_markdown",
    "ab_summary",
    "run_all",
    "forest_data",
    "show_experiments",
    "conventions_markdown",
    "summary_or_empty",
    "ab_summary_or_empty",
]


@dataclass
class ExperimentResult:
    """Everything reported for one experiment."""

    experiment_id: str
    control: str
    treatment: str
    counts: dict
    excluded_multi_variant: int
    srm: dict
    balance: dict
    effects: list[st.Effect]
    cuped: dict
    winsorized: dict | None
    bayes: dict
    power: dict
    guardrails: list[dict]
    segments: pd.DataFrame
    interaction: dict
    decision: str = ""
    decision_detail: str = ""
    notes: list[str] = field(default_factory=list)
    primary_p_holm: float = float("nan")
    ship_to: list[str] = field(default_factory=list)
    revenue_by_segment: dict = field(default_factory=dict)
    net_value: dict | None = None

    @property
    def decision_label(self) -> str:
        """The decision in the page's language ("Ship to Win back")."""
        return decision_label(self.decision, self.ship_to)


def _segment_rows(df: pd.DataFrame, metric: str, s: AbSettings, planned: dict[str, float],
                  control: str, treatment: str) -> pd.DataFrame:
    rows = []
    n_seg = df["segment"].nunique()
    for seg, g in df.groupby("segment"):
        t, c = g[g["treated"]], g[~g["treated"]]
        _, p_srm = st.srm_test({control: len(c), treatment: len(t)}, {control: planned.get(control, 0.5),
                                                                      treatment: planned.get(treatment, 0.5)})
        row = {"segment": seg, "n_control": len(c), "n_treatment": len(t),
               "srm_p_bonferroni": min(p_srm * n_seg, 1.0) if np.isfinite(p_srm) else np.nan}
        if len(t) < 2 or len(c) < 2:
            row.update(note="too few customers in an arm to tell")
            rows.append(row)
            continue
        if metric == "conversion":
            e = st.two_proportions(int(t[metric].sum()), len(t), int(c[metric].sum()), len(c), s.alpha)
        else:
            e = st.welch(t[metric], c[metric], s.alpha, metric)
        if metric == "conversion":
            m = st.design_mde(e.control, len(c), len(t), s.alpha, s.power)
        else:
            m = st.mde(float(np.std(c[metric], ddof=1)) * np.sqrt(1 / len(c) + 1 / len(t)), s.alpha, s.power)
        row.update(control=e.control, treatment=e.treatment, diff=e.diff, ci_low=e.ci_low, ci_high=e.ci_high,
                   p_value=e.p_value, mde=m, note="")
        rows.append(row)
    out = pd.DataFrame(rows)
    if "p_value" in out:
        out["p_bh"] = st.bh(out["p_value"].to_numpy())
        out["significant"] = out["p_bh"] <= s.alpha
    return out


@dataclass
class AbOutcome:
    """What the experiments step found: the evaluated experiments and what could not be evaluated.

    Attributes
    ----------
    results : list of ExperimentResult
        Every evaluated comparison (treatment variant against the control), by experiment id.
    parts : list of NotAvailable
        Experiments (``ab.<experiment>``) or parts of one (``ab.<experiment>.interaction``) that the data
        do not allow; the others are still evaluated.
    not_available : NotAvailable or None
        Set when the whole step is not available (no experiments table, or no experiment evaluable).
    """

    results: list[ExperimentResult]
    parts: list[NotAvailable] = field(default_factory=list)
    not_available: NotAvailable | None = None

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)


def no_experiments() -> NotAvailable:
    """The whole step's reason when no experiments table was supplied (or it has no rows)."""
    return NotAvailable(
        "ab", missing=tr("no experiments table was supplied (or it has no assignments)"),
        why=tr("the effect of a campaign is measured by comparing customers assigned to it with a control group"),
        remedy=tr("an experiments table (experiment, customer, variant, assignment time) in sources.experiments"),
        title=tr("Experiments"))


def _experiment_check(exp: str, df: pd.DataFrame, s: AbSettings) -> NotAvailable | None:
    """Why experiment ``exp`` cannot be evaluated from its rows ``df``, or None when it can.

    Recognised explicitly: a single arm (one variant, or no control variant), an arm with fewer than
    two customers, and no conversions yet in either arm.
    """
    variants = sorted(df["variant"].astype(str).unique())
    remedy_arms = tr("assignments to the control variant {control} and to at least one treatment variant",
                     control=s.control_variant)
    why_arms = tr("an effect is the difference between customers who got the campaign and a control group")
    if len(variants) < 2:
        return NotAvailable(f"ab.{exp}", title=exp, why=why_arms, remedy=remedy_arms,
                            missing=tr("the experiment has a single arm ({variant})", variant=variants[0]))
    if s.control_variant not in variants:
        return NotAvailable(f"ab.{exp}", title=exp, why=why_arms,
                            remedy=tr("assignments to the control variant {control}, or ab.control_variant set "
                                      "to this experiment's control", control=s.control_variant),
                            missing=tr("no customer is in the control variant {control} (variants: {variants})",
                                       control=s.control_variant, variants=fmt_list(variants)))
    sizes = df.groupby("variant").size()
    small = [v for v, n in sizes.items() if n < 2]
    if small:
        return NotAvailable(f"ab.{exp}", title=exp, why=why_arms, remedy=remedy_arms,
                            missing=tr("an arm has fewer than two customers ({variants})", variants=fmt_list(small)))
    if df["conversion"].sum() == 0:
        return NotAvailable(
            f"ab.{exp}", title=exp,
            missing=tr("no customer in either arm has bought within {days} days of assignment yet", days=s.window_days),
            why=tr("with no outcomes there is nothing to compare"),
            remedy=tr("orders placed after the assignments (run the review again once the {days}-day window has "
                      "passed)", days=s.window_days))
    return None


def evaluate(out: pd.DataFrame, segments: pd.DataFrame, excluded: dict, s: AbSettings, seed: int,
             gross_margin: float) -> AbOutcome:
    """Evaluate every experiment (each non-control variant against the control).

    ``gross_margin``: ``review.plan.gross_margin``, the share of extra revenue left as profit: a shipped
    experiment's net value per treated customer is its revenue lift at this margin minus its cost, as the
    plan prices an offer.

    An experiment that cannot be evaluated (one arm, no control, no conversions yet) is listed in
    ``parts`` and the others are evaluated; its absence does not change the Holm adjustment of the others
    beyond leaving it out.
    """
    results: list[ExperimentResult] = []
    parts: list[NotAvailable] = []
    seg = segments.astype({"customer_id": str}) if len(segments) else None
    for exp, df in out.groupby("experiment_id", sort=True):
        na = _experiment_check(str(exp), df, s)
        if na is not None:
            parts.append(na)
            continue
        variants = sorted(df["variant"].unique())
        for tv in [v for v in variants if v != s.control_variant]:
            d = df[df["variant"].isin([s.control_variant, tv])].copy()
            d.attrs["supplied_metrics"] = out.attrs.get("supplied_metrics", [])
            d["treated"] = d["variant"] == tv
            if seg is not None:
                mine = (
                    seg[seg["experiment_id"] == exp].drop_duplicates("customer_id").set_index("customer_id")["segment"]
                )
                d["segment"] = mine.reindex(d["customer_id"].astype(str)).fillna("(unknown)").to_numpy()
            else:
                d["segment"] = "all"
            r = _evaluate_one(exp, tv, d, excluded.get(exp, 0), s, seed)
            if r.interaction.get("available") is False:
                parts.append(NotAvailable(
                    f"ab.{exp}.interaction", title=tr("{experiment}: do effects differ by segment?", experiment=exp),
                    missing=tr(r.interaction["missing"]),
                    why=tr("the test compares the effect between segments; the experiment's overall result stands"),
                    remedy=tr("more customers with outcomes in at least two segments")))
            results.append(r)
    primary_p = [r.effects[0].p_value for r in results]
    if results:
        for r, p in zip(results, st.holm(primary_p), strict=True):
            r.primary_p_holm = float(p)
            _decide(r, s, gross_margin)
    whole = None
    if not results:
        whole = NotAvailable("ab", title=tr("Experiments"),
                             missing=tr("none of the {n} experiments could be evaluated", n=len(parts)),
                             why=tr("each needs a control group, a treatment group and some outcomes"),
                             remedy=tr("the data named for each experiment below"))
    return AbOutcome(results, parts, whole)


def _evaluate_one(exp: str, tv: str, d: pd.DataFrame, excluded: int, s: AbSettings, seed: int) -> ExperimentResult:
    t, c = d[d["treated"]], d[~d["treated"]]
    counts = {s.control_variant: len(c), tv: len(t)}
    planned = s.planned_split or {s.control_variant: 0.5, tv: 0.5}
    chi2, p_srm = st.srm_test(counts, {k: planned.get(k, 0.0) for k in counts})
    srm = {"chi2": chi2, "p_value": p_srm, "failed": bool(p_srm < s.srm_alpha), "planned": planned}
    bal = st.welch(t["pre_revenue"], c["pre_revenue"], s.alpha, "pre_revenue")
    balance = {"diff": bal.diff, "p_value": bal.p_value, "failed": bool(bal.p_value < s.srm_alpha)}
    conv = st.two_proportions(int(t["conversion"].sum()), len(t), int(c["conversion"].sum()), len(c), s.alpha)
    rev = st.welch(t["revenue"], c["revenue"], s.alpha, "revenue_per_customer")
    aov = st.ratio_metric(t["revenue"], t["orders"], c["revenue"], c["orders"], s.alpha)
    primary, secondary = (conv, rev) if s.primary_metric == "conversion" else (rev, conv)
    effects = [primary, secondary, aov]
    ce, theta, red = st.cuped(d["revenue"], d["pre_revenue"], d["treated"], s.alpha)
    cuped = {"effect": ce.as_dict(), "theta": theta, "variance_reduction": red}
    wins = None
    if s.winsorize_percentile:
        capped, cap = st.winsorize(d["revenue"].to_numpy(), s.winsorize_percentile)
        we = st.welch(capped[d["treated"].to_numpy()], capped[~d["treated"].to_numpy()], s.alpha,
                      f"revenue_per_customer (winsorized at {cap:,.2f})")
        wins = {"cap": cap, "percentile": s.winsorize_percentile, "effect": we.as_dict()}
    b_conv = st.bayes_conversion(int(t["conversion"].sum()), len(t), int(c["conversion"].sum()), len(c),
                                 s.bayes_draws, seed)
    b_rev = st.bayes_normal(rev.diff, rev.se)
    bayes = {"conversion": {"chance_to_beat_control": b_conv[0], "expected_loss": b_conv[1]},
             "revenue_per_customer": {"chance_to_beat_control": b_rev[0], "expected_loss": b_rev[1]}}
    if s.primary_metric == "conversion":
        design = st.design_mde(primary.control, len(c), len(t), s.alpha, s.power)
        formula = "MDE = (z_(1-alpha/2) + z_power) x sqrt(p_control (1 - p_control) (1/n_control + 1/n_treatment))"
    else:
        design = st.mde(float(np.std(c["revenue"], ddof=1)) * np.sqrt(1 / len(c) + 1 / len(t)), s.alpha, s.power)
        formula = "MDE = (z_(1-alpha/2) + z_power) x sd_control x sqrt(1/n_control + 1/n_treatment)"
    power = {
        "mde": design,
        "customers_needed": st.n_for_effect(len(d), primary.se, primary.diff, s.alpha, s.power),
        "formula": formula,
    }
    rev_by_seg = {}
    for sg, g in d.groupby("segment"):
        gt, gc = g.loc[g["treated"], "revenue"], g.loc[~g["treated"], "revenue"]
        if len(gt) >= 2 and len(gc) >= 2:
            we = st.welch(gt, gc, s.alpha)
            rev_by_seg[str(sg)] = {"diff": we.diff, "se": we.se, "n": len(g)}
    guards = []
    for g in s.guardrails:
        if g.metric not in d.columns or d[g.metric].isna().all():
            guards.append({"metric": g.metric, "margin": g.margin, "status": "not available"})
            continue
        ge = st.welch(t[g.metric], c[g.metric], s.alpha, g.metric)
        # non-inferiority: the metric must not rise (worsen) by more than margin x control mean
        bound = g.margin * abs(ge.control)
        # worse = up when higher is worse; ok when the whole CI stays within the margin (non-inferior),
        # breached when the whole CI lies beyond it, inconclusive otherwise
        lo, hi = (ge.ci_low, ge.ci_high) if g.higher_is_worse else (-ge.ci_high, -ge.ci_low)
        status = "ok (non-inferior)" if hi <= bound else ("breached" if lo > bound else "inconclusive")
        guards.append({"metric": g.metric, "margin": g.margin, "control": ge.control, "treatment": ge.treatment,
                       "diff": ge.diff, "ci_low": ge.ci_low, "ci_high": ge.ci_high, "bound": bound,
                       "status": status})
    segs = _segment_rows(d, s.primary_metric, s, planned, s.control_variant, tv)
    inter = interaction_test(d, s.primary_metric)
    for mcol in d.attrs.get("supplied_metrics", []) or [c for c in d.columns if c.startswith("metric_")]:
        if mcol in d and d[mcol].notna().sum() > 3:
            tt, cc = t[mcol].dropna(), c[mcol].dropna()
            if len(tt) >= 2 and len(cc) >= 2:
                effects.append(st.welch(tt, cc, s.alpha, f"{mcol} (supplied)"))
    res = ExperimentResult(exp, s.control_variant, tv, counts, excluded, srm, balance, effects, cuped, wins, bayes,
                           power, guards, segs, inter, revenue_by_segment=rev_by_seg)
    bad_srm = segs[segs["srm_p_bonferroni"] < s.srm_alpha]["segment"].tolist() if "srm_p_bonferroni" in segs else []
    if bad_srm:
        res.notes.append(tr("Sample-ratio mismatch within {segments} (Bonferroni-adjusted p < {alpha}): read those "
                            "segments' results with care.", segments=fmt_list(bad_srm),
                            alpha=fmt_p(s.srm_alpha)))
        srm["failed_segments"] = bad_srm
    if excluded:
        res.notes.append(tr("{n} customers were assigned to more than one variant and were excluded.",
                            n=fmt_int(excluded)))
    return res


#: Decisions as stored in ``ab.json`` (stable codes; :func:`decision_label` gives the page's words).
DECISIONS = ("Ship", "Ship to segments", "Do not ship", "Inconclusive", "Do not trust")


def decision_label(decision: str, ship_to: list[str] | tuple[str, ...] = ()) -> str:
    """A decision code in the page's language; ``Ship to segments`` names the segments."""
    if decision == "Ship to segments":
        return tr("Ship to {segments} only", segments=and_list(list(ship_to)))
    labels = {"Ship": tr("Ship to everyone"), "Do not ship": tr("Do not ship"), "Inconclusive": tr("Inconclusive"),
              "Do not trust": tr("Do not trust")}
    return labels.get(decision, decision)


def p_is(p: float | None) -> str:
    """A p-value in a sentence: ``p < 0.001`` or ``p = 0.053`` (two significant digits, :func:`fmt_p`)."""
    text = fmt_p(p)
    return tr("p {value}", value=text) if text.startswith("<") else tr("p = {value}", value=text)


def and_list(names: list[str]) -> str:
    """``A, B and C`` in the page's language."""
    names = [str(n) for n in names]
    if len(names) <= 1:
        return "".join(names)
    return tr("{items} and {last}", items=tr(", ").join(names[:-1]), last=names[-1])


def _effect_words(metric: str, x: float, currency: str = "") -> str:
    """A difference in the metric's unit: points for a rate, money for revenue."""
    if metric == "conversion":
        return fmt_points(x)
    return fmt_money(x, currency, 2, signed=True) if currency else ("+" if x > 0 else "") + fmt_number(x, 2)


def _interval_words(metric: str, lo: float, hi: float, currency: str = "") -> str:
    return tr("{low} to {high}", low=_effect_words(metric, lo, currency), high=_effect_words(metric, hi, currency))


def metric_name(metric: str) -> str:
    """A metric as the pages name it (the same words on the experiments page and the review)."""
    names = {"conversion": tr("conversion (bought within the window)"),
             "revenue_per_customer": tr("revenue per customer"), "average_order_value": tr("average order value"),
             "discount": tr("discount given")}
    return names.get(metric, metric.replace("_", " "))


def targeted_segments(r: ExperimentResult, alpha: float) -> list[str]:
    """Segments a treatment should go to when its effect is confined to them, else ``[]``.

    Confined means: the treatment x segment F-test is significant (p at most ``alpha``), and the effect is
    significant and positive after Benjamini-Hochberg across segments in some segments but not in all
    segments with an estimate.
    """
    ip = r.interaction.get("p_value")
    if ip is None or ip > alpha or "significant" not in r.segments:
        return []
    est = r.segments.dropna(subset=["diff"])
    good = est[est["significant"].astype(bool) & (est["diff"] > 0)]
    if len(good) == 0 or len(good) == len(est):
        return []
    return [str(x) for x in good["segment"]]


def _net_value(r: ExperimentResult, s: AbSettings, gross_margin: float) -> dict | None:
    """Gross profit per treated customer over the window (revenue lift x ``gross_margin``) minus the cost of
    treating them (when a cost is given): the plan's pricing of an offer, so both pages agree.

    For a targeted decision the lift is the stratified mean over the segments shipped to (weights = the
    segments' customers), with its normal-approximation interval.
    """
    cost = s.cost_per_treated.get(r.experiment_id)
    if cost is None:
        return None
    from scipy import stats
    z = float(stats.norm.ppf(1 - s.alpha / 2))
    if r.ship_to:
        rows = [r.revenue_by_segment[g] for g in r.ship_to if g in r.revenue_by_segment]
        n = sum(x["n"] for x in rows)
        diff = sum(x["n"] / n * x["diff"] for x in rows)
        se = float(np.sqrt(sum((x["n"] / n) ** 2 * x["se"] ** 2 for x in rows)))
    else:
        e = next(x for x in r.effects if x.metric == "revenue_per_customer")
        diff, se = e.diff, e.se
    m = gross_margin
    return {"cost_per_treated": cost, "revenue_lift": diff, "gross_margin": m, "net": m * diff - cost,
            "net_low": m * (diff - z * se) - cost, "net_high": m * (diff + z * se) - cost,
            "window_days": s.window_days, "segments": list(r.ship_to)}


def _decide(r: ExperimentResult, s: AbSettings, gross_margin: float) -> None:
    """Decision, targeted segments and the sentence behind them (rules in the module docstring)."""
    e = r.effects[0]
    size = _effect_words(e.metric, e.diff)
    ci = _interval_words(e.metric, e.ci_low, e.ci_high)
    level = fmt_pct(1 - s.alpha)
    ip = r.interaction.get("p_value")
    r.ship_to = []
    if r.srm["failed"] or r.balance["failed"]:
        r.decision = "Do not trust"
        r.decision_detail = (tr("The sample-ratio check failed (p < {alpha}); fix the assignment before reading "
                                "results.", alpha=fmt_p(s.srm_alpha)) if r.srm["failed"] else
                             tr("The groups differed before the campaign (pre-period revenue, p < {alpha}); fix the "
                                "assignment before reading results.", alpha=fmt_p(s.srm_alpha)))
        return
    breached = [g["metric"] for g in r.guardrails if g.get("status") == "breached"]
    sig = r.primary_p_holm <= s.alpha
    target = targeted_segments(r, s.alpha)
    if sig and e.diff < 0:
        r.decision = "Do not ship"
        r.decision_detail = tr("It lowers {metric} by {size} ({level} CI {ci}; Holm-adjusted {p}).",
                               metric=metric_name(e.metric), size=size, level=level, ci=ci,
                               p=p_is(r.primary_p_holm))
    elif breached:
        r.decision = "Do not ship"
        r.decision_detail = tr("A guardrail was breached: {metrics} got worse by more than the allowed margin.",
                               metrics=fmt_list(metric_name(m) for m in breached))
    elif target:
        seg = r.segments.set_index("segment")
        parts = fmt_clauses(tr("{segment} ({size}, {level} CI {ci})", segment=g,
                             size=_effect_words(e.metric, seg.loc[g, "diff"]), level=level,
                             ci=_interval_words(e.metric, seg.loc[g, "ci_low"], seg.loc[g, "ci_high"]))
                          for g in target)
        r.decision, r.ship_to = "Ship to segments", target
        r.decision_detail = tr("It works among {parts}; nothing detectable elsewhere (treatment x segment test "
                               "{p}). Overall: {size} ({level} CI {ci}).", parts=parts, p=p_is(ip), size=size,
                               level=level, ci=ci)
    elif sig:
        r.decision = "Ship"
        similar = (tr(" The effect is similar across segments (treatment x segment test {p}).", p=p_is(ip))
                   if ip is not None else "")
        r.decision_detail = tr("It lifts {metric} by {size} ({level} CI {ci}; Holm-adjusted {p}).",
                               metric=metric_name(e.metric), size=size, level=level, ci=ci,
                               p=p_is(r.primary_p_holm)) + similar
    else:
        r.decision = "Inconclusive"
        need = r.power["customers_needed"]
        more = (tr(" A new test would need about {n} customers to detect an effect of the observed size with {power} "
                   "power.", n=fmt_int(need), power=fmt_pct(s.power)) if need > sum(r.counts.values()) else "")
        r.decision_detail = tr("No detectable effect on {metric}: observed {size} ({level} CI {ci}; Holm-adjusted "
                               "{p}); this design could detect {mde} or more.",
                               metric=metric_name(e.metric), size=size, level=level, ci=ci,
                               p=p_is(r.primary_p_holm), mde=_effect_words(e.metric, r.power["mde"]).lstrip("+")
                               ) + more
    r.net_value = _net_value(r, s, gross_margin) if r.decision in ("Ship", "Ship to segments") else None
    if r.net_value is not None and r.net_value["net"] < 0:
        # it works, but costs more than the gross profit it brings: the plan would not send it either
        r.decision, r.ship_to = "Do not ship", []
        r.decision_detail += " " + tr("But it does not pay for itself: at a {margin} gross margin its net value per "
                                      "treated customer is negative (below). Lower its cost, or test it where the "
                                      "lift is larger.", margin=fmt_pct(gross_margin))


def guardrail_words(r: ExperimentResult, currency: str, alpha: float) -> str:
    """The guardrails in one sentence each, for beside the decision."""
    out = []
    status = {"ok (non-inferior)": tr("within its margin"), "breached": tr("breached"),
              "inconclusive": tr("not yet shown to be within its margin (this does not block the decision; "
                                  "watch it after shipping)"), "not available": tr("not measured")}
    for g in r.guardrails:
        if g.get("status") == "not available":
            out.append(tr("Guardrail {metric}: not measured (no such column in the orders).",
                          metric=metric_name(g["metric"])))
            continue
        out.append(tr("Guardrail {metric}: {status} (change {diff} per customer, {level} CI {ci}; allowed "
                      "worsening {bound}).", metric=metric_name(g["metric"]), status=status[g["status"]],
                      diff=fmt_money(g["diff"], currency, 2), level=fmt_pct(1 - alpha),
                      ci=tr("{low} to {high}", low=fmt_money(g["ci_low"], currency, 2),
                            high=fmt_money(g["ci_high"], currency, 2)),
                      bound=fmt_money(g["bound"], currency, 2)))
    return " ".join(out)


def net_value_words(r: ExperimentResult, currency: str, alpha: float) -> str:
    """The net value per treated customer, when a cost per treated customer is given."""
    n = r.net_value
    if not n:
        return ""
    words = dict(days=n["window_days"], net=fmt_money(n["net"], currency, 2), level=fmt_pct(1 - alpha),
                 low=fmt_money(n["net_low"], currency, 2), high=fmt_money(n["net_high"], currency, 2),
                 lift=fmt_money(n["revenue_lift"], currency, 2), margin=fmt_pct(n["gross_margin"]),
                 cost=fmt_money(n["cost_per_treated"], currency, 2))
    if n.get("segments"):   # a targeted decision is priced where it ships, not on everyone (the table above)
        return tr("Net value per treated customer in {segments} (where it ships) over {days} days: {net} ({level} CI "
                  "{low} to {high}) = revenue lift there {lift} x {margin} gross margin minus the cost of {cost}.",
                  segments=", ".join(str(x) for x in n["segments"]), **words)
    return tr("Net value per treated customer over {days} days: {net} ({level} CI {low} to {high}) = revenue lift "
              "{lift} x {margin} gross margin minus the cost of {cost}.", **words)


def _text_table(df: pd.DataFrame, right: list[str] = (), caption: str | None = None):
    """A table of already formatted text: no index, numbers right-aligned, stable ids."""
    from helpers.page import styled_table
    st_ = styled_table(df, readable_headers=False, caption=caption)
    cols = [c for c in right if c in df.columns]
    return st_.set_properties(subset=cols, **{"text-align": "right", "white-space": "nowrap"}) if cols else st_


def summary_table(results: list[ExperimentResult] | AbOutcome, s: AbSettings, currency: str = "") -> pd.DataFrame:
    """One row per experiment, in words: decision, primary effect in points with its interval, p-value, checks."""
    rows = []
    for r in results:
        e = r.effects[0]
        pct = e.metric == "conversion"
        rows.append({
            tr("Experiment"): r.experiment_id,
            tr("Comparison"): tr("{treatment} vs {control}", treatment=r.treatment, control=r.control),
            tr("Customers"): fmt_int(sum(r.counts.values())),
            tr("Decision"): r.decision_label,
            tr("Control"): fmt_pct(e.control, 1) if pct else fmt_money(e.control, currency, 2),
            tr("Treatment"): fmt_pct(e.treatment, 1) if pct else fmt_money(e.treatment, currency, 2),
            tr("Effect ({level} CI)", level=fmt_pct(1 - s.alpha)): tr(
                "{size} ({ci})", size=_effect_words(e.metric, e.diff, currency),
                ci=_interval_words(e.metric, e.ci_low, e.ci_high, currency)),
            tr("Smallest detectable effect"): _effect_words(e.metric, r.power["mde"], currency).lstrip("+"),
            tr("p (Holm)"): fmt_p(r.primary_p_holm),
            tr("Split check"): tr("failed") if r.srm["failed"] else tr("passed"),
        })
    return pd.DataFrame(rows)


def effects_table(r: ExperimentResult, s: AbSettings, currency: str = "") -> pd.DataFrame:
    """All effects of one experiment (primary, secondary with BH, ratio, CUPED, winsorized), in words."""
    effs = [*r.effects, st.Effect(**r.cuped["effect"])]
    if r.winsorized:
        effs.append(st.Effect(**r.winsorized["effect"]))
    padj = np.r_[r.primary_p_holm, st.bh(np.array([e.p_value for e in effs[1:]], float))]
    names = {"revenue_per_customer (CUPED)": tr("revenue per customer, adjusted for pre-period revenue (CUPED)")}
    rows = []
    for i, (e, pa) in enumerate(zip(effs, padj, strict=True)):
        name = names.get(e.metric) or (tr("revenue per customer, capped at {cap}",
                                          cap=fmt_money(r.winsorized["cap"], currency, 2))
                                       if r.winsorized and e.metric.startswith("revenue_per_customer (winsorized")
                                       else metric_name(e.metric))
        pct = e.metric == "conversion"
        def val(x, pct=pct):
            return (fmt_pct(x, 1) if pct else fmt_money(x, currency, 2))
        rows.append({tr("Metric"): name, tr("Control"): val(e.control), tr("Treatment"): val(e.treatment),
                     tr("Difference ({level} CI)", level=fmt_pct(1 - s.alpha)): tr(
                         "{size} ({ci})", size=_effect_words(e.metric, e.diff, "" if pct else currency),
                         ci=_interval_words(e.metric, e.ci_low, e.ci_high, "" if pct else currency)),
                     tr("Relative change"): tr("{rel} ({low} to {high})", rel=fmt_pct(e.rel_lift, 1, signed=True),
                                               low=fmt_pct(e.rel_ci_low, 1, signed=True),
                                               high=fmt_pct(e.rel_ci_high, 1, signed=True)),
                     tr("p (adjusted)"): fmt_p(pa),
                     tr("Adjustment"): tr("Holm (primary)") if i == 0 else tr("Benjamini-Hochberg (secondary)")})
    return pd.DataFrame(rows)


def segments_table(r: ExperimentResult, s: AbSettings, currency: str = "") -> pd.DataFrame:
    """The primary metric per segment at the experiment's start, in words."""
    e = r.effects[0]
    pct = e.metric == "conversion"
    rows = []
    for _, x in r.segments.iterrows():
        has = "diff" in x and pd.notna(x.get("diff"))
        row = {tr("Segment"): x["segment"],
               tr("Customers (control / treatment)"): f"{fmt_int(x['n_control'])} / {fmt_int(x['n_treatment'])}"}
        if has:
            def val(v):
                return (fmt_pct(v, 1) if pct else fmt_money(v, currency, 2))
            row.update({tr("Control"): val(x["control"]), tr("Treatment"): val(x["treatment"]),
                        tr("Effect ({level} CI)", level=fmt_pct(1 - s.alpha)): tr(
                            "{size} ({ci})", size=_effect_words(e.metric, x["diff"], currency),
                            ci=_interval_words(e.metric, x["ci_low"], x["ci_high"], currency)),
                        tr("Smallest detectable effect"): _effect_words(e.metric, x["mde"], currency).lstrip("+"),
                        tr("p (Benjamini-Hochberg)"): fmt_p(x.get("p_bh")),
                        tr("Significant"): tr("yes") if bool(x.get("significant")) else tr("no")})
        else:
            row.update({tr("Control"): "", tr("Treatment"): "",
                        tr("Effect ({level} CI)", level=fmt_pct(1 - s.alpha)): tr("too few customers in an arm"),
                        tr("Smallest detectable effect"): "", tr("p (Benjamini-Hochberg)"): "",
                        tr("Significant"): ""})
        rows.append(row)
    return pd.DataFrame(rows)


def experiment_markdown(r: ExperimentResult, s: AbSettings, currency: str = "") -> str:
    """The top of an experiment's section: decision, guardrails, net value, trust checks, notes."""
    lines = ["### " + fmt_labelled(r.experiment_id, f"**{r.decision_label}**"), "", r.decision_detail, ""]
    gw = guardrail_words(r, currency, s.alpha)
    nv = net_value_words(r, currency, s.alpha)
    if gw:
        lines += [gw, ""]
    if nv:
        lines += [nv, ""]
    counts = fmt_list(f"{k} {fmt_int(v)}" for k, v in r.counts.items())
    planned = fmt_list(f"{k} {fmt_pct(v)}" for k, v in r.srm["planned"].items())
    lines.append("- " + (tr("Split check failed: {counts} against the planned split {planned} (chi-square {p}; "
                            "mismatch when p < {alpha}).", counts=counts, planned=planned, p=p_is(r.srm["p_value"]),
                            alpha=fmt_p(s.srm_alpha)) if r.srm["failed"] else
                         tr("Split check passed: {counts} against the planned split {planned} (chi-square {p}; "
                            "mismatch when p < {alpha}).", counts=counts, planned=planned, p=p_is(r.srm["p_value"]),
                            alpha=fmt_p(s.srm_alpha))))
    lines.append("- " + tr("Groups alike before the campaign: pre-period revenue differs by {diff} per customer "
                           "({p}).", diff=fmt_money(r.balance["diff"], currency, 2), p=p_is(r.balance["p_value"])))
    b = r.bayes["conversion"]
    lines.append("- " + tr("Bayesian reading: {chance} chance that {treatment} beats {control} on conversion; "
                           "expected loss if shipped {loss}.", chance=fmt_pct(b["chance_to_beat_control"]),
                           treatment=r.treatment, control=r.control,
                           loss=fmt_points(b["expected_loss"], 2).lstrip("+")))
    lines.append("- " + tr("Smallest effect this design could detect with {power} power: {mde} (planned from the arm "
                           "sizes and the control's rate, not from the observed effect).", power=fmt_pct(s.power),
                           mde=_effect_words(r.effects[0].metric, r.power["mde"], currency).lstrip("+")))
    if r.interaction.get("p_value") is not None:
        lines.append("- " + tr("Do effects differ by segment? Treatment x segment F-test {p}.",
                               p=p_is(r.interaction["p_value"])))
    lines += [f"- {n}" for n in r.notes]
    return "\n".join(lines)


def _jsonable_segments(df: pd.DataFrame) -> list[dict]:
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")


def ab_summary(results: AbOutcome | list[ExperimentResult], s: AbSettings) -> dict:
    """The ``ab.json`` artifact: one entry per evaluated comparison and the step's availability fields."""
    outcome = results if isinstance(results, AbOutcome) else AbOutcome(list(results))
    out = {"window_days": s.window_days, "alpha": s.alpha, "primary_metric": s.primary_metric,
           "plan_prefix": s.plan_prefix, "experiments": {},
           **summary_fields(outcome.not_available, outcome.parts)}
    for r in outcome.results:
        out["experiments"][f"{r.experiment_id} | {r.treatment} vs {r.control}"] = {
            "experiment_id": r.experiment_id, "treatment": r.treatment, "control": r.control,
            "decision": r.decision, "decision_label": r.decision_label, "ship_to": list(r.ship_to),
            "detail": r.decision_detail, "net_value": r.net_value,
            "counts": r.counts, "excluded_multi_variant": r.excluded_multi_variant, "srm": r.srm,
            "balance": r.balance, "effects": [e.as_dict() for e in r.effects], "primary_p_holm": r.primary_p_holm,
            "cuped": r.cuped, "winsorized": r.winsorized, "bayes": r.bayes, "power": r.power,
            "guardrails": r.guardrails, "segments": _jsonable_segments(r.segments),
            "interaction": r.interaction}
    return out


def run_all(experiments: pd.DataFrame | None, orders: pd.DataFrame | str | Path | ibis.Table, s: AbSettings,
            rfm: RfmSettings, seed: int, gross_margin: float,
            source: str | Path | ibis.Table | None = None) -> AbOutcome:
    """Outcomes, start-of-experiment segments and evaluation of every experiment.

    ``orders``: the clean orders on the engine (the notebook passes
    :func:`helpers.frame.engine.orders_table`; a Parquet path or a DataFrame runs on the process's
    DuckDB): the outcomes are aggregated there (:func:`helpers.experiments.outcomes_engine.outcomes_engine`;
    :func:`helpers.experiments.data.outcomes` is its pandas reference), one row per assignment comes
    back. ``source``: see :func:`segments_at_start`. ``gross_margin``: see :func:`evaluate`. Without an
    experiments table the outcome is "not available".
    """
    if experiments is None or experiments.empty:
        return AbOutcome([], [], no_experiments())
    if isinstance(orders, pd.DataFrame):
        from helpers.frame.engine import ORDER_COLUMNS, as_table
        orders = as_table(orders[[c for c in ORDER_COLUMNS if c in orders.columns]])
    out, excluded = outcomes_engine(experiments, orders, s.window_days)
    segs = segments_at_start(orders, experiments, rfm, s.segment_by, source)
    return evaluate(out, segs, excluded, s, seed, gross_margin)


def forest_data(r: ExperimentResult, alpha: float) -> pd.DataFrame:
    """Primary-metric effect overall and per segment with CIs (for the forest plot).

    ``alpha``: ``ab.alpha``; the overall effect is significant when its Holm-adjusted p is at most alpha
    (segments: their Benjamini-Hochberg flag, computed at the same alpha).
    """
    e = r.effects[0]
    rows = [{"label": tr("All customers"), "diff": e.diff, "ci_low": e.ci_low, "ci_high": e.ci_high,
             "significant": r.primary_p_holm <= alpha}]
    if "diff" in r.segments:
        for _, x in r.segments.dropna(subset=["diff"]).iterrows():
            rows.append({"label": tr("{segment} (n = {n})", segment=x["segment"],
                                     n=fmt_int(x["n_control"] + x["n_treatment"])),
                         "diff": x["diff"], "ci_low": x["ci_low"], "ci_high": x["ci_high"],
                         "significant": bool(x.get("significant", False))})
    return pd.DataFrame(rows)


def show_experiments(results: AbOutcome, currency: str, s: AbSettings) -> None:
    """Display one section per experiment: decision and checks, effects, segments, forest plot; and a
    "not available" notice for each experiment (or part) that could not be evaluated.

    ``s``: the A/B settings (``alpha`` sets the intervals and significance shown, ``srm_alpha`` the
    sample-ratio threshold named).
    """
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display

    from helpers.experiments import figures as plots_figures
    from helpers.page import show_not_available
    # the whole step's notice is shown by the notebook, above the conventions
    show_not_available(*[p for p in results.parts if p.part.count(".") == 1])
    for r in results.results:
        display(Markdown(experiment_markdown(r, s, currency)))
        show_not_available(*[p for p in results.parts if p.part == f"ab.{r.experiment_id}.interaction"])
        display(_text_table(effects_table(r, s, currency),
                            right=[tr("Control"), tr("Treatment"), tr("p (adjusted)")],
                            caption=tr("All metrics; p-values adjusted: Holm for the primary metric, "
                                       "Benjamini-Hochberg for the others")))
        display(_text_table(segments_table(r, s, currency),
                            right=[tr("Control"), tr("Treatment"), tr("p (Benjamini-Hochberg)")],
                            caption=tr("Per segment, taken on the day before the experiment began")))
        fig = plots_figures.forest_chart(forest_data(r, s.alpha), r.experiment_id, r.effects[0].metric, s.alpha,
                                         currency)
        display(fig)
        plt.close(fig)


def conventions_markdown(s: AbSettings) -> str:
    """The statistical conventions of this page in a few lines."""
    wins = (tr("capped at the pooled {pct} quantile", pct=fmt_pct(s.winsorize_percentile))
            if s.winsorize_percentile else tr("not capped"))
    return tr(
        "Outcomes are measured over {days} days after each customer's assignment; the primary metric is **{metric}**. "
        "An effect counts as significant when its adjusted p-value is at most {alpha}: Holm across experiments for "
        "the primary metric, Benjamini-Hochberg for the other metrics and for segments. Differences in rates are in "
        "percentage points with {level} intervals. Revenue is compared with Welch's t-test, also adjusted for "
        "pre-period revenue (CUPED) and with revenue {wins}. The split check flags a sample-ratio mismatch when the "
        "chi-square p < {srm}. A decision names segments only when the effect differs between segments (treatment x "
        "segment test) and is significant in those segments and not in the others.",
        days=s.window_days, metric=metric_name(s.primary_metric), alpha=fmt_p(s.alpha), level=fmt_pct(1 - s.alpha),
        wins=wins, srm=fmt_p(s.srm_alpha))


def summary_or_empty(results: AbOutcome, s: AbSettings, currency: str = ""):
    """The summary table (a styled table of text), or None when no experiment was evaluated."""
    if not results.results:
        return None
    cols = [tr("Customers"), tr("Control"), tr("Treatment"), tr("p (Holm)")]
    return _text_table(summary_table(results, s, currency), right=cols)


def ab_summary_or_empty(results: AbOutcome, s: AbSettings) -> dict:
    """``ab.json``, with ``available: false`` and the reason when no experiment could be evaluated."""
    return ab_summary(results, s)
