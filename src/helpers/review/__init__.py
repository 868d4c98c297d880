"""60_quarterly_review: the manager's page, built from the other steps' summaries; the plan, its
contact lists and the exports.

The notebook uses what this package lists in ``__all__``; ``data``, ``model`` and the rest are
the step's own (tests may import them directly).
"""

from __future__ import annotations

from helpers.review import data
from helpers.review.channels import channel_sentence, channel_table
from helpers.review.export import build_export, hash_ids, save_contact_lists, save_customer_tables, save_export
from helpers.review.figures import (
    churn_figure,
    lifecycle_flow_figure,
    migration_figure,
    segment_share_figure,
    trend_figure,
    value_figure,
)
from helpers.review.glossary import glossary
from helpers.review.inputs import clv_horizon
from helpers.review.plan import plan_markdown, plan_table, readout_table
from helpers.review.quarter import ReviewParts, gather, json_sections
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
    experiments_note,
    extended_kpis,
    glossary_table,
    kpi_table,
    kpi_table_from_history,
    lifecycle_sentences,
    lifecycle_table,
    load_step_summaries,
    methods_appendix,
    not_available_note,
    quality_note,
    review_kpis,
    review_summary,
    segment_overview,
    segment_sentences,
    segment_value_table,
    show_channels,
    text_table,
    top_moves,
    transitions_table,
    trend_caption,
    trend_summary,
    trend_table,
    value_by_segment,
    value_sentences,
)

__all__ = [
    "save_customer_tables",
    "save_contact_lists",
    "KPI_LABELS",
    "kpi_table",
    "kpi_table_from_history",
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
    "text_table",
    "not_available_note",
    "experiments_note",
    "glossary_table",
    "show_channels",
    "clv_horizon",
    "lifecycle_table",
    "lifecycle_sentences",
    "transitions_table",
    "trend_table",
    "trend_caption",
    "trend_summary",
    "churn_figure",
    "segment_share_figure",
    "value_figure",
    "migration_figure",
    "trend_figure",
    "lifecycle_flow_figure",
    "channel_table",
    "channel_sentence",
    "glossary",
    "plan_table",
    "plan_markdown",
    "readout_table",
    "ReviewParts",
    "gather",
    "json_sections",
    "hash_ids",
    "build_export",
    "save_export",
    "data",
]
