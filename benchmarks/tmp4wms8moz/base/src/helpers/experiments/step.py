"""A/B evaluation: outcomes from orders, trust checks, effects, segments and a decision per experiment.

Outcomes per experiment, variant and customer: **conversion** (a completed order within
``window_days`` after assignment), **revenue** and **orders** in that window, **discount** given in
it, and **pre-period revenue** over the same window before assignment (the CUPED covariate).
Customers assigned to more than one variant of an experiment are counted and excluded.
Segments are taken **at the experiment's start** (RFM on the orders before the first assignment),
so the treatment cannot move customers between the segments it is evaluated in.

Decision (primary metric, Holm-adjusted across experiments):
- failed sample-ratio check: "Do not trust";
- significant and positive, guardrails not breached: "Ship";
- significant and negative, or a guardrail breached: "Do not ship";
- otherwise "Inconclusive", with the customers needed to detect the observed effect with 80% power.
Statistics and conventions: :mod:`helpers.abstats`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from helpers.experiments import model as st
from helpers.experiments.data import outcomes, segments_at_start
from helpers.experiments.model import interaction_test
from helpers.frame.errors import InputDataError
from helpers.frame.settings import AbSettings, RfmSettings

__all__ = [
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
        row.update(control=e.control, treatment=e.treatment, diff=e.diff, ci_low=e.ci_low, ci_high=e.ci_high,
                   p_value=e.p_value, mde=st.mde(e.se, s.alpha, s.power), note="")
        rows.append(row)
    out = pd.DataFrame(rows)
    if "p_value" in out:
        out["p_bh"] = st.bh(out["p_value"].to_numpy())
        out["significant"] = out["p_bh"] <= s.alpha
    return out


def evaluate(
    out: pd.DataFrame, segments: pd.DataFrame, excluded: dict, s: AbSettings, seed: int
) -> list[ExperimentResult]:
    """Evaluate every experiment (each non-control variant against the control)."""
    results = []
    seg = segments.astype({"customer_id": str}) if len(segments) else None
    for exp, df in out.groupby("experiment_id", sort=True):
        variants = sorted(df["variant"].unique())
        if s.control_variant not in variants:
            raise InputDataError(f"experiment {exp}: no customers in the control variant {s.control_variant!r} "
                                 f"(variants: {variants}); set ab.control_variant")
        treatments = [v for v in variants if v != s.control_variant]
        if not treatments:
            raise InputDataError(f"experiment {exp}: only one variant ({variants[0]!r}); nothing to compare")
        for tv in treatments:
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
            results.append(_evaluate_one(exp, tv, d, excluded.get(exp, 0), s, seed))
    primary_p = [r.effects[0].p_value for r in results]
    for r, p in zip(results, st.holm(primary_p), strict=True):
        r.primary_p_holm = float(p)
        _decide(r, s)
    return results


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
    power = {
        "mde": st.mde(primary.se, s.alpha, s.power),
        "achieved_power": st.achieved_power(primary.diff, primary.se, s.alpha),
        "customers_needed": st.n_for_effect(len(d), primary.se, primary.diff, s.alpha, s.power),
        "formula": "MDE = (z_(1-alpha/2) + z_power) x SE(difference), normal approximation",
    }
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
                           power, guards, segs, inter)
    bad_srm = segs[segs["srm_p_bonferroni"] < s.srm_alpha]["segment"].tolist() if "srm_p_bonferroni" in segs else []
    if bad_srm:
        res.notes.append(f"sample-ratio mismatch within segment(s) {', '.join(map(str, bad_srm))} "
                         f"(Bonferroni-adjusted p < {s.srm_alpha}): read those segments' results with care")
        srm["failed_segments"] = bad_srm
    if excluded:
        res.notes.append(f"{excluded:,} customers were assigned to more than one variant and were excluded")
    return res


def _decide(r: ExperimentResult, s: AbSettings) -> None:
    e = r.effects[0]
    unit = "points" if e.metric == "conversion" else ""
    size = f"{e.diff * 100:+.1f} points" if e.metric == "conversion" else f"{e.diff:+,.2f} per customer"
    where = ""
    ip = r.interaction.get("p_value")
    if ip is not None and ip > s.alpha:
        where = f" The effect is similar across segments (treatment x segment test p = {ip:.2g})."
    elif "significant" in r.segments:
        good = r.segments[r.segments["significant"] & (r.segments["diff"] > 0)]
        if len(good) and len(good) < len(r.segments):
            parts = ", ".join(f"{x['segment']} ({x['diff'] * 100:+.1f} points)" if e.metric == "conversion"
                              else f"{x['segment']} ({x['diff']:+,.2f})" for _, x in good.iterrows())
            where = f" It works among {parts}; nothing detectable elsewhere (treatment x segment test p = {ip:.2g})."
    if r.srm["failed"] or r.balance["failed"]:
        why = "sample-ratio mismatch" if r.srm["failed"] else "pre-period imbalance"
        r.decision = "Do not trust"
        r.decision_detail = f"The {why} check failed (p < {s.srm_alpha}); fix the assignment before reading results."
        return
    breached = [g["metric"] for g in r.guardrails if g.get("status") == "breached"]
    sig = r.primary_p_holm <= s.alpha
    if sig and e.diff < 0:
        r.decision, r.decision_detail = (
            "Do not ship",
            f"It lowers {e.metric} by {size} (Holm p = {r.primary_p_holm:.3g}).",
        )
    elif breached:
        r.decision, r.decision_detail = "Do not ship", f"Guardrail breached: {', '.join(breached)}."
    elif sig:
        r.decision = "Ship"
        r.decision_detail = (
            f"It lifts {e.metric} by {size} ({1 - s.alpha:.0%} CI {e.ci_low * (100 if unit else 1):+.1f} to "
            f"{e.ci_high * (100 if unit else 1):+.1f}{' points' if unit else ''}; Holm p = {r.primary_p_holm:.3g})."
            + where
        )
    else:
        need = r.power["customers_needed"]
        more = (
            f" About {max(need - sum(r.counts.values()), 0):,} more customers would be needed to detect an effect "
            f"of the observed size ({size}) with {s.power:.0%} power."
            if need > 0
            else ""
        )
        r.decision = "Inconclusive"
        r.decision_detail = (
            f"No detectable effect on {e.metric} (observed {size}, Holm p = {r.primary_p_holm:.3g}; "
            f"smallest detectable effect {r.power['mde'] * (100 if unit else 1):.1f}{' points' if unit else ''})."
            + more
            + where
        )


def summary_table(results: list[ExperimentResult]) -> pd.DataFrame:
    """One row per experiment: decision, primary effect with CI, p-values, SRM."""
    rows = []
    for r in results:
        e = r.effects[0]
        rows.append({"experiment": r.experiment_id, "comparison": f"{r.treatment} vs {r.control}",
                     "customers": sum(r.counts.values()), "decision": r.decision, "primary_metric": e.metric,
                     "control": e.control, "treatment": e.treatment, "difference": e.diff,
                     "ci_low": e.ci_low, "ci_high": e.ci_high, "p_holm": r.primary_p_holm,
                     "srm_p": r.srm["p_value"]})
    return pd.DataFrame(rows)


def effects_table(r: ExperimentResult) -> pd.DataFrame:
    """All effects of one experiment (primary, secondary with BH, ratio, CUPED, winsorized)."""
    effs = [*r.effects, st.Effect(**r.cuped["effect"])]
    if r.winsorized:
        effs.append(st.Effect(**r.winsorized["effect"]))
    t = pd.DataFrame([e.as_dict() for e in effs])
    t["p_adjusted"] = np.r_[r.primary_p_holm, st.bh(t["p_value"].to_numpy()[1:])]
    t["adjustment"] = ["Holm (primary)"] + ["BH (secondary)"] * (len(t) - 1)
    return t[["metric", "control", "treatment", "diff", "ci_low", "ci_high", "rel_lift", "rel_ci_low", "rel_ci_high",
              "p_value", "p_adjusted", "adjustment", "method"]]


def experiment_markdown(r: ExperimentResult, s: AbSettings) -> str:
    """The top of an experiment's section: decision, trust checks, notes."""
    lines = [f"### {r.experiment_id}: **{r.decision}**", "", r.decision_detail, ""]
    srm = "failed" if r.srm["failed"] else "passed"
    lines.append(f"- Sample-ratio check {srm}: {r.counts} against the planned split {r.srm['planned']} "
                 f"(chi-square p = {r.srm['p_value']:.3g}; mismatch when p < {s.srm_alpha:g}).")
    lines.append(
        f"- Pre-period balance: revenue difference {r.balance['diff']:+,.2f} (p = {r.balance['p_value']:.3g})."
    )
    lines.append(f"- CUPED on pre-period revenue: theta = {r.cuped['theta']:.3f}, variance reduced by "
                 f"{r.cuped['variance_reduction']:.0%}.")
    b = r.bayes["conversion"]
    lines.append(
        f"- Bayesian: {b['chance_to_beat_control']:.0%} chance that {r.treatment} beats {r.control} on conversion "
        f"(expected loss if shipped {b['expected_loss'] * 100:.2f} points)."
    )
    lines.append(f"- Power: {r.power['achieved_power']:.0%} to detect the observed effect; {r.power['formula']}.")
    if r.interaction.get("p_value") is not None:
        lines.append(f"- Do effects differ by segment? {r.interaction['note']}: p = {r.interaction['p_value']:.3g}.")
    lines += [f"- {n}" for n in r.notes]
    return "\n".join(lines)


def ab_summary(results: list[ExperimentResult], window_days: int) -> dict:
    """The ``ab.json`` artifact."""
    out = {"window_days": window_days, "experiments": {}}
    for r in results:
        out["experiments"][f"{r.experiment_id} | {r.treatment} vs {r.control}"] = {
            "experiment_id": r.experiment_id, "decision": r.decision, "detail": r.decision_detail,
            "counts": r.counts, "excluded_multi_variant": r.excluded_multi_variant, "srm": r.srm,
            "balance": r.balance, "effects": [e.as_dict() for e in r.effects], "primary_p_holm": r.primary_p_holm,
            "cuped": r.cuped, "winsorized": r.winsorized, "bayes": r.bayes, "power": r.power,
            "guardrails": r.guardrails, "segments": r.segments.to_dict(orient="records"),
            "interaction": r.interaction}
    return out


def run_all(experiments: pd.DataFrame | None, orders: pd.DataFrame, s: AbSettings, rfm: RfmSettings,
            seed: int, source: str | Path | ibis.Table | None = None) -> list[ExperimentResult] | None:
    """Outcomes, start-of-experiment segments and evaluation of every experiment (None without a table).

    ``source``: see :func:`segments_at_start` (the notebook passes the orders' Parquet file, which
    DuckDB scans faster than a DataFrame).
    """
    if experiments is None or experiments.empty:
        return None
    out, excluded = outcomes(experiments, orders, s.window_days)
    segs = segments_at_start(orders, experiments, rfm, s.segment_by, source)
    return evaluate(out, segs, excluded, s, seed)


def forest_data(r: ExperimentResult, alpha: float) -> pd.DataFrame:
    """Primary-metric effect overall and per segment with CIs (for the forest plot).

    ``alpha``: ``ab.alpha``; the overall effect is significant when its Holm-adjusted p is at most alpha
    (segments: their Benjamini-Hochberg flag, computed at the same alpha).
    """
    e = r.effects[0]
    rows = [{"label": "All customers", "diff": e.diff, "ci_low": e.ci_low, "ci_high": e.ci_high,
             "significant": r.primary_p_holm <= alpha}]
    if "diff" in r.segments:
        for _, x in r.segments.dropna(subset=["diff"]).iterrows():
            rows.append(
                {
                    "label": f"{x['segment']} (n={x['n_control'] + x['n_treatment']:,})",
                    "diff": x["diff"],
                    "ci_low": x["ci_low"],
                    "ci_high": x["ci_high"],
                    "significant": bool(x.get("significant", False)),
                }
            )
    return pd.DataFrame(rows)


def show_experiments(results: list[ExperimentResult] | None, currency: str, s: AbSettings) -> None:
    """Display one section per experiment: decision and checks, effects, segments, forest plot.

    ``s``: the A/B settings (``alpha`` sets the intervals and significance shown, ``srm_alpha`` the
    sample-ratio threshold named).
    """
    from IPython.display import Markdown, display

    from helpers.experiments import figures as plots_figures
    from helpers.page import tables as plots
    if not results:
        display(Markdown("Experiments: not available (no experiments table was supplied)."))
        return
    for r in results:
        display(Markdown(experiment_markdown(r, s)))
        display(plots.styled_table(effects_table(r).drop(columns="method"),
                                   float_cols=["control", "treatment", "diff", "ci_low", "ci_high"],
                                   pct_cols=["rel_lift", "rel_ci_low", "rel_ci_high"],
                                   caption="p-values: Holm for the primary metric, Benjamini-Hochberg for the others"))
        seg = r.segments.drop(columns=[c for c in ("significant",) if c in r.segments])
        display(
            plots.styled_table(
                seg,
                int_cols=["n_control", "n_treatment"],
                float_cols=[c for c in ("control", "treatment", "diff", "ci_low", "ci_high", "mde") if c in seg],
                caption="per segment at the experiment's start; p_bh = Benjamini-Hochberg adjusted",
            )
        )
        if r.guardrails:
            display(
                plots.styled_table(
                    pd.DataFrame(r.guardrails), caption="guardrails (non-inferiority margin x control mean)"
                )
            )
        fig = plots_figures.forest_chart(forest_data(r, s.alpha), r.experiment_id, r.effects[0].metric, s.alpha)
        display(fig)
        import matplotlib.pyplot as plt
        plt.close(fig)


def conventions_markdown(s: AbSettings) -> str:
    """The statistical conventions of this page in a few lines."""
    wins = (f"winsorization at the pooled {s.winsorize_percentile:.0%} percentile" if s.winsorize_percentile
            else "no winsorization")
    return (
        f"Outcomes are measured over {s.window_days} days after each customer's assignment; the primary metric is "
        f"**{s.primary_metric.replace('_', ' ')}**. Significance at alpha = {s.alpha} after adjustment "
        f"(p equal to alpha "
        f"counts as significant): Holm across experiments for the primary metric, Benjamini-Hochberg for secondary "
        f"metrics and segments. Conversion: two-proportion z-test (pooled SE for the test, unpooled for the CI). "
        f"Revenue: Welch's t-test, with CUPED (pre-period revenue) and {wins} shown beside it. "
        f"Relative lifts use delta-method intervals. Sample-ratio mismatch when the chi-square p < {s.srm_alpha}."
    )


def summary_or_empty(results: list[ExperimentResult] | None) -> pd.DataFrame:
    """The summary table, or one 'not available' row."""
    if not results:
        return pd.DataFrame([{"experiment": "not available (no experiments table)", "customers": None}])
    return summary_table(results)


def ab_summary_or_empty(results: list[ExperimentResult] | None, s: AbSettings) -> dict:
    """``ab.json``; ``{"available": false}`` without experiments."""
    if not results:
        return {"available": False, "window_days": s.window_days, "experiments": {}}
    return {"available": True, **ab_summary(results, s.window_days)}
