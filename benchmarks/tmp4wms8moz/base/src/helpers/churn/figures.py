"""Figures of the churn page.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from helpers.page.figures import PALETTE, note_on, segment_color
from helpers.page.text import money

__all__ = [
    "calibration_chart",
    "capture_chart",
    "drivers_chart",
    "partial_dependence_chart",
    "km_chart",
    "churn_segment_chart",
]


_MODEL_NAMES = {"gradient_boosting": "Gradient boosting", "logistic": "Logistic regression",
                "bgnbd_no_purchase": "BG/NBD"}


def calibration_chart(cal: pd.DataFrame, chosen: str = ""):
    """Observed churn against predicted churn in ten risk bands per model; the diagonal is perfect."""
    fig, ax = plt.subplots(figsize=(6.5, 5))
    if cal.empty:
        note_on(ax, "not available")
    else:
        ax.plot([0, 100], [0, 100], color="#9aa5b1", ls=":", label="perfectly calibrated")
        for i, (m, d) in enumerate(cal.groupby("model", sort=False)):
            ax.plot(d["mean_predicted"] * 100, d["observed_rate"] * 100, marker="o", color=PALETTE[i],
                    lw=2.5 if m == chosen else 1.5, label=_MODEL_NAMES.get(m, m) + (" (chosen)" if m == chosen else ""))
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_xlabel("Predicted churn risk (%, mean of each tenth of customers)")
        ax.set_ylabel("Customers who churned (%)")
        ax.legend(loc="upper left")
    ax.set_title("Calibration: predicted against observed churn")
    return fig


def capture_chart(lift: pd.DataFrame):
    """Cumulative share of churners reached when contacting the riskiest customers first."""
    fig, ax = plt.subplots(figsize=(7, 4))
    if lift.empty:
        note_on(ax, "not available")
    else:
        x = np.r_[0, lift["share_contacted"].to_numpy() * 100]
        y = np.r_[0, lift["capture"].to_numpy() * 100]
        ax.plot(x, y, marker="o", color=PALETTE[0], lw=2.2, label="by predicted risk")
        ax.plot([0, 100], [0, 100], color="#9aa5b1", ls=":", label="random order")
        for xi, yi, li in zip(x[1:4], y[1:4], lift["lift"].head(3), strict=False):
            ax.annotate(f"lift {li:.1f}x", (xi, yi), textcoords="offset points", xytext=(6, -12), fontsize=9)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_xlabel("Customers contacted, riskiest first (% of the snapshot)")
        ax.set_ylabel("Churners reached (% of all churners)")
        ax.legend(loc="lower right")
    ax.set_title("Capture: how many churners a campaign would reach")
    return fig


def drivers_chart(drivers: pd.DataFrame, labels: dict[str, str], top: int = 10):
    """Permutation importance (drop in ROC AUC when a feature is shuffled), with its spread."""
    d = drivers.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(d) + 1.5))
    if d.empty:
        note_on(ax, "not available")
    else:
        ax.barh([labels.get(f, f) for f in d["feature"]], d["importance"], xerr=d["std"], color=PALETTE[0], capsize=3)
        ax.set_xlabel("Drop in ROC AUC when the feature is shuffled (higher = more important)")
        ax.set_ylabel("")
    ax.set_title("What drives churn risk (evaluation snapshot)")
    return fig


def partial_dependence_chart(pdp: pd.DataFrame, labels: dict[str, str]):
    """Average predicted churn as each top driver varies over its usual range, all else as observed."""
    feats = list(dict.fromkeys(pdp["feature"])) if not pdp.empty else []
    fig, axes = plt.subplots(1, max(len(feats), 1), figsize=(4 * max(len(feats), 1), 3.6), sharey=True, squeeze=False)
    if not feats:
        note_on(axes[0, 0], "not available")
    for ax, f in zip(axes[0], feats, strict=False):
        d = pdp[pdp["feature"] == f]
        if pd.api.types.is_numeric_dtype(d["value"]):
            ax.plot(d["value"], d["p"] * 100, color=PALETTE[1], lw=2.2)
        else:
            ax.bar(d["value"].astype(str), d["p"] * 100, color=PALETTE[1])
        ax.set_xlabel(labels.get(f, f))
        ax.set_title(labels.get(f, f).capitalize()[:38], fontsize=11)
    axes[0, 0].set_ylabel("Predicted churn risk (%)")
    fig.suptitle("How churn risk changes with the top drivers", fontweight="bold")
    return fig


def km_chart(km: pd.DataFrame, origin: pd.Timestamp):
    """Kaplan-Meier curves of 'not yet bought again' by group, with 95% confidence bands."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if km.empty:
        note_on(ax, "not available")
    else:
        for i, (g, d) in enumerate(km.groupby("group", observed=True, sort=True)):
            color = PALETTE[i % len(PALETTE)]
            ax.step(
                d["time"],
                d["survival"] * 100,
                where="post",
                color=color,
                lw=2,
                label=f"{g} ({int(d['at_risk'].iloc[0]):,})",
            )
            ax.fill_between(d["time"], d["ci_low"] * 100, d["ci_high"] * 100, step="post", color=color, alpha=0.18)
        ax.set_ylim(0, 101)
        ax.set_xlabel(f"Days after {pd.Timestamp(origin).date()}")
        ax.set_ylabel("Customers not yet bought again (%)")
        ax.legend(title="Action group then\n(customers)", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9)
    ax.set_title("Retention: time to the next purchase by action group")
    return fig


def churn_segment_chart(by_segment: pd.DataFrame, currency: str, value_words: str, horizon_days: int):
    """Per segment: customers at high churn risk (bars) and the value they hold (labels)."""
    d = by_segment.sort_values("high_risk", ascending=True, kind="stable")
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(d) + 1.6))
    ax.barh(d["segment"], d["high_risk"], color=[segment_color(s) for s in d["segment"]])
    if "value_at_risk" in d:
        for y, (n, v) in enumerate(zip(d["high_risk"], d["value_at_risk"], strict=True)):
            if n > 0:
                ax.text(n, y, f"  {money(v, currency)}", va="center", fontsize=9, color="#323f4b")
    ax.set_xlabel(f"Customers at high risk of no order in the next {horizon_days} days (count)")
    ax.xaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
    ax.margins(x=0.25)
    ax.set_title("Churn risk by segment" + (f" (labels: {value_words} at risk)" if "value_at_risk" in d else ""))
    return fig
