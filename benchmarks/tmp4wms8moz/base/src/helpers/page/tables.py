"""Tables for managers: readable headers, units and currency in every money column.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pandas as pd

from helpers.page.text import money

__all__ = ['humanize', 'styled_table', 'kpi_cards_table']


_TABLE_IDS = itertools.count(1)


def _table_uuid() -> str:
    """Sequential ids for styled tables (pandas' default is random, which would make pages differ run to run)."""
    return f"t{next(_TABLE_IDS):03d}"


_ACRONYMS = {"mae": "MAE", "rmse": "RMSE", "aic": "AIC", "clv": "CLV", "ci": "CI", "rfm": "RFM", "id": "ID",
             "loglik": "log-likelihood", "pct": "%", "kpi": "KPI", "roc": "ROC", "auc": "AUC", "pr": "PR"}


def humanize(name: str) -> str:
    """Column header for managers: ``share_of_revenue`` -> ``Share of revenue``, ``clv_low`` -> ``CLV low``."""
    words = [_ACRONYMS.get(w.lower(), w) for w in str(name).replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def styled_table(df: pd.DataFrame, money_cols: Iterable[str] = (), int_cols: Iterable[str] = (),
                 pct_cols: Iterable[str] = (), float_cols: Iterable[str] = (), currency: str = "",
                 decimals: int = 0, caption: str | None = None, readable_headers: bool = True):
    """A pandas Styler with thousands separators, rounding, right-aligned numbers, no index.

    Parameters
    ----------
    df : DataFrame
        Table to show, already sorted by what matters.
    money_cols, int_cols, pct_cols, float_cols : iterable of str
        Columns formatted as money (``decimals`` places), integers, percentages (1 place) and
        floats (2 places).
    currency : str
        Prefix of money cells' header note (shown in the caption).
    """
    names = {c: humanize(c) for c in df.columns} if readable_headers else {c: c for c in df.columns}
    df = df.rename(columns=names)
    money_cols, int_cols, pct_cols, float_cols = ([names.get(c, c) for c in cols] for cols in
                                                  (money_cols, int_cols, pct_cols, float_cols))
    fmt = {}
    for c in money_cols:
        fmt[c] = f"{{:,.{decimals}f}}"
    for c in int_cols:
        fmt[c] = "{:,.0f}"
    for c in pct_cols:
        fmt[c] = "{:.1%}"
    for c in float_cols:
        fmt[c] = "{:,.2f}"
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c].dtype)]
    st = df.style.set_uuid(_table_uuid()).format(fmt, na_rep="n/a").hide(axis="index")
    st = st.set_properties(subset=numeric, **{"text-align": "right"})
    st = st.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])
    cap = caption or ""
    if money_cols and currency:
        cap = (cap + " " if cap else "") + f"(money in {currency})"
    if cap:
        st = st.set_caption(cap)
    return st


def kpi_cards_table(kpis: pd.DataFrame, currency: str):
    """The KPI table formatted per row (money, counts, rates) with the direction of change.

    Parameters
    ----------
    kpis : DataFrame
        From :func:`helpers.review.step.kpi_table`.
    """
    money_keys = {"revenue", "average_order_value"}
    rate_keys = {"repeat_purchase_rate"}
    rows = []
    for key, r in kpis.iterrows():
        def f(v, key=key):
            if pd.isna(v):
                return "n/a"
            if key in money_keys:
                return money(v, currency)
            if key in rate_keys:
                return f"{v:.1%}"
            return f"{v:,.0f}"
        ch = r["change"]
        if key in rate_keys:
            change = "n/a" if pd.isna(ch) else f"{ch * 100:+.1f} pts"
        elif key in money_keys:
            change = "n/a" if pd.isna(ch) else f"{'+' if ch >= 0 else '−'}{money(abs(ch), currency)}"
        else:
            change = "n/a" if pd.isna(ch) else f"{ch:+,.0f}"
        pct = "" if pd.isna(r["change_pct"]) else f" ({r['change_pct']:+.1%})"
        arrow = "▲" if (not pd.isna(ch) and ch > 0) else ("▼" if (not pd.isna(ch) and ch < 0) else "■")
        rows.append({"KPI": r["kpi"], "This quarter": f(r["this_quarter"]),
                     "Previous quarter": f(r["previous_quarter"]), "Change": f"{arrow} {change}{pct}"})
    out = pd.DataFrame(rows)
    return out.style.set_uuid(_table_uuid()).hide(axis="index").set_properties(
        subset=["This quarter", "Previous quarter", "Change"], **{"text-align": "right"})
