"""50_ab_evaluation: trust checks, effects overall and by segment, decisions per experiment.

The notebook uses what this package lists in ``__all__``; ``data``, ``model`` and the rest are
the step's own (tests may import them directly).
"""

from __future__ import annotations

from helpers.experiments.figures import forest_chart
from helpers.experiments.step import (
    AbOutcome,
    ExperimentResult,
    ab_summary,
    ab_summary_or_empty,
    conventions_markdown,
    decision_label,
    effects_table,
    evaluate,
    experiment_markdown,
    forest_data,
    metric_name,
    p_is,
    run_all,
    segments_table,
    show_experiments,
    summary_or_empty,
    summary_table,
    targeted_segments,
)
from helpers.frame.engine import orders_table

__all__ = [
    "orders_table",
    "AbOutcome",
    "p_is",
    "metric_name",
    "decision_label",
    "segments_table",
    "targeted_segments",
    "ExperimentResult",
    "evaluate",
    "summary_table",
    "effects_table",
    "experiment_markdown",
    "ab_summary",
    "run_all",
    "forest_data",
    "show_experiments",
    "conventions_markdown",
    "summary_or_empty",
    "ab_summary_or_empty",
    "forest_chart",
]
