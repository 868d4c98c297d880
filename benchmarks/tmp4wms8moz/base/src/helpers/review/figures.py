"""Figures of the review page (built from the steps' summaries).
"""

from __future__ import annotations

import pandas as pd

from helpers.review.step import _value_words, segment_overview

__all__ = ['churn_figure', 'segment_share_figure', 'value_figure', 'migration_figure']


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
    return segment_share_chart(segment_overview(rfm), title="Which segments carry the business")


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
                             f"How customers moved between segments, {previous} to {quarter}")
