"""The ingestion step: read every source, apply the cleaning rules, summarise for ``ingest.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from helpers.frame.errors import InputDataError
from helpers.frame.progress import stage
from helpers.frame.settings import IngestParams, previous_quarter, quarter_bounds
from helpers.ingest.rules import (
    Finding,
    clean_customers,
    clean_experiments,
    clean_orders,
    findings_table,
)
from helpers.ingest.sources import read_source

__all__ = [
    "intake_sentence",
    "IngestResult",
    "run_ingest",
    "monthly_summary",
    "save_outputs",
    "sources_table",
    "quality_for_display",
]


@dataclass
class IngestResult:
    """Clean tables, the data-quality findings and the headline numbers of ingestion."""

    orders: pd.DataFrame
    customers: pd.DataFrame | None
    experiments: pd.DataFrame | None
    findings: list[Finding]
    summary: dict = field(default_factory=dict)

    @property
    def quality(self) -> pd.DataFrame:
        """The data-quality table."""
        return findings_table(self.findings)


def _orders_columns(p: IngestParams) -> list[str]:
    return [c for c in p.columns.orders.model_dump().values() if c]


def _skipped(table: str, columns: list[str]) -> list[Finding]:
    """Findings for optional mapped columns the export does not have (skipped, not an error)."""
    return [Finding(table, "optional column not in the export: not used", c, 0, 0.0, "", "skipped")
            for c in columns]


def run_ingest(p: IngestParams) -> IngestResult:
    """Read and clean orders (required), customers and experiments (optional).

    Parameters
    ----------
    p : IngestParams
        Validated parameters of ``10_ingest``.

    Returns
    -------
    IngestResult
        The ``summary`` dict is what ``ingest.json`` holds: quarter, as-of date, per-source
        path, SHA-256, rows read and rows kept, and totals of the clean orders.
    """
    q_start, as_of = quarter_bounds(p.quarter)
    pii = list(p.pii_columns)
    sources: dict[str, dict] = {}
    findings: list[Finding] = []

    customers = None
    if p.sources.customers is not None:
        c = p.columns.customers
        opt = [x for x in [c.signup_date, c.churned, *c.attributes] if x]
        stage("reading and cleaning the customers table")
        rc = read_source(p.sources.customers, [c.customer_id, *opt], "customers", drop=pii, optional=opt)
        if rc.missing_optional:
            c = c.model_copy(update={
                "signup_date": None if c.signup_date in rc.missing_optional else c.signup_date,
                "churned": None if c.churned in rc.missing_optional else c.churned,
                "attributes": [a for a in c.attributes if a not in rc.missing_optional]})
        customers, f = clean_customers(rc.frame, c, p.ingest, str(rc.path.name))
        findings += _skipped("customers", rc.missing_optional) + f
        sources["customers"] = {"path": p.sources.customers.path or p.sources.customers.where, "sha256": rc.sha256,
                                "rows_read": rc.rows, "rows_clean": len(customers)}

    oc = p.columns.orders
    opt = [v for k, v in oc.model_dump().items() if v and k not in ("customer_id", "order_ts", "amount")]
    stage("reading the orders")
    ro = read_source(p.sources.orders, _orders_columns(p), "orders", drop=pii, optional=opt)
    if ro.missing_optional:
        oc = oc.model_copy(update={k: None for k, v in oc.model_dump().items() if v in ro.missing_optional})
    known = customers["customer_id"] if customers is not None else None
    stage(f"cleaning {ro.rows:,} order rows")
    orders, f = clean_orders(ro.frame, oc, p.ingest, as_of, str(ro.path.name), known)
    findings = _skipped("orders", ro.missing_optional) + f + findings
    in_quarter = int(((orders["order_ts"] >= q_start) & (orders["order_ts"] < as_of + pd.Timedelta(days=1))).sum())
    if in_quarter == 0:
        raise InputDataError(
            f"orders ({ro.path.name}): no completed order falls in the quarter under review {p.quarter} "
            f"({q_start.date()} to {as_of.date()}); the clean orders run from {orders['order_ts'].min().date()} "
            f"to {orders['order_ts'].max().date()}. Is `quarter:` right, or is the export older than the quarter?")
    sources["orders"] = {
        "path": p.sources.orders.path or p.sources.orders.where,
        "sha256": ro.sha256,
        "rows_read": ro.rows,
        "rows_clean": len(orders),
    }

    experiments = None
    if p.sources.experiments is not None:
        e = p.columns.experiments
        wanted = [v for k, v in e.model_dump().items() if k != "metrics"] + list(e.metrics)
        stage("reading and cleaning the experiments table")
        re_ = read_source(p.sources.experiments, wanted, "experiments", drop=pii)
        experiments, f = clean_experiments(re_.frame, e, p.ingest, as_of, str(re_.path.name))
        findings += f
        sources["experiments"] = {
            "path": p.sources.experiments.path or p.sources.experiments.where,
            "sha256": re_.sha256,
            "rows_read": re_.rows,
            "rows_clean": len(experiments),
        }

    summary = {
        "quarter": p.quarter,
        "as_of": as_of.date().isoformat(),
        "quarter_start": q_start.date().isoformat(),
        "previous_quarter": previous_quarter(p.quarter),
        "currency": p.currency,
        "sources": sources,
        "orders": len(orders),
        "customers_with_orders": int(orders["customer_id"].nunique()),
        "customers_in_table": None if customers is None else len(customers),
        "first_order": orders["order_ts"].min().isoformat(),
        "last_order": orders["order_ts"].max().isoformat(),
        "revenue": round(float(orders["amount"].sum()), 2),
        "optional_columns": sorted(set(orders.columns) - {"customer_id", "order_ts", "amount"}),
        "experiments": None if experiments is None else sorted(experiments["experiment_id"].unique()),
        "findings": [{"table": x.table, "check": x.check, "column": x.column, "rows": x.rows,
                      "action": x.action} for x in findings],
        "rows_dropped": sum(x.rows for x in findings if x.action.startswith("dropped")),
    }
    return IngestResult(orders, customers, experiments, findings, summary)


def monthly_summary(orders: pd.DataFrame) -> pd.DataFrame:
    """Orders, revenue and buying customers per calendar month (one DuckDB aggregation).

    Parameters
    ----------
    orders : DataFrame
        Clean orders (``customer_id``, ``order_ts``, ``amount``).
    """
    _validate = {"customer_id", "order_ts", "amount"} - set(orders.columns)
    if _validate:
        raise KeyError(f"orders lack columns {sorted(_validate)}")
    from helpers.frame.engine import as_table, to_pandas
    t = as_table(orders[["customer_id", "order_ts", "amount"]])
    month = t.order_ts.truncate("M").name("month")
    g = t.group_by(month).aggregate(orders=t.count(), revenue=t.amount.sum(), customers=t.customer_id.nunique())
    out = to_pandas(g.order_by("month"))
    out["month"] = out["month"].astype("datetime64[us]")
    out["orders"] = out["orders"].astype("int64")
    out["customers"] = out["customers"].astype("int64")
    return out[["month", "orders", "revenue", "customers"]]


def save_outputs(cat, result: IngestResult) -> None:
    """Write the clean tables, the quality table and ``ingest.json`` through the catalog.

    Optional tables that were not supplied are not written, so later steps can tell
    "not available" from an empty table (``Catalog.load_optional`` returns ``None``).
    """
    cat.save("orders", result.orders)
    for name in ("customers", "experiments"):
        frame = getattr(result, name)
        if frame is not None:
            cat.save(name, frame)
    cat.save("quality", result.quality)
    cat.save("ingest", result.summary)


def intake_sentence(summary: dict, currency: str) -> str:
    """The page's opening sentence: lines read, completed orders and customers kept, period, revenue."""
    from helpers.locale import fmt_date, fmt_int, tr
    from helpers.page.text import money
    return tr("**Quarter {quarter}** (as of {as_of}). Read {lines} order lines; **{orders} completed orders** from "
              "**{customers} customers** remain after cleaning, from {first} to {last}, worth **{revenue}** net of "
              "refunds.", quarter=summary["quarter"], as_of=fmt_date(summary["as_of"]),
              lines=fmt_int(summary["sources"]["orders"]["rows_read"]), orders=fmt_int(summary["orders"]),
              customers=fmt_int(summary["customers_with_orders"]), first=fmt_date(summary["first_order"]),
              last=fmt_date(summary["last_order"]), revenue=money(summary["revenue"], currency))


def sources_table(summary: dict) -> pd.DataFrame:
    """One row per input table: file, rows read, rows kept, SHA-256 (first 12 hex digits)."""
    rows = []
    for name in ("orders", "customers", "experiments"):
        s = summary["sources"].get(name)
        if s is None:
            rows.append({"table": name, "file": "not available", "rows read": None,
                         "rows kept": None, "sha256": ""})
        else:
            rows.append({"table": name, "file": s["path"], "rows read": s["rows_read"],
                         "rows kept": s["rows_clean"], "sha256": s["sha256"][:12]})
    return pd.DataFrame(rows)


def quality_for_display(quality: pd.DataFrame) -> pd.DataFrame:
    """The quality table with readable headers, most rows first; one line when nothing was found."""
    if quality.empty:
        return pd.DataFrame([{"table": "all", "check": "no problems found", "column": "", "rows": 0,
                              "share": 0.0, "examples": "", "action": ""}])
    return quality.sort_values("rows", ascending=False, kind="stable")[
        ["table", "check", "column", "rows", "share", "examples", "action"]]
