"""Numbers and sentences for the pages: money, bullet lists.
"""

from __future__ import annotations

import pandas as pd

__all__ = ['money', 'bullet_list', 'or_list', 'not_available_markdown']


def money(x: float, currency: str, decimals: int = 0) -> str:
    """An amount in the page's language: ``CNY 1,234,567`` in English, ``¥123.5万`` in Chinese; NaN -> n/a.

    See :func:`helpers.locale.fmt_money`.
    """
    from helpers.locale import fmt_money
    if x is None or pd.isna(x):
        return fmt_money(None, currency)
    return fmt_money(float(x), currency, decimals)


def bullet_list(sentences: list[str]) -> str:
    """Markdown bullet list (one sentence per line); a dash when there is nothing to list."""
    from helpers.locale import tr
    return "\n".join(f"- {s}" for s in sentences) if sentences else "- " + tr("none")


def or_list(names: list[str]) -> str:
    """``A, B or C`` in the page's language (``A、B或C`` in Chinese)."""
    from helpers.locale import tr
    names = [str(n) for n in names]
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    return tr("{items} or {last}", items=tr(", ").join(names[:-1]), last=names[-1])


def not_available_markdown(na) -> str:
    """A "not available" notice for a page: a callout box naming the part and the whole reason.

    Parameters
    ----------
    na : NotAvailable
        From :mod:`helpers.frame.outcome`.
    """
    import html

    title = html.escape(na.title or na.part)
    # the reason is a whole sentence that starts "Not available: ..."; the box's heading names the part only
    return (f'<div class="not-available"><strong>{title}.</strong> '
            f"{html.escape(na.reason)}</div>")
