"""50_ab_evaluation: trust checks, effects overall and by segment, decisions per experiment.

The notebook uses what this package lists in ``__all__``; ``data``, ``model`` and the rest are
the step's own (tests may import them directly).
"""

from __future__ import annotations

from helpers.experiments.figures import forest_chart
from helpers.experiments.step import (
    ExperimentResult,
    ab_summary,
    ab_summary_or_empty,
    conventions_markdown,
    effects_table,
    evaluate,
    experiment_markdown,
    forest_data,
    run_all,
    show_experiments,
    summary_or_empty,
    summary_table,
)

__all__ = [
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
