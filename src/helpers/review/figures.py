"""Figures of the review page (built from the steps' summaries).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.locale import currency_unit, fmt_quarter, tr
from helpers.review.step import _value_words, segment_overview

__all__ = ['churn_figure', 'segment_share_figure', 'value_figure', 'migration_figure', 'trend_figure',
           'lifecycle_flow_figure']


def churn_figure(churn: dict | None, currency: str):
    """Bar chart of the value at risk (or high-risk customers) per segment; None without churn."""
    if churn is None or not churn.get("available") or not churn.get("by_segment"):
        return None
    from helpers.churn.figures import churn_segment_chart
    return churn_segment_chart(pd.DataFrame(churn["by_segment"]), currency, _value_words(churn), churn["horizon_days"])


def segment_share_figure(rfm: dict | None):
    """Share of customers vs share of revenue per segment (from ``rfm.json``); None without segments."""
    if rfm is None:
        return None
    from helpers.segments.figures import segment_share_chart
    return segment_share_chart(segment_overview(rfm), title=tr("Which segments carry the business"))


def value_figure(clv: dict | None, currency: str):
    """Predicted value by segment with intervals (from ``clv.json``); None without it."""
    if clv is None or not clv.get("by_rfm_segment"):
        return None
    from helpers.value.figures import clv_by_group_chart
    return clv_by_group_chart(pd.DataFrame(clv["by_rfm_segment"]), "rfm_segment", currency, clv["horizon_months"])


def migration_figure(rfm: dict | None, quarter: str, previous: str):
    """The migration heatmap from ``rfm.json``; None without segments."""
    if rfm is None or "migration_counts" not in rfm:
        return None
    from helpers.segments.figures import migration_heatmap
    m = rfm["migration_counts"]
    counts = pd.DataFrame(m["values"], index=m["rows"], columns=m["columns"])
    return migration_heatmap(counts, previous, quarter,
                             tr("How customers moved between segments, {previous} to {quarter}",
                                previous=fmt_quarter(previous), quarter=fmt_quarter(quarter)))


_STAGE_COLORS = {"new": "#56B4E9", "active": "#009E73", "dormant": "#E69F00", "lost": "#7b8794",
                 "not yet a customer": "#d9dee4"}


def _stage_label(stage: str) -> str:
    from helpers.locale import tr
    return {"new": tr("new"), "active": tr("established"), "dormant": tr("dormant"), "lost": tr("lost"),
            "not yet a customer": tr("not yet a customer")}[stage]


def trend_figure(history, currency: str):
    """The trend in one figure: revenue, buyers (new and returning), lifecycle stages and action-group mix
    over the last quarters (from :class:`helpers.review.history.History`)."""
    import matplotlib.pyplot as plt

    from helpers.locale import fmt_quarter, tr
    from helpers.page.figures import PALETTE, money_axis
    k, life, grp = history.kpis, history.lifecycle, history.groups
    labels = [fmt_quarter(q) for q in history.quarters]
    x = range(len(labels))
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.4), sharex=True)
    a = axes[0, 0]
    a.bar(x, k["revenue"], color=PALETTE[0])
    money_axis(a, currency)
    a.set_title(tr("Revenue ({currency}, net of refunds)", currency=currency_unit(currency)), fontsize=11)
    a = axes[0, 1]
    a.bar(x, k["returning_customers"], color=PALETTE[2], label=tr("returning"))
    a.bar(x, k["new_customers"], bottom=k["returning_customers"], color=PALETTE[9], label=tr("new"))
    a.set_title(tr("Buyers in the quarter (customers)"), fontsize=11)
    a.set_ylim(0, max(float(k["buyers"].max()), 1) * 1.2)
    a.legend(loc="upper left", fontsize=9, frameon=False)
    a = axes[1, 0]
    bottom = np.zeros(len(life))
    for s in ["new", "active", "dormant", "lost"]:
        a.bar(x, life[s], bottom=bottom, color=_STAGE_COLORS[s], label=_stage_label(s))
        bottom += life[s].to_numpy()
    a.set_title(tr("Customers by lifecycle stage at the quarter's end"), fontsize=11)
    a.set_ylim(0, max(bottom.max(), 1) * 1.25)
    a.legend(loc="upper left", fontsize=9, frameon=False, ncol=4)
    a = axes[1, 1]
    share = grp.div(grp.sum(axis=1).replace(0, np.nan), axis=0) * 100
    bottom = np.zeros(len(share))
    for i, g in enumerate(share.columns):
        a.bar(x, share[g].fillna(0), bottom=bottom, color=PALETTE[(i + 3) % len(PALETTE)], label=g)
        bottom += share[g].fillna(0).to_numpy()
    a.set_ylim(0, 100)
    a.set_title(tr("Action-group mix (% of customers)"), fontsize=11)
    a.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9, frameon=False)
    for a in axes[1]:
        a.set_xticks(list(x), labels, rotation=45, ha="right")
    for a in axes.flat:
        a.grid(axis="x", visible=False)
    fig.suptitle(tr("The last {n} quarters, from the order history", n=len(labels)), fontweight="bold")
    fig.tight_layout()
    return fig


def lifecycle_flow_figure(transitions: pd.DataFrame, previous: str, quarter: str):
    """Where last quarter's stages went: one bar per stage at the previous quarter's end, split by stage now."""
    import matplotlib.pyplot as plt

    from helpers.locale import fmt_int, fmt_quarter, tr
    t = transitions[transitions.sum(axis=1) > 0]
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(t) + 1.6))
    rows = list(t.index)[::-1]
    for i, r in enumerate(rows):
        left = 0
        for s in t.columns:
            v = int(t.loc[r, s])
            if v == 0:
                continue
            ax.barh(i, v, left=left, color=_STAGE_COLORS[s], edgecolor="white",
                    label=_stage_label(s) if i == 0 or s not in ax.get_legend_handles_labels()[1] else None)
            if v >= 0.06 * t.values.sum() / max(len(t), 1):
                ax.text(left + v / 2, i, fmt_int(v), ha="center", va="center", fontsize=8)
            left += v
    ax.set_yticks(range(len(rows)), [_stage_label(r) for r in rows])
    ax.set_xlabel(tr("Customers"))
    ax.set_ylabel(tr("Stage at the end of {quarter}", quarter=fmt_quarter(previous)))
    handles, labels = ax.get_legend_handles_labels()
    found = dict(zip(labels, handles, strict=True))
    seen = {_stage_label(s): found[_stage_label(s)] for s in t.columns if _stage_label(s) in found}
    ax.legend(seen.values(), seen.keys(), title=tr("Stage at the end of {quarter}", quarter=fmt_quarter(quarter)),
              loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=9)
    ax.set_title(tr("Lifecycle moves, {previous} to {quarter}", previous=fmt_quarter(previous),
                    quarter=fmt_quarter(quarter)), fontweight="bold")
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig
