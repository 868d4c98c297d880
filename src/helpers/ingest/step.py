"""The ingestion step: read every source, apply the cleaning rules, summarise for ``ingest.json``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import pandas as pd

from helpers.frame.errors import InputDataError
from helpers.frame.progress import stage
from helpers.frame.settings import IngestParams, SparkSettings, previous_quarter, quarter_bounds
from helpers.ingest.clean_engine import clean_orders_engine
from helpers.ingest.rules import (
    Finding,
    action_label,
    clean_customers,
    clean_experiments,
    findings_table,
)
from helpers.ingest.scan import scan_orders
from helpers.ingest.sources import read_source
from helpers.locale import N_, tr

__all__ = [
    "intake_sentence",
    "IngestResult",
    "run_ingest",
    "monthly_summary",
    "save_outputs",
    "smallest_amount",
    "sources_table",
    "quality_for_display",
]


@dataclass
class IngestResult:
    """Clean tables, the data-quality findings and the headline numbers of ingestion.

    The clean orders are not held here: the engine wrote them to ``orders_path`` (a Parquet file; a
    folder of part files on Spark), and :meth:`orders_table` reads them on the run's engine.
    """

    orders_path: Path
    customers: pd.DataFrame | None
    experiments: pd.DataFrame | None
    findings: list[Finding]
    summary: dict = field(default_factory=dict)
    engine: str = "duckdb"
    spark: SparkSettings | None = None

    @property
    def quality(self) -> pd.DataFrame:
        """The data-quality table."""
        return findings_table(self.findings)

    def orders_table(self) -> ibis.Table:
        """The clean orders as a table on the run's engine (nothing is read into Python)."""
        from helpers.frame.engine import orders_table
        return orders_table(self.orders_path, self.engine, self.spark)

    @property
    def orders(self) -> pd.DataFrame:
        """The clean orders read into pandas: for tests and small exports only (the step never does this)."""
        return pd.read_parquet(self.orders_path)


def _orders_columns(p: IngestParams) -> list[str]:
    return [c for c in p.columns.orders.model_dump().values() if c]


def _skipped(table: str, columns: list[str]) -> list[Finding]:
    """Findings for optional mapped columns the export does not have (skipped, not an error)."""
    return [Finding(table, tr("optional column not in the export: not used"), c, 0, 0.0, "", "skipped")
            for c in columns]


#: The input tables, as the pages name them.
TABLE_LABELS = {"orders": N_("orders"), "customers": N_("customers"), "experiments": N_("experiments"),
                "all": N_("all")}


def run_ingest(p: IngestParams, out: str | Path | None = None) -> IngestResult:
    """Read and clean orders (required), customers and experiments (optional).

    The orders never come into pandas: :func:`helpers.ingest.scan.scan_orders` reads the export into
    the engine (``p.engine``: DuckDB streams Parquet, UTF-8 CSV and DuckDB files; Spark reads Parquet),
    :func:`helpers.ingest.clean_engine.clean_orders_engine` applies the cleaning rules there and
    writes the clean orders; only the findings, their examples and totals come back. The customers
    and experiments tables (one row per customer or assignment) are cleaned in pandas.

    Parameters
    ----------
    p : IngestParams
        Validated parameters of ``10_ingest``.
    out : path, optional
        Where the engine writes the clean orders (the notebook passes ``cat.target("orders")``);
        default: a new temporary folder (:func:`save_outputs` moves the file into the run folder).

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
    sc = scan_orders(p.sources.orders, _orders_columns(p), "orders", drop=pii, optional=opt, engine=p.engine,
                     spark=p.spark)
    if sc.missing_optional:
        oc = oc.model_copy(update={k: None for k, v in oc.model_dump().items() if v in sc.missing_optional})
    known = customers["customer_id"] if customers is not None else None
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="segreview-ingest-")) / "orders.parquet"
    stage(f"cleaning {sc.rows:,} order rows on the engine ({p.engine})")
    try:
        co = clean_orders_engine(sc.table, oc, p.ingest, as_of, str(sc.path.name), out, known)
    finally:
        sc.close()
    findings = _skipped("orders", sc.missing_optional) + co.findings + findings
    from helpers.frame.engine import orders_table
    t = orders_table(co.path, p.engine, p.spark)
    in_quarter = int(t.filter((t.order_ts >= ibis.timestamp(q_start))
                              & (t.order_ts < ibis.timestamp(as_of + pd.Timedelta(days=1)))).count().execute())
    if in_quarter == 0:
        raise InputDataError(
            f"orders ({sc.path.name}): no completed order falls in the quarter under review {p.quarter} "
            f"({q_start.date()} to {as_of.date()}); the clean orders run from {co.first_order.date()} "
            f"to {co.last_order.date()}. Is `quarter:` right, or is the export older than the quarter?")
    sources["orders"] = {
        "path": p.sources.orders.path or p.sources.orders.where,
        "sha256": sc.sha256,
        "rows_read": sc.rows,
        "rows_clean": co.rows,
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
        "orders": co.rows,
        "customers_with_orders": co.customers,
        "customers_in_table": None if customers is None else len(customers),
        "first_order": co.first_order.isoformat(),
        "last_order": co.last_order.isoformat(),
        "revenue": co.revenue,
        "optional_columns": sorted(set(co.columns) - {"customer_id", "order_ts", "amount"}),
        "experiments": None if experiments is None else sorted(experiments["experiment_id"].unique()),
        "findings": [{"table": x.table, "check": x.check, "column": x.column, "rows": x.rows,
                      "action": x.action} for x in findings],
        "rows_dropped": sum(x.rows for x in findings if x.action.startswith("dropped")),
    }
    return IngestResult(co.path, customers, experiments, findings, summary, p.engine, p.spark)


def monthly_summary(orders: pd.DataFrame | str | Path | ibis.Table | IngestResult) -> pd.DataFrame:
    """Orders, revenue and buying customers per calendar month (one aggregation on the engine).

    Parameters
    ----------
    orders : DataFrame, Parquet path, Ibis table or IngestResult
        Clean orders (``customer_id``, ``order_ts``, ``amount``); an ingestion result's orders are
        aggregated on its engine.
    """
    from helpers.frame.engine import as_table, money_sum, to_pandas
    if isinstance(orders, IngestResult):
        orders = orders.orders_table()
    if isinstance(orders, pd.DataFrame):
        _validate = {"customer_id", "order_ts", "amount"} - set(orders.columns)
        if _validate:
            raise KeyError(f"orders lack columns {sorted(_validate)}")
        orders = orders[["customer_id", "order_ts", "amount"]]
    t = as_table(orders)
    month = t.order_ts.truncate("M").name("month")
    g = t.group_by(month).aggregate(orders=t.count(), revenue=money_sum(t.amount), customers=t.customer_id.nunique())
    out = to_pandas(g.order_by("month"))
    out["month"] = out["month"].astype("datetime64[us]")
    out["orders"] = out["orders"].astype("int64")
    out["customers"] = out["customers"].astype("int64")
    return out[["month", "orders", "revenue", "customers"]]


def smallest_amount(result: IngestResult) -> float:
    """The smallest clean order amount (computed on the engine; the notebook checks it is positive)."""
    t = result.orders_table()
    return float(t.amount.min().execute())


def save_outputs(cat, result: IngestResult) -> None:
    """Write the clean tables, the quality table and ``ingest.json`` through the catalog.

    Optional tables that were not supplied are not written, so later steps can tell
    "not available" from an empty table (``Catalog.load_optional`` returns ``None``).
    """
    target = cat.target("orders")
    if Path(result.orders_path).resolve() != target.resolve():  # written elsewhere: moved in (atomic on one disk)
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.move(str(result.orders_path), str(tmp))
        os.replace(tmp, target)
        result.orders_path = target
    for name in ("customers", "experiments"):
        frame = getattr(result, name)
        if frame is not None:
            cat.save(name, frame)
    cat.save("quality", result.quality)
    cat.save("ingest", result.summary)


def intake_sentence(summary: dict, currency: str) -> str:
    """The page's opening sentence: lines read, completed orders and customers kept, period, revenue."""
    from helpers.locale import fmt_date, fmt_int, fmt_quarter
    from helpers.page.text import money
    return tr("**Quarter {quarter}** (as of {as_of}). Read {lines} order lines; **{orders} completed orders** from "
              "**{customers} customers** remain after cleaning, from {first} to {last}, worth **{revenue}** net of "
              "refunds.", quarter=fmt_quarter(summary["quarter"]), as_of=fmt_date(summary["as_of"]),
              lines=fmt_int(summary["sources"]["orders"]["rows_read"]), orders=fmt_int(summary["orders"]),
              customers=fmt_int(summary["customers_with_orders"]), first=fmt_date(summary["first_order"]),
              last=fmt_date(summary["last_order"]), revenue=money(summary["revenue"], currency))


def sources_table(summary: dict) -> pd.DataFrame:
    """One row per input table: file, rows read, rows kept, SHA-256 (first 12 hex digits)."""
    rows = []
    for name in ("orders", "customers", "experiments"):
        s = summary["sources"].get(name)
        if s is None:
            rows.append({"table": tr(TABLE_LABELS[name]), "file": tr("not provided"), "rows read": None,
                         "rows kept": None, "sha256": ""})
        else:
            rows.append({"table": tr(TABLE_LABELS[name]), "file": s["path"], "rows read": s["rows_read"],
                         "rows kept": s["rows_clean"], "sha256": s["sha256"][:12]})
    return pd.DataFrame(rows)


def quality_for_display(quality: pd.DataFrame) -> pd.DataFrame:
    """The quality table in the page's language, most rows first; one line when nothing was found.

    The checks are already sentences in the page's language; tables and actions are translated here.
    """
    if quality.empty:
        return pd.DataFrame([{"table": tr(TABLE_LABELS["all"]), "check": tr("no problems found"), "column": "",
                              "rows": 0, "share": 0.0, "examples": "", "action": ""}])
    out = quality.sort_values("rows", ascending=False, kind="stable")[
        ["table", "check", "column", "rows", "share", "examples", "action"]].copy()
    out["table"] = out["table"].map(lambda t: tr(TABLE_LABELS.get(t, t)))
    out["action"] = out["action"].map(action_label)
    return out
