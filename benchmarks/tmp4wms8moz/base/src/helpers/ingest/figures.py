"""Figures of the data-intake page.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd

from helpers.page.figures import PALETTE, money_axis

__all__ = ['monthly_chart']


def monthly_chart(monthly: pd.DataFrame, currency: str, quarter_start: pd.Timestamp | None = None,
                  title: str = "Revenue and orders per month"):
    """Two stacked panels sharing the month axis: revenue (bars) and orders (line).

    Parameters
    ----------
    monthly : DataFrame
        ``month``, ``orders``, ``revenue`` (from :func:`helpers.ingest.step.monthly_summary`).
    currency : str
    quarter_start : Timestamp, optional
        Months from this date on are highlighted as the quarter under review.
    """
    for c in ("month", "orders", "revenue"):
        if c not in monthly.columns:
            raise KeyError(f"monthly table lacks {c!r}")
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True, height_ratios=[3, 2])
    colors = [PALETTE[1] if quarter_start is not None and m >= quarter_start else PALETTE[0]
              for m in monthly["month"]]
    ax1.bar(monthly["month"], monthly["revenue"], width=25, color=colors)
    ax1.set_ylabel(f"Revenue ({currency})")
    money_axis(ax1, currency)
    ax1.set_title(title)
    ax2.plot(monthly["month"], monthly["orders"], marker="o", ms=3, color=PALETTE[2])
    ax2.set_ylabel("Orders (count)")
    ax2.yaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
    ax2.set_xlabel("Month")
    if quarter_start is not None:
        ax1.text(0.01, 0.95, "orange = quarter under review", transform=ax1.transAxes, va="top", fontsize=9)
    fig.autofmt_xdate()
    return fig
