"""Figures of the customer-value page.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

from helpers.page.figures import PALETTE, money_axis, segment_color

__all__ = ['backtest_frequency_chart', 'tracking_chart', 'p_alive_chart', 'p_alive_matrix_chart', 'clv_by_group_chart']


def backtest_frequency_chart(by_freq: pd.DataFrame, unit: str = "weeks"):
    """Mean holdout repeat purchases by calibration repeat purchases: actual vs models vs naive."""
    fig, ax = plt.subplots(figsize=(8, 4))
    xs = range(len(by_freq))
    ax.plot(xs, by_freq["actual"], marker="o", lw=2.5, color="#1f2933", label="actual")
    for i, col in enumerate(
        c for c in by_freq.columns if c not in ("calibration_repeat_purchases", "customers", "actual")
    ):
        ax.plot(xs, by_freq[col], marker="s" if col != "naive" else "x", ls="--" if col == "naive" else "-",
                color=PALETTE[i], label=col)
    ax.set_xticks(list(xs), by_freq["calibration_repeat_purchases"])
    ax.set_xlabel("Repeat purchases in the calibration period (customers grouped)")
    ax.set_ylabel("Mean repeat purchases in the holdout")
    ax.set_title("Backtest: predicted vs actual holdout purchases")
    ax.legend()
    return fig


def tracking_chart(tr: pd.DataFrame, calibration_end: pd.Timestamp):
    """Cumulative repeat purchases by week, actual against the models, holdout shaded."""
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(tr["week_end"], tr["actual"], color="#1f2933", lw=2.5, label="actual")
    for i, col in enumerate(c for c in tr.columns if c not in ("week_end", "actual")):
        ax.plot(tr["week_end"], tr[col], color=PALETTE[i], lw=1.8, ls="--", label=col)
    ax.axvspan(calibration_end, tr["week_end"].max(), color="#f0f4f8", label="holdout")
    ax.set_xlabel("Week")
    ax.set_ylabel("Cumulative repeat purchases (count)")
    ax.yaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_title("Tracking: cumulative repeat purchases of the calibration customers")
    ax.legend(loc="upper left")
    return fig


def p_alive_chart(p: pd.Series):
    """Distribution of P(alive) across customers."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.hist(p, bins=40, range=(0, 1), color=PALETTE[0])
    ax.set_xlabel("Probability the customer is still active (P(alive))")
    ax.set_ylabel("Customers (count)")
    ax.yaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_title("How many customers are likely still active?")
    return fig


def p_alive_matrix_chart(matrix: pd.DataFrame, unit: str = "weeks"):
    """Mean P(alive) by repeat purchases and time since the last purchase."""
    fig, ax = plt.subplots(figsize=(8, 5))
    sns.heatmap(matrix, annot=True, fmt=".2f", cmap="RdYlGn", vmin=0, vmax=1, ax=ax,
                cbar_kws={"label": "mean P(alive)"})
    ax.set_xlabel(f"{unit.capitalize()} since the last purchase")
    ax.set_ylabel("Repeat purchases so far")
    ax.set_title("P(alive): frequent buyers who stop are the first to worry about")
    return fig


def clv_by_group_chart(table: pd.DataFrame, group: str, currency: str, months: int):
    """Total predicted CLV per group with its interval (horizontal bars with error bars)."""
    t = table.sort_values("clv_total", kind="stable")
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(t) + 1.6))
    colors = [segment_color(g) if group == "rfm_segment" else PALETTE[0] for g in t[group]]
    err = np.vstack([t["clv_total"] - t["clv_low"], t["clv_high"] - t["clv_total"]]).clip(min=0)
    ax.barh(t[group].astype(str), t["clv_total"], xerr=err, color=colors, capsize=3)
    money_axis(ax, currency, axis="x")
    ax.set_xlabel(f"Predicted value over the next {months} months ({currency}, discounted)")
    ax.set_title(f"Where next {months} months' value sits, by {group.replace('_', ' ').replace('rfm', 'RFM')}")
    return fig
