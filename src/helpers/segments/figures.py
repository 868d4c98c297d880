"""Figures of the segments page.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch

from helpers.locale import currency_unit, fmt_int, tr
from helpers.page.figures import PALETTE, segment_color
from helpers.segments.model import NEW

#: The legend's swatches of a chart whose bars take their segment's colour.
_LEGEND_GREY = "#323f4b"   # the pages' text colour: no segment's colour

__all__ = ['segment_share_chart', 'rf_heatmap_chart', 'silhouette_chart', 'snake_chart', 'migration_heatmap']


def segment_share_chart(table: pd.DataFrame, title: str | None = None):
    """Horizontal bars: each segment's share of customers next to its share of revenue.

    Parameters
    ----------
    table : DataFrame
        From :func:`helpers.segments.step.segment_table` (``segment``, ``share_of_customers``, ``share_of_revenue``).
    title : str, optional
        Defaults to "Share of customers and of revenue by segment" in the page's language.
    """
    title = title or tr("Share of customers and of revenue by segment")
    t = table.sort_values("share_of_revenue", kind="stable")
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(t) + 1.5))
    y = range(len(t))
    colors = [segment_color(s) for s in t["segment"]]
    ax.barh([i + 0.2 for i in y], t["share_of_revenue"] * 100, height=0.4, color=colors)
    ax.barh([i - 0.2 for i in y], t["share_of_customers"] * 100, height=0.4, color=colors, alpha=0.4,
            hatch="//", edgecolor="white")
    ax.set_yticks(list(y), t["segment"])
    ax.set_xlabel(tr("Share (%)"))
    ax.set_title(title)
    # each segment has its own colour: the legend tells solid from hatched in a neutral grey (it took the colour
    # of the last segment's bars, unlike every other bar of the chart)
    ax.legend(handles=[Patch(facecolor=_LEGEND_GREY, label=tr("share of revenue")),
                       Patch(facecolor=_LEGEND_GREY, alpha=0.4, hatch="//", edgecolor="white",
                             label=tr("share of customers"))],
              loc="lower right", title=tr("bars in each segment's colour"), title_fontsize=9)
    return fig


def rf_heatmap_chart(counts: pd.DataFrame, spend: pd.DataFrame, currency: str):
    """Customers in each recency x frequency score cell, annotated with their mean spend."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    annot = counts.astype(str).copy()
    for r in counts.index:
        for c in counts.columns:
            n, s = counts.loc[r, c], spend.loc[r, c]
            annot.loc[r, c] = f"{fmt_int(n)}\n{'' if pd.isna(s) else fmt_int(s)}"
    sns.heatmap(counts, annot=annot, fmt="", cmap="Blues", cbar_kws={"label": tr("number of customers")}, ax=ax,
                linewidths=0.5)
    ax.set_title(tr("Customers by recency and frequency score\n(second line: mean spend per customer, {currency})",
                    currency=currency_unit(currency)))
    ax.set_xlabel(tr("R score (5 = bought most recently)"))
    ax.set_ylabel(tr("F score (5 = buys most often)"))
    return fig


def silhouette_chart(curve: pd.DataFrame, k: int):
    """Silhouette score against the number of clusters, the chosen k marked (``None`` when no k was compared)."""
    if curve.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(curve["k"], curve["silhouette"], marker="o", color=PALETTE[0])
    sel = curve[curve["k"] == k]
    ax.scatter(sel["k"], sel["silhouette"], s=140, facecolors="none", edgecolors=PALETTE[3], linewidths=2,
               label=tr("chosen: k = {k}", k=k))
    ax.set_xlabel(tr("Number of clusters k"))
    ax.set_ylabel(tr("Silhouette score (higher = better separated)"))
    ax.set_title(tr("How many customer clusters? Silhouette by k"))
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    ax.legend()
    return fig


def snake_chart(snake: pd.DataFrame):
    """Mean standardized recency, frequency and spend of each cluster (a snake plot; ``None`` for one cluster)."""
    if snake["cluster"].nunique() < 2:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    names = {"recency": tr("recency"), "frequency": tr("frequency"), "monetary": tr("spend")}
    snake = snake.assign(feature=snake["feature"].map(lambda f: names.get(f, f)))
    sns.lineplot(data=snake, x="feature", y="mean_z", hue="cluster", marker="o", palette="colorblind", ax=ax)
    ax.axhline(0, color="#7b8794", lw=1)
    ax.set_xlabel(tr("Feature (log scale, standardized)"))
    ax.set_ylabel(tr("Mean vs all customers (std. deviations)"))
    ax.set_title(tr("Cluster profiles: recency, frequency and spend against the average"))
    ax.legend(title=tr("cluster\n(1 = most valuable)"), fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def migration_heatmap(counts: pd.DataFrame, previous: str, quarter: str, title: str | None = None):
    """Transition matrix of customers between segments (rows: previous quarter).

    ``title`` defaults to "Customers moving between segments, <previous> to <quarter>" (in the page's
    language, quarters as :func:`helpers.locale.fmt_quarter` writes them).
    """
    from helpers.locale import fmt_quarter
    title = title or tr("Customers moving between segments, {previous} to {quarter}",
                        previous=fmt_quarter(previous), quarter=fmt_quarter(quarter))
    if list(counts.index[counts.sum(axis=1) > 0]) in ([], [NEW]):
        return None  # nobody had a segment last quarter: nothing moved (the page says so)
    keep_rows = counts.index[counts.sum(axis=1) > 0]
    keep_cols = counts.columns[counts.sum(axis=0) > 0]
    c = counts.loc[keep_rows, keep_cols].rename(index={NEW: tr("(new)")})
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(c) + 2.5))
    sns.heatmap(c, annot=True, fmt=",d", cmap="Purples", cbar_kws={"label": tr("number of customers")}, ax=ax,
                linewidths=0.5, annot_kws={"fontsize": 8})
    ax.set_title(title)
    ax.set_xlabel(tr("Segment this quarter"))
    ax.set_ylabel(tr("Segment previous quarter"))
    plt.setp(ax.get_xticklabels(), rotation=35, ha="right")
    return fig
