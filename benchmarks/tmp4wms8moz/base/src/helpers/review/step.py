"""The quarterly review page: headline numbers and sentences built from the artifacts only.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from helpers.frame.settings import previous_quarter
from helpers.page.text import money
from helpers.page.text import or_list as _or_list
from helpers.review.data import quarter_kpis

__all__ = [
    "customer_scores_table",
    "KPI_LABELS",
    "kpi_table",
    "load_step_summaries",
    "bullets",
    "review_kpis",
    "quality_note",
    "available_sections",
    "review_summary",
    "segment_sentences",
    "segment_overview",
    "action_overview",
    "top_moves",
    "value_sentences",
    "value_by_segment",
    "experiment_decisions",
    "executive_summary",
    "churn_headline",
    "churn_sentences",
    "churn_by_segment",
    "methods_appendix",
    "extended_kpis",
    "segment_value_table",
]


KPI_LABELS: dict[str, str] = {
    "active_customers": "Active customers",
    "new_customers": "New customers",
    "returning_customers": "Returning customers",
    "orders": "Orders",
    "revenue": "Revenue",
    "average_order_value": "Average order value",
    "repeat_purchase_rate": "Repeat-purchase rate",
}


def kpi_table(orders: pd.DataFrame | ibis.Table | str | Path, quarter: str) -> pd.DataFrame:
    """This quarter's KPIs next to the previous quarter's, with the change.

    Returns
    -------
    DataFrame
        Index: KPI key; columns ``kpi`` (label), ``this_quarter``, ``previous_quarter``,
        ``change`` (absolute) and ``change_pct`` (relative, NaN when the previous value is 0).
    """
    now = quarter_kpis(orders, quarter)
    prev = quarter_kpis(orders, previous_quarter(quarter))
    rows = []
    for k, label in KPI_LABELS.items():
        a, b = now[k], prev[k]
        rows.append({"key": k, "kpi": label, "this_quarter": a, "previous_quarter": b,
                     "change": a - b, "change_pct": (a - b) / b if b and not np.isnan(b) else np.nan})
    return pd.DataFrame(rows).set_index("key")


def _analysis_steps():
    """The steps between data intake and the review, from the registry (pipeline order)."""
    from helpers.frame.registry import REVIEW_STEP, STEPS
    return [s for s in STEPS if s.summary and s.name != REVIEW_STEP and s.reads]


def load_step_summaries(cat) -> dict[str, dict | None]:
    """The JSON summary of every analysis step (registry order), ``None`` for steps that did not run."""
    return {s.summary: cat.load_optional(s.summary) for s in _analysis_steps()}


def customer_scores_table(scores: pd.DataFrame | None, clv: dict | None) -> pd.DataFrame | None:
    """``customer_scores``: the per-step customer tables joined (segments, value, churn), for CI and tools.

    The value columns are named with the horizon of ``clv.json`` (``clv`` -> ``clv_12m``,
    ``expected_purchases`` -> ``expected_purchases_12m``); customers the churn step did not score keep
    the tier ``not active``. ``None`` when no analysis step wrote a customer table.
    """
    if scores is None:
        return None
    out = scores.copy()
    if clv is not None and "clv" in out:
        h = int(clv["horizon_months"])
        out = out.rename(columns={"clv": f"clv_{h}m", "expected_purchases": f"expected_purchases_{h}m"})
    if "churn_tier" in out:
        out["churn_tier"] = out["churn_tier"].fillna("not active")
        out["retention_priority"] = out["retention_priority"].fillna(False).astype(bool)
    return out


def bullets(sentences: list[str]) -> str:
    """Markdown bullet list."""
    from helpers.page.text import bullet_list
    return bullet_list(sentences)


def review_kpis(orders: pd.DataFrame | str | Path, quarter: str) -> pd.DataFrame:
    """KPI table of the quarter against the previous one (see :mod:`helpers.kpis`).

    ``orders``: the clean orders, or the path of their Parquet file (read by DuckDB, never loaded
    into pandas).
    """
    return kpi_table(orders, quarter)


def quality_note(ingest: dict) -> str:
    """One paragraph on what was cleaned: lines read, dropped, and the largest findings."""
    src = ingest["sources"]["orders"]
    dropped = ingest.get("rows_dropped", 0)
    top = sorted((f for f in ingest["findings"] if f["action"].startswith("dropped")),
                 key=lambda f: -f["rows"])[:3]
    parts = "; ".join(f"{f['check']} ({f['rows']:,})" for f in top)
    return (f"{src['rows_read']:,} order lines were read and {dropped:,} dropped by the cleaning rules"
            + (f", mostly: {parts}." if parts else ".")
            + " Details are on the data-intake page.")


def available_sections(artifacts: dict[str, dict | None]) -> pd.DataFrame:
    """Every section of this review and whether it could be computed, with the reason when not.

    One row per analysis step (from the registry): "available", "not run" (left out of ``steps``), or
    "not available" with the step's reason; then one row per unavailable part of an available step
    (one experiment, the spend model, last quarter's movement...).
    """
    rows = []
    for st in _analysis_steps():
        summary = artifacts.get(st.summary)
        if summary is None:
            rows.append({"section": st.section, "status": "not run",
                         "why": f"the {st.name} step was not in this run's steps"})
            continue
        if not summary.get("available", True):
            rows.append({"section": st.section, "status": "not available", "why": summary.get("reason") or ""})
            continue
        parts = [p for p in summary.get("unavailable") or [] if p.get("part") != st.summary]
        rows.append({"section": st.section, "status": "available" if not parts else "partly available",
                     "why": ""})
        rows += [{"section": f"{st.section}: {p.get('title') or p['part']}", "status": "not available",
                  "why": p.get("reason", "")} for p in parts]
    return pd.DataFrame(rows)


def review_summary(quarter: str, kpis: pd.DataFrame) -> dict:
    """The ``review.json`` artifact: this and the previous quarter's KPIs."""
    return {"quarter": quarter,
            "kpis": {k: {"this_quarter": r["this_quarter"], "previous_quarter": r["previous_quarter"],
                         "change_pct": r["change_pct"]} for k, r in kpis.iterrows()}}


def segment_sentences(rfm: dict | None, currency: str) -> str:
    """Findings about segments from ``rfm.json``, as Markdown; one line when the step did not run."""
    if rfm is None:
        return "Segments: not available (the 20_rfm_clustering step did not run)."
    segs = rfm["segments"]
    top = max(segs.items(), key=lambda kv: kv[1]["share_of_revenue"])
    protect = [(n, s) for n, s in segs.items() if s["action_group"] == rfm["segments"][top[0]]["action_group"]]
    share_c = sum(s["share_of_customers"] for _, s in protect)
    share_r = sum(s["share_of_revenue"] for _, s in protect)
    mig = rfm["migration"]
    lines = [
        f"{top[0]} are {top[1]['share_of_customers']:.0%} of customers and "
        f"{top[1]['share_of_revenue']:.0%} of revenue to date.",
        f"The {top[1]['action_group']} group ({', '.join(n for n, _ in protect)}) holds {share_c:.0%} of customers "
        f"and {share_r:.0%} of revenue.",
        f"Since last quarter {mig['upgrades']:,} customers moved to a better segment and "
        f"{mig['downgrades']:,} to a worse one; "
        f"{mig['slipped_into_lapsed']:,} slipped into {_or_list(mig['lapsed_segments'])}"
        + (
            f", having spent {money(mig['value_at_stake_of_lapsed'], currency)} in the year before."
            if mig["value_at_stake_of_lapsed"] > 0
            else "."
        ),
    ]
    return bullets(lines)


def segment_overview(rfm: dict | None) -> pd.DataFrame:
    """Segment table for the review (action group, customers, shares), largest revenue share first."""
    if rfm is None:
        return pd.DataFrame([{"segment": "not available", "action_group": "", "customers": None,
                              "share_of_customers": None, "share_of_revenue": None}])
    rows = [{"segment": n, "action_group": s["action_group"], "customers": s["customers"],
             "share_of_customers": s["share_of_customers"], "share_of_revenue": s["share_of_revenue"]}
            for n, s in rfm["segments"].items()]
    return pd.DataFrame(rows).sort_values("share_of_revenue", ascending=False, kind="stable")


def action_overview(rfm: dict | None) -> pd.DataFrame:
    """What to do with each action group, with its customers (from ``rfm.json``)."""
    if rfm is None:
        return pd.DataFrame([{"action_group": "not available", "customers": None, "recommended_action": ""}])
    return pd.DataFrame([{"action_group": g["name"], "customers": g["customers"], "recommended_action": g["action"]}
                         for g in rfm["action_groups"]])


def top_moves(rfm: dict | None, n: int = 5) -> str:
    """The largest segment moves in words (Markdown bullets)."""
    if rfm is None:
        return "Migration: not available (the 20_rfm_clustering step did not run)."
    return bullets(rfm["top_flows"][:n])


def value_sentences(clv: dict | None, currency: str) -> str:
    """Predicted value of the base and where it sits, from ``clv.json``."""
    if clv is None:
        return "Customer value: not available (the 30_clv step did not run)."
    t = clv["totals"]
    h = clv["horizon_months"]
    lines = [
        f"The customer base is predicted to be worth {money(t['clv_total'], currency)} over the next {h} months "
        f"({t['interval']:.0%} interval {money(t['clv_total_low'], currency)} to "
        f"{money(t['clv_total_high'], currency)}); "
        f"the top 10% of customers hold {clv['top10_share']:.0%} of it."
    ]
    seg = clv.get("by_rfm_segment")
    if seg:
        top = max(seg, key=lambda r: r["clv_total"])
        lines.append(f"{top['rfm_segment']} carry the most predicted value: {money(top['clv_total'], currency)} "
                     f"({top['share_of_clv']:.0%}).")
    lines.append(clv["backtest"]["verdict"])
    return bullets(lines)


def value_by_segment(clv: dict | None) -> pd.DataFrame:
    """Predicted value per segment with its interval (``clv.json``), largest first."""
    if clv is None or not clv.get("by_rfm_segment"):
        return pd.DataFrame([{"segment": "not available", "customers": None, "clv_total": None}])
    t = pd.DataFrame(clv["by_rfm_segment"]).rename(columns={"rfm_segment": "segment"})
    return t[["segment", "customers", "clv_total", "clv_low", "clv_high", "clv_mean", "share_of_clv"]]


def experiment_decisions(ab: dict | None) -> pd.DataFrame:
    """One row per experiment: decision and the sentence behind it (from ``ab.json``)."""
    if ab is None or not ab.get("available"):
        return pd.DataFrame([{"experiment": "not available (no experiments this quarter)", "decision": "", "why": ""}])
    return pd.DataFrame([{"experiment": k, "decision": v["decision"], "why": v["detail"]}
                         for k, v in ab["experiments"].items()])


def executive_summary(kpis: pd.DataFrame, rfm: dict | None, clv: dict | None, ab: dict | None,
                      currency: str, churn: dict | None = None) -> list[str]:
    """Four to six findings, each a sentence with its figure, generated from the artifacts."""
    k = kpis["this_quarter"]
    ch = kpis.loc["revenue", "change_pct"]
    out = [f"Revenue was {money(k['revenue'], currency)}"
           + ("" if pd.isna(ch) else f", {'up' if ch >= 0 else 'down'} {abs(ch):.1%} on the previous quarter")
           + f", from {k['active_customers']:,.0f} customers ({k['new_customers']:,.0f} new)."]
    if rfm is not None:
        segs = rfm["segments"]
        top = max(segs.items(), key=lambda kv: kv[1]["share_of_revenue"])
        out.append(f"{top[0]} are {top[1]['share_of_customers']:.0%} of customers and {top[1]['share_of_revenue']:.0%} "
                   f"of revenue to date.")
        mig = rfm["migration"]
        lapsed = mig["slipped_into_lapsed"]
        if lapsed:
            val = mig["value_at_stake_of_lapsed"]
            out.append(f"{lapsed:,} customers slipped into {_or_list(mig['lapsed_segments'])} this quarter"
                       + (f", carrying {money(val, currency)} of spend from the year before." if val > 0 else "."))
    if clv is not None:
        t = clv["totals"]
        out.append(
            f"The base is predicted to be worth {money(t['clv_total'], currency)} over the next "
            f"{clv['horizon_months']} months ({money(t['clv_total_low'], currency)} to "
            f"{money(t['clv_total_high'], currency)}); the top 10% of customers hold {clv['top10_share']:.0%} of it."
        )
    if churn is not None and churn.get("available"):
        out.append(churn_headline(churn, currency))
    if ab is not None and ab.get("available"):
        dec = [v["decision"] for v in ab["experiments"].values()]
        ship = sum(d == "Ship" for d in dec)
        out.append(f"{len(dec)} experiment(s) evaluated: {ship} to ship, {dec.count('Inconclusive')} inconclusive, "
                   f"{dec.count('Do not ship')} not to ship, {dec.count('Do not trust')} not trustworthy.")
    return out[:7]


def _value_words(churn: dict) -> str:
    col = churn.get("value_column") or ""
    return f"predicted {col[4:-1]}-month value" if col.startswith("clv_") else "spend to date"


def churn_headline(churn: dict, currency: str) -> str:
    """One sentence: customers at high risk, the value they hold, and the retention-priority list."""
    hi = churn["tier_counts"]["high"]
    n = max(churn["scored_customers"], 1)
    text = (
        f"{hi:,} active customers ({hi / n:.0%}) are at high risk of not buying in the next {churn['horizon_days']} "
        "days"
    )
    if churn.get("value_at_risk") is not None:
        text += f", holding {money(churn['value_at_risk'], currency)} of {_value_words(churn)}"
    return text + f"; {churn['retention_priority']:,} of them are high-value and listed for the retention team."


def churn_sentences(churn: dict | None, currency: str) -> str:
    """Churn risk for the manager: tiers, value at risk, the model's track record (from ``churn.json``)."""
    if churn is None:
        return "Churn risk: not available (the 40_churn step did not run)."
    if not churn.get("available"):
        return f"Churn risk: not available this quarter ({churn.get('reason', 'no model')})."
    m = churn["metrics"][churn["chosen_model"]]
    lines = [
        churn_headline(churn, currency),
        f"Track record: on the latest snapshot whose outcome is known ({str(churn['eval_snapshot'])[:10]}), the model "
        f"ranked churners above stayers with ROC AUC {m['roc_auc']:.2f} and predicted {m['mean_predicted']:.0%} "
        f"churn against {m['observed_rate']:.0%} observed."
        if churn["mode"] == "snapshot"
        else f"Track record (contractual mode, cross-validated): ROC AUC {m['roc_auc']:.2f}, predicted "
        f"{m['mean_predicted']:.0%} churn against {m['observed_rate']:.0%} observed.",
    ]
    if churn.get("effects"):
        lines.append("Strongest driver — " + churn["effects"][0].replace("**", ""))
    return bullets(lines)


def churn_by_segment(churn: dict | None) -> pd.DataFrame:
    """High-risk customers and value at risk per segment (``churn.json``), largest value at risk first."""
    if churn is None or not churn.get("available") or not churn.get("by_segment"):
        return pd.DataFrame([{"segment": "not available", "high_risk": None}])
    t = pd.DataFrame(churn["by_segment"])
    cols = ["segment", "action_group", "active_customers", "high_risk", "share_high_risk", "value_at_risk",
            "retention_priority"]
    return t[[c for c in cols if c in t]]


def methods_appendix(artifacts: dict) -> str:
    """Short methods notes with links to the analyst pages that ran."""
    lines = ["- **Data intake** ([page](10_ingest.html)): cleaning rules, what was dropped and why."]
    if artifacts.get("rfm") is not None:
        lines.append("- **Segments** ([page](20_rfm_clustering.html)): recency, frequency and spend scored 1-5 in "
                     "fifths, named segments from score patterns, k-means clusters, migration since last quarter.")
    if artifacts.get("clv") is not None:
        lines.append(f"- **Customer value** ([page](30_clv.html)): {artifacts['clv']['model']} and Gamma-Gamma by "
                     "maximum likelihood, backtested on a holdout every quarter; intervals from parameter uncertainty.")
    if artifacts.get("churn") is not None and artifacts["churn"].get("available"):
        c = artifacts["churn"]
        lines.append(f"- **Churn risk** ([page](40_churn.html)): no order within {c['horizon_days']} days = churn; "
                     + ("gradient boosting against a logistic baseline, trained on one snapshot and tested on a later "
                        "one, probabilities calibrated; drivers, tiers and retention curves."
                        if c["mode"] == "snapshot" else "contractual label, cross-validated on customer attributes."))
    if artifacts.get("ab") is not None and artifacts["ab"].get("available"):
        lines.append("- **Experiments** ([page](50_ab_evaluation.html)): trust checks first, then effects with "
                     "multiple-comparison adjustment and a decision per experiment.")
    return "\n".join(lines)


def extended_kpis(kpis: pd.DataFrame, clv: dict | None, prev_clv: dict | None, churn: dict | None,
                  currency: str, prev_churn: dict | None = None) -> pd.DataFrame:
    """KPI table plus predicted value (with interval) and customers at high churn risk.

    The previous quarter's value comes from that quarter's rendered report when there is one.
    """
    from helpers.page.text import money
    rows = []
    if clv is not None:
        t = clv["totals"]
        now = (f"{money(t['clv_total'], currency)} ({money(t['clv_total_low'], currency)} to "
               f"{money(t['clv_total_high'], currency)})")
        prev = money(prev_clv["totals"]["clv_total"], currency) if prev_clv else "not rendered"
        change = "n/a"
        if prev_clv:
            d = t["clv_total"] - prev_clv["totals"]["clv_total"]
            change = f"{'▲' if d > 0 else '▼'} {d / prev_clv['totals']['clv_total']:+.1%}"
        rows.append({"KPI": f"Predicted {clv['horizon_months']}-month value of the base", "This quarter": now,
                     "Previous quarter": prev, "Change": change})
    else:
        rows.append({"KPI": "Predicted value of the base", "This quarter": "not available (CLV step did not run)",
                     "Previous quarter": "", "Change": ""})
    if churn is not None and churn.get("available"):
        hi = churn["tier_counts"]["high"]
        prev = prev_churn["tier_counts"]["high"] if prev_churn and prev_churn.get("available") else None
        change = "n/a" if not prev else f"{'▲' if hi > prev else '▼'} {(hi - prev) / prev:+.1%}"
        rows.append({"KPI": f"Customers at high churn risk (next {churn['horizon_days']} days)",
                     "This quarter": f"{hi:,} of {churn['scored_customers']:,} active",
                     "Previous quarter": f"{prev:,}" if prev is not None else "not rendered", "Change": change})
    elif churn is not None:
        rows.append({"KPI": "Customers at high churn risk", "This quarter": "not available this quarter",
                     "Previous quarter": "", "Change": ""})
    else:
        rows.append({"KPI": "Customers at high churn risk", "This quarter": "not available (churn step did not run)",
                     "Previous quarter": "", "Change": ""})
    return pd.DataFrame(rows)


def segment_value_table(rfm: dict | None, clv: dict | None, churn: dict | None = None) -> pd.DataFrame:
    """Segments with action group, customers, revenue, predicted value and churn risk (when known)."""
    base = segment_overview(rfm)
    if rfm is None:
        return base
    base["revenue_to_date"] = [rfm["segments"][s]["revenue"] for s in base["segment"]]
    if clv is not None and clv.get("by_rfm_segment"):
        v = {r["rfm_segment"]: r for r in clv["by_rfm_segment"]}
        base["predicted_value"] = [v.get(s, {}).get("clv_total") for s in base["segment"]]
        base["value_per_customer"] = [v.get(s, {}).get("clv_mean") for s in base["segment"]]
    if churn is not None and churn.get("available") and churn.get("by_segment"):
        c = {r["segment"]: r for r in churn["by_segment"]}
        base["high_churn_risk"] = [c.get(s, {}).get("high_risk", 0) for s in base["segment"]]
    return base
