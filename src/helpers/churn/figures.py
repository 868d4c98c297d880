"""Figures of the churn page (every label in the page's language).

A figure of a part that is not available is not drawn (the function returns ``None``): the page
shows the "not available" notice instead.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from helpers.locale import fmt_date, fmt_int, fmt_number, tr
from helpers.page.figures import PALETTE, segment_color
from helpers.page.text import money

__all__ = [
    "calibration_chart",
    "capture_chart",
    "drivers_chart",
    "partial_dependence_chart",
    "km_chart",
    "churn_segment_chart",
]


def _model_name(key: str) -> str:
    from helpers.churn.step import MODEL_LABELS
    return tr(MODEL_LABELS.get(key, key))


def calibration_chart(res):
    """Observed churn against predicted churn in ten risk bands per candidate; the diagonal is perfect."""
    if not res.available or res.calibration.empty:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 5))
    ax.plot([0, 100], [0, 100], color="#9aa5b1", ls=":", label=tr("perfectly calibrated"))
    for i, (m, d) in enumerate(res.calibration.groupby("model", sort=False)):
        chosen = m == res.chosen
        name = tr("{model} (chosen)", model=_model_name(m)) if chosen else _model_name(m)
        ax.plot(d["mean_predicted"] * 100, d["observed_rate"] * 100, marker="o", color=PALETTE[i],
                lw=2.5 if chosen else 1.5, label=name)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel(tr("Predicted churn risk (%, mean of each tenth of customers)"))
    ax.set_ylabel(tr("Customers who churned (%)"))
    ax.legend(loc="upper left", fontsize=9)
    ax.set_title(tr("Calibration: predicted against observed churn"))
    return fig


def capture_chart(res):
    """Cumulative share of churners reached when contacting the riskiest customers first."""
    if not res.available or res.lift.empty:
        return None
    lift = res.lift
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.r_[0, lift["share_contacted"].to_numpy() * 100]
    y = np.r_[0, lift["capture"].to_numpy() * 100]
    ax.plot(x, y, marker="o", color=PALETTE[0], lw=2.2, label=tr("by predicted risk"))
    ax.plot([0, 100], [0, 100], color="#9aa5b1", ls=":", label=tr("random order"))
    for xi, yi, li in zip(x[1:4], y[1:4], lift["lift"].head(3), strict=False):
        ax.annotate(tr("lift {value}x", value=fmt_number(li, 1)), (xi, yi), textcoords="offset points",
                    xytext=(6, -12), fontsize=9)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel(tr("Customers contacted, riskiest first (% of those tested)"))
    ax.set_ylabel(tr("Churners reached (% of all churners)"))
    ax.legend(loc="lower right")
    ax.set_title(tr("Capture: how many churners a campaign would reach"))
    return fig


def drivers_chart(res, top: int = 10):
    """Permutation importance (drop in ROC AUC when a feature is shuffled), with its spread."""
    if not res.available or res.drivers.empty:
        return None
    from helpers.churn.step import feature_label
    d = res.drivers.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(d) + 1.5))
    ax.barh([feature_label(f) for f in d["feature"]], d["importance"], xerr=d["std"], color=PALETTE[0], capsize=3)
    ax.set_xlabel(tr("Drop in ROC AUC when the feature is shuffled (higher = more important)"))
    ax.set_ylabel("")
    ax.set_title(tr("What drives churn risk: {model}", model=_model_name(res.chosen)))
    return fig


def partial_dependence_chart(res):
    """Average predicted churn as each top driver varies over its usual range, all else as observed."""
    if not res.available or res.pdp.empty:
        return None
    from helpers.churn.step import feature_label
    pdp = res.pdp
    feats = list(dict.fromkeys(pdp["feature"]))
    fig, axes = plt.subplots(1, len(feats), figsize=(4 * len(feats), 3.6), sharey=True, squeeze=False)
    for ax, f in zip(axes[0], feats, strict=False):
        d = pdp[pdp["feature"] == f]
        label = feature_label(f)
        if res.kinds.get(f) == "boolean":
            ax.bar([tr("no"), tr("yes")], d.sort_values("value")["p"] * 100, color=PALETTE[1])
        elif res.kinds.get(f) != "category" and pd.to_numeric(d["value"], errors="coerce").notna().all():
            ax.plot(d["value"].astype(float), d["p"] * 100, color=PALETTE[1], lw=2.2)
        else:
            ax.bar(d["value"].astype(str), d["p"] * 100, color=PALETTE[1])
            ax.tick_params(axis="x", labelrotation=30)
        ax.set_xlabel(label)
        ax.set_title(label[:1].upper() + label[1:38], fontsize=11)
    axes[0, 0].set_ylabel(tr("Predicted churn risk (%)"))
    fig.suptitle(tr("How churn risk changes with the top drivers"), fontweight="bold")
    return fig


def km_chart(ret):
    """Kaplan-Meier curves of 'not yet bought again' by group, with 95% confidence bands."""
    km = ret.km
    if km.empty:
        return None
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for i, (g, d) in enumerate(km.groupby("group", observed=True, sort=True)):
        color = PALETTE[i % len(PALETTE)]
        ax.step(d["time"], d["survival"] * 100, where="post", color=color, lw=2,
                label=f"{g} ({fmt_int(d['at_risk'].iloc[0])})")
        ax.fill_between(d["time"], d["ci_low"] * 100, d["ci_high"] * 100, step="post", color=color, alpha=0.18)
    ax.set_ylim(0, 101)
    ax.set_xlabel(tr("Days after {date}", date=fmt_date(ret.origin)))
    ax.set_ylabel(tr("Customers not yet bought again (%)"))
    ax.legend(title=tr("Action group then\n(customers)"), loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9)
    ax.set_title(tr("Retention: time to the next purchase by action group"))
    return fig


def churn_segment_chart(by_segment: pd.DataFrame, currency: str, value_words: str, horizon_days: int):
    """Per segment: customers at high churn risk (bars) and the value they hold (labels).

    Also drawn on the review page from ``churn.json``'s ``by_segment`` records.
    """
    d = by_segment.sort_values("high_risk", ascending=True, kind="stable")
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(d) + 1.6))
    ax.barh(d["segment"], d["high_risk"], color=[segment_color(s) for s in d["segment"]])
    if "value_at_risk" in d:
        for y, (n, v) in enumerate(zip(d["high_risk"], d["value_at_risk"], strict=True)):
            if n > 0:
                ax.text(n, y, f"  {money(v, currency)}", va="center", fontsize=9, color="#323f4b")
    ax.set_xlabel(tr("Customers at high risk of no order in the next {days} days (count)", days=horizon_days))
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: fmt_int(v)))
    ax.margins(x=0.25)
    ax.set_title(tr("Churn risk by segment (labels: {value} at risk)", value=value_words) if "value_at_risk" in d
                 else tr("Churn risk by segment"))
    return fig
