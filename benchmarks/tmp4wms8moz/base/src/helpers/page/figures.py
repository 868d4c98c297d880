"""Shared figure conventions: style, palette, money axes, notes on empty charts.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import seaborn as sns

__all__ = ['PALETTE', 'setup_style', 'SEGMENT_RAMP', 'set_segment_order', 'segment_color', 'money_axis', 'note_on']


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


#: Colours of segments by their rank in ``rfm.segment_order`` (best first): greens for the best,
#: blues for the new and promising, oranges for those drifting, reds and greys for the lapsed. With
#: the default map of eleven segments each gets one of these; a shorter or longer map takes evenly
#: spaced colours along the ramp, so the best segment is always dark green and the last dark grey.
SEGMENT_RAMP: tuple[str, ...] = ("#1b7837", "#5aae61", "#a6dba0", "#4393c3", "#92c5de", "#fdb863",
                                 "#e08214", "#b2182b", "#d6604d", "#8c8c8c", "#4d4d4d")
_segment_order: list[str] = []


def set_segment_order(order: list[str]) -> None:
    """Tell the figures the segment map's order (best first), so each segment keeps its colour on every page."""
    _segment_order[:] = [str(s) for s in order]


def segment_color(name: str) -> str:
    """The fixed colour of a segment, from its rank in the segment order (grey for names outside it)."""
    name = str(name)
    if name not in _segment_order:
        return "#969696"
    n, i = len(_segment_order), _segment_order.index(name)
    pos = 0 if n == 1 else round(i * (len(SEGMENT_RAMP) - 1) / (n - 1))
    return SEGMENT_RAMP[pos]


def money_axis(ax, currency: str, axis: str = "y") -> None:
    """Tick labels of a money axis in short form (``1.2M``, ``350k``; ``万`` in Chinese)."""
    from helpers.locale import language

    def f(v, _):
        a = abs(v)
        if language() != "en":
            if a >= 1e8:
                return f"{v / 1e8:,.1f}亿"
            if a >= 1e4:
                return f"{v / 1e4:,.0f}万"
            return f"{v:,.0f}"
        if a >= 1e6:
            return f"{v / 1e6:,.1f}M"
        if a >= 1e3:
            return f"{v / 1e3:,.0f}k"
        return f"{v:,.0f}"
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(mticker.FuncFormatter(f))


def note_on(ax, text: str) -> None:
    """Write ``text`` in the middle of an empty chart (e.g. "not available") and hide its ticks."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#52606d")
    ax.set_xticks([])
    ax.set_yticks([])
