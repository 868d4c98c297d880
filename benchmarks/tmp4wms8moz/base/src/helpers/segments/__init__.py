"""20_rfm_clustering: RFM scores and named segments, action groups, k-means clusters, and how customers
moved between segments since last quarter.

The notebook uses what this package lists in ``__all__``; ``data``, ``model`` and the rest are
the step's own (tests may import them directly).
"""

from __future__ import annotations

from helpers.frame.engine import backend_name, orders_table
from helpers.segments import data, model
from helpers.segments.data import customer_summary, period_revenue
from helpers.segments.figures import (
    migration_heatmap,
    rf_heatmap_chart,
    segment_share_chart,
    silhouette_chart,
    snake_chart,
)
from helpers.segments.model import cluster_customers, migrate, segment_of
from helpers.segments.step import (
    SCORE_COLUMNS,
    action_group_table,
    build_outputs,
    cluster_profiles,
    cluster_segment_crosstab,
    describe_cluster,
    flows_in_words,
    rf_heatmap,
    scoring_table,
    segment_table,
    snake_data,
    summary_table,
)

__all__ = [
    "scoring_table",
    "segment_table",
    "rf_heatmap",
    "SCORE_COLUMNS",
    "build_outputs",
    "action_group_table",
    "describe_cluster",
    "cluster_profiles",
    "snake_data",
    "cluster_segment_crosstab",
    "flows_in_words",
    "summary_table",
    "segment_share_chart",
    "rf_heatmap_chart",
    "silhouette_chart",
    "snake_chart",
    "migration_heatmap",
    "data",
    "model",
    "orders_table",
    "backend_name",
    "customer_summary",
    "period_revenue",
    "segment_of",
    "cluster_customers",
    "migrate",
]
