"""The run folder, its pages, and publication (design.md §4, steps 3 and 4).

A quarter is executed in a temporary folder beside the published quarters
(``reports/.run-<quarter>-<time>-<pid>``); its pages are rendered as its notebooks finish; when every
step has run, ``run.json`` is written and the folder replaces ``reports/<quarter>/`` in one rename.
Anything else (a failed step, an interruption) removes the temporary folder and leaves the
published quarter as it was; a failed notebook is kept under ``reports/.failed/``.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import json
import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import nbformat
from papermill.exceptions import PapermillExecutionError

from helpers.frame import registry
from helpers.frame.errors import RunError, SegreviewError
from helpers.frame.registry import PIPELINE, REVIEW_STEP
from helpers.frame.settings import project_root, quarter_bounds
from helpers.locale import currency_unit, fmt_date, fmt_quarter, set_language, tr
from helpers.run.plan import Plan
from helpers.run.render import page_file, render_page, write_reports_index

__all__ = ["RunFolder", "Pages", "publish", "keep_failed", "step_error", "quarter_folder", "update_reports_index"]


class RunFolder:
    """The temporary folder a quarter is executed in.

    Parameters
    ----------
    plan : Plan
        The quarter's run. A partial run (``--only``/``--from``) starts from a copy of the published
        quarter without its pages and record.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        self.path = plan.reports / f".run-{plan.quarter}-{self.stamp}-{os.getpid()}"

    def create(self) -> None:
        """Make the folder (from a copy of the published quarter for a partial run)."""
        self.plan.reports.mkdir(parents=True, exist_ok=True)
        if self.plan.partial:
            shutil.copytree(self.plan.final, self.path, ignore=shutil.ignore_patterns("*.html", "run.json"))
        for sub in ("executed", "sources", "progress"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)

    def executed(self, step: str) -> Path:
        """Where papermill writes the executed notebook of ``step``."""
        return self.path / "executed" / f"{step}.ipynb"

    def progress_file(self, step: str) -> Path:
        """The progress file of ``step``'s helpers."""
        return self.path / "progress" / f"{step}.log"

    def done_file(self, step: str) -> Path:
        """Written when ``step`` has ended without error: a notebook reading its artifacts late waits for it."""
        return self.path / "progress" / f"{step}.done"

    def tidy(self) -> None:
        """Remove what only the run needed (the notebooks to execute, the progress files)."""
        shutil.rmtree(self.path / "sources", ignore_errors=True)
        shutil.rmtree(self.path / "progress", ignore_errors=True)

    def remove(self) -> None:
        """Remove the folder (a failed or interrupted run)."""
        shutil.rmtree(self.path, ignore_errors=True)


class Pages:
    """A quarter's pages, each rendered in a thread of its own as its notebook finishes (while the
    next notebooks run); the review is also the quarter's ``index.html``.

    Parameters
    ----------
    plan : Plan
        The quarter's run.
    folder : RunFolder
        Its run folder. Steps not executed by a partial run keep their executed notebook, and their
        page is rendered again (the navigation lists the pages of every step that has one).
    """

    def __init__(self, plan: Plan, folder: RunFolder) -> None:
        self.plan, self.folder = plan, folder
        cfg = plan.config
        self.steps = [s for s in PIPELINE if s in plan.steps or folder.executed(s).exists()]
        as_of = quarter_bounds(cfg.quarter)[1].date().isoformat()
        set_language(cfg.language)
        self.title = tr("{company} · Quarterly customer review {quarter}", company=cfg.company,
                        quarter=fmt_quarter(cfg.quarter))
        self.subtitle = tr("As of {as_of} · money in {currency}", as_of=fmt_date(as_of),
                           currency=currency_unit(cfg.currency))
        self.footer = tr("segreview {version} · parameters {file} · data as of {as_of}",
                         version=md.version("segreview"), file=plan.params_file.name, as_of=fmt_date(as_of))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segreview-render")
        self._jobs: list[Future] = [self._pool.submit(self._render, s) for s in self.steps if s not in plan.steps]

    def _render(self, step: str) -> None:
        nb = nbformat.read(self.folder.executed(step), as_version=4)
        render_page(nb, self.folder.path / page_file(step), step, self.steps, self.title, self.subtitle,
                    self.footer, self.plan.config.language, heading=self._heading(step))

    def _heading(self, step: str) -> str | None:
        """The page's own title for this run (the churn page of a subscription book), from the step's JSON summary
        (:func:`helpers.frame.registry.page_heading`); None keeps the notebook's."""
        st = registry.step(step)
        if not st.headings or not st.summary:
            return None
        path = self.folder.path / registry.ARTIFACTS[st.summary].path
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return registry.page_heading(step, summary)

    def render(self, step: str) -> None:
        """Queue the page of ``step``, whose notebook has finished."""
        self._jobs.append(self._pool.submit(self._render, step))

    def finish(self) -> int:
        """Wait for every page (a rendering error is raised here, before anything is published), write
        ``index.html``; returns the number of pages."""
        try:
            for f in self._jobs:
                f.result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
        first = REVIEW_STEP if REVIEW_STEP in self.steps else self.steps[0]
        shutil.copyfile(self.folder.path / page_file(first), self.folder.path / "index.html")
        return len(self.steps)

    def abandon(self) -> None:
        """Stop rendering (the quarter failed or the run was interrupted)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def publish(tmp: Path, final: Path) -> None:
    """Move the finished run folder into place; an existing quarter is swapped out, then removed."""
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{os.getpid()}")
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except OSError:
        if old is not None:
            os.replace(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def keep_failed(folder: RunFolder, step: str) -> Path:
    """Copy a failed step's executed notebook to ``reports/.failed/<quarter>-<time>/`` (for reading)."""
    dest = folder.plan.reports / ".failed" / f"{folder.plan.quarter}-{folder.stamp}"
    dest.mkdir(parents=True, exist_ok=True)
    nb = folder.executed(step)
    if nb.exists():
        shutil.copy2(nb, dest / nb.name)
        return dest / nb.name
    return dest


def quarter_folder(plan: Plan) -> str:
    """The published quarter's folder as messages name it (``reports/2026Q3``, or under another ``reports_dir``)."""
    path = plan.reports / plan.quarter
    try:
        return str(path.relative_to(project_root()))
    except ValueError:
        return str(path)


def step_error(folder: RunFolder, step: str, exc: BaseException) -> SegreviewError:
    """The error a failed step stops its quarter with (its executed notebook is kept for reading)."""
    quarter = quarter_folder(folder.plan)
    if isinstance(exc, PapermillExecutionError):
        kept = keep_failed(folder, step)
        return RunError(f"{step} failed in cell {exc.exec_count} ({exc.ename}):\n{str(exc.evalue).strip()}\n"
                        f"the failed notebook is kept at {kept}; reports/{quarter}/ was not changed")
    if isinstance(exc, SegreviewError):
        return exc
    return RunError(f"{step} stopped: {type(exc).__name__}: {exc}\nreports/{quarter}/ was not changed")


def update_reports_index(reports: Path) -> Path:
    """Rebuild ``reports/index.html`` (every rendered quarter; :func:`helpers.run.render.write_reports_index`)."""
    return write_reports_index(reports)
