"""Shared figure conventions: style, palette, money axes, notes on empty charts.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import seaborn as sns

__all__ = ['PALETTE', 'setup_style', 'SEGMENT_RAMP', 'set_segment_order', 'segment_color', 'money_axis', 'note_on']


PALETTE = sns.color_palette("colorblind")


def setup_style(language: str | None = None) -> None:
    """One look for every figure: white grid, readable fonts, 110 dpi, no clipped labels.

    The fonts are a chain that draws Chinese as well as Latin text (:func:`helpers.page.fonts.font_chain`;
    the CJK font is registered with matplotlib here). Inside a Jupyter kernel it also selects the
    inline backend, so figures are embedded in the notebook (and the HTML) even when ``MPLBACKEND`` is
    set to a non-interactive backend.

    Parameters
    ----------
    language : str, optional
        The page's language (default: the current one, :func:`helpers.locale.language`).
    """
    from helpers.locale import language as current_language
    from helpers.page.fonts import font_chain
    try:
        from IPython import get_ipython
        ip = get_ipython()
        if ip is not None and getattr(ip, "kernel", None) is not None:
            ip.run_line_magic("matplotlib", "inline")
            _describe_figures(ip)
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        pass
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE)
    plt.rcParams.update({"figure.dpi": 110, "figure.figsize": (9, 4), "axes.titleweight": "bold",
                         "axes.titlesize": 13, "figure.autolayout": True, "savefig.bbox": "tight",
                         "font.family": font_chain(language or current_language())})


def figure_alt(fig) -> str:
    """A figure's alternative text in the page's language, from its titles (the figure's, then each panel's;
    a panel without a title by its axis label): "Figure: Revenue by quarter; Buyers"."""
    from helpers.locale import tr
    words = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) is not None else []
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison and not ax.get_title():
            continue
        words.append(ax.get_title() or ax.get_title(loc="left") or ax.get_ylabel())
    words = list(dict.fromkeys(" ".join(w.split()) for w in words if w and w.strip()))
    return tr("Figure: {titles}", titles=tr("; ").join(words)) if words else tr("Figure")


def _describe_figures(ip) -> None:
    """Have the kernel's PNG of a figure carry its alternative text (:func:`figure_alt`) in the output's
    metadata (``image/png`` -> ``alt``), which the pages' template writes on the image."""
    from matplotlib.figure import Figure
    fmt = ip.display_formatter.formatters.get("image/png")
    if fmt is None:
        return
    try:
        png = fmt.lookup_by_type(Figure)
    except KeyError:
        return
    if getattr(png, "_segreview_alt", False):
        return

    def with_alt(fig, _png=png):
        data, md = _png(fig), {}
        if isinstance(data, tuple):   # (data, metadata), as the retina format returns
            data, md = data
        return None if data is None else (data, {**(md or {}), "alt": figure_alt(fig)})

    with_alt._segreview_alt = True
    fmt.for_type(Figure, with_alt)


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
    """Tick labels of a money axis in short form (``1.2M``, ``350k``; ``15万``, ``1.5亿`` in Chinese, from
    CLDR's compact forms)."""
    from helpers.locale import fmt_compact, fmt_int, language

    def f(v, _):
        a = abs(v)
        if language() != "en":
            return fmt_compact(v, digits=1) if a >= 1e4 else fmt_int(v)
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
