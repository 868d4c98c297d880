"""Figures of the segments page.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
import seaborn as sns

from helpers.page.figures import PALETTE, segment_color

__all__ = ['segment_share_chart', 'rf_heatmap_chart', 'silhouette_chart', 'snake_chart', 'migration_heatmap']


def segment_share_chart(table: pd.DataFrame, title: str = "Share of customers and of revenue by segment"):
    """Horizontal bars: each segment's share of customers next to its share of revenue.

    Parameters
    ----------
    table : DataFrame
        From :func:`helpers.segments.step.segment_table` (``segment``, ``share_of_customers``, ``share_of_revenue``).
    """
    t = table.sort_values("share_of_revenue", kind="stable")
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(t) + 1.5))
    y = range(len(t))
    colors = [segment_color(s) for s in t["segment"]]
    ax.barh([i + 0.2 for i in y], t["share_of_revenue"] * 100, height=0.4, color=colors, label="share of revenue")
    ax.barh([i - 0.2 for i in y], t["share_of_customers"] * 100, height=0.4, color=colors, alpha=0.4,
            hatch="//", edgecolor="white", label="share of customers")
    ax.set_yticks(list(y), t["segment"])
    ax.set_xlabel("Share (%)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return fig


def rf_heatmap_chart(counts: pd.DataFrame, spend: pd.DataFrame, currency: str):
    """Customers in each recency x frequency score cell, annotated with their mean spend."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    annot = counts.astype(str).copy()
    for r in counts.index:
        for c in counts.columns:
            n, s = counts.loc[r, c], spend.loc[r, c]
            annot.loc[r, c] = f"{n:,}\n{'' if pd.isna(s) else f'{s:,.0f}'}"
    sns.heatmap(counts, annot=annot, fmt="", cmap="Blues", cbar_kws={"label": "customers"}, ax=ax,
                linewidths=0.5)
    ax.set_title(f"Customers by recency and frequency score\n(second line: mean spend per customer, {currency})")
    ax.set_xlabel("R score (5 = bought most recently)")
    ax.set_ylabel("F score (5 = buys most often)")
    return fig


def silhouette_chart(curve: pd.DataFrame, k: int):
    """Silhouette score against the number of clusters, the chosen k marked."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(curve["k"], curve["silhouette"], marker="o", color=PALETTE[0])
    sel = curve[curve["k"] == k]
    ax.scatter(sel["k"], sel["silhouette"], s=140, facecolors="none", edgecolors=PALETTE[3], linewidths=2,
               label=f"chosen: k = {k}")
    ax.set_xlabel("Number of clusters k")
    ax.set_ylabel("Silhouette score (higher = better separated)")
    ax.set_title("How many customer clusters? Silhouette by k")
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    ax.legend()
    return fig


def snake_chart(snake: pd.DataFrame):
    """Mean standardized recency, frequency and spend of each cluster (a snake plot)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.lineplot(data=snake, x="feature", y="mean_z", hue="cluster", marker="o", palette="colorblind", ax=ax)
    ax.axhline(0, color="#7b8794", lw=1)
    ax.set_xlabel("Feature (log scale, standardized)")
    ax.set_ylabel("Mean vs all customers (std. deviations)")
    ax.set_title("Cluster profiles: recency, frequency and spend against the average")
    ax.legend(title="cluster\n(1 = most valuable)", fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def migration_heatmap(counts: pd.DataFrame, previous: str, quarter: str, title: str | None = None):
    """Transition matrix of customers between segments (rows: previous quarter).

    ``title`` defaults to "Customers moving between segments, <previous> to <quarter>".
    """
    title = title or f"Customers moving between segments, {previous} to {quarter}"
    keep_rows = counts.index[counts.sum(axis=1) > 0]
    keep_cols = counts.columns[counts.sum(axis=0) > 0]
    c = counts.loc[keep_rows, keep_cols]
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(c) + 2.5))
    sns.heatmap(c, annot=True, fmt=",d", cmap="Purples", cbar_kws={"label": "customers"}, ax=ax,
                linewidths=0.5, annot_kws={"fontsize": 8})
    ax.set_title(title)
    ax.set_xlabel("Segment this quarter")
    ax.set_ylabel("Segment previous quarter")
    plt.setp(ax.get_xticklabels(), rotation=35, ha="right")
    return fig
