"""Figures of the experiments page.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from helpers.page.figures import PALETTE

__all__ = ['forest_chart']


def forest_chart(data: pd.DataFrame, experiment: str, metric: str, alpha: float, currency: str = ""):
    """Effect with its ``1 - alpha`` interval overall and per segment (a forest plot); significant ones filled.

    ``alpha`` is ``ab.alpha``: the intervals in ``data`` were computed at that level, and the label says so.
    """
    from helpers.locale import currency_unit, fmt_pct, tr
    pts = 100 if metric == "conversion" else 1
    d = data.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(d) + 1.6))
    for i, r in d.iterrows():
        color = PALETTE[2] if r["significant"] else "#7b8794"
        ax.errorbar(
            r["diff"] * pts,
            i,
            xerr=[[max(r["diff"] - r["ci_low"], 0) * pts], [max(r["ci_high"] - r["diff"], 0) * pts]],
            fmt="o",
            color=color,
            mfc=color if r["significant"] else "white",
            capsize=3,
        )
    ax.axvline(0, color="#1f2933", lw=1)
    ax.set_yticks(range(len(d)), d["label"])
    if metric == "conversion":
        ax.set_xlabel(tr("Effect on conversion (percentage points), {level} CI", level=fmt_pct(1 - alpha)))
    else:
        ax.set_xlabel(tr("Effect on revenue per customer ({currency}), {level} CI", currency=currency_unit(currency),
                         level=fmt_pct(1 - alpha)))
    ax.set_title(tr("{experiment}: effect overall and by segment (filled = significant)", experiment=experiment))
    return fig
