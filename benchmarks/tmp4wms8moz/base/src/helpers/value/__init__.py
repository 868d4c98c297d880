"""30_clv: customer lifetime value. Purchase models (BG/NBD, Pareto/NBD) and the spend model
(Gamma-Gamma), a holdout backtest every quarter, forward values with intervals.

The notebook uses what this package lists in ``__all__``; ``data``, ``model`` and the rest are
the step's own (tests may import them directly).
"""

from __future__ import annotations

from helpers.value import data
from helpers.value.figures import (
    backtest_frequency_chart,
    clv_by_group_chart,
    p_alive_chart,
    p_alive_matrix_chart,
    tracking_chart,
)
from helpers.value.step import (
    MODEL_NAMES,
    Backtest,
    Forward,
    Orders,
    backtest,
    backtest_sentence,
    clv_summary,
    fit_verdict,
    forward,
    group_table,
    groupings,
    p_alive_matrix,
    parameter_table,
    purchase_days,
    score,
    spend_check_table,
    time_unit_words,
    top_share,
    tracking,
    value_sentences,
)

__all__ = [
    "time_unit_words",
    "backtest_sentence",
    "MODEL_NAMES",
    "Backtest",
    "Forward",
    "Orders",
    "purchase_days",
    "backtest",
    "tracking",
    "fit_verdict",
    "forward",
    "score",
    "top_share",
    "p_alive_matrix",
    "clv_summary",
    "spend_check_table",
    "groupings",
    "group_table",
    "parameter_table",
    "value_sentences",
    "backtest_frequency_chart",
    "tracking_chart",
    "p_alive_chart",
    "p_alive_matrix_chart",
    "clv_by_group_chart",
    "data",
]
