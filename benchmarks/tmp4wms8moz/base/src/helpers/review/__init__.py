"""60_quarterly_review: the manager's page, built from the other steps' summaries; the exports.

The notebook uses what this package lists in ``__all__``; ``data``, ``model`` and the rest are
the step's own (tests may import them directly).
"""

from __future__ import annotations

from helpers.review import data
from helpers.review.export import build_export, hash_ids, save_customer_tables, save_export
from helpers.review.figures import (
    churn_figure,
    migration_figure,
    segment_share_figure,
    value_figure,
)
from helpers.review.step import (
    KPI_LABELS,
    action_overview,
    available_sections,
    bullets,
    churn_by_segment,
    churn_headline,
    churn_sentences,
    executive_summary,
    experiment_decisions,
    extended_kpis,
    kpi_table,
    load_step_summaries,
    methods_appendix,
    quality_note,
    review_kpis,
    review_summary,
    segment_overview,
    segment_sentences,
    segment_value_table,
    top_moves,
    value_by_segment,
    value_sentences,
)

__all__ = [
    "save_customer_tables",
    "KPI_LABELS",
    "kpi_table",
    "load_step_summaries",
    "bullets",
    "review_kpis",
    "quality_note",
    "available_sections",
    "review_summary",
    "segment_sentences",
    "segment_overview",
    "action_overview",
    "top_moves",
    "value_sentences",
    "value_by_segment",
    "experiment_decisions",
    "executive_summary",
    "churn_headline",
    "churn_sentences",
    "churn_by_segment",
    "methods_appendix",
    "extended_kpis",
    "segment_value_table",
    "churn_figure",
    "segment_share_figure",
    "value_figure",
    "migration_figure",
    "hash_ids",
    "build_export",
    "save_export",
    "data",
]
