"""40_churn: who is about to stop buying, why, and what it is worth; retention curves and cohorts.

The notebook uses what this package lists in ``__all__``; ``data``, ``model`` and the rest are
the step's own (tests may import them directly).
"""

from __future__ import annotations

from helpers.churn.figures import (
    calibration_chart,
    capture_chart,
    churn_segment_chart,
    drivers_chart,
    km_chart,
    partial_dependence_chart,
)
from helpers.churn.step import (
    BGNBD_FIT_SAMPLE,
    CHURN_SCORE_COLUMNS,
    FEATURE_WORDS,
    FLAT_RATIO,
    MODEL_LABELS,
    ChurnResult,
    calibration_sentence,
    churn_scores,
    churn_summary,
    cohort_table,
    confusion_sentence,
    effects_in_words,
    feature_label,
    labels,
    lift_sentence,
    metrics_table,
    mode_sentence,
    retention,
    retention_sentence,
    risk_sentences,
    run,
    scored_customers,
    value_at_risk_table,
    value_column,
)
from helpers.frame.engine import orders_table

__all__ = [
    "orders_table",
    "MODEL_LABELS",
    "FEATURE_WORDS",
    "feature_label",
    "FLAT_RATIO",
    "effects_in_words",
    "ChurnResult",
    "value_column",
    "BGNBD_FIT_SAMPLE",
    "run",
    "labels",
    "mode_sentence",
    "metrics_table",
    "calibration_sentence",
    "lift_sentence",
    "confusion_sentence",
    "scored_customers",
    "value_at_risk_table",
    "risk_sentences",
    "retention",
    "retention_sentence",
    "cohort_table",
    "churn_scores",
    "CHURN_SCORE_COLUMNS",
    "churn_summary",
    "calibration_chart",
    "capture_chart",
    "drivers_chart",
    "partial_dependence_chart",
    "km_chart",
    "churn_segment_chart",
]
