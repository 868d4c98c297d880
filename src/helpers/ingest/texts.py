"""The words of the order-cleaning findings and refusals, in one place.

Both cleaning paths build their findings from here: the pandas reference
(:func:`helpers.ingest.rules.clean_orders`) and the engine version
(:mod:`helpers.ingest.clean_engine`), so the data-quality table reads the same whichever ran.
The ``check`` constants are English message ids: the engine translates them when it records a
finding (``helpers.locale.tr``, as the reference does), so ``ingest.json`` and the page hold the
checks in the run's language; the ``action`` texts stay English (data) and are translated for
display (:func:`helpers.ingest.rules.action_label`).

:func:`format_examples` writes the examples of a finding exactly as the reference does: the first
``k`` values in file order, ``<null>`` for missing values, timestamps as pandas formats them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from helpers.locale import fmt_clauses, fmt_date, fmt_number, tr

__all__ = [
    "BLANK_CUSTOMER",
    "DATE_UNPARSEABLE",
    "DATE_MISSING",
    "DATES_MIXED",
    "AMOUNT_DECORATED",
    "AMOUNT_NOT_NUMBER",
    "AMOUNT_MISSING",
    "CANCELLED",
    "UNKNOWN_STATUS",
    "ZERO_AMOUNT",
    "DUPLICATE_ORDER_ID",
    "REFUNDS_NETTED",
    "REFUNDED_IN_FULL",
    "PARTLY_REFUNDED",
    "REFUND_UNMATCHED",
    "NOT_IN_CUSTOMERS",
    "DROPPED",
    "PARSED",
    "EXCLUDED",
    "NETTED",
    "DROPPED_REFUNDED",
    "FLAGGED_KEPT",
    "KEPT_NO_ATTRIBUTES",
    "date_before",
    "date_after",
    "amount_above",
    "duplicates_refused",
    "nothing_left",
    "too_many_dropped",
    "format_examples",
]

# checks, in the order the rules apply (rules.py's module docstring)
BLANK_CUSTOMER = "blank or null customer id"
DATE_UNPARSEABLE = "date cannot be parsed"
DATE_MISSING = "date missing"
DATES_MIXED = "dates in mixed formats (parsed one by one; check day/month order)"
AMOUNT_DECORATED = "amount written as text with currency symbol or thousands separator"
AMOUNT_NOT_NUMBER = "amount is not a number"
AMOUNT_MISSING = "amount missing"
CANCELLED = "cancelled order"
UNKNOWN_STATUS = "unknown status (not completed, refunded or cancelled)"
ZERO_AMOUNT = "zero amount"
DUPLICATE_ORDER_ID = "duplicate order id (later lines)"
REFUNDS_NETTED = "refund lines netted into their orders"
REFUNDED_IN_FULL = "orders refunded in full"
PARTLY_REFUNDED = "orders partly refunded (net amount kept)"
REFUND_UNMATCHED = "refunded order or refund with no purchase to net against"
NOT_IN_CUSTOMERS = "customer not in the customers table"

# actions ("dropped..." counts towards ingest.max_dropped_share)
DROPPED = "dropped"
PARSED = "parsed"
EXCLUDED = "excluded from this quarter"
NETTED = "netted"
DROPPED_REFUNDED = "dropped (refunded)"
FLAGGED_KEPT = "flagged, kept"
KEPT_NO_ATTRIBUTES = "kept (no attributes)"


def date_before(min_valid_date: dt.date) -> str:
    """Check text of rule 4 (dates before ``ingest.min_valid_date``), in the run's language."""
    return tr("date before {date} (impossible)", date=fmt_date(min_valid_date))


def date_after(as_of: pd.Timestamp) -> str:
    """Check text of rule 5 (dates after the as-of date), in the run's language."""
    return tr("date after the as-of date {date}", date=fmt_date(as_of))


def amount_above(factor: float, median: float) -> str:
    """Check text of rule 10 (outliers against the median order), in the run's language."""
    return tr("amount above {factor}x the median order ({median})", factor=f"{factor:g}", median=fmt_number(median, 2))


def duplicates_refused(source: str, column: str, rows: int, examples: str) -> str:
    """Refusal when ``ingest.duplicate_order_ids`` is ``refuse``."""
    return (f"orders ({source}), column {column}: {rows:,} duplicate order ids, e.g. {examples}; set "
            "ingest.duplicate_order_ids: drop to keep the first line of each")


def nothing_left(source: str, as_of: pd.Timestamp, lines: int, findings: list) -> str:
    """Refusal when no completed order remains (``findings``: objects with ``check`` and ``rows``)."""
    top = "; ".join(f"{f.check}: {f.rows:,}" for f in findings[:4]) or "no rows"
    return (f"orders ({source}): no completed orders on or before {as_of.date()} remain after cleaning "
            f"({lines:,} lines read; {top})")


def too_many_dropped(source: str, dropped: int, lines: int, limit: float, findings: list) -> str:
    """Refusal past ``ingest.max_dropped_share``, naming the three biggest dropped findings."""
    share = dropped / lines
    top = "; ".join(f"{f.check} in {f.column}: {f.rows:,} (e.g. {f.examples})"
                    for f in sorted((f for f in findings if f.action.startswith("dropped")),
                                    key=lambda f: -f.rows)[:3])
    return (f"orders ({source}): {dropped:,} of {lines:,} lines ({share:.0%}) would be dropped, more "
            f"than ingest.max_dropped_share={limit:.0%}; biggest problems: {top}")


def format_examples(values: pd.Series, k: int) -> str:
    """The first ``k`` values, ``"; "``-separated, missing ones as ``<null>`` (as the reference writes them)."""
    values = values.head(k)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        values = values.astype("string")  # formatted here, for the k examples only
    vals = values.tolist()
    null = tr("<null>")
    return fmt_clauses(null if (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA)
                     else str(v) for v in vals)
