"""The quarterly review page: headline numbers and sentences built from the artifacts only.

Every term is used with the meaning of the glossary (:mod:`helpers.review.glossary`): "buyers" bought
in the quarter, "active customers" bought in the last ``review.lifecycle.active_days`` days, "new
customers" bought for the first time in the quarter. The other steps' summaries are read through
:mod:`helpers.review.inputs`.
"""

from __future__ import annotations

import re
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from helpers.frame.settings import previous_quarter
from helpers.ingest.texts import EXCLUDED
from helpers.locale import (
    N_,
    fmt_clauses,
    fmt_date,
    fmt_int,
    fmt_labelled,
    fmt_list,
    fmt_money,
    fmt_number,
    fmt_pct,
    fmt_quarter,
    tr,
)
from helpers.page.text import money
from helpers.page.text import or_list as _or_list
from helpers.review import inputs
from helpers.review.data import quarter_kpis

__all__ = [
    "customer_scores_table",
    "cohort_sentence",
    "is_contractual",
    "kpi_note",
    "KPI_LABELS",
    "kpi_table",
    "kpi_table_from_history",
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
    "text_table",
    "lifecycle_table",
    "transitions_table",
    "lifecycle_sentences",
    "trend_table",
    "trend_caption",
    "trend_summary",
    "not_available_note",
    "experiments_note",
    "glossary_table",
    "show_channels",
]


def is_contractual(clv: dict | None) -> bool:
    """True when the business is contractual (subscriptions: the value step's ``mode`` in ``clv.json``): the pages
    then speak of subscribers, payments and renewals rather than buyers and repeat purchases."""
    return bool(clv) and clv.get("mode") == "contractual"


def kpi_note(contractual: bool = False) -> str:
    """The sentence under the KPI table's heading: what revenue and the last row mean, in the business's words."""
    if contractual:
        return tr("Revenue is subscription payments net of refunds; the last row is the share of the quarter's paying "
                  "subscribers who paid on two or more different days (renewed within the quarter).")
    return tr("Revenue is net of refunds; the repeat-purchase rate is the share of the quarter's buyers who bought on "
              "two or more different days.")


def _kpi_labels(contractual: bool = False) -> dict[str, str]:
    if contractual:
        return {
            "active_customers": tr("Paying subscribers (paid in the quarter)"),
            "new_customers": tr("New subscribers"),
            "returning_customers": tr("Renewing subscribers"),
            "orders": tr("Payments"),
            "revenue": tr("Revenue"),
            "average_order_value": tr("Average payment"),
            "repeat_purchase_rate": tr("Share paying in two or more months"),
        }
    return {
        "active_customers": tr("Buyers (bought in the quarter)"),
        "new_customers": tr("New customers"),
        "returning_customers": tr("Returning customers"),
        "orders": tr("Orders"),
        "revenue": tr("Revenue"),
        "average_order_value": tr("Average order value"),
        "repeat_purchase_rate": tr("Repeat-purchase rate"),
    }


#: KPI key -> English label (the page shows the translated label). The key ``active_customers`` is kept
#: for ``review.json`` readers; its meaning is the glossary's "buyers" (bought in the quarter).
KPI_LABELS: dict[str, str] = _kpi_labels()


_NUMBER = re.compile(r"^\s*([▲▼■]\s*)?[+\-−]?\s*([A-Z]{3}\s)?[¥$€]?[+\-−]?\d")
_QUARTER = re.compile(r"^\d{4}(Q\d|年)")


def _numeric_text(col: pd.Series) -> bool:
    cells = [str(x) for x in col if str(x).strip() not in ("", "·", "n/a")]
    hits = sum(bool(_NUMBER.match(c)) and not _QUARTER.match(c) for c in cells)
    return bool(cells) and hits >= 0.8 * len(cells)


def text_table(df: pd.DataFrame, right: list[str] | tuple[str, ...] | None = None, caption: str | None = None):
    """A table of already formatted text: no index, stable ids, HTML kept; numbers right-aligned.

    ``right``: the columns to right-align; by default those whose cells read as numbers or money.
    """
    from helpers.page import styled_table
    st = styled_table(df, readable_headers=False, caption=caption)
    cols = [c for c in df.columns if _numeric_text(df[c])] if right is None else [c for c in right if c in df]
    return st.set_properties(subset=cols, **{"text-align": "right", "white-space": "nowrap"}) if cols else st


def not_available_note(what: str, step: str | None = None, reason: str | None = None) -> str:
    """A one-line "not available" sentence for a review section whose input is missing."""
    if reason:
        return tr("{what}: not available this quarter. {reason}", what=what, reason=reason)
    return tr("{what}: not available (the {step} step did not run).", what=what, step=step)


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
    for k, label in _kpi_labels().items():
        a, b = now[k], prev[k]
        rows.append({"key": k, "kpi": label, "this_quarter": a, "previous_quarter": b,
                     "change": a - b, "change_pct": (a - b) / b if b and not np.isnan(b) else np.nan})
    return pd.DataFrame(rows).set_index("key")


def kpi_table_from_history(history, contractual: bool = False) -> pd.DataFrame:
    """:func:`kpi_table` from the history's last two quarters (the same numbers, without scanning the orders
    again; tested equal); with ``contractual`` (see :func:`is_contractual`) labelled in subscription words."""
    if len(history.quarters) < 2:
        raise ValueError("the history needs at least two quarters for the KPI table")
    k = history.kpis.rename(columns={"buyers": "active_customers"})
    now, prev = k.iloc[-1], k.iloc[-2]
    rows = []
    for key, label in _kpi_labels(contractual).items():
        a, b = float(now[key]), float(prev[key])
        rows.append({"key": key, "kpi": label, "this_quarter": a, "previous_quarter": b,
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
    h = inputs.clv_horizon(clv)
    if h is not None and "clv" in out:
        out = out.rename(columns={"clv": f"clv_{h}m", "expected_purchases": f"expected_purchases_{h}m"})
    if "churn_tier" in out:
        out["churn_tier"] = out["churn_tier"].astype(object).where(out["churn_tier"].notna(), "not active")
        out["retention_priority"] = out["retention_priority"].astype("boolean").fillna(False).astype(bool)
    return out


def bullets(sentences: list[str]) -> str:
    """Markdown bullet list."""
    from helpers.page.text import bullet_list
    return bullet_list(sentences)


def review_kpis(orders: pd.DataFrame | str | Path, quarter: str) -> pd.DataFrame:
    """KPI table of the quarter against the previous one (see :mod:`helpers.review.data`).

    ``orders``: the clean orders, or the path of their Parquet file (read by DuckDB, never loaded
    into pandas).
    """
    return kpi_table(orders, quarter)


def quality_note(ingest: dict) -> str:
    """One paragraph on what was cleaned, adding up: lines read, orders kept, and where the others went.

    Read minus kept is split into the lines the cleaning rules dropped (with the three largest
    findings), the lines dated after the as-of date (left for a later quarter) and the refund lines
    netted into their orders (what remains of the difference: they are merged, not dropped).
    """
    src = ingest["sources"]["orders"]
    read, kept = int(src["rows_read"]), int(src.get("rows_clean", ingest.get("orders", 0)))
    order_findings = [f for f in ingest["findings"] if f.get("table", "orders") == "orders"]
    dropped = sum(int(f["rows"]) for f in order_findings if f["action"].startswith("dropped"))   # orders only
    later = sum(int(f["rows"]) for f in order_findings if f["action"] == EXCLUDED)
    merged = read - kept - dropped - later
    top = sorted((f for f in order_findings if f["action"].startswith("dropped")), key=lambda f: -f["rows"])[:3]
    sep = tr("; ")
    parts = sep.join(tr("{check}: {n}", check=f["check"], n=fmt_int(f["rows"])) for f in top)
    where = [tr("{n} dropped by the cleaning rules", n=fmt_int(dropped))]
    if later:
        where.append(tr("{n} dated after the as-of date, left for a later quarter", n=fmt_int(later)))
    if merged > 0:
        where.append(tr("{n} refund lines netted into the orders they refund", n=fmt_int(merged)))
    if parts:
        return tr("{read} order lines were read and {kept} orders kept: {where}. The rules that dropped the most "
                  "lines: {parts}. Details are on the data-intake page.", read=fmt_int(read), kept=fmt_int(kept),
                  where=sep.join(where), parts=parts)
    return tr("{read} order lines were read and {kept} orders kept: {where}. Details are on the data-intake page.",
              read=fmt_int(read), kept=fmt_int(kept), where=sep.join(where))


def available_sections(artifacts: dict[str, dict | None], own: list | tuple = ()) -> pd.DataFrame:
    """Every section of this review and whether it could be computed, with the reason when not.

    One row per analysis step (from the registry): "available", "not run" (left out of ``steps``), or
    "not available" with the step's reason; then one row per unavailable part of an available step
    (one experiment, the spend model, last quarter's movement...); then the review's own parts that
    are not available (``own``: :class:`~helpers.frame.outcome.NotAvailable` entries).
    """
    rows = []
    for st in _analysis_steps():
        section = tr(st.section)
        summary = artifacts.get(st.summary)
        if summary is None:
            rows.append({tr("Section"): section, tr("Status"): tr("not run"),
                         tr("Why"): tr("the {step} step was not in this run's steps", step=st.name)})
            continue
        parts = [p for p in summary.get("unavailable") or [] if p.get("part") != st.summary]
        if not summary.get("available", True):
            rows.append({tr("Section"): section, tr("Status"): tr("not available"),
                         tr("Why"): summary.get("reason") or ""})
        else:
            rows.append({tr("Section"): section,
                         tr("Status"): tr("available") if not parts else tr("partly available"), tr("Why"): ""})
        rows += [{tr("Section"): fmt_labelled(section, p.get("title") or p["part"]), tr("Status"): tr("not available"),
                  tr("Why"): p.get("reason", "")} for p in parts]
    for na in own:
        if na is not None:
            rows.append({tr("Section"): tr("Quarterly review") + f": {na.title or na.part}",
                         tr("Status"): tr("not available"), tr("Why"): na.reason})
    return pd.DataFrame(rows)


def segment_sentences(rfm: dict | None, currency: str) -> str:
    """Findings about segments from ``rfm.json``, as Markdown; one line when the step did not run."""
    if rfm is None:
        return not_available_note(tr("Segments"), "20_rfm_clustering")
    if not rfm.get("available", True):
        return not_available_note(tr("Segments"), reason=rfm.get("reason"))
    segs = rfm["segments"]
    top = max(segs.items(), key=lambda kv: kv[1]["share_of_revenue"])
    group = segs[top[0]]["action_group"]
    protect = [(n, s) for n, s in segs.items() if s["action_group"] == group]
    share_c = sum(s["share_of_customers"] for _, s in protect)
    share_r = sum(s["share_of_revenue"] for _, s in protect)
    lines = [
        tr("{segment} are {customers} of customers and {revenue} of revenue to date.", segment=top[0],
           customers=fmt_pct(top[1]["share_of_customers"]), revenue=fmt_pct(top[1]["share_of_revenue"])),
        tr("The {group} group ({segments}) holds {customers} of customers and {revenue} of revenue.", group=group,
           segments=fmt_list(n for n, _ in protect), customers=fmt_pct(share_c), revenue=fmt_pct(share_r)),
    ]
    mig = rfm.get("migration")
    if mig:
        lines.append(_migration_sentence(mig, currency))
    return bullets(lines)


def _migration_sentence(mig: dict, currency: str) -> str:
    if mig["value_at_stake_of_lapsed"] > 0:
        return tr("Since last quarter {up} customers moved to a better segment and {down} to a worse one; {lapsed} "
                  "slipped into {segments}, having spent {value} in the year before.", up=fmt_int(mig["upgrades"]),
                  down=fmt_int(mig["downgrades"]), lapsed=fmt_int(mig["slipped_into_lapsed"]),
                  segments=_or_list(mig["lapsed_segments"]), value=money(mig["value_at_stake_of_lapsed"], currency))
    return tr("Since last quarter {up} customers moved to a better segment and {down} to a worse one; {lapsed} "
              "slipped into {segments}.", up=fmt_int(mig["upgrades"]), down=fmt_int(mig["downgrades"]),
              lapsed=fmt_int(mig["slipped_into_lapsed"]), segments=_or_list(mig["lapsed_segments"]))


def segment_overview(rfm: dict | None) -> pd.DataFrame:
    """Segment table for the review (action group, customers, shares), largest revenue share first."""
    if rfm is None or not rfm.get("segments"):
        return pd.DataFrame(columns=["segment", "action_group", "customers", "share_of_customers", "share_of_revenue"])
    rows = [{"segment": n, "action_group": s["action_group"], "customers": s["customers"],
             "share_of_customers": s["share_of_customers"], "share_of_revenue": s["share_of_revenue"]}
            for n, s in rfm["segments"].items()]
    return pd.DataFrame(rows).sort_values("share_of_revenue", ascending=False, kind="stable")


def action_overview(rfm: dict | None) -> pd.DataFrame:
    """The action groups and their action template from the parameters (from ``rfm.json``)."""
    return pd.DataFrame([{tr("Action group"): g["name"], tr("Customers"): fmt_int(g["customers"]),
                          tr("Action template (parameters)"): g["action"]} for g in inputs.rfm_action_groups(rfm)])


def top_moves(rfm: dict | None, n: int = 5) -> str:
    """The largest segment moves in words (Markdown bullets)."""
    if rfm is None:
        return not_available_note(tr("Migration"), "20_rfm_clustering")
    if not rfm.get("top_flows"):
        return tr("Migration: not available (no previous quarter in the order history to compare with).")
    return bullets(rfm["top_flows"][:n])


def value_sentences(clv: dict | None, currency: str) -> str:
    """Predicted value of the base and where it sits, from ``clv.json``."""
    if clv is None:
        return not_available_note(tr("Customer value"), "30_clv")
    if not inputs.available(clv):
        return not_available_note(tr("Customer value"), reason=clv.get("reason"))
    t = inputs.clv_totals(clv)
    # the interval is the parameters' uncertainty only: the backtest's miss (the verdict below) is the model's error
    lines = [tr("The customer base is predicted to be worth {total} over the next {h} months ({level} interval {low} "
                "to {high}, from the uncertainty of the model's parameters only; how far the model missed in its "
                "backtest is said below); the top 10% of customers hold {top} of it.",
                total=money(t["clv_total"], currency),
                h=inputs.clv_horizon(clv), level=fmt_pct(inputs.clv_interval(clv)),
                low=money(t["clv_total_low"], currency), high=money(t["clv_total_high"], currency),
                top=fmt_pct(clv.get("top10_share")))]
    seg = list(inputs.clv_by_segment(clv).values())
    if seg:
        top = max(seg, key=lambda r: r["clv_total"])
        lines.append(tr("{segment} carry the most predicted value: {value} ({share}).", segment=top["rfm_segment"],
                        value=money(top["clv_total"], currency), share=fmt_pct(top["share_of_clv"])))
    verdict = (clv.get("backtest") or {}).get("verdict")
    if verdict:
        lines.append(verdict)
    return bullets(lines)


def value_by_segment(clv: dict | None, currency: str) -> pd.DataFrame:
    """Predicted value per segment with its interval (``clv.json``), largest first, in words."""
    h = inputs.clv_horizon(clv)
    rows = []
    for r in sorted(inputs.clv_by_segment(clv).values(), key=lambda r: -r["clv_total"]):
        rows.append({tr("Segment"): r["rfm_segment"], tr("Customers"): fmt_int(r["customers"]),
                     tr("Predicted {h}-month value ({level} interval)", h=h,
                        level=fmt_pct(inputs.clv_interval(clv))): tr(
                         "{value} ({low} to {high})", value=money(r["clv_total"], currency),
                         low=money(r["clv_low"], currency), high=money(r["clv_high"], currency)),
                     tr("Per customer"): money(r["clv_mean"], currency),
                     tr("Share of predicted value"): fmt_pct(r["share_of_clv"], 1)})
    return pd.DataFrame(rows)


def _guardrail_short(g: dict, currency: str) -> str:
    status = {"ok (non-inferior)": tr("within margin"), "breached": tr("breached"),
              "inconclusive": tr("not shown within margin (does not block; watch it)"),
              "not available": tr("not measured")}
    from helpers.experiments import metric_name
    return tr("{metric}: {status}", metric=metric_name(g["metric"]), status=status.get(g["status"], g["status"]))


def experiment_decisions(ab: dict | None, currency: str = "") -> pd.DataFrame:
    """One row per evaluated experiment: the decision (naming the segments when targeted), guardrails and net
    value beside it, and the sentence behind it (from ``ab.json``, the wording of the experiments page)."""
    rows = []
    for v in inputs.ab_experiments(ab).values():
        net = v.get("net_value")
        rows.append({
            tr("Experiment"): v["experiment_id"],
            tr("Decision"): v.get("decision_label") or v["decision"],
            tr("Guardrails"): (fmt_clauses(_guardrail_short(g, currency) for g in v.get("guardrails") or [])
                               or tr("none")),
            tr("Net value per treated customer"): (tr("{net} ({low} to {high})", net=fmt_money(net["net"], currency, 2),
                                                      low=fmt_money(net["net_low"], currency, 2),
                                                      high=fmt_money(net["net_high"], currency, 2))
                                                   if net else tr("no cost given")),
            tr("Why"): v["detail"]})
    return pd.DataFrame(rows)


def _decision_counts(ab: dict) -> str:
    dec = [v["decision"] for v in inputs.ab_experiments(ab).values()]
    return tr("{n} experiments evaluated: {ship} to ship to everyone, {targeted} to ship to some segments only, "
              "{inconclusive} inconclusive, {no} not to ship, {bad} not trustworthy.", n=fmt_int(len(dec)),
              ship=fmt_int(dec.count("Ship")), targeted=fmt_int(dec.count("Ship to segments")),
              inconclusive=fmt_int(dec.count("Inconclusive")), no=fmt_int(dec.count("Do not ship")),
              bad=fmt_int(dec.count("Do not trust")))


def cohort_sentence(history) -> str:
    """A sentence when every customer of the export first bought in one quarter (a cohort export, as CDNOW):
    the reader must know why there are no new customers and nobody "not yet a customer"; empty otherwise.

    Parameters
    ----------
    history : History
        From :func:`helpers.review.history.build_history` (its ``cohort`` and ``customers``).
    """
    if history is None or getattr(history, "cohort", None) is None:
        return ""
    if history.cohort_customers >= history.customers:
        return tr("All {n} customers joined in {quarter}: this export is one cohort, so there are no new customers "
                  "after {quarter} to count, and the trend follows that cohort as it ages.",
                  n=fmt_int(history.customers), quarter=fmt_quarter(history.cohort))
    return tr("{k} of the {n} customers joined in {quarter} (the others' first order kept by the cleaning rules is "
              "later): this export is one cohort, so there are almost no new customers after "
              "{quarter} to count, and the trend follows that cohort as it ages.", k=fmt_int(history.cohort_customers),
              n=fmt_int(history.customers), quarter=fmt_quarter(history.cohort))


def executive_summary(kpis: pd.DataFrame, rfm: dict | None, clv: dict | None, ab: dict | None,
                      currency: str, churn: dict | None = None, history=None,
                      retention: dict | None = None) -> list[str]:
    """Four to seven findings, each a sentence with its figure, generated from the artifacts (with ``history``,
    first the sentence of :func:`cohort_sentence` when the export is one cohort)."""
    k = kpis["this_quarter"]
    ch = kpis.loc["revenue", "change_pct"]
    cohort = [c for c in [cohort_sentence(history)] if c]
    if is_contractual(clv):
        out = [(tr("Revenue was {revenue}, from {buyers} paying subscribers ({new} new subscribers).") if pd.isna(ch)
                else tr("Revenue was {revenue}, up {change} on the previous quarter, from {buyers} paying subscribers "
                        "({new} new subscribers).") if ch >= 0 else
                tr("Revenue was {revenue}, down {change} on the previous quarter, from {buyers} paying subscribers "
                   "({new} new subscribers).")).format(
            revenue=money(k["revenue"], currency), change=fmt_pct(abs(ch), 1) if not pd.isna(ch) else "",
            buyers=fmt_int(k["active_customers"]), new=fmt_int(k["new_customers"]))]
    elif pd.isna(ch):
        out = [tr("Revenue was {revenue}, from {buyers} buyers ({new} new customers).",
                  revenue=money(k["revenue"], currency), buyers=fmt_int(k["active_customers"]),
                  new=fmt_int(k["new_customers"]))]
    else:
        out = [(tr("Revenue was {revenue}, up {change} on the previous quarter, from {buyers} buyers ({new} new "
                   "customers).") if ch >= 0 else
                tr("Revenue was {revenue}, down {change} on the previous quarter, from {buyers} buyers ({new} new "
                   "customers).")).format(revenue=money(k["revenue"], currency), change=fmt_pct(abs(ch), 1),
                                          buyers=fmt_int(k["active_customers"]), new=fmt_int(k["new_customers"]))]
    if rfm is not None and rfm.get("segments"):
        segs = rfm["segments"]
        top = max(segs.items(), key=lambda kv: kv[1]["share_of_revenue"])
        out.append(tr("{segment} are {customers} of customers and {revenue} of revenue to date.", segment=top[0],
                      customers=fmt_pct(top[1]["share_of_customers"]), revenue=fmt_pct(top[1]["share_of_revenue"])))
        mig = rfm.get("migration") or {}
        lapsed = mig.get("slipped_into_lapsed")
        if lapsed:
            val = mig["value_at_stake_of_lapsed"]
            out.append(tr("{n} customers slipped into {segments} this quarter, carrying {value} of spend from the year "
                          "before.", n=fmt_int(lapsed), segments=_or_list(mig["lapsed_segments"]),
                          value=money(val, currency)) if val > 0 else
                       tr("{n} customers slipped into {segments} this quarter.", n=fmt_int(lapsed),
                          segments=_or_list(mig["lapsed_segments"])))
    t = inputs.clv_totals(clv)
    if t:
        out.append(tr("The base is predicted to be worth {total} over the next {h} months ({low} to {high}); the top "
                      "10% of customers hold {top} of it.", total=money(t["clv_total"], currency),
                      h=inputs.clv_horizon(clv), low=money(t["clv_total_low"], currency),
                      high=money(t["clv_total_high"], currency), top=fmt_pct(clv.get("top10_share"))))
    if inputs.available(churn):
        out.append(churn_headline(churn, currency, retention))
    if inputs.ab_experiments(ab):
        out.append(_decision_counts(ab))
    return (cohort + out)[:7]


def _value_words(churn: dict) -> str:
    # the churn step names what its value at risk is (in the page's language); never parsed from a column name
    return tr(churn["value_label"]) if churn.get("value_label") else tr("spend to date")


def churn_headline(churn: dict, currency: str, retention: dict | None = None) -> str:
    """One sentence: customers at high risk, the value they hold, and the retention-priority list; with the plan's
    ``retention`` counts (:func:`helpers.review.plan.retention_counts`) a second one says how many of them are held
    out as a control and how many the retention team's list holds to contact (the count of retention-priority.csv)."""
    first = _churn_headline(churn, currency)
    if retention and retention.get("listed"):
        words = dict(listed=fmt_int(retention["listed"]), held=fmt_int(retention["held_out"]),
                     contact=fmt_int(retention["to_contact"]), file=retention["file"])
        first += " " + (tr("None of those {listed} is held out as a control group: the retention team's list ({file}) "
                           "holds all of them.", **words) if not retention["held_out"] else
                        tr("Of those {listed}, {held} are held out as a control group: the retention team's list "
                           "({file}) has {contact} to contact.", **words))
    return first


def _churn_headline(churn: dict, currency: str) -> str:
    hi = inputs.churn_high(churn)
    n = max(inputs.churn_scored(churn) or 0, 1)
    if churn.get("expected_churners") is not None and churn.get("value_at_risk") is not None:
        # tiers are shares of the scored customers (the riskiest tenth is "high" by construction): the finding is
        # how many are expected to stop, the tier is the list to work
        return tr("Of {scored} active customers, about {expected} ({mean}) are expected to place no order in the next "
                  "{days} days; the riskiest {n} ({share}) hold {value} of {what}, and {priority} of them are "
                  "high-value (the retention priority).", scored=fmt_int(n),
                  expected=fmt_int(churn["expected_churners"]), mean=fmt_pct(churn.get("mean_probability")),
                  days=inputs.churn_horizon(churn), n=fmt_int(hi), share=fmt_pct(hi / n),
                  value=money(churn["value_at_risk"], currency), what=_value_words(churn),
                  priority=fmt_int(churn.get("retention_priority", 0)))
    if churn.get("value_at_risk") is not None:
        return tr("{n} active customers ({share}) are at high risk of not buying in the next {days} days, holding "
                  "{value} of {what}; {priority} of them are high-value (the retention priority).",
                  n=fmt_int(hi), share=fmt_pct(hi / n), days=inputs.churn_horizon(churn),
                  value=money(churn["value_at_risk"], currency), what=_value_words(churn),
                  priority=fmt_int(churn.get("retention_priority", 0)))
    return tr("{n} active customers ({share}) are at high risk of not buying in the next {days} days; {priority} of "
              "them are high-value (the retention priority).", n=fmt_int(hi), share=fmt_pct(hi / n),
              days=inputs.churn_horizon(churn), priority=fmt_int(churn.get("retention_priority", 0)))


def churn_sentences(churn: dict | None, currency: str, retention: dict | None = None) -> str:
    """Churn risk for the manager: tiers, value at risk, the model's track record (from ``churn.json``)."""
    if churn is None:
        return not_available_note(tr("Churn risk"), "40_churn")
    if not churn.get("available"):
        return not_available_note(tr("Churn risk"), reason=churn.get("reason"))
    lines = [churn_headline(churn, currency, retention)]
    m = (churn.get("metrics") or {}).get(churn.get("chosen_model"))
    if m:
        if churn.get("mode") == "snapshot":
            lines.append(tr("Track record: on the latest snapshot whose outcome is known ({date}), the model ranked "
                            "churners above stayers with ROC AUC {auc} and predicted {predicted} churn against "
                            "{observed} observed.", date=fmt_date(str(churn["eval_snapshot"])[:10]),
                            auc=fmt_number(m["roc_auc"], 2), predicted=fmt_pct(m["mean_predicted"]),
                            observed=fmt_pct(m["observed_rate"])))
        else:
            lines.append(tr("Track record (contractual mode, cross-validated): ROC AUC {auc}, predicted {predicted} "
                            "churn against {observed} observed.", auc=fmt_number(m["roc_auc"], 2),
                            predicted=fmt_pct(m["mean_predicted"]), observed=fmt_pct(m["observed_rate"])))
    if churn.get("effects"):
        lines.append(tr("Strongest driver: {driver}", driver=churn["effects"][0].replace("**", "")))
    return bullets(lines)


def churn_by_segment(churn: dict | None, currency: str) -> pd.DataFrame:
    """High-risk customers and value at risk per segment (``churn.json``), largest value at risk first, in words."""
    rows = []
    for r in inputs.churn_by_segment(churn):
        row = {tr("Segment"): r["segment"], tr("Action group"): r.get("action_group", ""),
               tr("Active customers"): fmt_int(r.get("active_customers")),
               tr("At high churn risk"): tr("{n} ({share})", n=fmt_int(r.get("high_risk")),
                                            share=fmt_pct(r.get("share_high_risk"))),
               tr("Retention priority (holdouts included)"): fmt_int(r.get("retention_priority"))}
        if r.get("value_at_risk") is not None:
            row[tr("Value at risk")] = money(r["value_at_risk"], currency)
        rows.append(row)
    return pd.DataFrame(rows)


#: The churn step's candidate models (``chosen_model`` / ``candidates`` of ``churn.json``) in words.
CHURN_MODEL_WORDS = {"gradient_boosting": N_("gradient boosting"), "logistic": N_("logistic regression"),
                     "blend": N_("the average of gradient boosting and logistic regression"),
                     "bgnbd": N_("the BG/NBD purchase model's probability of no purchase")}
CHURN_CRITERIA = {"brier": N_("the mean squared error of the probabilities (Brier score)"), "log_loss": N_("log loss")}


def _churn_model_words(key: str) -> str:
    return tr(CHURN_MODEL_WORDS[key]) if key in CHURN_MODEL_WORDS else str(key)


def churn_method_line(churn: dict, page: str) -> str:
    """The methods line of the churn step naming the model that actually scores the customers
    (``chosen_model`` of ``churn.json``) and the candidates it was chosen from, never a fixed model name."""
    chosen = _churn_model_words(churn.get("chosen_model", ""))
    others = [_churn_model_words(k) for k in churn.get("candidates", []) if k != churn.get("chosen_model")]
    criterion = churn.get("criterion", "")
    criterion = tr(CHURN_CRITERIA[criterion]) if criterion in CHURN_CRITERIA else criterion
    against = _and_list(others) if others else tr("no other candidate")
    if churn.get("mode") == "snapshot":
        return tr("**Churn risk** ([{page}](40_churn.html)): no order within {days} days = churn; customers are "
                  "scored by {model}, chosen by {criterion} against {others}, trained on one snapshot and tested on "
                  "a later one, probabilities calibrated; drivers, tiers and retention curves.", page=page,
                  days=churn["horizon_days"], model=chosen, criterion=criterion, others=against)
    return tr("**Churn risk** ([{page}](40_churn.html)): the contractual churn label; customers are scored by "
              "{model}, chosen by {criterion} in cross-validation on customer attributes against {others}.",
              page=page, model=chosen, criterion=criterion, others=against)


def _and_list(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return tr("{items} and {last}", items=tr(", ").join(names[:-1]), last=names[-1])


def methods_appendix(artifacts: dict) -> str:
    """Short methods notes with links to the analyst pages that ran."""
    page = tr("page")
    lines = ["- " + tr("**Data intake** ([{page}](10_ingest.html)): cleaning rules, what was dropped and why.",
                       page=page)]
    if artifacts.get("rfm") is not None:
        lines.append("- " + tr("**Segments** ([{page}](20_rfm_clustering.html)): recency, frequency and spend scored "
                               "1-5 in fifths, named segments from score patterns, k-means clusters, migration since "
                               "last quarter.", page=page))
    v = artifacts.get("clv")
    if inputs.available(v):
        lines.append("- " + (tr("**Customer value** ([{page}](30_clv.html)): the {model} retention model of "
                                "subscribers and each subscriber's revenue per period, backtested on a holdout every "
                                "quarter; intervals from parameter uncertainty.", page=page, model=v.get("model", ""))
                             if v.get("mode") == "contractual" else
                             tr("**Customer value** ([{page}](30_clv.html)): {model} and Gamma-Gamma by maximum "
                                "likelihood, backtested on a holdout every quarter; intervals from parameter "
                                "uncertainty.", page=page, model=v.get("model", ""))))
    c = artifacts.get("churn")
    if inputs.available(c):
        lines.append("- " + churn_method_line(c, page))
    if artifacts.get("ab") is not None:
        lines.append("- " + tr("**Experiments** ([{page}](50_ab_evaluation.html)): trust checks first, then effects "
                               "with multiple-comparison adjustment and a decision per experiment, naming segments "
                               "when the effect is confined to them.", page=page))
    lines.append("- " + tr("**Plan**: each group's action starts from its template in the parameters; a treatment "
                           "shipped to the group by an experiment replaces the group's own offer, at the treatment's "
                           "own cost; no offer goes to a customer whose predicted value at the gross margin is below "
                           "its cost; an offer is sent only when the extra orders it is expected to bring, at the "
                           "gross margin, cover its cost; every plan keeps a random holdout sized to detect, next "
                           "quarter, the lift it counts on (the experiment's, else the assumed lift), within the "
                           "largest holdout share allowed."))
    return "\n".join(lines)


def _change(now: float, prev: float | None) -> str:
    if prev is None or not prev:
        return tr("n/a")
    d = now - prev
    return ("▲ " if d > 0 else "▼ " if d < 0 else "■ ") + fmt_pct(d / prev, 1, signed=True)


def extended_kpis(kpis: pd.DataFrame, clv: dict | None, prev_clv: dict | None, churn: dict | None,
                  currency: str, prev_churn: dict | None = None) -> pd.DataFrame:
    """Predicted value (with interval) and customers at high churn risk, against the previous quarter's
    rendered report when there is one."""
    rows = []
    t = inputs.clv_totals(clv)
    K, NOW, PREV, CH = tr("KPI"), tr("This quarter"), tr("Previous quarter"), tr("Change")
    if t:
        pt = inputs.clv_totals(prev_clv)
        rows.append({K: tr("Predicted {h}-month value of the base", h=inputs.clv_horizon(clv)),
                     NOW: tr("{value} ({low} to {high})", value=money(t["clv_total"], currency),
                             low=money(t["clv_total_low"], currency), high=money(t["clv_total_high"], currency)),
                     PREV: money(pt["clv_total"], currency) if pt else tr("not rendered"),
                     CH: _change(t["clv_total"], pt["clv_total"] if pt else None)})
    else:
        rows.append({K: tr("Predicted value of the base"),
                     NOW: tr("not available (the value step did not run)") if clv is None
                     else tr("not available this quarter"), PREV: "", CH: ""})
    hi = inputs.churn_high(churn)
    if hi is not None:
        prev = inputs.churn_high(prev_churn)
        rows.append({K: tr("Active customers at high churn risk (next {days} days)", days=inputs.churn_horizon(churn)),
                     NOW: tr("{n} of {total} active", n=fmt_int(hi), total=fmt_int(inputs.churn_scored(churn))),
                     PREV: fmt_int(prev) if prev is not None else tr("not rendered"), CH: _change(hi, prev)})
    else:
        rows.append({K: tr("Active customers at high churn risk"),
                     NOW: tr("not available (the churn step did not run)") if churn is None
                     else tr("not available this quarter"), PREV: "", CH: ""})
    return pd.DataFrame(rows)


def segment_value_table(rfm: dict | None, clv: dict | None, churn: dict | None, currency: str) -> pd.DataFrame:
    """Segments with action group, customers, revenue, predicted value and churn risk (when known), in words."""
    base = segment_overview(rfm)
    v = inputs.clv_by_segment(clv)
    c = {r["segment"]: r for r in inputs.churn_by_segment(churn)}
    h = inputs.clv_horizon(clv)
    rows = []
    for _, r in base.iterrows():
        s = r["segment"]
        row = {tr("Segment"): s, tr("Action group"): r["action_group"], tr("Customers"): fmt_int(r["customers"]),
               tr("Share of customers"): fmt_pct(r["share_of_customers"], 1),
               tr("Share of revenue"): fmt_pct(r["share_of_revenue"], 1),
               tr("Revenue to date"): money(rfm["segments"][s]["revenue"], currency)}
        if v:
            row[tr("Predicted {h}-month value", h=h)] = money(v.get(s, {}).get("clv_total"), currency)
            row[tr("Per customer")] = money(v.get(s, {}).get("clv_mean"), currency)
        if c:
            row[tr("At high churn risk")] = fmt_int(c.get(s, {}).get("high_risk", 0))
        rows.append(row)
    return pd.DataFrame(rows)


def _stage_name(s: str) -> str:
    return {"new": tr("new"), "active": tr("established"), "dormant": tr("dormant"), "lost": tr("lost"),
            "not yet a customer": tr("not yet a customer")}.get(s, s)


def lifecycle_table(history, scores: pd.DataFrame | None, currency: str, horizon: int | None) -> pd.DataFrame:
    """Customers per lifecycle stage at the quarter's end, against the previous quarter, with revenue to date and
    predicted value."""
    from helpers.review.model import STAGES
    cur = history.current
    life = history.lifecycle
    if "predicted_value" not in cur and inputs.value_column(scores):
        from helpers.review.quarter import aligned
        cur = cur.assign(predicted_value=aligned(scores, inputs.value_column(scores), cur))
    rows = []
    for s in STAGES:
        mine = cur[cur["stage"] == s]
        prev = int(life[s].iloc[-2]) if len(life) >= 2 else None
        row = {tr("Stage"): _stage_name(s), tr("Customers"): fmt_int(len(mine)),
               tr("Previous quarter"): fmt_int(prev) if prev is not None else tr("n/a"),
               tr("Change"): _change(len(mine), prev),
               tr("Bought this quarter"): fmt_int(mine["bought_this_quarter"].sum()),
               tr("Revenue to date"): money(mine["revenue_to_date"].sum(), currency)}
        if "predicted_value" in cur:
            row[tr("Predicted {h}-month value", h=horizon)] = money(mine["predicted_value"].sum(), currency)
        rows.append(row)
    return pd.DataFrame(rows)


def transitions_table(history) -> pd.DataFrame:
    """Stage at the previous quarter's end (rows) x stage now (columns), counts as text."""
    t = history.transitions
    out = pd.DataFrame({_stage_name(c): [fmt_int(v) for v in t[c]] for c in t.columns})
    out.insert(0, tr("Stage last quarter"), [_stage_name(r) for r in t.index])
    return out


def lifecycle_sentences(history, lifecycle_settings, previous: str) -> str:
    """The lifecycle in a few sentences: how many are active, how many woke up, how many went quiet."""
    t = history.transitions
    life = history.lifecycle.iloc[-1]
    active = int(life["new"] + life["active"])
    woke = int(t.loc[["dormant", "lost"], "active"].sum())
    quiet = int(t.loc["active", "dormant"])
    gone = int(t.loc["dormant", "lost"])
    return bullets([
        tr("{n} active customers (bought in the last {days} days), {new} of them new this quarter.",
           n=fmt_int(active), days=fmt_int(lifecycle_settings.active_days), new=fmt_int(life["new"])),
        tr("Since the end of {quarter}: {quiet} active customers went dormant, {gone} dormant ones were lost, and "
           "{woke} dormant or lost customers came back.", quarter=fmt_quarter(previous), quiet=fmt_int(quiet),
           gone=fmt_int(gone), woke=fmt_int(woke)),
    ])


def trend_caption() -> str:
    """The trend table's caption: where the value and churn columns come from."""
    return tr("Predicted value and churn risk come from the rendered report of each quarter; · = that quarter was "
              "not rendered with this tool.")


def trend_table(history, currency: str, earlier: dict[str, dict], contractual: bool = False) -> pd.DataFrame:
    """The trend as a table: one row per quarter (KPIs, lifecycle, and predicted value and high churn risk where
    a rendered quarter holds them); with ``contractual`` the KPI columns in subscription words."""
    sub = _kpi_labels(True) if contractual else {}
    buyers_h = tr("Paying subscribers") if contractual else tr("Buyers")
    new_h = sub.get("new_customers") or tr("New customers")
    rate_h = sub.get("repeat_purchase_rate") or tr("Repeat-purchase rate")
    rows = []
    for q in history.quarters:
        k, life = history.kpis.loc[q], history.lifecycle.loc[q]
        e = earlier.get(q) or {}
        rows.append({tr("Quarter"): fmt_quarter(q), tr("Revenue"): money(k["revenue"], currency),
                     buyers_h: fmt_int(k["buyers"]), new_h: fmt_int(k["new_customers"]),
                     rate_h: fmt_pct(k["repeat_purchase_rate"], 1),
                     tr("Active customers"): fmt_int(life["new"] + life["active"]),
                     tr("Dormant"): fmt_int(life["dormant"]), tr("Lost"): fmt_int(life["lost"]),
                     tr("Predicted value of the base"): (money(e["clv_total"], currency)
                                                         if e.get("clv_total") is not None else "·"),
                     tr("At high churn risk"): fmt_int(e["high_risk"]) if e.get("high_risk") is not None else "·"})
    return pd.DataFrame(rows)


def trend_summary(history, earlier: dict[str, dict]) -> dict:
    """``review.json`` ``trend``: per quarter KPIs, lifecycle counts, segment and action-group mix, and the value and
    churn figures of rendered quarters (``None`` where a quarter was not rendered)."""
    out = []
    for q in history.quarters:
        e = earlier.get(q) or {}
        out.append({"quarter": q, "kpis": {k: _num(v) for k, v in history.kpis.loc[q].items()},
                    "lifecycle": {k: int(v) for k, v in history.lifecycle.loc[q].items()},
                    "segments": {k: int(v) for k, v in history.segments.loc[q].items()},
                    "action_groups": {k: int(v) for k, v in history.groups.loc[q].items()},
                    "clv_total": e.get("clv_total"), "high_churn_risk": e.get("high_risk")})
    return {"quarters": list(history.quarters), "by_quarter": out}


def _num(v):
    v = float(v)
    return None if not np.isfinite(v) else v


def review_summary(quarter: str, kpis: pd.DataFrame, **sections) -> dict:
    """The ``review.json`` artifact: KPIs against the previous quarter and the review's own sections
    (``plan``, ``lifecycle``, ``trend``, ``channels``, ``readouts``, ``glossary``, ...), plus the availability
    fields of the step contract (``available``, ``reason``, ``unavailable``)."""
    from helpers.frame.outcome import summary_fields
    own = sections.pop("unavailable_parts", [])
    return {"quarter": quarter,
            "kpis": {k: {"label": KPI_LABELS[k], "this_quarter": r["this_quarter"],
                         "previous_quarter": r["previous_quarter"], "change_pct": r["change_pct"]}
                     for k, r in kpis.iterrows()},
            **sections, **summary_fields(None, own)}


def experiments_note(ab: dict | None) -> str:
    """What the experiments section could not show: the step not run, not available, or experiments left out."""
    if ab is None:
        return not_available_note(tr("Experiments"), "50_ab_evaluation")
    if not ab.get("available", True):
        return not_available_note(tr("Experiments"), reason=ab.get("reason"))
    parts = [p for p in ab.get("unavailable") or [] if p.get("part") != "ab"]
    if not parts:
        return ""
    return bullets([tr("{title}: not available. {reason}", title=p.get("title") or p["part"], reason=p["reason"])
                    for p in parts])


def glossary_table(params, artifacts: dict[str, dict | None]) -> pd.DataFrame:
    """The glossary for this run's parameters and steps."""
    from helpers.review.glossary import glossary
    rfm = artifacts.get("rfm") or {}
    lapsed = (rfm.get("migration") or {}).get("lapsed_segments") or [s.name for s in params.rfm.segments if s.lapsed]
    return glossary(params.review.lifecycle, inputs.churn_horizon(artifacts.get("churn")),
                    inputs.clv_horizon(artifacts.get("clv")), lapsed, contractual=is_contractual(artifacts.get("clv")))


def show_channels(parts, params, artifacts: dict[str, dict | None]) -> None:
    """Display, per attribute of ``review.channels.attributes``: its "not available" notice, or the sentence
    naming the values that bring the least value and the table."""
    from IPython.display import Markdown, display

    from helpers.page import show_not_available
    from helpers.review.channels import channel_sentence, channel_table
    clv = artifacts.get("clv")
    for a in params.review.channels.attributes:
        na = parts.na(f"channels.{a}")
        if na is not None:
            show_not_available(na)
            continue
        t = parts.channels[a]
        display(Markdown(channel_sentence(t, a, params.currency, inputs.clv_horizon(clv))))
        display(text_table(channel_table(t, a, params.currency, inputs.clv_horizon(clv), inputs.clv_interval(clv))))
