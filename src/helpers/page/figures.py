"""Shared figure conventions: style, palette, money axes, notes on empty charts.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import seaborn as sns

__all__ = ['PALETTE', 'setup_style', 'SEGMENT_COLORS', 'segment_color']


PALETTE = sns.color_palette("colorblind")


def setup_style() -> None:
    """One look for every figure: white grid, readable fonts, 110 dpi, no clipped labels.

    Inside a Jupyter kernel it also selects the inline backend, so figures are embedded in the
    notebook (and the HTML) even when ``MPLBACKEND`` is set to a non-interactive backend.
    """
    try:
        from IPython import get_ipython
        ip = get_ipython()
        if ip is not None and getattr(ip, "kernel", None) is not None:
            ip.run_line_magic("matplotlib", "inline")
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        pass
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE)
    plt.rcParams.update({"figure.dpi": 110, "figure.figsize": (9, 4), "axes.titleweight": "bold",
                         "axes.titlesize": 13, "figure.autolayout": True, "savefig.bbox": "tight"})


def _money_axis(ax, currency: str, axis: str = "y") -> None:
    def f(v, _):
        a = abs(v)
        if a >= 1e6:
            return f"{v / 1e6:,.1f}M"
        if a >= 1e3:
            return f"{v / 1e3:,.0f}k"
        return f"{v:,.0f}"
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(mticker.FuncFormatter(f))


#: one colour per named segment, the same on every page (best segments green, lapsed red/grey)
SEGMENT_COLORS: dict[str, str] = {
    "Champions": "#1b7837", "Loyal": "#5aae61", "Potential Loyalists": "#a6dba0", "New": "#4393c3",
    "Promising": "#92c5de", "Need Attention": "#fdb863", "About to Sleep": "#e08214",
    "Cannot Lose": "#b2182b", "At Risk": "#d6604d", "Hibernating": "#8c8c8c", "Lost": "#4d4d4d",
}


def segment_color(name: str) -> str:
    """The fixed colour of a segment (grey for names outside the default map)."""
    return SEGMENT_COLORS.get(name, "#969696")


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#52606d")
    ax.set_xticks([])
    ax.set_yticks([])
