"""Numbers and sentences for the pages: money, bullet lists.
"""

from __future__ import annotations

import pandas as pd

__all__ = ['money', 'bullet_list']


def money(x: float, currency: str, decimals: int = 0) -> str:
    """``money(1234567, "CNY") == "CNY 1,234,567"``; NaN -> "n/a"."""
    if x is None or pd.isna(x):
        return "n/a"
    return f"{currency} {x:,.{decimals}f}"


def bullet_list(sentences: list[str]) -> str:
    """Markdown bullet list (one sentence per line); a dash when there is nothing to list."""
    return "\n".join(f"- {s}" for s in sentences) if sentences else "- none"
