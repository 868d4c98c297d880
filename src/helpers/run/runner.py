"""The pipeline run (design.md §4): plan, execute, record, publish.

1. **plan** (:mod:`helpers.run.plan`): merge ``params/base.yaml`` with the quarter's file and validate
   (pydantic, ``extra="forbid"``); choose the steps; check every notebook's ``parameters`` cell against
   its model (``papermill.inspect_notebook``);
2. **execute** (:mod:`helpers.run.execute`): the notebooks (jupytext ``py:percent``, kernel ``python3``,
   working directory = project root) run into a temporary folder beside ``reports/<quarter>/``, each
   once the notebooks whose artifacts it reads have finished (:func:`helpers.frame.registry.needs`),
   up to ``jobs`` at a time; the first failure stops the quarter (and the notebook running beside it),
   says which cell failed and why, and keeps the failed notebook under ``reports/.failed/``;
3. **render** each executed notebook to HTML as it finishes (``index.html`` is the review);
4. **record** ``run.json`` (:mod:`helpers.run.record`) and **publish** (:mod:`helpers.run.publish`):
   the folder replaces ``reports/<quarter>/`` in one rename (an existing quarter only with ``force``);
   ``reports/index.html`` is rebuilt.

A failed or interrupted run (Ctrl-C, or SIGTERM: :class:`Interrupted`) removes its temporary folder and
leaves the published quarter as it was. :func:`render_quarters` does steps 2-4 for several quarters
at once (``segreview backfill``), sharing the kernels.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from helpers.frame.errors import RunError, SegreviewError
from helpers.frame.registry import REVIEW_STEP, awaits
from helpers.frame.settings import previous_quarter, project_root, step_parameters
from helpers.run.execute import SETTLED, SHELF, Finished, Scheduler, Task, imported_modules
from helpers.run.interrupt import Interrupted, terminate_raises
from helpers.run.plan import Plan, check_notebook_parameters, load_notebook, plan_run, select_steps, write_notebooks
from helpers.run.publish import Pages, RunFolder, publish, quarter_folder, step_error, update_reports_index
from helpers.run.record import write_run_record

__all__ = [
    "Interrupted",
    "terminate_raises",
    "QuarterRun",
    "render_quarters",
    "run",
    # kept importable from here for callers of the single-module runner
    "select_steps",
    "load_notebook",
    "check_notebook_parameters",
    "imported_modules",
]


@dataclass
class QuarterRun:
    """One quarter being executed: its plan, run folder, pages, timings and outcome.

    Attributes
    ----------
    error : SegreviewError or None
        Why the quarter failed (``None`` while it runs and once it is published).
    published : bool
        Whether it replaced ``reports/<quarter>/``.
    """

    plan: Plan
    folder: RunFolder
    prefix: str = ""
    started: float = field(default_factory=time.perf_counter)
    seconds: dict[str, float] = field(default_factory=dict)
    timeline: dict[str, dict[str, float]] = field(default_factory=dict)
    pages: Pages | None = None
    error: SegreviewError | None = None
    published: bool = False
    total: float = 0.0
    ended: float = 0.0

    def start(self) -> None:
        """Create the run folder, write the notebooks and check their parameters cells."""
        self.folder.create()
        write_notebooks(self.plan.notebooks, self.folder.path / "sources")
        self.pages = Pages(self.plan, self.folder)

    def tasks(self, after: frozenset[tuple[str, str]] = frozenset()) -> list[Task]:
        """The quarter's notebooks as tasks; each also waits for ``after``."""
        n = len(self.plan.steps)
        out = []
        for i, s in enumerate(self.plan.steps, 1):
            waits = {(self.plan.quarter, d) for d in self.plan.needs[s]}
            late = awaits(s, self.plan.steps)
            out.append(Task(group=self.plan.quarter, step=s, source=self.folder.path / "sources" / f"{s}.ipynb",
                            output=self.folder.executed(s),
                            parameters=step_parameters(self.plan.config, s, self.folder.path),
                            progress_file=self.folder.progress_file(s), label=f"{self.prefix}[{i}/{n}] {s}",
                            after=frozenset(waits) | after,
                            awaits=frozenset((self.plan.quarter, w) for w in late.values()),
                            await_files=tuple((a, str(self.folder.done_file(w))) for a, w in sorted(late.items())),
                            done_file=self.folder.done_file(s)))
        return out

    def step_done(self, fin: Finished) -> None:
        """A notebook finished: note its time, render its page."""
        s = fin.task.step
        self.seconds[s] = round(fin.end - fin.start, 2)
        self.timeline[s] = {"start": round(fin.start - self.started, 2), "end": round(fin.end - self.started, 2)}
        self.pages.render(s)

    def finish(self, jobs: int, log: Callable[[str], None]) -> None:
        """Every step ran: wait for the pages, write ``run.json``, publish."""
        t0 = time.perf_counter()
        n = self.pages.finish()
        self.seconds["render_html"] = round(time.perf_counter() - t0, 2)
        log(f"{self.prefix}rendered {n} page(s) ({self.seconds['render_html']:.1f} s after the last notebook)")
        self.total = time.perf_counter() - self.started
        write_run_record(self.plan, self.folder.path, self.seconds, self.timeline, jobs, self.total)
        self.folder.tidy()
        publish(self.folder.path, self.plan.final)
        self.published = True
        self.ended = time.perf_counter()

    def fail(self, fin: Finished) -> None:
        """A step failed: keep its notebook, remove the run folder."""
        self.error = step_error(self.folder, fin.task.step, fin.error)
        self.ended = time.perf_counter()
        self.total = self.ended - self.started
        self.abandon()

    def abandon(self) -> None:
        """Stop rendering and remove the run folder (unless published)."""
        if self.pages is not None:
            self.pages.abandon()
        if not self.published:
            self.folder.remove()


def render_quarters(plans: list[Plan], jobs: int, log: Callable[[str], None], status: Callable[[str], None],
                    chain: bool = False, prefix: Callable[[Plan], str] = lambda p: "",
                    reuse_kernels: bool = True, memory_budget: int | None = None) -> list[QuarterRun]:
    """Execute, render, record and publish each plan's quarter, sharing ``jobs`` kernels among them.

    Parameters
    ----------
    plans : list of Plan
        Quarters to render, in the order their notebooks should start when several could.
    jobs : int
        Notebooks executed at the same time.
    log, status : callable
        Sinks of event lines and of the cell each notebook is on.
    chain : bool
        A quarter's review waits until the previous quarter, when it is among the plans, has been
        published (or has failed): the review compares with the previous quarter's published report
        (``segreview backfill``).
    prefix : callable
        Put before every line of a quarter (e.g. its name).
    reuse_kernels : bool
        Keep a kernel that ran a step for the same step of a later quarter (see :mod:`helpers.run.execute`).
    memory_budget : int, optional
        Bytes the run's processes together should stay under: kernels are started ahead of their
        notebooks only within it (:class:`helpers.run.execute.Scheduler`); ``None``: no budget.

    Returns
    -------
    list of QuarterRun
        One per plan: published, or failed with its error. A failure stops only its own quarter.
    """
    runs = [QuarterRun(p, RunFolder(p), prefix=prefix(p)) for p in plans]
    by_quarter = {r.plan.quarter: r for r in runs}
    notebooks = {s: nb for p in plans for s, nb in p.notebooks.items()}
    # a Spark run's kernels hold its Spark session (a JVM): they end with the run
    shelf = None if any(p.config.engine == "spark" for p in plans) else SHELF
    scheduler = Scheduler(plans[0].root, notebooks, jobs, log, status, reuse_kernels=reuse_kernels,
                          memory_budget=memory_budget, shelf=shelf)
    tasks: list[Task] = []
    for r in runs:
        prev = previous_quarter(r.plan.quarter)
        previous = frozenset({(prev, SETTLED)}) if chain and prev in by_quarter else frozenset()
        tasks += [replace(t, after=t.after | previous) if t.step == REVIEW_STEP else t for t in r.tasks()]

    def on_group_end(quarter: str, failure: Finished | None) -> None:
        r = by_quarter[quarter]
        if failure is not None:
            r.fail(failure)
            return
        r.finish(jobs, log)
        update_reports_index(r.plan.reports)

    try:
        scheduler.start_ahead(tasks)  # the first kernels start while the notebooks are written and checked
        for r in runs:
            r.start()
            log(f"{r.prefix}segreview: quarter {r.plan.quarter}, steps {', '.join(r.plan.steps)}")
        scheduler.run(tasks, on_done=lambda fin: by_quarter[fin.task.group].step_done(fin), on_group_end=on_group_end)
        k = scheduler.kernels
        if len(runs) > 1 or k.from_earlier:
            earlier = f", {k.from_earlier} kept from an earlier run" if k.from_earlier else ""
            log(f"{len(tasks)} notebooks on {k.started + k.from_earlier} kernels "
                f"({k.reused} kernel(s) reused for a later quarter{earlier})")
    finally:
        scheduler.close()
        for r in runs:
            if not r.published and r.error is None:  # interrupted, or a bug: nothing half-done stays
                r.abandon()
    return runs


def run(params_file: str | Path, only: str | None = None, from_step: str | None = None,
        force: bool = False, log: Callable[[str], None] = print,
        status: Callable[[str], None] | None = None, jobs: int = 2, quarter: str | None = None,
        memory_budget: int | None = None) -> Path:
    """Run a quarter's pipeline and publish it to ``reports/<quarter>/``.

    Parameters
    ----------
    params_file : str or Path
        The quarter's parameters (merged over ``params/base.yaml``, or the base it names).
    only, from_step : str, optional
        Re-run one step, or the steps from one on, of an already rendered quarter (its other
        artifacts are reused); the quarter is then updated in place, atomically.
    force : bool
        Replace an existing quarter on a full run.
    log : callable
        Progress sink (one line per event: steps, stages of long helpers).
    status : callable, optional
        Sink of the cell each notebook is on (a terminal may overwrite one line with it); default ``log``.
    jobs : int
        Notebooks that may run at the same time. A step starts once the steps it needs
        (:func:`helpers.frame.registry.needs`) have finished; with ``jobs=1`` the steps run one after
        the other in pipeline order.
    quarter : str, optional
        Render this quarter instead of the parameters file's ``quarter:``.
    memory_budget : int, optional
        Bytes the run's processes together should stay under (``segreview run --memory-budget``):
        kernels are started ahead of their notebooks only within it; ``None``: no budget.

    Returns
    -------
    Path
        ``reports/<quarter>/index.html``.

    Raises
    ------
    ParameterError, RunError, InputDataError
        Bad parameters, an existing quarter without ``force``, a failed notebook.
    Interrupted, KeyboardInterrupt
        SIGTERM or Ctrl-C: the temporary folder is removed, the published quarter is unchanged.
    """
    t_all = time.perf_counter()
    os.environ["SEGREVIEW_ROOT"] = str(project_root())
    if jobs < 1:
        raise RunError(f"jobs must be at least 1, got {jobs}")
    plan = plan_run(params_file, only=only, from_step=from_step, force=force, quarter=quarter)
    with terminate_raises():
        try:
            (result,) = render_quarters([plan], jobs, log, status or log, memory_budget=memory_budget)
        except (KeyboardInterrupt, Interrupted):
            log(f"interrupted: the temporary run folder was removed; {quarter_folder(plan)}/ was not changed")
            raise
    if result.error is not None:
        raise result.error
    index = plan.final / "index.html"
    log(f"done in {time.perf_counter() - t_all:.1f} s: {index}")
    return index
