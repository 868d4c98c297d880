"""The framework every step stands on: settings, the step registry, the catalog, "not available".

A notebook starts with one call::

    S = frame.begin("30_clv", globals())   # validates the parameters cell, opens the catalog
    P, cat = S.params, S.catalog

- :mod:`helpers.frame.settings`  parameter models (pydantic, ``extra="forbid"``) and YAML merging
- :mod:`helpers.frame.registry`  the steps, what each reads and writes, derived order and needs
- :mod:`helpers.frame.catalog`   artifact names -> files of a run (or scratch) folder
- :mod:`helpers.frame.outcome`   :class:`~helpers.frame.outcome.NotAvailable` and summary fields
- :mod:`helpers.frame.engine`    where transaction-level Ibis expressions run (DuckDB, Spark)
- :mod:`helpers.frame.progress`  stages of long helpers, shown by the runner
- :mod:`helpers.frame.errors`    the project's error types
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from helpers.frame.catalog import Catalog
from helpers.frame.outcome import NotAvailable
from helpers.frame.settings import StepParams, from_namespace, previous_quarter, quarter_bounds

__all__ = ["StepRun", "begin", "NotAvailable", "Catalog"]


@dataclass(frozen=True)
class StepRun:
    """What a notebook works with: its validated parameters, its catalog and the quarter's dates."""

    step: str
    params: Any
    catalog: Catalog
    quarter_start: pd.Timestamp
    as_of: pd.Timestamp
    previous_quarter: str
    previous_as_of: pd.Timestamp


def begin(step: str, namespace: dict[str, Any]) -> StepRun:
    """Start a pipeline notebook: validate its parameters, set the page language and style, open its catalog.

    Parameters
    ----------
    step : str
        The notebook's step name (``"30_clv"``).
    namespace : dict
        The notebook's ``globals()`` after the parameters cell (and papermill's injected cell).

    Returns
    -------
    StepRun
        Under the runner the catalog is the run folder; in a hand run (``run_dir`` empty) it writes to
        ``reports/.scratch/<quarter>/`` and reads the published quarter for what it lacks.
    """
    from helpers.locale import set_language
    from helpers.page import set_segment_order, setup_style

    p: StepParams = from_namespace(step, namespace)
    set_language(p.language)
    setup_style()
    if getattr(p, "rfm", None) is not None:
        set_segment_order(p.rfm.segment_order)
    if getattr(p, "duckdb", None) is not None:  # also under engine: spark (DuckDB still reads small files)
        from helpers.frame.engine import configure_duckdb
        configure_duckdb(p.duckdb)  # this kernel's DuckDB: memory limit and threads (params duckdb:)
    q_start, as_of = quarter_bounds(p.quarter)
    prev = previous_quarter(p.quarter)
    export = getattr(p, "export", None)
    csv_encoding = export.csv_encoding(p.language) if export is not None else "utf-8"
    cat = Catalog.for_run(p.quarter, p.run_dir, p.reports_dir, step=step, csv_encoding=csv_encoding)
    return StepRun(step, p, cat, q_start, as_of, prev, quarter_bounds(prev)[1])
