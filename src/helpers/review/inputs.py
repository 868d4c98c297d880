"""Small accessors for the keys the review reads from the other steps' summaries.

The value and churn steps evolve in parallel: every key the review reads from ``clv.json``,
``churn.json``, ``rfm.json`` and ``ab.json`` is read here, so that a renamed key is a one-line fix.
Each returns ``None`` (or an empty value) when the summary is missing or not available.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["available", "clv_horizon", "clv_totals", "clv_by_segment", "clv_interval", "churn_horizon",
           "churn_scored", "churn_high", "churn_by_segment", "value_column", "rfm_action_groups", "ab_experiments"]


def available(summary: dict | None) -> bool:
    """Whether a step ran and its summary says it is available."""
    return summary is not None and bool(summary.get("available", True))


def clv_horizon(clv: dict | None) -> int | None:
    """The CLV horizon in months (``clv.json`` ``horizon_months``)."""
    return int(clv["horizon_months"]) if available(clv) and clv.get("horizon_months") is not None else None


def clv_totals(clv: dict | None) -> dict | None:
    """``totals``: ``clv_total``, ``clv_total_low``, ``clv_total_high``, ``interval``."""
    return clv.get("totals") if available(clv) else None


def clv_interval(clv: dict | None) -> float:
    """The coverage of the value intervals (0.90 when the summary does not say)."""
    t = clv_totals(clv) or {}
    return float(t.get("interval", 0.9))


def clv_by_segment(clv: dict | None) -> dict[str, dict]:
    """Segment -> ``customers``, ``clv_total``, ``clv_mean``, ``clv_low``, ``clv_high`` (``by_rfm_segment``)."""
    if not available(clv):
        return {}
    return {r["rfm_segment"]: r for r in clv.get("by_rfm_segment") or []}


def value_column(scores: pd.DataFrame | None) -> str | None:
    """The per-customer predicted value column of the joined customer tables (``clv``), if any."""
    if scores is None:
        return None
    for c in ("clv", "predicted_value"):
        if c in scores:
            return c
    return next((c for c in scores.columns if c.startswith("clv_") and c[4:-1].isdigit()), None)


def churn_horizon(churn: dict | None) -> int | None:
    """Days ahead the churn risk looks (``horizon_days``)."""
    return int(churn["horizon_days"]) if available(churn) and churn.get("horizon_days") is not None else None


def churn_scored(churn: dict | None) -> int | None:
    """Customers the churn step scored (its active customers)."""
    return int(churn["scored_customers"]) if available(churn) and "scored_customers" in churn else None


def churn_high(churn: dict | None) -> int | None:
    """Customers at high churn risk."""
    return int(churn["tier_counts"]["high"]) if available(churn) and "tier_counts" in churn else None


def churn_by_segment(churn: dict | None) -> list[dict]:
    """Rows ``segment``, ``high_risk``, ``value_at_risk``, ... (``by_segment``)."""
    return list(churn.get("by_segment") or []) if available(churn) else []


def rfm_action_groups(rfm: dict | None) -> list[dict]:
    """Action groups: ``name``, ``action``, ``segments``, ``customers``."""
    return list(rfm.get("action_groups") or []) if rfm is not None else []


def ab_experiments(ab: dict | None) -> dict[str, dict]:
    """The evaluated comparisons of ``ab.json`` (key -> entry); empty without experiments."""
    return dict(ab.get("experiments") or {}) if ab is not None else {}
