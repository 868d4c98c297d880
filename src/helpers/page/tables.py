"""Tables for managers: readable headers in the page's language, numbers in the locale, the money unit.

Headers: a column name becomes an English label (:func:`humanize`: ``share_of_revenue`` -> ``Share of
revenue``; :data:`COLUMN_LABELS` for names whose label is not their words), and the label is the
message id of its translation (``tr("Share of revenue")`` -> ``收入占比``). A package whose tables have
new columns adds their labels to its own PO file.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pandas as pd

from helpers.locale import N_, currency_unit, fmt_int, fmt_money, fmt_number, fmt_pct, tr
from helpers.page.text import money

__all__ = ['COLUMN_LABELS', 'humanize', 'column_label', 'styled_table', 'kpi_cards_table']


_TABLE_IDS = itertools.count(1)


def _table_uuid() -> str:
    """Sequential ids for styled tables (pandas' default is random, which would make pages differ run to run)."""
    return f"t{next(_TABLE_IDS):03d}"


_ACRONYMS = {"mae": "MAE", "rmse": "RMSE", "aic": "AIC", "clv": "CLV", "ci": "CI", "rfm": "RFM", "id": "ID",
             "loglik": "log-likelihood", "pct": "%", "kpi": "KPI", "roc": "ROC", "auc": "AUC", "pr": "PR",
             "sha256": "SHA-256"}


#: Column name -> English header, for the columns whose header is not just their words (the shared
#: tables' columns are listed so that their labels are extracted for translation).
COLUMN_LABELS: dict[str, str] = {
    "customer_id": N_("Customer ID"),
    "customers": N_("Customers"),
    "share_of_customers": N_("Share of customers"),
    "revenue": N_("Revenue"),
    "share_of_revenue": N_("Share of revenue"),
    "quarter_revenue": N_("Quarter revenue"),
    "average_order_value": N_("Average order value"),
    "segment": N_("Segment"),
    "segments": N_("Segments"),
    "action_group": N_("Action group"),
    "recommended_action": N_("Recommended action"),
    "orders": N_("Orders"),
    "cluster": N_("Cluster"),
    "description": N_("Description"),
    "median_recency_days": N_("Median recency days"),
    "median_frequency": N_("Median frequency"),
    "median_monetary": N_("Median monetary"),
    "top_category": N_("Top category"),
    "top_region": N_("Top region"),
    "score": N_("Score"),
    "measure": N_("Measure"),
    "from": N_("From"),
    "to": N_("To"),
    "movement": N_("Movement"),
    "value at stake": N_("Value at stake"),
    "table": N_("Table"),
    "file": N_("File"),
    "rows read": N_("Rows read"),
    "rows kept": N_("Rows kept"),
    "sha256": N_("SHA-256"),
    "check": N_("Check"),
    "column": N_("Column"),
    "rows": N_("Rows"),
    "share": N_("Share"),
    "examples": N_("Examples"),
    "action": N_("Action"),
    "kpi": N_("KPI"),
    "values": N_("Values"),
}


def humanize(name: str) -> str:
    """English column header for managers: ``share_of_revenue`` -> ``Share of revenue``, ``clv_low`` -> ``CLV low``."""
    if str(name) in COLUMN_LABELS:
        return COLUMN_LABELS[str(name)]
    words = [_ACRONYMS.get(w.lower(), w) for w in str(name).replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def column_label(name: str) -> str:
    """The header of a column in the page's language: the translation of :func:`humanize`'s label."""
    return tr(humanize(name))


def styled_table(df: pd.DataFrame, money_cols: Iterable[str] = (), int_cols: Iterable[str] = (),
                 pct_cols: Iterable[str] = (), float_cols: Iterable[str] = (), currency: str = "",
                 decimals: int = 0, caption: str | None = None, readable_headers: bool = True,
                 count_cols: Iterable[str] = ()):
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
    count_cols : iterable of str
        Counts and medians of counts (purchases): a whole number as such (``8``, never ``8.00``), one decimal
        when a median falls between two counts (``2.5``).
    """
    names = {c: column_label(c) for c in df.columns} if readable_headers else {c: c for c in df.columns}
    if len(set(names.values())) < len(names):  # two columns with one label: keep them apart
        names = {c: (lab if list(names.values()).count(lab) == 1 else f"{lab} ({c})") for c, lab in names.items()}
    df = df.rename(columns=names)
    money_cols, int_cols, pct_cols, float_cols, count_cols = (
        [names.get(c, c) for c in cols] for cols in (money_cols, int_cols, pct_cols, float_cols, count_cols))
    fmt = {}
    for c in money_cols:
        fmt[c] = lambda v, d=decimals: fmt_number(v, d)
    for c in int_cols:
        fmt[c] = fmt_int
    for c in pct_cols:
        fmt[c] = lambda v: fmt_pct(v, 1)
    for c in float_cols:
        fmt[c] = lambda v: fmt_number(v, 2)
    for c in count_cols:
        fmt[c] = _count
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c].dtype)]
    st = df.style.set_uuid(_table_uuid()).format(fmt, na_rep=tr("n/a")).hide(axis="index")
    st = st.set_properties(subset=numeric, **{"text-align": "right"})
    st = st.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])
    cap = caption or ""
    if money_cols and currency:
        cap = (cap + " " if cap else "") + tr("(money in {currency})", currency=currency_unit(currency))
    if cap:
        st = st.set_caption(cap)
    return st


def _count(v: float) -> str:
    """A count, or a median of counts: ``8``, ``2.5``."""
    if v is None or pd.isna(v):
        return tr("n/a")
    return fmt_int(v) if float(v).is_integer() else fmt_number(v, 1)


def kpi_cards_table(kpis: pd.DataFrame, currency: str):
    """The KPI table formatted per row (money, counts, rates) with the direction of change.

    Parameters
    ----------
    kpis : DataFrame
        From :func:`helpers.review.step.kpi_table`.
    """
    money_keys = {"revenue", "average_order_value"}
    rate_keys = {"repeat_purchase_rate"}
    this, prev, change_h = tr("This quarter"), tr("Previous quarter"), tr("Change")
    rows = []
    for key, r in kpis.iterrows():
        def f(v, key=key):
            if pd.isna(v):
                return tr("n/a")
            if key in money_keys:
                return money(v, currency)
            if key in rate_keys:
                return fmt_pct(v, 1)
            return fmt_int(v)
        ch = r["change"]
        if pd.isna(ch):
            change = tr("n/a")
        elif key in rate_keys:
            change = tr("{value} pts", value=("±" if round(100 * ch, 1) == 0 else "+" if ch > 0 else "")
                        + fmt_number(abs(100 * ch) if round(100 * ch, 1) == 0 else 100 * ch, 1))
        elif key in money_keys:
            change = fmt_money(ch, currency, signed=True)
        else:
            change = ("+" if ch > 0 else "") + fmt_int(ch)
        pct = "" if pd.isna(r["change_pct"]) else tr(" ({pct})", pct=fmt_pct(r["change_pct"], 1, signed=True))
        # the arrow follows the change as shown: a change that rounds to nothing is "no change" (■)
        shown = (round(100 * ch, 1) if key in rate_keys else round(ch)) if not pd.isna(ch) else 0
        arrow = "▲" if shown > 0 else ("▼" if shown < 0 else "■")
        rows.append({tr("KPI"): r["kpi"], this: f(r["this_quarter"]), prev: f(r["previous_quarter"]),
                     change_h: f"{arrow} {change}{pct}"})
    out = pd.DataFrame(rows)
    return out.style.set_uuid(_table_uuid()).hide(axis="index").set_properties(
        subset=[this, prev, change_h], **{"text-align": "right"})
