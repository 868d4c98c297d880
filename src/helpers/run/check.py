"""``segreview check``: everything a run refuses before its first notebook, without running one.

1. the parameters (the files merged, pydantic validation), as :func:`helpers.frame.settings.load_config`;
2. every notebook's ``parameters`` cell against its model, as the runner;
3. the inputs, read and cleaned in this process by the ingestion step's own code
   (:func:`helpers.ingest.run_ingest`, the code ``10_ingest`` runs, with the quarter's parameters):
   each source exists and can be read (a file; a table in a DuckDB file; a PostgreSQL table: connect,
   list tables and columns, read), its mapped columns are there (else the closest names are
   suggested), the cleaning rules accept it (not too many lines dropped, ...), and the quarter has
   completed orders. The messages are the run's messages, because they come from the same code.

Nothing is written. Reading the inputs takes as long as the run's first step does (a few seconds up
to 100,000 customers, about half a minute for 10 million order lines).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ibis
import pandas as pd

from helpers.frame.settings import (
    IngestParams,
    load_config,
    parameter_files,
    project_root,
    quarter_bounds,
    step_parameters,
)
from helpers.run.plan import describe_files, load_notebook, with_quarter, write_notebooks

__all__ = ["SourceReport", "CheckReport", "check"]

_SKIPPED = "optional column not in the export: not used"


@dataclass(frozen=True)
class SourceReport:
    """What the check found in one input table.

    Attributes
    ----------
    table : str
        ``orders``, ``customers`` or ``experiments``.
    where : str
        The file (or database URL without credentials, and table); ``""`` when not given.
    rows_read, rows_kept : int or None
        Lines read and kept by the cleaning rules.
    notes : list of str
        Anything else worth knowing (optional columns the export lacks, lines dropped, orders in
        the quarter).
    """

    table: str
    where: str
    rows_read: int | None
    rows_kept: int | None
    notes: tuple[str, ...] = ()

    def line(self) -> str:
        """One line for the terminal."""
        if self.rows_read is None:
            return f"{self.table:<12} not given (optional): its sections will say 'not available'"
        notes = "".join(f"; {n}" for n in self.notes)
        return f"{self.table:<12} {self.where}: {self.rows_read:,} rows read, {self.rows_kept:,} kept{notes}"


@dataclass(frozen=True)
class CheckReport:
    """The outcome of a check that passed."""

    parameters: str
    quarter: str
    steps: list[str]
    sources: list[SourceReport]
    reports: Path

    def lines(self) -> list[str]:
        """The check's summary, one line per item."""
        start, end = quarter_bounds(self.quarter)
        out = [f"parameters   {self.parameters}: valid; quarter {self.quarter} ({start.date()} to {end.date()})",
               f"notebooks    {', '.join(self.steps)}: their parameters cells match their models",
               *(s.line() for s in self.sources)]
        target = self.reports / self.quarter
        if target.exists():
            out.append(f"reports      {target} exists: `segreview run` replaces it only with --force")
        return out


def _in_quarter(orders: ibis.Table, quarter: str) -> int:
    """Completed clean orders in ``quarter``, counted on the engine (the order log never comes into pandas)."""
    start, end = quarter_bounds(quarter)
    ts = orders.order_ts
    return int(orders.filter((ts >= ibis.timestamp(start)) & (ts < ibis.timestamp(end + pd.Timedelta(days=1))))
               .count().execute())


def _source_reports(summary: dict, findings: list, in_quarter: int, quarter: str) -> list[SourceReport]:
    out = []
    for table in ("orders", "customers", "experiments"):
        s = summary["sources"].get(table)
        if s is None:
            out.append(SourceReport(table, "", None, None))
            continue
        notes = []
        missing = [f.column for f in findings if f.table == table and f.check == _SKIPPED]
        if missing:
            notes.append(f"optional column(s) not in the export, not used: {', '.join(missing)}")
        dropped = sum(f.rows for f in findings if f.table == table and f.action.startswith("dropped"))
        excluded = sum(f.rows for f in findings if f.table == table and f.action.startswith("excluded"))
        if dropped or excluded:
            notes.append(f"cleaning rules: {dropped:,} line(s) dropped"
                         + (f", {excluded:,} after the as-of date" if excluded else "")
                         + " (the data-intake page says why)")
        if table == "orders":
            notes.append(f"{summary['customers_with_orders']:,} customers; {in_quarter:,} completed orders in "
                         f"{quarter}; orders from {summary['first_order'][:10]} to {summary['last_order'][:10]}")
        if table == "experiments" and summary.get("experiments"):
            notes.append(f"experiments {', '.join(summary['experiments'])}")
        out.append(SourceReport(table, s["path"], s["rows_read"], s["rows_clean"], tuple(notes)))
    return out


def check(params_file: str | Path, quarter: str | None = None,
          log: Callable[[str], None] = lambda line: None) -> CheckReport:
    """Check a parameters file, the notebooks and the inputs as a run would, running no notebook.

    Parameters
    ----------
    params_file : str or Path
        The parameters to check.
    quarter : str, optional
        Check this quarter instead of the file's ``quarter:`` (as ``segreview run --quarter``).
    log : callable
        Sink of a line before the inputs are read (it can take a while).

    Returns
    -------
    CheckReport
        What was checked; its :meth:`CheckReport.lines` are the summary.

    Raises
    ------
    ParameterError
        Bad parameters, or a base file that does not exist.
    RunError
        A notebook is missing or its parameters cell does not match its model.
    InputDataError
        A source is missing or unreadable, lacks a mapped column, is refused by a cleaning rule, or
        has no completed order in the quarter: the message a run would stop with.
    """
    from helpers.ingest import run_ingest

    config = with_quarter(load_config(params_file), quarter)
    files = parameter_files(params_file)
    root = project_root()
    notebooks = {s: load_notebook(root / "notebooks" / f"{s}.py") for s in config.steps}
    with tempfile.TemporaryDirectory(prefix="segreview-check-") as d:
        write_notebooks(notebooks, Path(d))
    log(f"reading the inputs of {config.quarter} as 10_ingest does ...")
    params = IngestParams.model_validate(step_parameters(config, "10_ingest", "(check: nothing is written)"))
    # the engine writes the clean orders somewhere: a temporary folder, removed with what is in it
    with tempfile.TemporaryDirectory(prefix="segreview-check-") as d:
        result = run_ingest(params, Path(d) / "orders.parquet")
        in_quarter = _in_quarter(result.orders_table(), config.quarter)
    return CheckReport(parameters=describe_files(files, root), quarter=config.quarter, steps=list(config.steps),
                       sources=_source_reports(result.summary, result.findings, in_quarter, config.quarter),
                       reports=root / config.reports_dir)
