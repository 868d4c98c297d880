"""``segreview backfill``: render a range of quarters from the same export in one go.

Every quarter is a full run of its own (the same notebooks, parameters and publication as
``segreview run --quarter Q``), so a backfilled quarter is the quarter a single run would give.
What the quarters share is what can be shared without changing a result:

- the kernels (:mod:`helpers.run.execute`): a kernel that ran a step is reset and kept for the same
  step of the next quarter, so the start-up and the imports are paid once per step;
- the machine: ``jobs`` notebooks run at the same time across quarters (the next quarter's ingestion
  runs while this quarter's models are fitted); the earliest quarter goes first whenever several
  notebooks could start, and a quarter's review starts only once the previous quarter is published,
  since it compares with it.

The clean inputs are not shared: cleaning depends on the as-of date (later orders are excluded,
refunds and duplicates are resolved among the orders up to it), so each quarter cleans the export
itself. Quarters already rendered are skipped unless ``force``. A quarter that fails stops only
itself; the others are rendered, and the command's exit code is the worst quarter's.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from helpers.frame.errors import ParameterError, RunError
from helpers.frame.settings import load_config, parameter_files, project_root
from helpers.run.interrupt import Interrupted, terminate_raises
from helpers.run.plan import Plan, plan_quarter, with_quarter
from helpers.run.quarters import quarter_range
from helpers.run.runner import render_quarters

__all__ = ["QuarterOutcome", "backfill", "exit_code", "summary"]


@dataclass(frozen=True)
class QuarterOutcome:
    """What became of one quarter of a backfill.

    Attributes
    ----------
    quarter : str
    state : str
        ``"rendered"``, ``"skipped"`` (already rendered, no ``force``) or ``"failed"``.
    seconds : float
        From the start of the backfill to the quarter's publication (or failure).
    detail : str
        The page (rendered), why it was skipped, or the error (failed).
    exit_code : int
        0 rendered or skipped, 1 a run or input error, 2 a parameter error.
    unavailable : int
        Parts of its pages that say "not available" (from ``run.json``).
    error : str
        The whole error message of a failed quarter (``detail`` is its first line).
    """

    quarter: str
    state: str
    seconds: float
    detail: str
    exit_code: int
    unavailable: int = 0
    error: str = ""

    def line(self) -> str:
        """The quarter's summary line."""
        if self.state == "rendered":
            na = f"; {self.unavailable} part(s) not available" if self.unavailable else ""
            return f"{self.quarter}  rendered   {self.seconds:6.1f} s  {self.detail}{na}"
        if self.state == "skipped":
            return f"{self.quarter}  skipped    {'':>8}  {self.detail}"
        return f"{self.quarter}  FAILED     {self.seconds:6.1f} s  {self.detail}"


def exit_code(error: BaseException) -> int:
    """The command's exit code for ``error``: 2 for parameters, 1 for everything else."""
    return 2 if isinstance(error, ParameterError) else 1


def _one_line(message: str) -> str:
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    head = lines[0] if lines else ""
    if head.endswith(":") and len(lines) > 1:  # "40_churn failed in cell 3 (ValueError):" + the error
        head = f"{head} {lines[1]}"
    return head


def backfill(params_file: str | Path, first: str, last: str, *, force: bool = False, jobs: int = 2,
             reuse_kernels: bool = True, log: Callable[[str], None] = print,
             status: Callable[[str], None] | None = None, memory_budget: int | None = None) -> list[QuarterOutcome]:
    """Render every quarter from ``first`` to ``last`` with one parameters file.

    Parameters
    ----------
    params_file : str or Path
        The parameters (its ``quarter:`` is replaced by each quarter of the range).
    first, last : str
        The range, both included (``2025Q1``, ``2026Q3``).
    force : bool
        Render quarters that are already rendered again (else they are skipped).
    jobs : int
        Notebooks executed at the same time, across quarters.
    reuse_kernels : bool
        Keep a kernel that ran a step for the same step of the next quarter (``False``: a fresh
        kernel per notebook, as ``segreview run``).
    log, status : callable
        Sinks of event lines and of the cell each notebook is on.
    memory_budget : int, optional
        Bytes the run's processes together should stay under: kernels are started ahead of their
        notebooks only within it (:class:`helpers.run.execute.Scheduler`); ``None``: no budget.

    Returns
    -------
    list of QuarterOutcome
        One per quarter of the range, in order.

    Raises
    ------
    ParameterError
        Bad parameters or range (before anything runs).
    Interrupted, KeyboardInterrupt
        SIGTERM or Ctrl-C: quarters published so far stay, the others are left as they were.
    """
    t0 = time.perf_counter()
    os.environ["SEGREVIEW_ROOT"] = str(project_root())
    if jobs < 1:
        raise RunError(f"jobs must be at least 1, got {jobs}")
    quarters = quarter_range(first, last)
    config, files = load_config(params_file), parameter_files(params_file)
    outcomes: dict[str, QuarterOutcome] = {}
    plans: list[Plan] = []
    for q in quarters:
        cfg = with_quarter(config, q)
        final = project_root() / cfg.reports_dir / q
        if final.exists() and not force:
            outcomes[q] = QuarterOutcome(q, "skipped", 0.0, f"already rendered ({_show(final)}/); --force renders "
                                                            "it again", 0)
            continue
        plans.append(plan_quarter(params_file, cfg, files, force=force))
    todo = [p.quarter for p in plans]
    log(f"segreview backfill: {len(quarters)} quarter(s) {first} to {last}; rendering {len(todo)}"
        + (f" ({', '.join(todo)})" if todo else "") + f", {jobs} notebook(s) at a time")

    if plans:
        with terminate_raises():
            try:
                runs = render_quarters(plans, jobs, log, status or log, chain=True,
                                       prefix=lambda p: f"{p.quarter} ", reuse_kernels=reuse_kernels,
                                       memory_budget=memory_budget)
            except (KeyboardInterrupt, Interrupted):
                log("interrupted: quarters published so far stay; the others were not changed")
                raise
        for r in runs:
            q = r.plan.quarter
            if r.published:
                record = json.loads((r.plan.final / "run.json").read_text())
                parts = sum(len(v) for v in record.get("unavailable", {}).values())
                outcomes[q] = QuarterOutcome(q, "rendered", r.ended - t0, f"{_show(r.plan.final / 'index.html')}",
                                             0, parts)
            else:
                err = r.error if r.error is not None else RunError("not rendered")
                outcomes[q] = QuarterOutcome(q, "failed", r.ended - t0, _one_line(str(err)), exit_code(err),
                                             error=str(err))
    return [outcomes[q] for q in quarters]


def _show(p: Path) -> str:
    root = project_root()
    return str(p.relative_to(root)) if p.is_relative_to(root) else str(p)


def summary(outcomes: list[QuarterOutcome]) -> tuple[list[str], int]:
    """The summary lines (one per quarter) and the exit code of the worst quarter."""
    return [o.line() for o in outcomes], max((o.exit_code for o in outcomes), default=0)
