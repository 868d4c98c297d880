"""The pipeline run (design.md §4): validate, execute with papermill, render, publish atomically.

1. merge ``params/base.yaml`` with the quarter's file and validate (pydantic, ``extra="forbid"``);
   check every notebook's ``parameters`` cell against its model (``papermill.inspect_notebook``);
2. execute the notebooks (jupytext ``py:percent`` read with jupytext, kernel ``python3``, working
   directory = project root) into a temporary folder beside ``reports/<quarter>/``, each once the
   notebooks whose artifacts it reads have finished (:func:`helpers.frame.registry.needs`), up to
   ``jobs`` at a time; stop at the first failure (and the notebook running beside it), say which
   cell failed and why, keep the failed notebook under ``reports/.failed/``;
3. render each executed notebook to HTML (``index.html`` is the review);
4. write ``run.json`` and move the folder into ``reports/<quarter>/`` (an existing quarter is
   replaced only with ``force``); rebuild ``reports/index.html``.

A failed or interrupted run removes its temporary folder and leaves the published quarter as it
was.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

import jupytext
import nbformat
import papermill as pm
from jupyter_client import AsyncKernelManager
from jupyter_core.utils import run_sync
from papermill.engines import NBClientEngine, papermill_engines
from papermill.exceptions import PapermillExecutionError
from traitlets import default

from helpers.frame import progress
from helpers.frame.catalog import to_jsonable
from helpers.frame.errors import RunError, SegreviewError
from helpers.frame.registry import ARTIFACTS, PIPELINE, REVIEW_STEP, STEP_MODELS
from helpers.frame.registry import needs as step_needs
from helpers.frame.registry import step as step_decl
from helpers.frame.settings import (
    RunConfig,
    load_config,
    project_root,
    quarter_bounds,
    step_parameters,
)
from helpers.locale import fmt_date, fmt_quarter, set_language, tr
from helpers.run.render import page_file, render_page, write_reports_index

__all__ = [
    "PACKAGES",
    "select_steps",
    "load_notebook",
    "check_notebook_parameters",
    "IPCKernelManager",
    "imported_modules",
    "LAZY_MODULES",
    "Interrupted",
    "run",
]


PACKAGES = ("segreview", "pandas", "numpy", "scipy", "scikit-learn", "statsmodels", "duckdb",
            "ibis-framework", "pandera", "pydantic", "papermill", "nbconvert", "jupytext",
            "matplotlib", "seaborn", "pyarrow")


def select_steps(steps: list[str], only: str | None = None, from_step: str | None = None) -> list[str]:
    """The steps to execute: all configured ones, one (``only``) or those from one on (``from_step``)."""
    if only and from_step:
        raise RunError("use either --only or --from, not both")
    for name, val in (("--only", only), ("--from", from_step)):
        if val and val not in steps:
            raise RunError(f"{name} {val!r} is not a step of this run; steps: {', '.join(steps)}")
    if only:
        return [only]
    if from_step:
        return steps[steps.index(from_step):]
    return list(steps)


def load_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a jupytext ``py:percent`` notebook and make sure it names the ``python3`` kernel."""
    if not path.is_file():
        raise RunError(f"notebook {path} does not exist")
    nb = jupytext.read(path, fmt="py:percent")
    for i, cell in enumerate(nb.cells):  # stable ids: the same notebook renders the same HTML
        cell["id"] = f"{path.stem}-{i:03d}"
    ks = nb.metadata.get("kernelspec", {})
    if ks.get("name") != "python3":
        raise RunError(f"{path} must declare the python3 kernel in its jupytext header (has {ks.get('name')!r})")
    return nb


def check_notebook_parameters(step: str, ipynb: Path) -> None:
    """The notebook's ``parameters`` cell must define exactly the fields of its step model."""
    found = set(pm.inspect_notebook(str(ipynb)))
    wanted = set(STEP_MODELS[step].model_fields)
    if found != wanted:
        raise RunError(
            f"notebook {step}: its parameters cell does not match helpers.params.{STEP_MODELS[step].__name__}: "
            f"missing {sorted(wanted - found) or 'none'}, unexpected {sorted(found - wanted) or 'none'}")


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for p in PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = "not installed"
    return out


def _git_commit(root: Path) -> str | None:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


class _ProgressEngine(NBClientEngine):
    """papermill's nbclient engine, reporting each code cell as it starts (see :mod:`helpers.progress`)
    to the ``report`` callable passed to ``papermill.execute_notebook`` (one per notebook, as
    notebooks may run side by side)."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, report: Callable[[str], None] | None = None, **kwargs):
        code = [i for i, c in enumerate(nb_man.nb.cells) if c.cell_type == "code"]
        start, cell_start = time.perf_counter(), nb_man.cell_start

        def on_cell_start(cell, cell_index=None, **kw):
            if report is not None and cell.cell_type == "code" and cell_index in code:
                report(f"cell {code.index(cell_index) + 1}/{len(code)} at {time.perf_counter() - start:.1f} s: "
                       f"{progress.cell_description(cell.source)}")
            return cell_start(cell, cell_index, **kw)

        nb_man.cell_start = on_cell_start
        return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)


papermill_engines.register("segreview", _ProgressEngine)


class IPCKernelManager(AsyncKernelManager):
    """Kernels talk to the runner over local Unix sockets in a private temporary folder, not TCP:
    no port is opened on the machine and ipykernel has no reason to warn about plain-text TCP."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        return str(Path(tempfile.mkdtemp(prefix="segreview-kernel-")) / "k")


def imported_modules(nb: nbformat.NotebookNode) -> list[str]:
    """Modules a notebook's code cells import (``from helpers import rfm`` gives ``helpers`` and
    ``helpers.rfm``), in order of appearance; cells that do not parse (magics) are skipped."""
    import ast
    out: list[str] = []
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        try:
            tree = ast.parse(c.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                out += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return list(dict.fromkeys(out))


#: Modules the helpers load on first use (Ibis loads its DuckDB backend when it first connects):
#: the pre-started kernels import them too, about half a second per notebook.
LAZY_MODULES = ("helpers.engine", "ibis.backends.duckdb", "pyarrow.parquet", "pyarrow.dataset")


class _WarmKernel:
    """A ``python3`` kernel started ahead of its notebook, importing the notebook's modules while
    the previous notebook runs: kernel start and imports (about 3-4 s per notebook) overlap with
    work instead of adding to it. The import runs silently (no output, no history, no execution
    count) and binds no name, so the notebook starts from an empty namespace as before.

    The warm-up talks to the kernel from a thread of its own with a blocking client; :meth:`ready`
    waits for it to finish before papermill connects (a second client connecting while the first
    one's request is still queued at start-up can miss the kernel's replies).
    """

    def __init__(self, nb: nbformat.NotebookNode, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.km = IPCKernelManager(kernel_name="python3")
        run_sync(self.km.start_kernel)(cwd=str(cwd), env=dict(os.environ if env is None else env),
                                       extra_arguments=["--HistoryManager.hist_file=:memory:"])
        mods = [*imported_modules(nb), *LAZY_MODULES]
        code = ("def __segreview_warm():\n    import importlib\n"
                f"    for m in {mods!r}:\n        try:\n            importlib.import_module(m)\n"
                "        except Exception:\n            pass\n"
                "__segreview_warm()\ndel __segreview_warm\n")
        self._closed = False
        self._thread = threading.Thread(target=self._warm, args=(code,), name="segreview-warm", daemon=True)
        self._thread.start()

    def _warm(self, code: str) -> None:
        kc = self.km.blocking_client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=120)
            msg_id = kc.execute(code, silent=True, store_history=False)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                reply = kc.get_shell_msg(timeout=deadline - time.monotonic())
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
        except Exception:  # noqa: BLE001 - a failed warm-up only costs time; the notebook reports real errors
            pass
        finally:
            kc.stop_channels()

    def ready(self) -> AsyncKernelManager:
        """The kernel manager, once the warm-up is done."""
        self._thread.join(timeout=420)
        return self.km

    def kill(self) -> None:
        """Stop the kernel at once (another step failed, or the run was interrupted): the papermill
        call using it then ends with an error instead of running its notebook to the end."""
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - the kernel may be gone already
            pass

    def close(self) -> None:
        """Shut the kernel down and remove its socket folder (once; later calls do nothing)."""
        if self._closed:
            return
        self._closed = True
        self._thread.join(timeout=30)
        try:
            if run_sync(self.km.is_alive)():
                run_sync(self.km.shutdown_kernel)(now=False)
        finally:
            run_sync(self.km.cleanup_resources)()
            shutil.rmtree(Path(self.km.ip).parent, ignore_errors=True)


class Interrupted(BaseException):
    """Raised from a SIGTERM handler so the run cleans up like on Ctrl-C."""


def _publish(tmp: Path, final: Path) -> None:
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


def run(params_file: str | Path, only: str | None = None, from_step: str | None = None,
        force: bool = False, log: Callable[[str], None] = print,
        status: Callable[[str], None] | None = None, jobs: int = 2) -> Path:
    """Run a quarter's pipeline and publish it to ``reports/<quarter>/``.

    Parameters
    ----------
    params_file : str or Path
        The quarter's parameters (merged over ``base.yaml`` beside it).
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

    Returns
    -------
    Path
        ``reports/<quarter>/index.html``.

    Raises
    ------
    ParameterError, RunError, InputDataError
        Bad parameters, an existing quarter without ``force``, a failed notebook.
    """
    root = project_root()
    os.environ["SEGREVIEW_ROOT"] = str(root)
    status = status or log
    if jobs < 1:
        raise RunError(f"jobs must be at least 1, got {jobs}")
    cfg: RunConfig = load_config(params_file)
    steps = select_steps(cfg.steps, only, from_step)
    needs = {s: list(step_needs(s, steps)) for s in steps}
    partial = bool(only or from_step)
    reports = root / cfg.reports_dir
    final = reports / cfg.quarter
    if final.exists() and not partial and not force:
        raise RunError(f"{final} already exists; nothing was changed. Re-run with --force to replace it, "
                       "or use --only/--from to update some steps")
    if partial and not (final / "artifacts" / "ingest.json").exists():
        raise RunError(f"--only/--from update a rendered quarter, and {final} has none; run the whole quarter first")

    nbs = {s: load_notebook(root / "notebooks" / f"{s}.py") for s in steps}
    reports.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    tmp = reports / f".run-{cfg.quarter}-{stamp}-{os.getpid()}"
    prev_term = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(Interrupted()))
    t_all = time.perf_counter()
    seconds: dict[str, float] = {}
    timeline: dict[str, dict[str, float]] = {}
    warm: dict[str, _WarmKernel] = {}      # kernels started ahead of their notebook
    kernels: dict[str, _WarmKernel] = {}   # kernels of the notebooks started so far
    started: set[str] = set()
    try:
        if partial:
            shutil.copytree(final, tmp, ignore=shutil.ignore_patterns("*.html", "run.json"))
        (tmp / "progress").mkdir(parents=True, exist_ok=True)

        def prewarm() -> None:
            # a kernel for every step that can start as soon as the running ones finish
            for s in steps:
                if s not in started and s not in warm and all(d in started for d in needs[s]):
                    env = {**os.environ, progress.ENV: str(tmp / "progress" / f"{s}.log")}
                    warm[s] = _WarmKernel(nbs[s], root, env)

        prewarm()  # the first kernel starts while the notebooks' parameters are checked
        (tmp / "executed").mkdir(exist_ok=True)
        (tmp / "sources").mkdir(exist_ok=True)
        for s, nb in nbs.items():
            nbformat.write(nb, tmp / "sources" / f"{s}.ipynb")
            check_notebook_parameters(s, tmp / "sources" / f"{s}.ipynb")
        log(f"segreview: quarter {cfg.quarter}, steps {', '.join(steps)}")
        closing: list[threading.Thread] = []
        # pages render in a thread of their own as their notebook finishes (while the next one runs)
        as_of_s = quarter_bounds(cfg.quarter)[1].date().isoformat()
        pages = [s for s in PIPELINE if s in steps or (tmp / "executed" / f"{s}.ipynb").exists()]
        set_language(cfg.language)
        title = tr("{company} · Quarterly customer review {quarter}", company=cfg.company,
                   quarter=fmt_quarter(cfg.quarter))
        subtitle = tr("As of {as_of} · money in {currency}", as_of=fmt_date(as_of_s), currency=cfg.currency)
        footer = tr("segreview {version} · parameters {file} · data as of {as_of}", version=md.version("segreview"),
                    file=Path(params_file).name, as_of=fmt_date(as_of_s))

        def render(step: str) -> None:
            nb = nbformat.read(tmp / "executed" / f"{step}.ipynb", as_version=4)
            render_page(nb, tmp / page_file(step), step, pages, title, subtitle, footer, cfg.language)

        renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segreview-render")
        rendering = [renderer.submit(render, p) for p in pages if p not in steps]
        labels = {s: f"[{i}/{len(steps)}] {s}" for i, s in enumerate(steps, 1)}

        def execute(s: str) -> None:
            label = labels[s]
            with progress.Follower(tmp / "progress" / f"{s}.log", log, label):
                pm.execute_notebook(str(tmp / "sources" / f"{s}.ipynb"), str(tmp / "executed" / f"{s}.ipynb"),
                                    parameters=step_parameters(cfg, s, tmp), kernel_name="python3",
                                    cwd=str(root), progress_bar=False, log_output=False,
                                    engine_name="segreview", km=kernels[s].ready(),
                                    report=lambda msg: status(f"{label} {msg}"))

        workers = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="segreview-step")
        running: dict[Future, str] = {}
        done: set[str] = set()
        t_start: dict[str, float] = {}
        try:
            while len(done) < len(steps):
                for s in steps:  # start every step whose needs are met, in pipeline order
                    if len(running) < jobs and s not in started and all(d in done for d in needs[s]):
                        started.add(s)
                        kernels[s] = warm.pop(s)
                        t_start[s] = time.perf_counter()
                        log(f"{labels[s]} ...")
                        running[workers.submit(execute, s)] = s
                prewarm()
                finished, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                for f in finished:
                    s = running.pop(f)
                    # the kernel shuts down in the background (a graceful shutdown can take seconds)
                    closing.append(threading.Thread(target=kernels[s].close, name="segreview-close", daemon=True))
                    closing[-1].start()
                    exc = f.exception()
                    if exc is not None:
                        raise _step_error(s, exc, reports, cfg.quarter, stamp, tmp / "executed" / f"{s}.ipynb")
                    done.add(s)
                    t_end = time.perf_counter()
                    seconds[s] = round(t_end - t_start[s], 2)
                    timeline[s] = {"start": round(t_start[s] - t_all, 2), "end": round(t_end - t_all, 2)}
                    rendering.append(renderer.submit(render, s))
                    log(f"{labels[s]} done in {seconds[s]:.1f} s")
        finally:
            for s in running.values():  # a step failed or the run was interrupted: stop the others
                kernels[s].kill()
            workers.shutdown(wait=True, cancel_futures=True)

        t0 = time.perf_counter()
        for f in rendering:
            f.result()  # a rendering error stops the run here, before anything is published
        renderer.shutdown()
        for c in closing:
            c.join(timeout=60)
        ingest = json.loads((tmp / "artifacts" / "ingest.json").read_text())
        if REVIEW_STEP in pages:
            shutil.copyfile(tmp / page_file(REVIEW_STEP), tmp / "index.html")
        else:
            shutil.copyfile(tmp / page_file(pages[0]), tmp / "index.html")
        seconds["render_html"] = round(time.perf_counter() - t0, 2)
        log(f"rendered {len(pages)} page(s) ({seconds['render_html']:.1f} s after the last notebook)")

        previous = {}
        if partial and (final / "run.json").exists():
            previous = json.loads((final / "run.json").read_text()).get("seconds", {})
        record = {
            "quarter": cfg.quarter,
            "as_of": quarter_bounds(cfg.quarter)[1].date().isoformat(),
            "parameters_file": str(Path(params_file)),
            "parameters": cfg.model_dump(mode="json"),
            "steps_run": steps,
            "seconds": {**previous, **seconds, "total": round(time.perf_counter() - t_all, 2)},
            "timeline": {"jobs": jobs, "steps": timeline},
            "inputs": ingest["sources"],
            "unavailable": _unavailable(tmp),
            "versions": _versions(),
            "git_commit": _git_commit(root),
            "finished_at": dt.datetime.now().isoformat(timespec="seconds"),
        }
        (tmp / "run.json").write_text(json.dumps(to_jsonable(record), indent=2, sort_keys=True) + "\n")
        shutil.rmtree(tmp / "sources", ignore_errors=True)
        shutil.rmtree(tmp / "progress", ignore_errors=True)
        _publish(tmp, final)
    except BaseException as exc:
        if locals().get("renderer") is not None:
            renderer.shutdown(wait=True, cancel_futures=True)
        for c in locals().get("closing", []):
            c.join(timeout=60)
        for k in [*warm.values(), *kernels.values()]:
            try:
                k.close()
            except Exception:  # noqa: BLE001 - the kernel may be gone already
                pass
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, KeyboardInterrupt | Interrupted):
            log(f"interrupted: the temporary run folder was removed; reports/{cfg.quarter}/ was not changed")
        raise
    finally:
        signal.signal(signal.SIGTERM, prev_term)
    write_reports_index(reports)
    index = final / "index.html"
    log(f"done in {time.perf_counter() - t_all:.1f} s: {index}")
    return index


def _unavailable(run_dir: Path) -> dict[str, list[dict]]:
    """Step -> the parts its summary says are not available (only steps with some), for ``run.json``."""
    out = {}
    for s in PIPELINE:
        decl = step_decl(s)
        if decl.summary is None:
            continue
        p = run_dir / ARTIFACTS[decl.summary].path
        if p.exists():
            parts = json.loads(p.read_text(encoding="utf-8")).get("unavailable") or []
            if parts:
                out[s] = [{"part": x["part"], "reason": x["reason"]} for x in parts]
    return out


def _step_error(step: str, exc: BaseException, reports: Path, quarter: str, stamp: str, out_nb: Path) -> BaseException:
    """The error a failed step stops the run with (its executed notebook is kept for reading)."""
    if isinstance(exc, PapermillExecutionError):
        kept = _keep_failed(reports, quarter, stamp, out_nb)
        return RunError(f"{step} failed in cell {exc.exec_count} ({exc.ename}):\n{str(exc.evalue).strip()}\n"
                        f"the failed notebook is kept at {kept}; reports/{quarter}/ was not changed")
    if isinstance(exc, SegreviewError):
        return exc
    return RunError(f"{step} stopped: {type(exc).__name__}: {exc}\nreports/{quarter}/ was not changed")


def _keep_failed(reports: Path, quarter: str, stamp: str, nb: Path) -> Path:
    dest = reports / ".failed" / f"{quarter}-{stamp}"
    dest.mkdir(parents=True, exist_ok=True)
    if nb.exists():
        shutil.copy2(nb, dest / nb.name)
        return dest / nb.name
    return dest
