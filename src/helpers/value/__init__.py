"""30_clv: customer lifetime value.

For customers who buy when they like: purchase models (BG/NBD, MBG/NBD, Pareto/NBD) chosen on a
holdout backtest, the spend model (Gamma-Gamma), forward values with intervals
(:mod:`helpers.value.noncontractual`). For subscriptions: sBG or beta-discrete-Weibull retention by acquisition
cohort, backtested, and the discounted expected remaining payments of each subscriber
(:mod:`helpers.value.contractual`, :mod:`helpers.value.retention`, :mod:`helpers.value.periods`).
:mod:`helpers.value.step` runs either and shows its sections.

The notebook uses what this package lists in ``__all__``; ``data``, ``model``, ``retention`` and the
rest are the step's own (tests may import them directly).
"""

from __future__ import annotations

from helpers.frame.engine import orders_table
from helpers.value import data
from helpers.value.noncontractual import (
    MODEL_NAMES,
    Backtest,
    Forward,
    Orders,
    backtest,
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
)
from helpers.value.step import (
    ValueResult,
    check_saved,
    mode_sentence,
    run,
    save,
    segments_when_scoring,
    show_activity,
    show_backtest,
    show_forecast,
    show_groups,
    show_overview,
    summary,
    value_sentences,
)

__all__ = [
    "orders_table",
    "ValueResult",
    "run",
    "show_overview",
    "show_backtest",
    "show_forecast",
    "show_activity",
    "show_groups",
    "summary",
    "save",
    "check_saved",
    "mode_sentence",
    "value_sentences",
    "groupings",
    "segments_when_scoring",
    "time_unit_words",
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
    "spend_check_table",
    "group_table",
    "parameter_table",
    "data",
]
