"""What every page shares: figure style and segment colours, tables for managers, numbers in words.

A step's notebook imports its own step package and this one; a step's figures build on
:mod:`helpers.page.figures`. Every visible string goes through :mod:`helpers.locale`.
"""

from __future__ import annotations

from helpers.page.figures import (
    PALETTE,
    money_axis,
    note_on,
    segment_color,
    set_segment_order,
    setup_style,
)
from helpers.page.tables import humanize, kpi_cards_table, styled_table
from helpers.page.text import bullet_list, money, not_available_markdown, or_list

__all__ = ["PALETTE", "setup_style", "set_segment_order", "segment_color", "money_axis", "note_on",
           "styled_table", "kpi_cards_table", "humanize", "money", "bullet_list", "or_list",
           "not_available_markdown", "show_not_available"]


def show_not_available(*parts) -> None:
    """Display a "not available" notice for each given :class:`~helpers.frame.outcome.NotAvailable`
    (``None`` entries are skipped, so a notebook can pass a result's reason whatever it is)."""
    from IPython.display import HTML, display
    for na in parts:
        if na is not None:
            display(HTML(not_available_markdown(na)))
