"""Figures of the customer-value page (every visible text through :func:`helpers.locale.tr`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

from helpers.locale import currency_unit, fmt_date, tr
from helpers.page.figures import PALETTE, money_axis, segment_color

__all__ = ['backtest_frequency_chart', 'tracking_chart', 'p_alive_matrix_chart', 'clv_by_group_chart',
           'survivors_chart', 'retention_curves_chart', 'subscribed_chart', 'buy_chart']

_FIXED = ("calibration_repeat_purchases", "customers", "actual")


def _color(name: str, i: int):
    """The same colour for a model on every figure of the page (baselines in grey-blue)."""
    fixed = {"BG/NBD": PALETTE[0], "MBG/NBD": PALETTE[2], "Pareto/NBD": PALETTE[3], "sBG": PALETTE[0],
             "BdW": PALETTE[2], "naive": "#7b8794"}
    return fixed.get(name, "#7b8794" if i < 0 else PALETTE[(4 + i) % len(PALETTE)])


def _series_label(col: str) -> str:
    return {"naive": tr("naive (calibration rate)"), "actual": tr("actual")}.get(col, col)


def backtest_frequency_chart(by_freq: pd.DataFrame, unit: str = "weeks"):
    """Mean holdout repeat purchases by calibration repeat purchases: actual vs models vs naive."""
    fig, ax = plt.subplots(figsize=(8, 4))
    xs = range(len(by_freq))
    ax.plot(xs, by_freq["actual"], marker="o", lw=2.5, color="#1f2933", label=tr("actual"))
    for i, col in enumerate(c for c in by_freq.columns if c not in _FIXED):
        ax.plot(xs, by_freq[col], marker="s" if col != "naive" else "x", ls="--" if col == "naive" else "-",
                color=_color(col, i), label=_series_label(col))
    ax.set_xticks(list(xs), by_freq["calibration_repeat_purchases"])
    ax.set_xlabel(tr("Repeat purchases in the calibration period (customers grouped)"))
    ax.set_ylabel(tr("Mean repeat purchases per customer in the holdout"))
    ax.set_title(tr("Backtest: predicted vs actual holdout purchases"))
    ax.legend()
    return fig


def tracking_chart(tr_: pd.DataFrame, calibration_end: pd.Timestamp):
    """Cumulative repeat purchases by week, actual against the models, holdout shaded."""
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(tr_["week_end"], tr_["actual"], color="#1f2933", lw=2.5, label=tr("actual"))
    for i, col in enumerate(c for c in tr_.columns if c not in ("week_end", "actual")):
        ax.plot(tr_["week_end"], tr_[col], color=_color(col, i), lw=1.8, ls="--", label=col)
    ax.axvspan(calibration_end, tr_["week_end"].max(), color="#f0f4f8", label=tr("holdout"))
    ax.set_xlabel(tr("Week ending (date)"))
    ax.set_ylabel(tr("Cumulative repeat purchases (count)"))
    ax.yaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_title(tr("Tracking: cumulative repeat purchases of the calibration customers"))
    ax.legend(loc="upper left")
    return fig


def p_alive_matrix_chart(matrix: pd.DataFrame, unit: str = "weeks", one_time_alive: bool = False):
    """Mean P(alive) by repeat purchases and weeks since the last purchase.

    ``one_time_alive``: the model assumes customers without a repeat purchase are still customers (BG/NBD); the
    figure then says so under the chart, since its row 0 reads 1.00 however long ago they bought.
    """
    fig, ax = plt.subplots(figsize=(8, 5.4 if one_time_alive else 5))
    sns.heatmap(matrix, annot=True, fmt=".2f", cmap="RdYlGn", vmin=0, vmax=1, ax=ax,
                cbar_kws={"label": tr("mean P(alive)")})
    ax.set_xlabel(tr("Weeks since the last purchase"))
    ax.set_ylabel(tr("Repeat purchases so far"))
    ax.set_title(tr("P(alive): frequent buyers who stop are the first to worry about"))
    if one_time_alive:
        fig.supxlabel(tr("Row 0 is 1.00 by the model's assumption (BG/NBD: a customer can stop only after a "
                         "repeat purchase), not because they are active: see their chance of buying again."),
                      fontsize=8.5, color="#52606d", x=0.02, ha="left", wrap=True)
    return fig


def clv_by_group_chart(table: pd.DataFrame, group: str, currency: str, months: int):
    """Total predicted CLV per group with its interval (horizontal bars with error bars)."""
    t = table.sort_values("clv_total", kind="stable")
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(t) + 1.6))
    colors = [segment_color(g) if group == "rfm_segment" else PALETTE[0] for g in t[group]]
    err = np.vstack([t["clv_total"] - t["clv_low"], t["clv_high"] - t["clv_total"]]).clip(min=0)
    ax.barh(t[group].astype(str), t["clv_total"], xerr=err, color=colors, capsize=3)
    money_axis(ax, currency, axis="x")
    ax.set_xlabel(tr("Predicted value over the next {months} months ({currency}, discounted)", months=months,
                     currency=currency_unit(currency)))
    title = {"rfm_segment": tr("Where the next {months} months' value sits, by RFM segment", months=months),
             "cluster": tr("Where the next {months} months' value sits, by cluster", months=months),
             "cohort": tr("Where the next {months} months' value sits, by acquisition cohort", months=months)}
    ax.set_title(title.get(group, tr("Where the next {months} months' value sits", months=months)))
    return fig


def survivors_chart(curve: pd.DataFrame):
    """Subscribers of the calibration base still subscribed over the holdout: actual against the models."""
    fig, ax = plt.subplots(figsize=(9, 4))
    x = pd.to_datetime(curve["date"])
    ax.plot(x, curve["actual"], color="#1f2933", lw=2.5, marker="o", label=tr("actual"))
    for i, col in enumerate(c for c in curve.columns if c not in ("date", "actual")):
        ax.plot(x, curve[col], color=_color(col, -1 if col not in ("sBG", "BdW") else i), lw=1.8, ls="--",
                marker="s", label=col)
    ax.set_xlabel(tr("Date"))
    ax.set_xticks(list(x), [fmt_date(d) for d in x], rotation=30, ha="right")
    ax.set_ylabel(tr("Subscribers still subscribed (count)"))
    ax.yaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_title(tr("Backtest: subscribers active at the calibration date who are still subscribed"))
    ax.legend()
    return fig


def retention_curves_chart(curves: pd.DataFrame, period_words: str):
    """Share of each cohort still subscribed by renewal: observed (solid) and fitted (dashed)."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for i, (c, g) in enumerate(curves.groupby("cohort", sort=True)):
        color = PALETTE[i % len(PALETTE)]
        ax.plot(g["period"], g["observed"], color=color, lw=2, label=tr("{cohort} observed", cohort=c))
        ax.plot(g["period"], g["fitted"], color=color, lw=1.2, ls="--")
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_xlabel(tr("Renewals since acquisition ({period})", period=period_words))
    ax.set_ylabel(tr("Share of the cohort still subscribed"))
    ax.set_title(tr("Retention by acquisition cohort: observed (solid) and model (dashed)"))
    ax.legend(ncol=2, fontsize="small")
    return fig


def subscribed_chart(p: pd.Series, renewals: int):
    """Distribution of the probability that an active subscriber is still subscribed after the horizon."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.hist(p, bins=40, range=(0, 1), color=PALETTE[0])
    ax.set_xlabel(tr("Probability of still being subscribed after the next {k} renewals", k=renewals))
    ax.set_ylabel(tr("Active subscribers (count)"))
    ax.yaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_title(tr("How many subscribers are likely to stay?"))
    return fig


def buy_chart(p_buy: pd.Series, one_time: pd.Series, days: int):
    """Distribution of each customer's probability of buying in the next ``days`` days, one-time buyers apart."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    p, one = np.asarray(p_buy, float), np.asarray(one_time, bool)
    ax.hist([p[~one], p[one]], bins=40, range=(0, 1), stacked=True, color=[PALETTE[0], PALETTE[1]],
            label=[tr("bought more than once"), tr("bought once only")])
    ax.legend()
    ax.set_xlabel(tr("Probability of buying at least once in the next {days} days", days=days))
    ax.set_ylabel(tr("Customers (count)"))
    ax.yaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_title(tr("Who is likely to buy again?"))
    return fig
